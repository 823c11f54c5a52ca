"""Reads: subtree filters (containment, selection, content match,
namespaces, attributes), XPath filters, with-defaults (RFC 6243) on get,
get-config and copy-config, ietf-netconf-monitoring (RFC 6022) with
get-schema, and ietf-yang-library (RFC 8525)."""

from lxml import etree

from nc import *

I = {"i": IF_NS}
m = connect()
ip = f'<ipv4 xmlns="{IP_NS}"><address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address></ipv4>'
assert_ok(m.edit_config(target="running", config=ifaces(
    iface("eth0", "<description>up</description>" + ip),
    iface("eth1", "<description>down</description><enabled>false</enabled>"),
    iface("eth2", "<enabled>true</enabled>"))))

def names(r):
    assert r.ok, r.xml
    return r.data_ele.xpath("//i:interface/i:name/text()", namespaces=I)

# ---- subtree filters
f = f'<interfaces xmlns="{IF_NS}"/>'
assert names(m.get_config(source="running", filter=("subtree", f))) == ["eth0", "eth1", "eth2"]
f = f'<interfaces xmlns="{IF_NS}"><interface><name>eth1</name></interface></interfaces>'
r = m.get_config(source="running", filter=("subtree", f))
assert names(r) == ["eth1"] and "down" in r.xml, r.xml
f = f'<interfaces xmlns="{IF_NS}"><interface><name>eth0</name><description/></interface></interfaces>'
r = m.get_config(source="running", filter=("subtree", f))
assert names(r) == ["eth0"] and "<description>up</description>" in r.xml and "192.0.2.1" not in r.xml, r.xml
f = f'<interfaces xmlns="{IF_NS}"><interface><description>down</description></interface></interfaces>'
assert names(m.get_config(source="running", filter=("subtree", f))) == ["eth1"]
f = f'<interfaces xmlns="{IF_NS}"><interface><ipv4 xmlns="{IP_NS}"><address/></ipv4></interface></interfaces>'
r = m.get_config(source="running", filter=("subtree", f))
assert names(r) == ["eth0"] and "192.0.2.1" in r.xml and "description" not in r.xml, r.xml
# wrong namespace, unknown node, unqualified attribute: nothing matches
for f in [
    '<interfaces xmlns="urn:example:other"/>',
    f'<interfaces xmlns="{IF_NS}"><bogus/></interfaces>',
    f'<interfaces xmlns="{IF_NS}"><interface colour="red"/></interfaces>',
]:
    r = m.get_config(source="running", filter=("subtree", f))
    assert r.ok and names(r) == [], (f, r.xml)
# an empty filter selects nothing
r = m.dispatch(etree.fromstring(f'<get-config xmlns="{BASE}"><source><running/></source><filter type="subtree"/></get-config>'))
assert r.ok and len(data_of(r)) == 0, r.xml
ok("subtree filters")

# ---- xpath filters
r = m.get_config(source="running", filter=("xpath", ({"x": IF_NS}, "/x:interfaces/x:interface[x:name='eth2']")))
assert names(r) == ["eth2"], r.xml
r = m.get(filter=("xpath", ({"x": IF_NS}, "/x:interfaces/x:interface[x:enabled='false']/x:name")))
assert names(r) == ["eth1"], r.xml
r = m.get_config(source="running", filter=("xpath", ({"x": IF_NS}, "/y:interfaces")))
check_error(r, "application", "invalid-value")
ok("xpath filters")

# ---- with-defaults: 'enabled' defaults to true
def enabled(r, name):
    return [e for e in data_of(r).xpath(f"//i:interface[i:name='{name}']/i:enabled", namespaces=I)]

WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
def get_config_wd(mode):
    return m.dispatch(etree.fromstring(
        f'<get-config xmlns="{BASE}"><source><running/></source><with-defaults xmlns="{WD}">{mode}</with-defaults></get-config>'))

