"""Sends one get-config whose subtree filter holds N empty sibling elements
(argument 3) and expects too-big, then checks the session still works."""

from nc import *

n = int(sys.argv[3])
s = Raw()
filt = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">' + "<a/>" * n + "</interfaces></filter>"
rep = Reply(s.rpc(f'<rpc xmlns="{BASE}" message-id="1"><get-config><source><running/></source>{filt}</get-config></rpc>'))
errs = errors_of(rep)
assert len(errs) == 1 and errs[0].find("nc:error-tag", NS).text == "too-big", rep.xml
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="2"><get-config><source><running/></source></get-config></rpc>')
assert "<data" in rep, rep
ok(f"{n} filter nodes")
