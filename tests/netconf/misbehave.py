"""Misbehaving clients must not disturb others: a 100 MB message against
the maximum message size (both framings), garbage after the hello, and 200
parallel sessions, while a bystander session keeps working."""

import sys
import threading
import time

from nc import *

bystander = connect()
assert_ok(bystander.edit_config(target="running", config=ifaces(iface("steady"))))

def bystander_ok():
    r = bystander.get_config(source="running")
    assert r.ok and "steady" in r.xml, r.xml

# 100 MB announced in one chunk header: refused at the header
big = Raw()
big.ch.sendall(b"\n#104857600\n" + b"<" * 65536)
assert big.closed(), "oversized chunk accepted"
bystander_ok()
ok("100 MB chunk refused")

# 100 MB streamed with end-of-message framing: cut off at the limit
big = Raw(base11=False)
sent = 0
block = b"<rpc>" + b"x" * (1 << 20)
try:
    while sent < 100 << 20:
        big.ch.sendall(block)
        sent += len(block)
except Exception:
    pass
assert big.closed(), "oversized message accepted"
assert sent < 100 << 20, f"the server read all {sent} bytes"
bystander_ok()
ok("100 MB message refused after %d MB" % (sent >> 20))

# garbage after the hello
g = Raw()
g.ch.sendall(b"\x00\xff" * 1000)
assert g.closed()
g = Raw(base11=False)
g.ch.sendall(b"<<<<not xml at all]]>]]>")
rep = g.read()
assert "malformed-message" in rep, rep
bystander_ok()
ok("garbage after hello")

# 200 parallel sessions, all open at once
N = 200
barrier = threading.Barrier(N + 1, timeout=300)
errors = []
sessions = [None] * N

def worker(i):
    try:
        s = Raw()
        sessions[i] = s
        rep = s.rpc(f'<rpc xmlns="{BASE}" message-id="{i}"><get-config><source><running/></source></get-config></rpc>')
        assert f'message-id="{i}"' in rep and "steady" in rep, rep[:300]
    except Exception as e:  # noqa: BLE001
        errors.append(f"{i}: {e!r}")
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        errors.append(f"{i}: barrier broken")

threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
t0 = time.time()
for t in threads:
    t.start()
barrier.wait()
elapsed = time.time() - t0
# while all 200 are open, the bystander and a new session still work
bystander_ok()
r = bystander.get(filter=("subtree", '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><sessions/></netconf-state>'))
count = r.xml.count("<session-id>")
assert count >= N + 1, count
for t in threads:
    t.join()
assert not errors, errors[:10]
for s in sessions:
    s.close()
bystander_ok()
ok(f"{N} parallel sessions in {elapsed:.1f}s")
