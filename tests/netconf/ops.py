"""RFC 6241 operations through ncclient against the server under test:
hello/capabilities, get, get-config, edit-config (every operation at depth,
default-operation, test-option, error-option), candidate and commit,
lock/unlock, copy-config, delete-config, validate, discard-changes,
kill-session, close-session, and the rpc-error of each failure, checked
field by field (RFC 6241 Appendix A)."""

from lxml import etree

from nc import *

m = connect()

# ---- hello
caps = set(m.server_capabilities)
for c in [
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:writable-running:1.0",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:startup:1.0",
    "urn:ietf:params:netconf:capability:xpath:1.0",
    "urn:ietf:params:netconf:capability:notification:1.0",
    "urn:ietf:params:netconf:capability:interleave:1.0",
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&also-supported=report-all,report-all-tagged,trim",
]:
    assert c in caps, c
yl = [c for c in caps if c.startswith("urn:ietf:params:netconf:capability:yang-library:1.1?")]
assert len(yl) == 1 and "revision=2019-01-04" in yl[0] and "content-id=" in yl[0], yl
assert any("module=ietf-netconf&" in c and "features=" in c for c in caps), caps
assert int(m.session_id) > 0
ok("hello")

# ---- edit-config merge on running, get-config
r = m.edit_config(target="running", config=ifaces(iface("eth0", "<description>uplink</description>")))
assert_ok(r)
r = m.get_config(source="running")
d = r.data_ele
names = d.xpath("//i:interface/i:name/text()", namespaces={"i": IF_NS})
assert names == ["eth0"], r.xml
ok("merge")

# create at depth: an address in eth0's ipv4
addr = f'<ipv4 xmlns="{IP_NS}"><address xmlns:nc="{BASE}" nc:operation="create"><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address></ipv4>'
assert_ok(m.edit_config(target="running", config=ifaces(iface("eth0", addr))))
# creating it again: data-exists with the path of the entry
r = m.edit_config(target="running", config=ifaces(iface("eth0", addr)))
check_error(r, "application", "data-exists",
            path="/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/address[ip='192.0.2.1']")
ok("create / data-exists")

# delete of something absent: data-missing
gone = f'<description xmlns:nc="{BASE}" nc:operation="delete"/>'
r = m.edit_config(target="running", config=ifaces(iface("eth1", "", op=None).replace("</interface>", gone + "</interface>")))
check_error(r, "application", "data-missing")
# remove of something absent is fine
rm = f'<mtu xmlns="{IP_NS}" xmlns:nc="{BASE}" nc:operation="remove"/>'
assert_ok(m.edit_config(target="running", config=ifaces(f'<interface><name>eth0</name><ipv4 xmlns="{IP_NS}"><mtu xmlns:nc="{BASE}" nc:operation="remove"/></ipv4></interface>')))
# delete the description at depth
assert_ok(m.edit_config(target="running", config=ifaces(f'<interface><name>eth0</name><description xmlns:nc="{BASE}" nc:operation="delete"/></interface>')))
r = m.get_config(source="running")
assert "uplink" not in r.xml and "192.0.2.1" in r.xml, r.xml
ok("delete / remove / data-missing")

# replace an interface entry: what is not in the new content goes
assert_ok(m.edit_config(target="running", config=ifaces(iface("eth0", "<description>new</description>", op="replace"))))
r = m.get_config(source="running")
assert "192.0.2.1" not in r.xml and "<description>new</description>" in r.xml, r.xml
ok("replace")

# default-operation none: parent must exist
r = m.edit_config(target="running", default_operation="none",
                  config=ifaces(f'<interface><name>ethX</name><description xmlns:nc="{BASE}" nc:operation="merge">x</description></interface>'))
check_error(r, "application", "data-missing")
# default-operation replace: the whole datastore becomes the config
assert_ok(m.edit_config(target="running", config=ifaces(iface("eth1"), iface("eth2"))))
assert_ok(m.edit_config(target="running", default_operation="replace", config=ifaces(iface("eth2"))))
names = m.get_config(source="running").data_ele.xpath("//i:name/text()", namespaces={"i": IF_NS})
assert names == ["eth2"], names
ok("default-operation")

