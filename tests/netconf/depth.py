"""Messages as deep as the configured XML depth allows (argv[3] levels, the
server's max_xml_depth): filters and config bodies nested that deep are
answered (data or an rpc-error), never a crash of the server; one level more
is malformed-message; the session and another one keep working."""

import sys

from nc import *

DEPTH = int(sys.argv[3])
bystander = connect()
s = Raw()


def rpc(body, mid):
    return s.rpc(f'<rpc xmlns="{BASE}" message-id="{mid}">{body}</rpc>')


def nested(tag, n):
    return f"<{tag}>" * n + f"</{tag}>" * n


# rpc / get-config / filter / interfaces / interface x n: 4 + n levels.
n = DEPTH - 4
filt = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">{nested("interface", n)}</interfaces></filter>'
rep = rpc(f"<get-config><source><running/></source>{filt}</get-config>", 1)
assert "<data" in rep or "<rpc-error>" in rep, rep[:2000]
ok("filter at the bound")

# rpc / edit-config / config / interfaces / interface x n: the YANG data is
# deeper than the document depth: malformed-message (of the data: protocol).
cfg = f'<interfaces xmlns="{IF_NS}">{nested("interface", n)}</interfaces>'
rep = Reply(rpc(f"<edit-config><target><candidate/></target><config>{cfg}</config></edit-config>", 2))
check_error(rep, "protocol", "malformed-message")
ok("config at the bound")

# One level more than the bound: the message itself is refused.
filt = f'<filter type="subtree"><interfaces xmlns="{IF_NS}">{nested("interface", n + 1)}</interfaces></filter>'
rep = Reply(rpc(f"<get-config><source><running/></source>{filt}</get-config>", 3))
check_error(rep, "rpc", "malformed-message")
assert "nested too deeply" in rep.xml, rep.xml
ok("beyond the bound")

rep = rpc("<get-config><source><running/></source></get-config>", 4)
assert "<data" in rep, rep
r = bystander.get_config(source="running")
assert r.ok, r.xml
ok("sessions keep working")
