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

assert bystander.get_config(source="running").ok
ok("bystander")
