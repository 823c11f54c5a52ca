"""Hostile input found by black-box testing (issue 17): each message gets
its RFC 6241 rpc-error, changes nothing, and the server (and a bystander
session) keep answering."""

from nc import *

bystander = connect()
s = Raw()
LOOP = f'<type xmlns:ianaift="{IANA_NS}">ianaift:softwareLoopback</type>'


def edit(target, config, mid):
    return s.rpc(
        f'<rpc xmlns="{BASE}" message-id="{mid}"><edit-config><target><{target}/></target>'
        f'<config>{config}</config></edit-config></rpc>'
    )


def running():
    return s.rpc(f'<rpc xmlns="{BASE}" message-id="9999"><get-config><source><running/></source></get-config></rpc>')


before = running()

# Defect 5: a list key given twice, then the same entry again, aborted the
# daemon inside libyang. Now: bad-element naming the key, nothing changed.
dup_key = (
    f'<interfaces xmlns="{IF_NS}"><interface><name>k2</name><name>k2</name>{LOOP}</interface>'
    f'<interface><name>k2</name>{LOOP}</interface></interfaces>'
)
for i, target in enumerate(["candidate", "running"]):
    rep = Reply(edit(target, dup_key, 10 + i))
    check_error(rep, "application", "bad-element", info={"bad-element": "name"})
assert running().replace("9999", "") == before.replace("9999", "")
ok("list key twice")

# Defect 6: nesting is bounded at every recursive parser: the message's
# XML, subtree filters, XPath filters and config bodies.
def get_config(filt, mid):
    return s.rpc(
        f'<rpc xmlns="{BASE}" message-id="{mid}"><get-config><source><running/></source>'
        f'{filt}</get-config></rpc>'
    )


deep = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">' + "<a>" * 100000 + "</a>" * 100000 + "</interfaces></filter>"
check_error(Reply(get_config(deep, 20)), "rpc", "malformed-message")
for n in (90, 400):
    near = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">' + "<interface>" * n + "</interface>" * n + "</interfaces></filter>"
    rep = get_config(near, 21)
    assert "<data" in rep or "<rpc-error>" in rep, rep
xp = "/if:interfaces/if:interface[" + "(" * 5000 + "1" + ")" * 5000 + "]"
rep = Reply(get_config(f'<filter type="xpath" xmlns:if="{IF_NS}" select="{xp}"/>', 22))
check_error(rep, "application", "invalid-value")
xp = "/if:interfaces" + "/if:interface" * 20000
rep = get_config(f'<filter type="xpath" xmlns:if="{IF_NS}" select="{xp}"/>', 23)
assert "<data" in rep or "<rpc-error>" in rep, rep
deep_cfg = f'<interfaces xmlns="{IF_NS}">' + "<interface>" * 100000 + "</interface>" * 100000 + "</interfaces>"
check_error(Reply(edit("candidate", deep_cfg, 24)), "rpc", "malformed-message")
assert running().replace("9999", "") == before.replace("9999", "")
ok("deep nesting")

# Defect 10: the parser is strict XML 1.0 and replies are always
# well-formed (check_error parses each reply with lxml).
MON_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
for bad in [
    f'<rpc xmlns="{BASE}" message-id="30"><get-config><source><running/></source><filter type="subtree"><a>x</a\x0c></filter></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="31"><get-config><source><running/></source><\uffff/></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id\u2068="32"><get-config><source><running/></source></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="33"><get-config><source><running/></source><filter ty\u2004pe="subtree"/></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="34"><get-config><source><running/></source><filter\u2009type="subtree"/></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="35"><get-config><source><running/></source><filter type/></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="36"><get-config><source><running/></source><filter type="subtree"><interfaces xmlns="{IF_NS}"><interface><name>a\x01</name></interface></interfaces></filter></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="37"><get-config><source><running/></source><filter type="subtree"><interfaces xmlns="{IF_NS}"><interface><name>&#xFFFF;</name></interface></interfaces></filter></get-config></rpc>',
]:
    rep = s.rpc(bad)
    assert "\x0c" not in rep and "\uffff" not in rep and "\u2068" not in rep and "\x01" not in rep, repr(rep)
    check_error(Reply(rep), "rpc", "malformed-message")
