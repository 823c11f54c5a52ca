"""Subscribes ON_CHANGE to eth0's oper-status (IETF and OpenConfig) with
pygnmi, prints "ready" once the initial state (up) has arrived, then waits for
the dataplane to report the link down.

Usage: oper_status.py HOST PORT USER PASSWORD
"""

import sys
import time

from pygnmi.client import gNMIclient


def updates(n):
    """(full path, value) of a parsed notification: prefix joined to paths."""
    u = n.get("update", {})
    prefix = u.get("prefix", "")
    return [((prefix + "/" if prefix else "") + x["path"], x["val"]) for x in u.get("update", [])]


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with gNMIclient(target=(host, port), username=user, password=password,
                    insecure=True, gnmi_timeout=10) as gc:
        # The port must be configured (admin up) to be operationally up.
        gc.set(update=[("ietf-interfaces:interfaces/interface[name=eth0]",
                        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd"})],
               encoding="json_ietf")
        stream = gc.subscribe2(subscribe={
            "subscription": [
                {"path": "ietf-interfaces:interfaces/interface[name=eth0]/oper-status",
                 "mode": "on_change"},
                {"path": "openconfig:/interfaces/interface[name=eth0]/state/oper-status",
                 "mode": "on_change"},
            ],
            "mode": "stream", "encoding": "json_ietf"})
        # Wait for up (the carrier is polled by the dataplane). pygnmi merges the
        # notifications of the initial dump under the last prefix, so only the
        # values are looked at here.
        state = []
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                n = stream.get_update(timeout=max(0.1, deadline - time.time()))
            except TimeoutError:
                break
            print("initial" if not state else "update", n, flush=True)
            state += updates(n)
            if any(v == "up" for _, v in state):
                break
        if not any(v == "up" for _, v in state):
            raise AssertionError(f"eth0 never up: {state}")
        print("ready", state, flush=True)
        started = time.time()
        ietf = oc = None
        deadline = time.time() + 30
        while time.time() < deadline and (ietf is None or oc is None):
            n = stream.get_update(timeout=max(0.1, deadline - time.time()))
            for p, v in updates(n):
                if p.startswith("ietf-interfaces:") and p.endswith("/oper-status") and v == "down":
                    ietf = time.time() - started
                if p.endswith("/state/oper-status") and v == "DOWN":
                    oc = time.time() - started
        assert ietf is not None and oc is not None, f"no down update: ietf={ietf} oc={oc}"
        print(f"ok oper-status down after {ietf:.3f}s (openconfig {oc:.3f}s)", flush=True)
        stream.close()


if __name__ == "__main__":
    main()
