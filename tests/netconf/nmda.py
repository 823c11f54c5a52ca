"""NMDA (RFC 8526): get-data on each datastore with filters, config-filter,
max-depth, origin filters, with-origin and with-defaults; edit-data on
running and candidate."""

from lxml import etree

from nc import *

NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
OR = "urn:ietf:params:xml:ns:yang:ietf-origin"
I = {"i": IF_NS}
m = connect()

def get_data(ds, extra=""):
    r = m.dispatch(etree.fromstring(
        f'<get-data xmlns="{NMDA}" xmlns:ds="{DS}" xmlns:or="{OR}"><datastore>ds:{ds}</datastore>{extra}</get-data>'))
    return r

def edit_data(ds, body, extra=""):
    return m.dispatch(etree.fromstring(
        f'<edit-data xmlns="{NMDA}" xmlns:ds="{DS}"><datastore>ds:{ds}</datastore>{extra}<config>{body}</config></edit-data>'))

def names(r):
    root = etree.fromstring(r.xml.encode())
    return root.xpath("//i:interface/i:name/text()", namespaces=I)

assert_ok(edit_data("running", f'<interfaces xmlns="{IF_NS}">{iface("eth0", "<description>a</description>")}</interfaces>'))
assert_ok(edit_data("candidate", f'<interfaces xmlns="{IF_NS}">{iface("cand")}</interfaces>'))
assert names(get_data("running")) == ["eth0"]
assert sorted(names(get_data("candidate"))) == ["cand", "eth0"]
assert_ok(m.discard_changes())
r = edit_data("operational", f'<interfaces xmlns="{IF_NS}">{iface("x")}</interfaces>')
check_error(r, "protocol", "invalid-value")
r = edit_data("running", f'<interfaces xmlns="{IF_NS}"><interface xmlns:nc="{BASE}" nc:operation="delete"><name>none</name></interface></interfaces>')
check_error(r, "application", "data-missing")
ok("edit-data")

r = get_data("operational")
root = etree.fromstring(r.xml.encode())
data = root.find(f"{{{NMDA}}}data")
assert data is not None, r.xml
assert names(r) == ["eth0"] and "yang-library" in r.xml, r.xml[:1000]
ok("get-data operational")

r = get_data("operational", f'<subtree-filter><interfaces xmlns="{IF_NS}"/></subtree-filter>')
assert names(r) == ["eth0"] and "yang-library" not in r.xml, r.xml
r = get_data("running", f'<xpath-filter xmlns:x="{IF_NS}">/x:interfaces/x:interface[x:name=\'eth0\']/x:description</xpath-filter>')
assert "<description>a</description>" in r.xml, r.xml
ok("get-data filters")

r = get_data("operational", '<config-filter>false</config-filter>')
assert names(r) == [] and "yang-library" in r.xml, r.xml[:500]
r = get_data("operational", '<config-filter>true</config-filter>')
assert names(r) == ["eth0"] and "yang-library" not in r.xml, r.xml[:500]
r = get_data("running", f'<subtree-filter><interfaces xmlns="{IF_NS}"/></subtree-filter><max-depth>1</max-depth>')
assert "<interfaces" in r.xml and "<interface>" not in r.xml, r.xml
r = get_data("running", f'<max-depth>0</max-depth>')
check_error(r, "protocol", "invalid-value", info={"bad-element": "max-depth"})
ok("config-filter / max-depth")

r = get_data("operational", f'<subtree-filter><interfaces xmlns="{IF_NS}"/></subtree-filter><with-origin/>')
root = etree.fromstring(r.xml.encode())
top = root.xpath("//i:interfaces", namespaces=I)[0]
assert top.get(f"{{{OR}}}origin", "").endswith("intended"), r.xml
r = get_data("operational", '<origin-filter>or:intended</origin-filter>')
assert names(r) == ["eth0"] and "yang-library" not in r.xml, r.xml[:500]
r = get_data("operational", '<negated-origin-filter>or:intended</negated-origin-filter>')
# what is left of eth0 is its default 'enabled' (origin default), and state
assert "<description>" not in r.xml and "yang-library" in r.xml, r.xml[:500]
r = get_data("operational", f'<subtree-filter><interfaces xmlns="{IF_NS}"/></subtree-filter><origin-filter>or:default</origin-filter><with-origin/><with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">report-all</with-defaults>')
root = etree.fromstring(r.xml.encode())
en = root.xpath("//i:interface[i:name='eth0']/i:enabled", namespaces=I)
assert en and en[0].text == "true" and en[0].get(f"{{{OR}}}origin", "").endswith("default"), r.xml
assert "<description>" not in r.xml, r.xml
r = get_data("running", '<with-origin/>')
check_error(r, "protocol", "invalid-value")
WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
r = get_data("running", f'<with-defaults xmlns="{WD}">report-all</with-defaults>')
assert "<enabled>true</enabled>" in r.xml, r.xml
r = get_data("running")
assert "<enabled>" not in r.xml, r.xml
ok("origin / with-defaults")
