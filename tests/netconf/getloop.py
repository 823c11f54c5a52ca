"""Sends N get-config RPCs on one raw session (argument 3), as fast as the
server answers, each with its own message-id."""

from nc import *

n = int(sys.argv[3])
s = Raw()
body = f'<get-config><source><running/></source></get-config>'
for i in range(n):
    rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="{i}">{body}</rpc>')
    assert "<data" in rep, rep
s.rpc(f'<rpc xmlns="{BASE}" message-id="end"><close-session/></rpc>')
ok(f"{n} get-config")
