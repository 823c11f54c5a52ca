"""YANG-Push over RESTCONF (RFC 8650) with Python requests and sseclient-py
over TLS: establish-subscription in JSON and XML, the stream at the
Location the reply gives, push-update and push-change-update in encode-json
and encode-xml (validated by yanglint), the subscription owned by its user,
ended with its stream, killed across doors (a NETCONF subscription killed
over RESTCONF), replay on the NETCONF stream, and the RFC 8639 errors.

usage: yangpush.py HOST PORT CAFILE NETCONF_PORT MODELS_DIR"""

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests
import sseclient
from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele

HOST, PORT, CAFILE, NC_PORT, MODELS = sys.argv[1:6]
BASE = f"https://{HOST}:{PORT}/restconf"
JSON = "application/yang-data+json"
XML = "application/yang-data+xml"
SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"
OPS = f"{BASE}/operations/ietf-subscribed-notifications"


def session(user, pw):
    s = requests.Session()
    s.auth = (user, pw)
    s.verify = CAFILE
    s.trust_env = False
    return s


T0 = time.time()
admin = session("admin", "admin-pw")
alice = session("alice", "alice-pw")


def ok(name):
    print("OK", name, f"({time.time() - T0:.1f} s)", flush=True)


def check(cond, what, resp=None):
    if not cond:
        extra = f"\n  {resp.status_code} {resp.headers}\n  {resp.text[:2000]}" if resp is not None else ""
        raise AssertionError(what + extra)


def post_json(s, op, body):
    return s.post(f"{OPS}:{op}", data=json.dumps({"ietf-subscribed-notifications:input": body}),
                  headers={"Content-Type": JSON, "Accept": JSON})


