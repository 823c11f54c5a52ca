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

assert bystander.get_config(source="running").ok
ok("bystander")
