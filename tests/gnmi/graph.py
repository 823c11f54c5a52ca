"""The packet graph (nectar-dataplane) over gNMI with pygnmi: a Get of one
node's packet count, a STREAM subscription in SAMPLE mode that delivers the
counter again and again while traffic flows (the caller keeps pings from
10.1.0.2 to 10.2.0.2 flowing through ip4-lookup), and a Get of the trace the
caller started, which shows an echo request's path through the box.

With `acl-drop` after the password it only reads the trace, which must hold a UDP packet
dropped by the ACL `blk` with its rule `no-udp-9999` named.

Usage: graph.py HOST PORT USER PASSWORD [acl-drop]"""

import sys
import time

from pygnmi.client import gNMIclient

NODE = "nectar-dataplane:dataplane/runtime/worker[id={w}]/node[name=ip4-lookup]/packets"


def values(n):
    u = n.get("update", {})
    prefix = u.get("prefix", "")
    return [((prefix + "/" if prefix else "") + x["path"], x["val"]) for x in u.get("update", [])]


def trace_of(gc):
    g = gc.get(path=["nectar-dataplane:dataplane/trace"], encoding="json_ietf")
    vals = [u["val"] for n in g["notification"] for u in n.get("update", [])]
    assert len(vals) == 1, g
    trace = vals[0]
    return trace.get("nectar-dataplane:trace", trace)


def acl_drop(gc):
    trace = trace_of(gc)
    packets = [p["step"] for p in trace.get("packet", [])]
    udp = [s for s in packets if "udp" in s[0]["detail"] and "> 9999" in s[0]["detail"]]
    assert udp, trace
    named = [x for x in udp[0] if x.get("acl") == "blk" and x.get("ace") == "no-udp-9999"]
    assert named and "deny" in named[0]["detail"], udp[0]
    assert any(x["detail"].startswith("drop:") for x in udp[0]), udp[0]
    assert "port-output" not in [x["node"] for x in udp[0]], udp[0]
    print(f"ok get trace of an ACL drop {named[0]['node']}: {named[0]['detail']}", flush=True)


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with gNMIclient(target=(host, port), username=user, password=password,
                    insecure=True, gnmi_timeout=10) as gc:
        if sys.argv[5:] == ["acl-drop"]:
            acl_drop(gc)
            return
        total = 0
        for w in (0, 1):
            g = gc.get(path=[NODE.format(w=w)], encoding="json_ietf")
            vals = [u["val"] for n in g["notification"] for u in n.get("update", [])]
            assert len(vals) == 1, g
            total += int(vals[0])
        assert total >= 2, f"ip4-lookup packets over both workers: {total}"
        print(f"ok get ip4-lookup packets {total}", flush=True)

        # A node whole, in both JSON encodings: every counter is there, zero or not.
        for enc in ("json", "json_ietf"):
            g = gc.get(path=["nectar-dataplane:dataplane/runtime/worker[id=0]/node[name=ip6-lookup]"],
                       encoding=enc)
            val = [u["val"] for n in g["notification"] for u in n.get("update", [])][0]
            val = val.get("nectar-dataplane:node", val)
            if isinstance(val, list):
                val = val[0]
            for leaf in ("vectors", "packets", "time", "average-vector-size", "nanoseconds-per-packet"):
                assert leaf in val, (enc, val)
            assert val["drop"] and all("packets" in d for d in val["drop"]), (enc, val)
        print("ok get a node whole", flush=True)

        trace = trace_of(gc)
        paths = [[(s["node"], s["detail"]) for s in p["step"]] for p in trace.get("packet", [])]
        request = [p for p in paths if "10.1.0.2 > 10.2.0.2 icmp type 8" in p[0][1]]
        assert request, trace
        nodes = [n for n, _ in request[0]]
        for n in ("port-input", "ip4-lookup", "ip4-rewrite", "port-output"):
            assert n in nodes, request[0]
        assert any(d.startswith("tx on eth1") for _, d in request[0]), request[0]
        print(f"ok get trace {nodes}", flush=True)

        stream = gc.subscribe2(subscribe={
            "subscription": [{"path": NODE.format(w=0), "mode": "sample",
                              "sample_interval": 300_000_000},
                             {"path": NODE.format(w=1), "mode": "sample",
                              "sample_interval": 300_000_000}],
            "mode": "stream", "encoding": "json_ietf"})
        seen = []
        deadline = time.time() + 20
        while time.time() < deadline and len(seen) < 6:
            try:
                n = stream.get_update(timeout=max(0.1, deadline - time.time()))
            except TimeoutError:
                break
            seen += [int(v) for p, v in values(n) if p.endswith("packets")]
        stream.close()
        assert len(seen) >= 6, f"samples: {seen}"
        assert max(seen) > 0, seen
        print(f"ok sample ip4-lookup packets {seen}", flush=True)


if __name__ == "__main__":
    main()
