"""Hostile input over RESTCONF, as a black box: mutated URIs (percent-encoding, keys,
query parameters), headers and bodies (JSON, XML, YANG Patch) on one keep-alive
connection, while a bystander keep-alive connection sends well-formed requests between
them. No answer is a 5xx (but RFC 8040's 501 operation-not-supported); the bystander's connection is never dropped and every one of
its requests succeeds; running is the same at the end as at the start (the only writes
that can succeed touch the sandbox interface `hostile0`, removed at the end).

Usage: barrage.py HOST PORT USER PASSWORD CAFILE [SEED]"""

import base64
import http.client
import json
import random
import ssl
import sys

HOST, PORT, USER, PW, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rnd = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 8040)
AUTH = "Basic " + base64.b64encode(f"{USER}:{PW}".encode()).decode()
CTX = ssl.create_default_context(cafile=CA)


def conn():
    return http.client.HTTPSConnection(HOST, PORT, context=CTX, timeout=30)


def request(c, method, url, body=None, headers=None):
    h = {"Authorization": AUTH, "Accept": "application/yang-data+json"}
    h.update(headers or {})
    c.request(method, url, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()


bystander = conn()
DATA = "/restconf/data"
IFS = f"{DATA}/ietf-interfaces:interfaces"


def running():
    st, body = request(bystander, "GET", f"{DATA}?content=config")
    assert st == 200, (st, body)
    return json.dumps(json.loads(body), sort_keys=True)


before = running()
st, _ = request(bystander, "PUT", f"{IFS}/interface=hostile0",
                json.dumps({"ietf-interfaces:interface": [{"name": "hostile0", "type": "iana-if-type:softwareLoopback"}]}),
                {"Content-Type": "application/yang-data+json"})
assert st in (201, 204), st

URIS = [
    f"{IFS}/interface=eth0",
    f"{IFS}/interface=hostile0/description",
    f"{IFS}?depth=2&content=all&fields=interface(name;type)",
    f"{DATA}/ietf-routing:routing/ribs/rib=ipv4-master/routes",
    f"{DATA}/openconfig-interfaces:interfaces/interface=eth0/state/counters",
    "/restconf/ds/ietf-datastores:operational/ietf-interfaces:interfaces?with-origin",
    f"{IFS}/interface=a%2Fb%3Dc%2C%20d",
    "/restconf/operations",
    "/.well-known/host-meta",
]
BODIES = [
    ("application/yang-data+json", json.dumps({"ietf-interfaces:interface": [{"name": "hostile0", "type": "iana-if-type:softwareLoopback", "description": "x \u00e9 \u2028"}]})),
    ("application/yang-data+xml", '<interface xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><name>hostile0</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:softwareLoopback</type><description>d</description></interface>'),
    ("application/yang-patch+json", json.dumps({"ietf-yang-patch:yang-patch": {"patch-id": "p", "edit": [{"edit-id": "e", "operation": "merge", "target": "/description", "value": {"ietf-interfaces:description": "p"}}]}})),
]
SPECIALS = ["%", "%00", "%zz", "%2F", "..", "/", "=", ",", "(", ")", ";", "?", "&", "#", "'",
            '"', "\\", "\u00ff", "\u202e", "[", "]", "*", "//", " ", "%C3%28", "fields=", "depth=0"]


def mutate_text(t: str) -> str:
    t = list(t)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(4)
        at = rnd.randrange(len(t) + 1)
        if op == 0 and t:
            t[min(at, len(t) - 1)] = chr(rnd.randrange(32, 127))
        elif op == 1:
            t[at:at] = list(rnd.choice(SPECIALS))
        elif op == 2:
            del t[at:at + rnd.randint(1, 12)]
        else:
            t[at:at] = t[at:at + rnd.randint(1, 20)] * rnd.randint(2, 4)
    return "".join(t)


def mutate_bytes(b: bytes) -> bytes:
    b = bytearray(b)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(4)
        at = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[at:at] = rnd.choice([b"\x00", b"\xff", b"{", b"}", b"[", b'"', b"\\u", b"<", b"&#0;", b"\xc3\x28", b"1e999999"])
        elif op == 2:
            del b[at:at + rnd.randint(1, 20)]
        else:
            b[at:at] = b[at:at + rnd.randint(1, 30)] * rnd.randint(2, 4)
    return bytes(b)


ATTACKS = [
    ("GET", f"{IFS}?fields=" + "a(" * 3000 + "b" + ")" * 3000, None, {}),
    ("GET", f"{IFS}/interface=" + "x" * 100000, None, {}),
    ("GET", f"{IFS}?depth=99999999999999999999", None, {}),
    ("GET", "/restconf/data/" + "a:" * 5000, None, {}),
    ("PUT", f"{IFS}/interface=hostile0", b'{"ietf-interfaces:interface":[{"name":"hostile0","name":"hostile0"}]}',
     {"Content-Type": "application/yang-data+json"}),
    ("PATCH", f"{IFS}/interface=hostile0", b"[" * 100000 + b"]" * 100000, {"Content-Type": "application/yang-data+json"}),
    ("PATCH", f"{IFS}/interface=hostile0", b"<a>" * 50000, {"Content-Type": "application/yang-data+xml"}),
    ("PATCH", f"{IFS}/interface=hostile0", b'<!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>',
     {"Content-Type": "application/yang-data+xml"}),
    ("GET", IFS, None, {"Accept": "application/yang-data+json;q=" + "9" * 1000}),
    ("GET", IFS, None, {"If-None-Match": "\"" + "x" * 5000}),
    ("GET", IFS, None, {"If-Modified-Since": "Sun, 32 Foo 99999 99:99:99 GMT"}),
]

fives = []
n = 0


def hostile(c, method, url, body, headers):
    try:
        st, b = request(c, method, url, body, headers)
    except (http.client.HTTPException, OSError):
        return None  # the server refused the message at the HTTP level and closed
    # 501 operation-not-supported is RFC 8040's answer for an operation the server does not
    # offer (section 7); anything else in 5xx is a server error.
    if st >= 500 and not (st == 501 and b"operation-not-supported" in b):
        fives.append(f"{st} for {method} {url[:200]!r}: {b[:300]!r}")
    return st


def check_bystander():
    st, body = request(bystander, "GET", f"{IFS}/interface=hostile0")
    assert st == 200, ("bystander", st, body[:300])


c = conn()
plan = [(m, u, b, h) for (m, u, b, h) in ATTACKS]
for _ in range(300):
    kind = rnd.randrange(3)
    if kind == 0:
        plan.append(("GET", mutate_text(rnd.choice(URIS)), None, {}))
    elif kind == 1:
        ctype, body = rnd.choice(BODIES)
        method = "PATCH" if "patch" in ctype else rnd.choice(["PUT", "PATCH", "POST"])
        plan.append((method, f"{IFS}/interface=hostile0", mutate_bytes(body.encode()), {"Content-Type": ctype}))
    else:
        name = rnd.choice(["Accept", "Content-Type", "If-Match", "Authorization"])
        value = mutate_text(rnd.choice(["application/yang-data+json", "application/yang-data+xml", '"abc"', AUTH]))
        plan.append(("GET", f"{IFS}/interface=hostile0", None, {name: value}))
for method, url, body, headers in plan:
    n += 1
    if not all(32 <= ord(ch) < 127 for ch in url):
        url = url.encode("utf-8", "surrogateescape").decode("latin-1")
        url = "".join(ch if 32 < ord(ch) < 127 else "%%%02X" % ord(ch) for ch in url)
    try:
        st = hostile(c, method, url, body, headers)
    except (ValueError, UnicodeError):
        st = None  # http.client itself refused to send it
    if st is None:
        c.close()
        c = conn()
    check_bystander()
assert not fives, "server errors:\n" + "\n".join(fives)
print(f"OK barrage: {n} hostile requests, no 5xx, the bystander connection kept", flush=True)

st, _ = request(bystander, "DELETE", f"{IFS}/interface=hostile0")
assert st == 204, st
assert running() == before, "running changed"
print("OK running unchanged", flush=True)