# test-option test-only changes nothing
assert_ok(m.edit_config(target="running", test_option="test-only", config=ifaces(iface("eth9"))))
assert "eth9" not in m.get_config(source="running").xml
# an invalid value is refused by validation
r = m.edit_config(target="running", test_option="test-only",
                  config=ifaces(iface("eth9", f'<ipv4 xmlns="{IP_NS}"><mtu>10</mtu></ipv4>')))
check_error(r, "application", "invalid-value")
ok("test-only / invalid-value")

# error-option: continue-on-error applies the good parts, reports the bad
cfg = ifaces(iface("eth3", op="create"), iface("eth2", op="create"), iface("eth4", op="create"))
r = m.edit_config(target="running", error_option="continue-on-error", config=cfg)
check_error(r, "application", "data-exists")
names = m.get_config(source="running").data_ele.xpath("//i:name/text()", namespaces={"i": IF_NS})
assert sorted(names) == ["eth2", "eth3", "eth4"], names
# rollback-on-error: nothing applies
cfg = ifaces(iface("eth5", op="create"), iface("eth2", op="create"))
r = m.edit_config(target="running", error_option="rollback-on-error", config=cfg)
check_error(r, "application", "data-exists")
assert "eth5" not in m.get_config(source="running").xml
# stop-on-error (the default): the first error stops
cfg = ifaces(iface("eth6", op="create"), iface("eth2", op="create"), iface("eth7", op="create"))
r = m.edit_config(target="running", error_option="stop-on-error", config=cfg)
check_error(r, "application", "data-exists")
ok("error-option")

# provider refusal leaves running as it was
r = m.edit_config(target="running", config=ifaces(iface("eth2", "<description>refuse</description>")))
check_error(r, "application", "operation-failed")
assert "refuse" not in m.get_config(source="running").xml
ok("provider refusal")

# ---- unknown, bad and invalid content
r = m.edit_config(target="running", config=f'<config xmlns="{BASE}"><interfaces xmlns="{IF_NS}"><bogus/></interfaces></config>')
check_error(r, "application", "unknown-element", info={"bad-element": "bogus"})
r = m.edit_config(target="running", config=f'<config xmlns="{BASE}"><nothing xmlns="urn:example:none"/></config>')
check_error(r, "application", "unknown-namespace", info={"bad-namespace": "urn:example:none"})
r = m.edit_config(target="running", config=ifaces(iface("eth2", f'<enabled>maybe</enabled>')))
check_error(r, "application", "invalid-value")
r = m.edit_config(target="running", config=ifaces(iface("eth2", op="frobnicate")))
check_error(r, "protocol", "bad-attribute", info={"bad-attribute": "operation"})
r = m.dispatch(etree.fromstring(f'<edit-config xmlns="{BASE}"><target><running/></target><default-operation>sideways</default-operation>{ifaces(iface("eth2"))}</edit-config>'))
check_error(r, "protocol", "invalid-value", info={"bad-element": "default-operation"})
ok("unknown-element / unknown-namespace / invalid-value / bad-attribute")

# unknown parameter of a base operation, and an unknown operation
r = m.dispatch(etree.fromstring(f'<get-config xmlns="{BASE}"><source><running/></source><colour>blue</colour></get-config>'))
check_error(r, "protocol", "unknown-element", info={"bad-element": "colour"})
r = m.dispatch(etree.fromstring(f'<frobnicate xmlns="{BASE}"/>'))
check_error(r, "protocol", "unknown-element", info={"bad-element": "frobnicate"})
r = m.dispatch(etree.fromstring('<frobnicate xmlns="urn:example:none"/>'))
check_error(r, "protocol", "unknown-namespace", info={"bad-element": "frobnicate", "bad-namespace": "urn:example:none"})
r = m.dispatch(etree.fromstring(f'<get-config xmlns="{BASE}"/>'))
check_error(r, "protocol", "missing-element", info={"bad-element": "source"})
r = m.dispatch(etree.fromstring(f'<edit-config xmlns="{BASE}"><target><running/></target><url>file:///tmp/x</url></edit-config>'))
check_error(r, "protocol", "operation-not-supported")
ok("operation errors")

