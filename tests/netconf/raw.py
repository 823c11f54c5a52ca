"""Hand-made messages over a raw SSH subsystem channel: the envelope's
rpc-errors (missing-attribute, malformed-message), attribute echo, both
framings, chunks split anywhere, and sessions the server must end (bad
hello, garbage instead of a chunk header) without disturbing others."""

from nc import *

bystander = connect()

# attributes of the rpc are echoed on the reply, with their namespaces
s = Raw()
assert "<session-id>" in s.server_hello and "base:1.1" in s.server_hello
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="101" xmlns:ex="urn:example:x" ex:user-id="fred"><get-config><source><running/></source></get-config></rpc>')
assert 'message-id="101"' in rep and 'ex:user-id="fred"' in rep and 'xmlns:ex="urn:example:x"' in rep, rep
assert "<data" in rep, rep
ok("attribute echo")

# missing message-id: missing-attribute (RFC 6241 §4.1)
rep = Reply(s.rpc(f'<rpc xmlns="{BASE}"><get-config><source><running/></source></get-config></rpc>'))
check_error(rep, "rpc", "missing-attribute", info={"bad-attribute": "message-id", "bad-element": "rpc"})
ok("missing-attribute")

# not well-formed: malformed-message; the session survives
rep = Reply(s.rpc(f'<rpc xmlns="{BASE}" message-id="102"><get-config>'))
check_error(rep, "rpc", "malformed-message")
rep = Reply(s.rpc(f'<notrpc xmlns="{BASE}" message-id="103"/>'))
check_error(rep, "rpc", "malformed-message")
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="104"><get-config><source><running/></source></get-config></rpc>')
assert 'message-id="104"' in rep and "<data" in rep, rep
ok("malformed-message")

# one message in many chunks, two messages in one write
body = f'<rpc xmlns="{BASE}" message-id="105"><get-config><source><running/></source></get-config></rpc>'.encode()
framed = b"".join(b"\n#%d\n" % len(body[i:i + 7]) + body[i:i + 7] for i in range(0, len(body), 7)) + b"\n##\n"
s.ch.sendall(framed + framed.replace(b"105", b"106"))
r1, r2 = s.read(), s.read()
assert 'message-id="105"' in r1 and 'message-id="106"' in r2, (r1, r2)
ok("chunks")

# base:1.0 only: end-of-message framing throughout
s10 = Raw(base11=False)
rep = s10.rpc(f'<rpc xmlns="{BASE}" message-id="1"><get-config><source><running/></source></get-config></rpc>')
assert "<data" in rep, rep
s10.close()
ok("base:1.0 framing")

# garbage instead of a chunk header: the session is closed
g = Raw()
g.ch.sendall(b"this is not a chunk\n")
assert g.closed(), "the server kept a session with broken framing"
ok("bad chunk closes")

# a hello with a session-id, or no common base version: closed
h = Raw(hello=False)
h.send_eom(f'<hello xmlns="{BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities><session-id>4</session-id></hello>')
assert h.closed()
h = Raw(hello=False)
h.send_eom(f'<hello xmlns="{BASE}"><capabilities><capability>urn:example:nothing</capability></capabilities></hello>')
assert h.closed()
h = Raw(hello=False)
h.ch.sendall(b"\x00\x01garbage]]>]]>")
assert h.closed()
ok("bad hellos close")

# the bystander never noticed
assert bystander.get_config(source="running").ok
rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="107"><close-session/></rpc>')
assert "<ok/>" in rep
ok("bystander")