# What is echoed is escaped.
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="a&quot;&lt;&amp;b"><get-config><source><running/></source></get-config></rpc>')
assert xml_of(Reply(rep)).get("message-id") == 'a"<&b', rep
# The session still works.
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="38"><get-config><source><running/></source></get-config></rpc>')
assert 'message-id="38"' in rep and "<data" in rep, rep
ok("strict xml")

# Defect 11: a parameter given twice is bad-element, not a silent choice.
def candidate():
    return s.rpc(f'<rpc xmlns="{BASE}" message-id="9998"><get-config><source><candidate/></source></get-config></rpc>').replace("9998", "")


cand = candidate()
one = f'<interfaces xmlns="{IF_NS}"><interface><name>d1</name>{LOOP}</interface></interfaces>'
for mid, body, param in [
    (40, f'<edit-config><target><candidate/></target><target><running/></target><config>{one}</config></edit-config>', "target"),
    (41, f'<edit-config><target><candidate/></target><config>{one}</config><config>{one}</config></edit-config>', "config"),
    (42, f'<get-config><source><running/></source><source><candidate/></source></get-config>', "source"),
    (43, f'<get><filter type="subtree"><interfaces xmlns="{IF_NS}"/></filter><filter type="subtree"><interfaces xmlns="{IF_NS}"/></filter></get>', "filter"),
    (44, f'<get-schema xmlns="{MON_NS}"><identifier>ietf-interfaces</identifier><identifier>ietf-ip</identifier></get-schema>', "identifier"),
    (45, f'<edit-config><target><candidate/><running/></target><config>{one}</config></edit-config>', "target"),
]:
    rep = Reply(s.rpc(f'<rpc xmlns="{BASE}" message-id="{mid}">{body}</rpc>'))
    check_error(rep, "protocol", "bad-element", info={"bad-element": param})
# One leaf twice in a candidate edit (running refused it, candidate stored
# both), and two entries of one list with the same key and different
# content (merged): refused, in both datastores.
two_desc = f'<interfaces xmlns="{IF_NS}"><interface><name>d2</name>{LOOP}<description>x</description><description>y</description></interface></interfaces>'
two_entries = (
    f'<interfaces xmlns="{IF_NS}"><interface><name>d3</name>{LOOP}<description>x</description></interface>'
    f'<interface><name>d3</name>{LOOP}<enabled>false</enabled></interface></interfaces>'
)
for i, target in enumerate(["candidate", "running"]):
    rep = Reply(edit(target, two_desc, 50 + i))
    check_error(rep, "application", "bad-element", info={"bad-element": "description"})
    rep = Reply(edit(target, two_entries, 52 + i))
    check_error(rep, "application", "bad-element", info={"bad-element": "interface"})
assert candidate() == cand
assert running().replace("9999", "") == before.replace("9999", "")
ok("duplicates")

# Defect 13: the work a filter causes is bounded. 200,000 sibling entries
# (a 7.6 MB message) cost about 450 MB; now too-big, quickly (150,000 here:
# the test server takes messages up to 8 MB).
entries = "".join(f"<interface><name>if{i:06d}</name></interface>" for i in range(150000))
huge = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">{entries}</interfaces></filter>'
t = time.time()
check_error(Reply(get_config(huge, 60)), "protocol", "too-big")
assert time.time() - t < 30, time.time() - t
entries = "".join(f"<interface><name>if{i:06d}</name></interface>" for i in range(2000))
rep = get_config(f'<filter type="subtree"><interfaces xmlns="{IF_NS}">{entries}</interfaces></filter>', 61)
assert "<data" in rep, rep
long_xpath = "/if:interfaces/if:interface[if:name='" + "x" * 70000 + "']"
check_error(Reply(get_config(f'<filter type="xpath" xmlns:if="{IF_NS}" select="{long_xpath}"/>', 62)), "protocol", "too-big")
ok("bounded filters")

assert bystander.get_config(source="running").ok
ok("bystander")
