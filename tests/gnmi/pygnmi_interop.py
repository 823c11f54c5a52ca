"""gNMI interop with pygnmi against a running nectar daemon.

Usage: pygnmi_interop.py HOST PORT USER PASSWORD (--insecure | --root-cert PEM)
                         [--netconf-port N]

Capabilities, Set, Get, Subscribe ONCE / POLL / STREAM (ON_CHANGE, SAMPLE),
all JSON_IETF; a configuration change made over NETCONF (ncclient) arrives on
the gNMI ON_CHANGE stream. Prints one "ok <check>" line per check; any failure
raises (non-zero exit).
"""

import argparse
import json
import sys
import time

from pygnmi.client import gNMIclient, gNMIException

IF = "ietf-interfaces:interfaces/interface[name=eth0]"


def log(msg):
    print(msg, flush=True)


def updates_of(notification):
    """(path, value) of every update of a pygnmi-parsed notification."""
    out = []
    for u in notification.get("update", {}).get("update", []):
        out.append((u["path"], u["val"]))
    return out


def deletes_of(notification):
    return [d["path"] for d in notification.get("update", {}).get("delete", [])]


def wait_update(stream, pred, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            n = stream.get_update(timeout=max(0.1, deadline - time.time()))
        except TimeoutError:
            break
        if pred(n):
            return n
    raise AssertionError(f"no update matching {what} within {timeout}s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--root-cert")
    ap.add_argument("--netconf-port", type=int)
    a = ap.parse_args()

    kw = dict(target=(a.host, a.port), username=a.user, password=a.password, gnmi_timeout=10)
    if a.insecure:
        kw["insecure"] = True
    else:
        # The daemon's self-signed certificate as the trusted root.
        kw["path_cert"] = a.root_cert

    # Wrong password: refused.
    bad = dict(kw, password="wrong-" + a.password)
    try:
        with gNMIclient(**bad) as gc:
            gc.capabilities()
        raise AssertionError("a wrong password was accepted")
    except gNMIException as e:
        assert "UNAUTHENTICATED" in repr(e.orig_exc) or "nauthenticated" in str(e), e
    log("ok wrong-password-refused")

    with gNMIclient(**kw) as gc:
        caps = gc.capabilities()
        assert caps["gnmi_version"] == "0.10.0", caps
        assert "json_ietf" in caps["supported_encodings"], caps
        names = {m["name"] for m in caps["supported_models"]}
        assert "ietf-interfaces" in names and "openconfig-interfaces" in names, names
        log("ok capabilities")

        r = gc.set(
            update=[(IF, {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
                          "description": "from pygnmi"})],
            encoding="json_ietf",
        )
        assert r["response"][0]["op"] == "UPDATE", r
        log("ok set-update")

        g = gc.get(path=[IF + "/description"], encoding="json_ietf")
        vals = [u["val"] for n in g["notification"] for u in n["update"]]
        assert vals == ["from pygnmi"], g
        g = gc.get(path=[IF], datatype="state", encoding="json_ietf")
        val = g["notification"][0]["update"][0]["val"]
        assert "oper-status" in val and "description" not in val, val
        log("ok get")

        try:
            gc.get(path=["ietf-interfaces:interfaces/no-such-node"], encoding="json_ietf")
            raise AssertionError("unknown path accepted")
        except gNMIException as e:
            assert "NOT_FOUND" in repr(e.orig_exc), repr(e.orig_exc)
        log("ok get-unknown-path-not-found")

        once = gc.subscribe2(subscribe={
            "subscription": [{"path": IF + "/description"}],
            "mode": "once", "encoding": "json_ietf"})
        got = []
        for n in once:
            if "sync_response" in n:
                break
            got += updates_of(n)
        assert any(v == "from pygnmi" for _, v in got), got
        log("ok subscribe-once")

        poll = gc.subscribe2(subscribe={
            "subscription": [{"path": IF + "/description"}],
            "mode": "poll", "encoding": "json_ietf"})
        # pygnmi sends a Poll with every get_update() and then reads up to the
        # next sync_response: the first read returns the initial data (sent on
        # subscribing), later reads the answers to earlier polls.
        first = poll.get_update(timeout=10)
        assert any(v == "from pygnmi" for _, v in updates_of(first)), first
        gc.set(update=[(IF + "/description", "polled")], encoding="json_ietf")
        seen = []
        for _ in range(3):
            n = poll.get_update(timeout=10)
            seen.append(updates_of(n))
            if any(v == "polled" for _, v in updates_of(n)):
                break
        else:
            raise AssertionError(f"no poll answered with the new value: {seen}")
        poll.close()
        log("ok subscribe-poll")

        stream = gc.subscribe2(subscribe={
            "subscription": [
                {"path": IF + "/description", "mode": "on_change"},
                {"path": IF + "/statistics/in-octets", "mode": "sample",
                 "sample_interval": 200_000_000},
            ],
            "mode": "stream", "encoding": "json_ietf"})
        initial = stream.get_update(timeout=10)
        assert "sync_response" in initial, initial
        assert any(v == "polled" for _, v in updates_of(initial)), initial
        # SAMPLE: the counter comes again without any change.
        wait_update(stream, lambda n: any(p.endswith("in-octets") for p, _ in updates_of(n)),
                    "a sampled in-octets")
        log("ok subscribe-stream-sample")

        if a.netconf_port:
            from ncclient import manager
            with manager.connect(host=a.host, port=a.netconf_port, username=a.user,
                                 password=a.password, hostkey_verify=False,
                                 look_for_keys=False, allow_agent=False, timeout=30) as m:
                m.edit_config(target="running", config="""
<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
  <interface><name>eth0</name><description>from netconf</description></interface>
</interfaces></config>""")
            wait_update(stream, lambda n: any(v == "from netconf" for _, v in updates_of(n)),
                        "the NETCONF change")
            log("ok on-change-from-netconf")

        gc.set(delete=[IF + "/description"], encoding="json_ietf")
        wait_update(stream, lambda n: any(p.endswith("description") for p in deletes_of(n)),
                    "the delete")
        log("ok on-change-delete")
        stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
