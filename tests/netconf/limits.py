"""The configured limits: max_sessions refuses the subsystem beyond it and
frees the slot when a session ends; an idle session is closed (the test
server runs with max_sessions = 2 and idle_timeout = 2 s)."""

import time

import paramiko

from nc import *

a = Raw()
b = Raw()
t = paramiko.Transport((HOST, PORT))
t.connect(username="admin", password="admin-pw")
ch = t.open_session()
try:
    ch.invoke_subsystem("netconf")
    refused = False
except paramiko.SSHException:
    refused = True
assert refused, "a third session was accepted"
t.close()
ok("max sessions")

a.rpc(f'<rpc xmlns="{BASE}" message-id="1"><close-session/></rpc>')
a.close()
time.sleep(0.5)
c = Raw()
rep = c.rpc(f'<rpc xmlns="{BASE}" message-id="2"><get-config><source><running/></source></get-config></rpc>')
assert "<data" in rep, rep
ok("slot freed")

# b has been idle for a while; c keeps talking
deadline = time.time() + 10
while time.time() < deadline:
    time.sleep(0.5)
    c.rpc(f'<rpc xmlns="{BASE}" message-id="3"><get-config><source><running/></source></get-config></rpc>')
    if b.closed(timeout=0.1):
        break
assert b.closed(timeout=0.1), "idle session still open"
ok("idle timeout")
