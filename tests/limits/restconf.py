"""RESTCONF limits of a daemon started with small ones (tests/limits.rs):
max_requests = 3, max_requests_per_user = 2, max_streams_per_user = 1,
max_body_bytes = 4096, limits.document_depth = 12. Users admin, alice and
bob (password "<name>-pw"); the daemon's certificate as the CA.

Usage: restconf.py HOST PORT CAFILE"""

import base64
import json
import socket
import ssl
import sys
import time

import requests

HOST, PORT, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BASE = f"https://{HOST}:{PORT}"
IFS = f"{BASE}/restconf/data/ietf-interfaces:interfaces"
STREAM = f"{BASE}/restconf/streams/NETCONF/json"
JSON = "application/yang-data+json"


def session(user):
    s = requests.Session()
    s.auth = (user, f"{user}-pw")
    s.verify = CA
    s.trust_env = False
    return s


admin, alice, bob = session("admin"), session("alice"), session("bob")


def ok(what):
    print("OK", what, flush=True)


def check(cond, what, r=None):
    if not cond:
        extra = "" if r is None else f"\n  {r.status_code} {r.headers}\n  {r.text[:2000]}"
        raise AssertionError(what + extra)


def error_tag(r):
    return r.json()["ietf-restconf:errors"]["error"][0]["error-tag"]


def refused(r, status, key):
    check(r.status_code == status, f"expected {status}", r)
    check(error_tag(r) == "resource-denied", "error-tag", r)
    check(key in r.json()["ietf-restconf:errors"]["error"][0]["error-message"], key, r)
    check(r.headers.get("Retry-After") == "1", "Retry-After", r)


def slow_upload(user):
    """A PUT whose body never comes: the request is in progress (it holds its
    slot) until the connection closes."""
    ctx = ssl.create_default_context(cafile=CA)
    tls = ctx.wrap_socket(socket.create_connection((HOST, PORT)), server_hostname=HOST)
    auth = base64.b64encode(f"{user}:{user}-pw".encode()).decode()
    tls.sendall((
        f"PUT /restconf/data/ietf-interfaces:interfaces/interface=slow HTTP/1.1\r\n"
        f"Host: {HOST}\r\nAuthorization: Basic {auth}\r\nContent-Type: {JSON}\r\n"
        "Content-Length: 1000\r\n\r\n").encode())
    return tls


def until(what, f, timeout=10):
    deadline = time.time() + timeout
    while True:
        r = f()
        if r is not None:
            return r
        check(time.time() < deadline, f"{what} (last seen: {last})")
        time.sleep(0.1)


last = None


def seen(r, want):
    """`r` if its status is `want`, else None (remembering it)."""
    global last
    if r.status_code == want:
        return r
    last = f"{r.status_code} {r.text[:300]}"
    return None


# Requests per user: two uploads in progress are alice's share; her third
# request is 429 resource-denied while bob is served.
a1, a2 = slow_upload("alice"), slow_upload("alice")


def peek(sock):
    sock.settimeout(0.5)
    try:
        return sock.recv(2000)
    except Exception as e:
        return repr(e)


try:
    r = until("alice's third request refused",
              lambda: seen(alice.get(IFS), 429))
except AssertionError as e:
    raise AssertionError(f"{e}\nupload 1 got: {peek(a1)}\nupload 2 got: {peek(a2)}")
refused(r, 429, "restconf.max_requests_per_user")
r = bob.get(IFS)
check(r.status_code == 200, "bob is served", r)
ok("requests per user")

# The server's total: bob's upload makes three; then anyone is 503.
b1 = slow_upload("bob")
r = until("the total reached",
          lambda: seen(admin.get(IFS), 503))
refused(r, 503, "restconf.max_requests")
for sock in (b1, a1):
    sock.close()
r = until("alice served again",
          lambda: seen(alice.get(IFS), 200))
r = admin.get(IFS)
check(r.status_code == 200, "admin served again", r)
a2.close()
ok("requests in all")

# Event streams per user: alice's second stream is 429, bob's first is
# served; alice gets one again when hers ends.
def stream(s):
    return s.get(STREAM, stream=True, headers={"Accept": "text/event-stream"}, timeout=30)


s1 = stream(alice)
check(s1.status_code == 200, "alice's stream", s1)
r = stream(alice)
refused(r, 429, "restconf.max_streams_per_user")
sb = stream(bob)
check(sb.status_code == 200, "bob's stream", sb)
s1.close()


def alice_stream_again():
    # A notification makes the server write to the closed stream and notice.
    admin.patch(IFS, data=json.dumps({"ietf-interfaces:interfaces": {"interface": [
        {"name": "lim0", "type": "iana-if-type:softwareLoopback",
         "description": str(time.time())}]}}), headers={"Content-Type": JSON})
    r = stream(alice)
    if r.status_code == 200:
        return r
    r.close()
    return None


s2 = until("alice's stream given back", alice_stream_again)
s2.close()
sb.close()
ok("streams per user")

# Body size: 4096 bytes at most (413 too-big beyond).
body = json.dumps({"ietf-interfaces:interface": [{"name": "lim1", "type": "iana-if-type:softwareLoopback",
                                                   "description": "x" * 5000}]})
r = admin.put(f"{IFS}/interface=lim1", data=body, headers={"Content-Type": JSON})
check(r.status_code == 413 and error_tag(r) == "too-big", "a 5 KB body", r)
check("restconf.max_body_bytes" in r.text, "names the key", r)
body = json.dumps({"ietf-interfaces:interface": [{"name": "lim1", "type": "iana-if-type:softwareLoopback",
                                                   "description": "x" * 3000}]})
r = admin.put(f"{IFS}/interface=lim1", data=body, headers={"Content-Type": JSON})
check(r.status_code in (201, 204), "a 3 KB body", r)
ok("body size")

# Document depth 12: a body nested 13 levels is malformed-message, and so
# is a fields expression nested 13 levels; shallower ones are served.
deep = {"ietf-interfaces:interfaces": {"interface": [{"name": "lim2", "type": "iana-if-type:softwareLoopback"}]}}
inner = deep["ietf-interfaces:interfaces"]["interface"][0]
node = inner
for _ in range(9):
    node["x"] = {}
    node = node["x"]
r = admin.patch(IFS.rsplit("/", 1)[0], data=json.dumps(deep), headers={"Content-Type": JSON})
check(r.status_code == 400 and error_tag(r) == "malformed-message", "a body 13 deep", r)
check("deeper than 12" in r.text, "names the depth", r)
r = alice.get(f"{IFS}?fields=" + "a(" * 13 + "b" + ")" * 13)
check(r.status_code == 400 and "deeper than 12" in r.text, "fields 13 deep", r)
r = alice.get(f"{IFS}?fields=interface(name)")
check(r.status_code == 200, "fields 2 deep", r)
ok("document depth")
