"""NETCONF limits of a daemon started with small ones (tests/limits.rs):
max_sessions_per_user = 2, max_xml_depth = 16, max_message_bytes = 8192,
notifications.replay_capacity = 3. Users alice and bob (password
"<name>-pw").

Usage: netconf.py HOST PORT"""

import re
import time

import paramiko
from lxml import etree

from nc import *

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"


def raw(user):
    return Raw(user=user, password=f"{user}-pw")


def get_config(s, mid, filt=""):
    return s.rpc(f'<rpc xmlns="{BASE}" message-id="{mid}"><get-config><source><running/></source>{filt}</get-config></rpc>')


def reply(s, text):
    """Sends an rpc and reads up to its reply (notifications may come first
    on a subscribed session)."""
    s.send(text)
    while True:
        m = s.read()
        if "<rpc-reply" in m:
            return m


def refused_session(user):
    """Opens an SSH connection and asks for the netconf subsystem; returns
    what the server wrote on stderr if it refused, None if it accepted."""
    t = paramiko.Transport((HOST, PORT))
    t.connect(username=user, password=f"{user}-pw")
    ch = t.open_session()
    try:
        ch.invoke_subsystem("netconf")
        t.close()
        return None
    except paramiko.SSHException:
        pass
    deadline = time.time() + 5
    err = b""
    while time.time() < deadline and b"\n" not in err:
        if ch.recv_stderr_ready():
            err += ch.recv_stderr(4096)
        else:
            time.sleep(0.05)
    t.close()
    return err.decode()


# Sessions per user: alice's third is refused at the subsystem request, with
# the reason on stderr; bob is not affected; alice gets hers back when one
# ends.
a1, a2 = raw("alice"), raw("alice")
err = refused_session("alice")
assert err is not None, "a third session of alice was accepted"
assert "NETCONF session refused" in err and "netconf.max_sessions_per_user" in err, err
assert "alice already has 2" in err, err
b1 = raw("bob")
assert "<data" in get_config(b1, 1), "bob is served"
assert "<data" in get_config(a1, 2), "alice's sessions keep working"
ok("sessions per user")
a2.rpc(f'<rpc xmlns="{BASE}" message-id="3"><close-session/></rpc>')
a2.close()
deadline = time.time() + 10
while True:
    try:
        a2 = raw("alice")
        break
    except paramiko.SSHException:
        assert time.time() < deadline, "alice's ended session was not given back"
        time.sleep(0.2)
ok("a session given back")

# XML depth: rpc/get-config/filter/interfaces + n levels. 16 levels are
# read; 17 are malformed-message naming the bound; the session goes on.
def deep_filter(n):
    return (f'<filter type="subtree"><interfaces xmlns="{IF_NS}">'
            + "<interface>" * (n - 4) + "</interface>" * (n - 4) + "</interfaces></filter>")


rep = get_config(a1, 4, deep_filter(16))
assert "<data" in rep, rep
rep = Reply(get_config(a1, 5, deep_filter(17)))
check_error(rep, "rpc", "malformed-message")
assert "more than 16 levels" in rep.xml, rep.xml
assert "<data" in get_config(a1, 6)
ok("xml depth")

# One subscription per session: the second is resource-denied.
rep = a1.rpc(f'<rpc xmlns="{BASE}" message-id="7"><create-subscription xmlns="{NOTIF}"/></rpc>')
assert "<ok/>" in rep, rep
rep = Reply(reply(a1, f'<rpc xmlns="{BASE}" message-id="8"><create-subscription xmlns="{NOTIF}"/></rpc>'))
check_error(rep, "protocol", "resource-denied")
ok("subscriptions per session")

# Replay capacity 3: many session start/end notifications were logged by
# now; a replay from the epoch gives the last 3, then replayComplete.
rep = a2.rpc(f'<rpc xmlns="{BASE}" message-id="9"><create-subscription xmlns="{NOTIF}">'
             '<startTime>1970-01-01T00:00:00Z</startTime></create-subscription></rpc>')
assert "<ok/>" in rep, rep
replayed = 0
while True:
    n = a2.read()
    if "replayComplete" in n:
        break
    assert "<notification" in n, n
    replayed += 1
assert replayed == 3, f"{replayed} notifications replayed"
ok("replay capacity")

# Message size: a message over 8192 bytes is answered too-big and its
# session ends; other sessions carry on.
big = f'<rpc xmlns="{BASE}" message-id="10"><get-config><source><running/></source><!-- {"x" * 9000} --></get-config></rpc>'
rep = Reply(b1.rpc(big))
check_error(rep, "rpc", "too-big")
assert "netconf.max_message_bytes" in rep.xml, rep.xml
assert b1.closed(), "the session of the oversized message is still open"
b2 = raw("bob")
assert "<data" in get_config(b2, 11)
ok("message size")
