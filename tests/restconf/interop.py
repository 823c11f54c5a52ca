"""RESTCONF interop against the running daemon with Python requests over TLS
(the daemon's self-signed certificate as the CA file), sseclient-py for the
event stream, ncclient for cross-protocol visibility, and yanglint for the
data the server returns.

usage: interop.py HOST PORT USER PASSWORD CAFILE NETCONF_PORT YANG_DIR...
Exits non-zero (an AssertionError with details) on the first failure.
"""

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time

import requests
import sseclient
from ncclient import manager

HOST, PORT, USER, PASSWORD, CAFILE, NC_PORT = sys.argv[1:7]
YANG_DIRS = sys.argv[7:]
BASE = f"https://{HOST}:{PORT}"
NACM = f"{BASE}/restconf/data/ietf-netconf-acm:nacm"
JSON = "application/yang-data+json"
XML = "application/yang-data+xml"

s = requests.Session()
s.auth = (USER, PASSWORD)
s.verify = CAFILE
# Environment CA bundles (REQUESTS_CA_BUNDLE) would override the session.
s.trust_env = False


def check(cond, what, resp=None):
    if not cond:
        extra = ""
        if resp is not None:
            extra = f"\n  {resp.status_code} {resp.headers}\n  {resp.text[:2000]}"
        raise AssertionError(what + extra)


def send(method, url, body=None, ctype=JSON, **kw):
    headers = kw.pop("headers", {})
    if body is not None:
        headers["Content-Type"] = ctype
        if not isinstance(body, str):
            body = json.dumps(body)
    return s.request(method, url, data=body, headers=headers, **kw)


def rule_list(name, group="g"):
    return {"ietf-netconf-acm:rule-list": [{"name": name, "group": [group]}]}


def names():
    r = s.get(f"{NACM}/rule-list?fields=name")
    if r.status_code == 404:
        return []
    check(r.status_code == 200, "GET rule-list names", r)
    return [e["name"] for e in r.json()["ietf-netconf-acm:rule-list"]]


def module_file(name):
    import glob
    import os
    for d in YANG_DIRS:
        for pattern in (f"{name}.yang", f"{name}@*.yang"):
            found = sorted(glob.glob(os.path.join(d, pattern)))
            if found:
                return found[-1]
    raise AssertionError(f"no YANG file for {name} in {YANG_DIRS}")


def yanglint(kind, fmt, text, modules):
    with tempfile.NamedTemporaryFile("w", suffix="." + fmt) as f:
        f.write(text)
        f.flush()
        args = ["yanglint", "-t", kind]
        for d in YANG_DIRS:
            args += ["-p", d]
        args += [module_file(m) for m in modules] + [f.name]
        out = subprocess.run(args, capture_output=True, text=True)
        check(out.returncode == 0, f"yanglint {kind} {fmt} {modules}: {out.stderr}\n{text[:1500]}")


