"""A mixed load on every door of a running nectar, all at once, for a bounded time.

Usage: mixed.py HOST NETCONF_PORT RESTCONF_PORT GNMI_PORT PASSWORD CERT SECONDS

- NETCONF (ncclient): sessions that each edit their own loopback in running (create,
  then change its description) and read it back with get-config and get (subtree
  filters), in a loop.
- RESTCONF (requests, TLS + Basic; the CA given on every request, as a CA bundle in the
  environment would override a session's): clients that GET interfaces and PATCH the
  description of their own loopback, in a loop.
- gNMI (pygnmi, TLS): one STREAM SAMPLE subscriber on interface counters (every second)
  and one STREAM ON_CHANGE subscriber on loopback descriptions (fed by the writers).

Every request must succeed; every subscriber must keep receiving until the end. Prints
one line per client kind with its counts and a final "ok load" line; any unexpected
error is printed and the exit status is 1.
"""

import sys
import threading
import time

import requests
from ncclient import manager
from ncclient.operations import RaiseMode
from pygnmi.client import gNMIclient

HOST = sys.argv[1]
NC, RC, GN = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
PW, CERT, SECS = sys.argv[5], sys.argv[6], float(sys.argv[7])
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IANA_NS = "urn:ietf:params:xml:ns:yang:iana-if-type"
NC_SESSIONS, RC_CLIENTS = 4, 4

stop = threading.Event()
lock = threading.Lock()
counts = {}
errors = []


def count(kind, n=1):
    with lock:
        counts[kind] = counts.get(kind, 0) + n


def fail(kind, what):
    with lock:
        errors.append(f"{kind}: {what}")
    stop.set()


def loopback(name, descr):
    return (
        f'<config xmlns="{BASE}"><interfaces xmlns="{IF_NS}"><interface><name>{name}</name>'
        f'<type xmlns:ianaift="{IANA_NS}">ianaift:softwareLoopback</type>'
        f"<description>{descr}</description></interface></interfaces></config>"
    )


def netconf_session(i):
    name = f"ldnc{i}"
    try:
        m = manager.connect(host=HOST, port=NC, username="admin", password=PW,
                            hostkey_verify=False, allow_agent=False, look_for_keys=False,
                            timeout=30)
        m.raise_mode = RaiseMode.NONE
        flt = ("subtree", f'<interfaces xmlns="{IF_NS}"><interface><name>{name}</name>'
                          f"</interface></interfaces>")
        k = 0
        while not stop.is_set():
            k += 1
            r = m.edit_config(target="running", config=loopback(name, f"nc {i} {k}"))
            if not r.ok:
                return fail("netconf edit-config", r.xml)
            r = m.get_config(source="running", filter=flt)
            if not r.ok or f"nc {i} {k}" not in r.xml:
                return fail("netconf get-config", r.xml)
            r = m.get(filter=flt)
            if not r.ok or "oper-status" not in r.xml:
                return fail("netconf get", r.xml)
            count("netconf rpcs", 3)
        m.close_session()
    except Exception as e:  # noqa: BLE001 - any exception is a failure of the load
        fail("netconf", repr(e))


def restconf_client(i):
    name = f"ldrc{i}"
    s = requests.Session()
    s.auth = ("admin", PW)
    base = f"https://{HOST}:{RC}/restconf/data"
    hdr = {"Content-Type": "application/yang-data+json", "Accept": "application/yang-data+json"}
    try:
        k = 0
        while not stop.is_set():
            k += 1
            body = ('{"ietf-interfaces:interfaces":{"interface":[{"name":"%s",'
                    '"type":"iana-if-type:softwareLoopback","description":"rc %d %d"}]}}' % (name, i, k))
            r = s.patch(f"{base}/ietf-interfaces:interfaces", data=body, headers=hdr, timeout=30, verify=CERT)
            if r.status_code != 204:
                return fail("restconf PATCH", f"{r.status_code} {r.text}")
            r = s.get(f"{base}/ietf-interfaces:interfaces/interface={name}", headers=hdr, timeout=30,
                      verify=CERT)
            if r.status_code != 200 or f"rc {i} {k}" not in r.text:
                return fail("restconf GET", f"{r.status_code} {r.text}")
            r = s.get(f"{base}/ietf-interfaces:interfaces?depth=2", headers=hdr, timeout=30,
                      verify=CERT)
            if r.status_code != 200:
                return fail("restconf GET all", f"{r.status_code} {r.text}")
            count("restconf requests", 3)
    except Exception as e:  # noqa: BLE001
        fail("restconf", repr(e))


last_update = {}


def subscriber(kind, sub):
    try:
        with gNMIclient(target=(HOST, GN), username="admin", password=PW, path_cert=CERT,
                        gnmi_timeout=30) as gc:
            stream = gc.subscribe_stream(subscribe=sub)
            while not stop.is_set():
                try:
                    n = stream.get_update(timeout=1)
                except TimeoutError:
                    continue
                if "update" in n:
                    count(f"gnmi {kind} updates")
                    with lock:
                        last_update[kind] = time.time()
            stream.close()
    except Exception as e:  # noqa: BLE001
        if not stop.is_set():
            fail(f"gnmi {kind}", repr(e))


def quiet_after_stop(args):
    """pygnmi's reader thread raises CANCELLED when a stream is closed at the end: not an
    error of the load. Anything before the end is."""
    if stop.is_set():
        return
    fail("thread", f"{args.exc_type.__name__}: {args.exc_value}")


def main():
    threading.excepthook = quiet_after_stop
    sample = {"subscription": [{"path": "openconfig:interfaces/interface/state/counters",
                                "mode": "sample", "sample_interval": 1_000_000_000}],
              "mode": "stream", "encoding": "json_ietf"}
    on_change = {"subscription": [{"path": "ietf-interfaces:interfaces/interface/description",
                                   "mode": "on_change"}],
                 "mode": "stream", "encoding": "json_ietf"}
    threads = [threading.Thread(target=subscriber, args=("sample", sample)),
               threading.Thread(target=subscriber, args=("on-change", on_change))]
    threads += [threading.Thread(target=netconf_session, args=(i,)) for i in range(NC_SESSIONS)]
    threads += [threading.Thread(target=restconf_client, args=(i,)) for i in range(RC_CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.time() + SECS
    while time.time() < deadline and not stop.is_set():
        time.sleep(0.2)
    end = time.time()
    with lock:
        for kind in ("sample", "on-change"):
            if end - last_update.get(kind, 0) > 5 and not errors:
                errors.append(f"gnmi {kind}: no update in the last 5 s of the load")
    stop.set()
    for t in threads:
        t.join(timeout=60)
    for k, v in sorted(counts.items()):
        print(f"{k}: {v} ({v / SECS:.0f}/s)", flush=True)
    if errors:
        for e in errors:
            print("ERROR", e, flush=True)
        sys.exit(1)
    print("ok load", flush=True)


main()
