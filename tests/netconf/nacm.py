"""NACM (RFC 8341) through NETCONF: denied data is silently omitted from
reads, denied writes and RPCs fail with access-denied."""

from lxml import etree

from nc import *

admin = connect()
assert_ok(admin.edit_config(target="running", config=ifaces(iface("pub"), iface("secret"))))
rules = f'''<config xmlns="{BASE}"><nacm xmlns="{ACM_NS}"><rule-list><name>ops</name><group>ops</group>
<rule><name>hide-secret</name><path xmlns:if="{IF_NS}">/if:interfaces/if:interface[if:name='secret']</path>
<access-operations>*</access-operations><action>deny</action></rule>
<rule><name>edit-interfaces</name><path xmlns:if="{IF_NS}">/if:interfaces</path>
<access-operations>create update delete</access-operations><action>permit</action></rule>
<rule><name>no-validate</name><module-name>ietf-netconf</module-name><rpc-name>validate</rpc-name>
<access-operations>exec</access-operations><action>deny</action></rule>
</rule-list></nacm></config>'''
assert_ok(admin.edit_config(target="running", config=rules))
ok("rules")

alice = connect("alice", "alice-pw")
r = alice.get_config(source="running")
names = r.data_ele.xpath("//i:name/text()", namespaces={"i": IF_NS})
assert names == ["pub"], r.xml
assert "nacm" not in r.xml, r.xml  # default-deny-all
r = alice.get()
names = r.data_ele.xpath("//i:interface/i:name/text()", namespaces={"i": IF_NS})
assert names == ["pub"], r.xml[:3000]
ok("reads omit denied data")

assert_ok(alice.edit_config(target="running", config=ifaces(iface("pub", "<description>mine</description>"))))
r = alice.edit_config(target="running", config=ifaces(iface("secret", "<description>mine</description>")))
check_error(r, "application", "access-denied",
            path=lambda p: "secret" in p.text and p.text.startswith("/ietf-interfaces:interfaces"))
assert "mine" not in admin.get_config(source="running").data_ele.xpath(
    "//i:interface[i:name='secret']", namespaces={"i": IF_NS})[0].xpath("string()")
r = alice.edit_config(target="running", config=f'<config xmlns="{BASE}"><nacm xmlns="{ACM_NS}"><enable-nacm>false</enable-nacm></nacm></config>')
check_error(r, "application", "access-denied")
ok("writes denied")

r = alice.validate(source="running")
check_error(r, "protocol", "access-denied")
r = alice.dispatch(etree.fromstring(f'<kill-session xmlns="{BASE}"><session-id>{admin.session_id}</session-id></kill-session>'))
check_error(r, "protocol", "access-denied")
# rollback is permitted to run, but the writes it would make are not
r = alice.dispatch(etree.fromstring('<rollback xmlns="urn:nectar:yang:nectar-mgmt"><id>1</id></rollback>'))
check_error(r, "application", "access-denied", path=lambda p: p.text.startswith("/ietf-netconf-acm:nacm"))
ok("rpcs denied")