r = get_config_wd("explicit")
assert enabled(r, "eth0") == [] and len(enabled(r, "eth2")) == 1, r.xml
r = get_config_wd("report-all")
assert enabled(r, "eth0")[0].text == "true", r.xml
r = get_config_wd("trim")
assert enabled(r, "eth0") == [] and enabled(r, "eth2") == [] and enabled(r, "eth1")[0].text == "false", r.xml
r = get_config_wd("report-all-tagged")
e = enabled(r, "eth0")[0]
assert e.get("{urn:ietf:params:xml:ns:netconf:default:1.0}default") == "true", r.xml
assert enabled(r, "eth2")[0].get("{urn:ietf:params:xml:ns:netconf:default:1.0}default") == "true", r.xml
assert enabled(r, "eth1")[0].get("{urn:ietf:params:xml:ns:netconf:default:1.0}default") is None, r.xml
r = m.dispatch(etree.fromstring(f'<get xmlns="{BASE}"><with-defaults xmlns="{WD}">report-all</with-defaults></get>'))
assert enabled(r, "eth0")[0].text == "true"
r = get_config_wd("everything")
check_error(r, "application", "invalid-value", info={"bad-element": "with-defaults"})
r = m.dispatch(etree.fromstring(
    f'<copy-config xmlns="{BASE}"><target><startup/></target><source><running/></source><with-defaults xmlns="{WD}">report-all</with-defaults></copy-config>'))
assert_ok(r)
ok("with-defaults")

# ---- monitoring
mon = '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"/>'
MN = {"m": "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"}
assert_ok(m.lock("candidate"))
r = m.get(filter=("subtree", mon))
d = r.data_ele
sid = str(m.session_id)
assert d.xpath(f"//m:session[m:session-id='{sid}']/m:username/text()", namespaces=MN) == ["admin"], r.xml
assert int(d.xpath(f"//m:session[m:session-id='{sid}']/m:in-rpcs/text()", namespaces=MN)[0]) > 10
assert d.xpath("//m:session/m:transport/text()", namespaces=MN)[0].endswith("netconf-ssh")
assert d.xpath("//m:datastore[m:name='candidate']/m:locks/m:global-lock/m:locked-by-session/text()", namespaces=MN) == [sid], r.xml
assert d.xpath("//m:datastore[m:name='running']/m:locks", namespaces=MN) == []
assert "urn:ietf:params:netconf:capability:candidate:1.0" in d.xpath("//m:capability/text()", namespaces=MN)
assert d.xpath("//m:schema[m:identifier='ietf-interfaces'][m:format='yang']/m:location/text()", namespaces=MN) == ["NETCONF"], r.xml
assert int(d.xpath("//m:statistics/m:in-sessions/text()", namespaces=MN)[0]) >= 1
assert_ok(m.unlock("candidate"))
ok("netconf-monitoring")

schema = m.get_schema("ietf-interfaces")
assert schema.ok and schema.data.lstrip().startswith("module ietf-interfaces"), schema.xml[:500]
schema = m.get_schema("ietf-ip", version="2018-02-22")
assert "module ietf-ip" in schema.data
schema = m.get_schema("ietf-ip", format="yin")
assert "<module" in schema.data and 'name="ietf-ip"' in schema.data, schema.data[:300]
r = m.get_schema("no-such-module")
check_error(r, "protocol", "invalid-value")
r = m.get_schema("ietf-ip", version="1999-01-01")
check_error(r, "protocol", "invalid-value")
ok("get-schema")

# ---- yang library
YL = {"y": "urn:ietf:params:xml:ns:yang:ietf-yang-library"}
r = m.get(filter=("subtree", '<yang-library xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library"/>'))
d = r.data_ele
mods = d.xpath("//y:module/y:name/text()", namespaces=YL)
assert "ietf-interfaces" in mods and "ietf-netconf" in mods, r.xml[:2000]
cid = d.xpath("//y:yang-library/y:content-id/text()", namespaces=YL)[0]
cap = [c for c in m.server_capabilities if "yang-library:1.1" in c][0]
assert cap.endswith("content-id=" + cid), (cap, cid)
ok("yang-library")