# ---- candidate
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("eth8"))))
assert "eth8" in m.get_config(source="candidate").xml
assert "eth8" not in m.get_config(source="running").xml
assert_ok(m.discard_changes())
assert "eth8" not in m.get_config(source="candidate").xml
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("eth8"))))
assert_ok(m.validate(source="candidate"))
assert_ok(m.commit())
assert "eth8" in m.get_config(source="running").xml
ok("candidate / validate / commit / discard-changes")

# validate of inline config
r = m.dispatch(etree.fromstring(f'<validate xmlns="{BASE}"><source><config><interfaces xmlns="{IF_NS}"><interface><name>x</name></interface></interfaces></config></source></validate>'))
check_error(r, "application", "missing-element")
ok("validate inline")

# ---- locks
m2 = connect()
assert_ok(m.lock("running"))
r = m2.lock("running")
check_error(r, "protocol", "lock-denied", info={"session-id": str(m.session_id)})
r = m2.edit_config(target="running", config=ifaces(iface("eth9")))
check_error(r, "protocol", "in-use", info={"session-id": str(m.session_id)})
r = m2.unlock("running")
check_error(r, "protocol", "lock-denied", info={"session-id": str(m.session_id)})
assert_ok(m.unlock("running"))
r = m.unlock("running")
check_error(r, "protocol", "operation-failed")
assert_ok(m2.lock("candidate"))
# the session holding a lock ends: the lock goes with it
m2.close_session()
assert_ok(m.lock("candidate"))
assert_ok(m.unlock("candidate"))
ok("lock / unlock / lock-denied / in-use")

# ---- copy-config and delete-config
assert_ok(m.copy_config(source="running", target="startup"))
assert "eth8" in m.get_config(source="startup").xml
assert_ok(m.dispatch(etree.fromstring(f'<copy-config xmlns="{BASE}"><target><candidate/></target><source><config><interfaces xmlns="{IF_NS}">{iface("only")}</interfaces></config></source></copy-config>')))
names = m.get_config(source="candidate").data_ele.xpath("//i:name/text()", namespaces={"i": IF_NS})
assert names == ["only"], names
assert_ok(m.discard_changes())
r = m.copy_config(source="running", target="running")
check_error(r, "protocol", "invalid-value")
assert_ok(m.delete_config(target="startup"))
assert "eth8" not in m.get_config(source="startup").xml
r = m.delete_config(target="running")
check_error(r, "protocol", "operation-not-supported")
ok("copy-config / delete-config")

# ---- kill-session
victim = connect()
vid = victim.session_id
assert_ok(victim.lock("running"))
r = m.dispatch(etree.fromstring(f'<kill-session xmlns="{BASE}"><session-id>{vid}</session-id></kill-session>'))
assert_ok(r)
assert_ok(m.lock("running"))  # the victim's lock went with it
assert_ok(m.unlock("running"))
r = m.dispatch(etree.fromstring(f'<kill-session xmlns="{BASE}"><session-id>{m.session_id}</session-id></kill-session>'))
check_error(r, "protocol", "invalid-value")
r = m.dispatch(etree.fromstring(f'<kill-session xmlns="{BASE}"><session-id>99999</session-id></kill-session>'))
check_error(r, "protocol", "invalid-value")
ok("kill-session")

# ---- get returns config and state
r = m.get()
assert "eth8" in r.xml and "netconf-state" in r.xml and "yang-library" in r.xml, r.xml[:2000]
ok("get")

# ---- close-session
assert_ok(m.close_session())
ok("close-session")