class Stream:
    """An SSE reader on a thread; events land in a queue."""

    def __init__(self, s, url):
        self.q = queue.Queue()
        self.resp = s.get(url, stream=True, headers={"Accept": "text/event-stream"}, timeout=(5, 60))
        check(self.resp.status_code == 200, f"GET {url}", self.resp)
        self.client = sseclient.SSEClient(self.resp)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for ev in self.client.events():
                self.q.put(ev.data)
        except Exception:
            pass
        self.q.put(None)

    def take(self, pred, timeout=10, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                d = self.q.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            if d is None:
                raise AssertionError(f"{what}: the stream ended")
            if pred(d):
                return d
        raise AssertionError(f"{what} not received")

    def close(self):
        """Closes the connection at once (shutting the socket down wakes
        the reader thread; a plain close would wait for it)."""
        try:
            sock = self.resp.raw._fp.fp.raw._sock
            sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        self.resp.close()
        self.t.join(5)


VALIDATE = []

# --- JSON: on-change on running, stream at the Location of the reply ---
r = post_json(admin, "establish-subscription", {
    "ietf-yang-push:datastore": "ietf-datastores:running",
    "ietf-yang-push:datastore-xpath-filter": "/ietf-interfaces:interfaces/interface[name='rp-a']",
    "ietf-yang-push:on-change": {"dampening-period": 0}})
check(r.status_code == 200, "establish (JSON)", r)
sid = r.json()["ietf-subscribed-notifications:output"]["id"]
loc = r.headers.get("Location", "")
check(loc.endswith(f"/restconf/subscriptions/{sid}"), f"Location {loc!r}", r)
st = Stream(admin, loc)
sync = json.loads(st.take(lambda d: "push-update" in d, what="sync push-update"))
n = sync["ietf-restconf:notification"]
check("eventTime" in n and n["ietf-yang-push:push-update"]["id"] == sid, f"sync {sync}")
VALIDATE.append(("json", sync))
r = admin.patch(f"{BASE}/data/ietf-interfaces:interfaces", headers={"Content-Type": JSON},
                data=json.dumps({"ietf-interfaces:interfaces": {"interface": [
                    {"name": "rp-a", "type": "iana-if-type:softwareLoopback", "description": "via restconf"}]}}))
check(r.status_code in (200, 204), "PATCH", r)
ch = json.loads(st.take(lambda d: "push-change-update" in d, what="push-change-update"))
edits = ch["ietf-restconf:notification"]["ietf-yang-push:push-change-update"]["datastore-changes"]["yang-patch"]["edit"]
# Nothing was selected before: the selection's top container is created.
check(edits[0]["operation"] == "create" and edits[0]["target"] == "/ietf-interfaces:interfaces",
      f"edits {edits}")
check(edits[0]["value"]["ietf-interfaces:interfaces"]["interface"][0]["description"] == "via restconf",
      f"edits {edits}")
r = admin.patch(f"{BASE}/data/ietf-interfaces:interfaces/interface=rp-a", headers={"Content-Type": JSON},
                data=json.dumps({"ietf-interfaces:interface": [{"name": "rp-a", "description": "changed"}]}))
check(r.status_code in (200, 204), "PATCH description", r)
ch = json.loads(st.take(lambda d: "push-change-update" in d, what="push-change-update"))
edits = ch["ietf-restconf:notification"]["ietf-yang-push:push-change-update"]["datastore-changes"]["yang-patch"]["edit"]
check(edits == [{"edit-id": "edit1", "operation": "replace",
                 "target": "/ietf-interfaces:interfaces/interface=rp-a/description",
                 "value": {"ietf-interfaces:description": "changed"}}], f"edits {edits}")
VALIDATE.append(("json", ch))
ok("json on-change with the stream at Location")

# another user can neither read nor end it
r = alice.get(loc, headers={"Accept": "text/event-stream"}, timeout=10)
check(r.status_code == 404, "alice opens admin's stream", r)
r = post_json(alice, "delete-subscription", {"id": sid})
check(r.status_code == 400 and "no-such-subscription" in r.text, "alice deletes admin's subscription", r)
# one stream per subscription
r = admin.get(loc, headers={"Accept": "text/event-stream"}, timeout=10)
check(r.status_code == 409, "a second stream of the same subscription", r)
ok("a subscription belongs to its user")

# modify over RESTCONF: subscription-modified on the stream
r = post_json(admin, "modify-subscription", {
    "id": sid, "ietf-yang-push:datastore": "ietf-datastores:running",
    "ietf-yang-push:datastore-xpath-filter": "/ietf-interfaces:interfaces/interface[name='rp-b']"})
check(r.status_code == 204, "modify", r)
mod = json.loads(st.take(lambda d: "subscription-modified" in d, what="subscription-modified"))
VALIDATE.append(("json", mod))
ok("modify")

# the subscription dies with its stream
st.close()
deadline = time.time() + 10
while time.time() < deadline:
    r = admin.get(f"{BASE}/data/ietf-subscribed-notifications:subscriptions", headers={"Accept": JSON})
    ids = [x["id"] for x in r.json().get("ietf-subscribed-notifications:subscriptions", {}).get("subscription", [])] if r.status_code == 200 else []
    if sid not in ids:
        break
    time.sleep(0.2)
check(sid not in ids, f"subscription {sid} still listed after its stream closed", r)
r = post_json(admin, "delete-subscription", {"id": sid})
check(r.status_code == 400 and "no-such-subscription" in r.text, "delete after the stream closed", r)
ok("the subscription ends with its stream")

# --- XML: periodic on operational, encode-xml ---
body = (f'<input xmlns="{SN}"><datastore xmlns="{YP}" xmlns:ds="urn:ietf:params:xml:ns:yang:ietf-datastores">ds:operational</datastore>'
        f'<datastore-xpath-filter xmlns="{YP}" xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces">'
        f'/if:interfaces/if:interface[if:name=\'rp-a\']</datastore-xpath-filter>'
        f'<periodic xmlns="{YP}"><period>20</period></periodic></input>')
r = admin.post(f"{OPS}:establish-subscription", data=body, headers={"Content-Type": XML, "Accept": XML})
check(r.status_code == 200 and "<id>" in r.text, "establish (XML)", r)
xid = int(etree.fromstring(r.content).find(f"{{{SN}}}id").text)
st = Stream(admin, r.headers["Location"])
for _ in range(3):
    d = st.take(lambda d: "push-update" in d, what="XML push-update")
    el = etree.fromstring(d.encode())
    check(etree.QName(el).localname == "notification", d)
    check(el.xpath("//*[local-name()='datastore-contents']//*[local-name()='oper-status']"), d)
    VALIDATE.append(("xml", d))
st.close()
ok("xml periodic on operational")

# --- the NETCONF stream with replay, JSON ---
t0 = time.time() - 60
r = post_json(admin, "establish-subscription", {
    "stream": "NETCONF", "replay-start-time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
    "stream-xpath-filter": "/ietf-netconf-notifications:netconf-config-change"})
check(r.status_code == 200, "establish stream", r)
rid = r.json()["ietf-subscribed-notifications:output"]["id"]
st = Stream(admin, r.headers["Location"])
st.take(lambda d: "netconf-config-change" in d and "rp-a" in d, what="replayed config change")
rc = json.loads(st.take(lambda d: "replay-completed" in d, what="replay-completed"))
VALIDATE.append(("json", rc))
st.close()
ok("stream with replay")

# --- a NETCONF subscription killed over RESTCONF ---
m = manager.connect(host=HOST, port=int(NC_PORT), username="admin", password="admin-pw",
                    hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=30)
rep = m.dispatch(to_ele(f'<establish-subscription xmlns="{SN}"><stream>NETCONF</stream></establish-subscription>'))
nid = int(etree.fromstring(rep.xml.encode()).xpath("//*[local-name()='id']/text()")[0])
r = post_json(alice, "kill-subscription", {"id": nid})
check(r.status_code == 403, "alice may not kill", r)
r = post_json(admin, "kill-subscription", {"id": nid})
check(r.status_code == 204, "kill over RESTCONF", r)
deadline = time.time() + 10
got = None
while time.time() < deadline and got is None:
    n = m.take_notification(block=True, timeout=1)
    if n is not None and "subscription-terminated" in n.notification_xml:
        got = n.notification_xml
check(got is not None and "no-such-subscription" in got, f"NETCONF told of the kill: {got}")
m.close_session()
ok("kill across doors")

# --- errors ---
r = post_json(admin, "establish-subscription", {
    "ietf-yang-push:datastore": "ietf-datastores:operational", "ietf-yang-push:periodic": {"period": 0}})
check(r.status_code == 400, "period 0", r)
e = r.json()["ietf-restconf:errors"]["error"][0]
info = e.get("error-info", {}).get("ietf-yang-push:establish-subscription-datastore-error-info", {})
check(e["error-app-tag"] == "ietf-yang-push:period-unsupported"
      and info.get("reason") == "ietf-yang-push:period-unsupported"
      and isinstance(info.get("period-hint"), int), f"{e}")
r = post_json(admin, "establish-subscription", {"stream": "NETCONF", "encoding": "encode-cbor"})
check(r.status_code == 400, "unknown encoding", r)
r = post_json(admin, "establish-subscription", {"stream": "NETCONF", "stream-xpath-filter": "/nope:x"})
check(r.status_code == 400 and "filter-unsupported" in r.text, "bad filter", r)
ok("errors")

# --- limits: subscriptions.max_per_session (4 here) per RESTCONF user ---
held = []
for i in range(4):
    r = post_json(alice, "establish-subscription", {"stream": "NETCONF"})
    check(r.status_code == 200, f"establish {i}", r)
    held.append(r.json()["ietf-subscribed-notifications:output"]["id"])
r = post_json(alice, "establish-subscription", {"stream": "NETCONF"})
check(r.status_code == 409 and "insufficient-resources" in r.text, "a fifth subscription", r)
r = post_json(admin, "establish-subscription", {"stream": "NETCONF"})
check(r.status_code == 200, "another user is not limited by alice's", r)
post_json(admin, "delete-subscription", {"id": r.json()["ietf-subscribed-notifications:output"]["id"]})
for h in held:
    r = post_json(alice, "delete-subscription", {"id": h})
    check(r.status_code == 204, "delete", r)
r = post_json(alice, "establish-subscription", {"stream": "NETCONF"})
check(r.status_code == 200, "room again after the deletions", r)
ok("limits")

# --- yanglint: every kind received validates ---
feats = ["-F", "ietf-subscribed-notifications:encode-xml,encode-json,replay,subtree,xpath",
         "-F", "ietf-yang-push:on-change"]
schemas = [os.path.join(MODELS, f) for f in
           ["ietf-subscribed-notifications.yang", "ietf-yang-push.yang", "ietf-interfaces.yang",
            "iana-if-type.yang", "ietf-datastores.yang"]]
with tempfile.TemporaryDirectory() as d:
    for i, (fmt, doc) in enumerate(VALIDATE):
        if fmt == "json":
            inner = {k: v for k, v in doc["ietf-restconf:notification"].items() if k != "eventTime"}
            f = os.path.join(d, f"n{i}.json")
            with open(f, "w") as fh:
                json.dump(inner, fh)
            args = ["-t", "notif"]
        else:
            f = os.path.join(d, f"n{i}.xml")
            with open(f, "w") as fh:
                fh.write(doc)
            args = ["-t", "nc-notif"]
        out = subprocess.run(["yanglint", *args, "-p", MODELS, *feats, *schemas, f],
                             capture_output=True, text=True)
        check(out.returncode == 0, f"yanglint {fmt}: {out.stderr}\n{str(doc)[:1500]}")
ok("yanglint validates json and xml")