# --- discovery -------------------------------------------------------------
r = requests.get(f"{BASE}/.well-known/host-meta", verify=CAFILE)
check(r.status_code == 200 and "rel=\"restconf\"" in r.text, "host-meta", r)
r = requests.get(f"{BASE}/restconf", verify=CAFILE)
check(r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic"), "401", r)
check(r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "access-denied", "401 body", r)
r = s.get(f"{BASE}/restconf")
check(r.json()["ietf-restconf:restconf"]["yang-library-version"] == "2019-01-04", "root", r)
r = s.get(f"{BASE}/restconf/data/ietf-yang-library:yang-library")
check(r.status_code == 200, "yang-library", r)
yanglint("get", "json", r.text, ["ietf-yang-library", "ietf-datastores"])
lib = r.json()["ietf-yang-library:yang-library"]
mods = {m["name"]: m for m in lib["module-set"][0]["module"]}
loc = mods["ietf-netconf-acm"]["location"][0]
check(loc.startswith(BASE + "/yang/"), f"schema location {loc}")
r = s.get(loc)
check(r.status_code == 200 and r.text.startswith("module ietf-netconf-acm"), "schema download", r)
r = s.get(f"{BASE}/restconf/data/ietf-yang-library:yang-library", headers={"Accept": XML})
check(r.headers["Content-Type"] == XML, "XML content type", r)
yanglint("get", "xml", r.text, ["ietf-yang-library", "ietf-datastores"])
r = s.get(f"{BASE}/restconf/data/ietf-restconf-monitoring:restconf-state")
check(r.status_code == 200, "restconf-state", r)
yanglint("get", "json", r.text, ["ietf-restconf-monitoring"])
streams = r.json()["ietf-restconf-monitoring:restconf-state"]["streams"]["stream"]
locations = {a["encoding"]: a["location"] for a in streams[0]["access"]}
check(locations["json"] == f"{BASE}/restconf/streams/NETCONF/json", f"stream location {locations}")

# --- event stream: follow it while changing things -------------------------
events = queue.Queue()


def follow(url, accept_xml=False):
    resp = s.get(url, stream=True, headers={"Accept": "text/event-stream"}, timeout=60)
    check(resp.status_code == 200, "stream", resp)
    check(resp.headers["Content-Type"] == "text/event-stream", "stream type", resp)
    for ev in sseclient.SSEClient(resp).events():
        events.put(ev.data)


threading.Thread(target=follow, args=(locations["json"],), daemon=True).start()
time.sleep(0.5)

# --- data resource: every method -------------------------------------------
for n in names():
    if n.startswith("rc-") or n.startswith("nc-"):
        s.delete(f"{NACM}/rule-list={n}")
r = send("POST", NACM, rule_list("rc-a"))
check(r.status_code == 201, "POST", r)
check(r.headers["Location"] == f"{NACM}/rule-list=rc-a", "Location", r)
r = send("POST", NACM, rule_list("rc-a"))
check(r.status_code == 409, "POST twice", r)
check(r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "data-exists", "409 body", r)
r = send("PUT", f"{NACM}/rule-list=rc-b?insert=first", rule_list("rc-b"))
check(r.status_code == 201, "PUT insert=first", r)
check(names()[0] == "rc-b", f"order {names()}")
r = send("POST", f"{NACM}?insert=after&point=/ietf-netconf-acm:nacm/rule-list=rc-b", rule_list("rc-c"))
check(r.status_code == 201, "POST insert=after", r)
check(names()[:3] == ["rc-b", "rc-c", "rc-a"] or names().index("rc-c") == names().index("rc-b") + 1,
      f"order {names()}")
r = send("PATCH", f"{NACM}/rule-list=rc-a", rule_list("rc-a", "other"))
check(r.status_code == 204, "PATCH", r)
r = s.get(f"{NACM}/rule-list=rc-a/group")
check(sorted(r.json()["ietf-netconf-acm:group"]) == ["g", "other"], "PATCH merged", r)
xml = ('<rule-list xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><name>rc-x</name>'
       '<group>gx</group></rule-list>')
r = send("PUT", f"{NACM}/rule-list=rc-x", xml, ctype=XML)
check(r.status_code == 201, "PUT XML", r)
r = s.get(f"{NACM}/rule-list=rc-x", headers={"Accept": XML})
check(r.text == xml, "GET XML", r)
r = s.get(f"{NACM}?content=config", headers={"Accept": XML})
yanglint("getconfig", "xml", r.text, ["ietf-netconf-acm"])
r = s.get(f"{NACM}?content=config")
yanglint("getconfig", "json", r.text, ["ietf-netconf-acm"])
r = s.get(f"{NACM}?with-defaults=report-all-tagged&depth=2")
check(r.json()["ietf-netconf-acm:nacm"]["@enable-nacm"] == {"ietf-netconf-with-defaults:default": True},
      "report-all-tagged", r)

# --- ETag and conditional requests -----------------------------------------
r = s.get(f"{NACM}/rule-list=rc-x")
etag = r.headers["ETag"]
check(r.headers.get("Last-Modified"), "Last-Modified", r)
r = send("PUT", f"{NACM}/rule-list=rc-x", rule_list("rc-x", "gy"), headers={"If-Match": '"stale"'})
check(r.status_code == 412, "If-Match stale", r)
r = send("PUT", f"{NACM}/rule-list=rc-x", rule_list("rc-x", "gy"), headers={"If-Match": etag})
check(r.status_code == 204, "If-Match current", r)
r = s.get(f"{NACM}/rule-list=rc-x", headers={"If-None-Match": r.headers["ETag"]})
check(r.status_code == 304, "If-None-Match", r)

# --- YANG Patch --------------------------------------------------------------
patch = {"ietf-yang-patch:yang-patch": {"patch-id": "py-1", "edit": [
    {"edit-id": "1", "operation": "insert", "target": "/rule-list=rc-p", "where": "before",
     "point": "/rule-list=rc-a", "value": rule_list("rc-p")},
    {"edit-id": "2", "operation": "move", "target": "/rule-list=rc-x", "where": "first"},
    {"edit-id": "3", "operation": "delete", "target": "/rule-list=rc-c"},
]}}
r = send("PATCH", NACM, patch, ctype="application/yang-patch+json")
check(r.status_code == 200, "YANG Patch", r)
check(r.json() == {"ietf-yang-patch:yang-patch-status": {"patch-id": "py-1", "ok": [None]}}, "status", r)
order = names()
check(order[0] == "rc-x" and "rc-c" not in order and order.index("rc-p") + 1 == order.index("rc-a"),
      f"patched order {order}")
patch["ietf-yang-patch:yang-patch"]["patch-id"] = "py-2"
r = send("PATCH", NACM, patch, ctype="application/yang-patch+json")
check(r.status_code == 409, "YANG Patch conflict", r)
st = r.json()["ietf-yang-patch:yang-patch-status"]
check(st["edit-status"]["edit"][0]["edit-id"] == "1", "failing edit named", r)

# --- errors --------------------------------------------------------------------
r = s.get(f"{NACM}/rule-list=nope")
check(r.status_code == 404 and r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "invalid-value",
      "404", r)
r = s.get(f"{NACM}?bogus=1")
check(r.status_code == 400, "unknown parameter", r)
r = send("PUT", f"{NACM}/rule-list=z", "x", ctype="text/plain")
check(r.status_code == 415, "415", r)
r = s.get(NACM, headers={"Accept": "text/html"})
check(r.status_code == 406, "406", r)
r = send("PUT", f"{NACM}/rule-list=z", rule_list("other"))
check(r.status_code == 400, "key mismatch", r)

# --- operations ----------------------------------------------------------------
r = s.get(f"{BASE}/restconf/operations")
check("nectar-mgmt:rollback" in r.json()["ietf-restconf:operations"], "operations", r)
r = s.get(f"{BASE}/restconf/data/nectar-mgmt:commit-history")
check(r.status_code == 200, "commit-history", r)
yanglint("get", "json", r.text, ["nectar-mgmt"])
commits = r.json()["nectar-mgmt:commit-history"]["commit"]
newest = max(int(c["id"]) for c in commits)
r = send("POST", f"{BASE}/restconf/operations/nectar-mgmt:rollback",
         {"nectar-mgmt:input": {"id": str(newest - 1), "comment": "py rollback"}})
check(r.status_code == 200 and "nectar-mgmt:output" in r.json(), "rollback", r)
order = names()
check("rc-c" in order, f"rollback restored rc-c: {order}")

# --- cross-protocol: RESTCONF <-> NETCONF ----------------------------------------
with manager.connect(host=HOST, port=int(NC_PORT), username=USER, password=PASSWORD,
                     hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=30) as m:
    flt = ('<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><rule-list>'
           '<name>rc-x</name></rule-list></nacm>')
    reply = m.get_config(source="running", filter=("subtree", flt))
    check("<name>rc-x</name>" in reply.data_xml and "gy" in reply.data_xml,
          f"RESTCONF change over NETCONF: {reply.data_xml}")
    m.edit_config(target="running", config=(
        '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
        '<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><rule-list>'
        '<name>nc-1</name><group>from-netconf</group></rule-list></nacm></config>'))
r = s.get(f"{NACM}/rule-list=nc-1")
check(r.status_code == 200 and r.json()["ietf-netconf-acm:rule-list"][0]["group"] == ["from-netconf"],
      "NETCONF change over RESTCONF", r)

# --- the event stream saw the changes --------------------------------------
seen = []
deadline = time.time() + 20
while time.time() < deadline:
    try:
        data = events.get(timeout=1)
    except queue.Empty:
        continue
    msg = json.loads(data)["ietf-restconf:notification"]
    seen.append(msg)
    cc = msg.get("ietf-netconf-notifications:netconf-config-change")
    if cc and any("nc-1" in e.get("target", "") for e in cc.get("edit", [])):
        break
else:
    raise AssertionError(f"no config-change for nc-1 in the stream: {seen}")
check(any("rc-a" in json.dumps(m) for m in seen), "RESTCONF change in the stream")

# Replay and XML encoding: the XML stream from a start-time in the past.
start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
resp = s.get(f"{BASE}/restconf/streams/NETCONF/xml?start-time={start}", stream=True,
             headers={"Accept": "text/event-stream"}, timeout=30)
check(resp.status_code == 200, "xml stream", resp)
for ev in sseclient.SSEClient(resp).events():
    check(ev.data.startswith('<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0">'),
          f"XML notification: {ev.data}")
    break
resp.close()

for n in names():
    if n.startswith("rc-") or n.startswith("nc-"):
        r = s.delete(f"{NACM}/rule-list={n}")
        check(r.status_code == 204, "cleanup", r)
print("restconf interop: ok")
