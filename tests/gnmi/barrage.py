"""Hostile input over gNMI, as a black box: Get, Set and Subscribe (ONCE) with mutated
paths (element names, keys, origins, wildcards, deprecated string elements), mutated
values (every TypedValue kind, broken JSON) and mutated encodings, straight through the
generated gRPC stub. Every call ends with a specific status (OK or one that names the
problem), never UNKNOWN or INTERNAL, within its deadline; a bystander Get keeps working;
running is the same at the end as at the start (Sets only touch the sandbox interface
`hostile0`, removed at the end).

Usage: barrage.py HOST PORT USER PASSWORD CAFILE [SEED]"""

import json
import random
import sys

import grpc
from pygnmi.spec.v080 import gnmi_pb2 as pb
from pygnmi.spec.v080 import gnmi_pb2_grpc

HOST, PORT, USER, PW, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rnd = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 339)
MD = [("username", USER), ("password", PW)]
creds = grpc.ssl_channel_credentials(root_certificates=open(CA, "rb").read())
chan = grpc.secure_channel(f"{HOST}:{PORT}", creds)
stub = gnmi_pb2_grpc.gNMIStub(chan)
BAD = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED}


def path(elems, origin=""):
    return pb.Path(origin=origin, elem=[pb.PathElem(name=n, key=k) for n, k in elems])


SANDBOX = path([("interfaces", {}), ("interface", {"name": "hostile0"})], "openconfig")
PATHS = [
    path([("interfaces", {}), ("interface", {"name": "eth0"}), ("state", {}), ("counters", {})]),
    path([("interfaces", {}), ("interface", {"name": "*"}), ("...", {})]),
    path([("ietf-interfaces:interfaces", {}), ("interface", {"name": "hostile0"}), ("description", {})], "rfc7951"),
    path([("ietf-routing:routing", {}), ("ribs", {}), ("rib", {"name": "ipv4-master"}), ("routes", {})], "rfc7951"),
    path([("network-instances", {}), ("network-instance", {"name": "DEFAULT"}), ("protocols", {})]),
    path([("interfaces", {}), ("interface", {"name": "x"})], "ietf-interfaces"),
]
WEIRD = ["", "*", "...", "..", "/", ":", "a:b:c", "\u00e9", "\u202e", "x" * 5000, "[", "]",
         "name=", "'", '"', "\\", "\x01", "oc:", "interfaces[name=a]"]


def mutate_path(p):
    q = pb.Path()
    q.CopyFrom(p)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.randrange(6)
        if op == 0 and q.elem:
            q.elem[rnd.randrange(len(q.elem))].name = rnd.choice(WEIRD)
        elif op == 1 and q.elem:
            e = q.elem[rnd.randrange(len(q.elem))]
            e.key[rnd.choice(["name", "", "*", "x" * 300, "\u00e9"])] = rnd.choice(WEIRD)
        elif op == 2:
            q.origin = rnd.choice(["", "openconfig", "rfc7951", "cli", "ietf-interfaces", "x" * 1000, "*"])
        elif op == 3:
            q.elem.add().name = rnd.choice(WEIRD)
        elif op == 4 and q.elem:
            del q.elem[rnd.randrange(len(q.elem))]
        else:
            q.element.append(rnd.choice(["interfaces", "interface[name=eth0]", "a[b=\\]]", "[", "x]"]))
    return q


def value():
    k = rnd.randrange(9)
    if k == 0:
        return pb.TypedValue(string_val=rnd.choice(["ok", "a\x00b", "\ud7ff", "x" * 100000, ""]))
    if k == 1:
        return pb.TypedValue(int_val=rnd.choice([0, -1, 2**63 - 1]))
    if k == 2:
        return pb.TypedValue(uint_val=rnd.choice([0, 2**64 - 1]))
    if k == 3:
        return pb.TypedValue(bool_val=True)
    if k == 4:
        return pb.TypedValue(bytes_val=bytes(rnd.randrange(256) for _ in range(20)))
    if k == 5:
        return pb.TypedValue(double_val=float("nan"))
    if k == 6:
        return pb.TypedValue(json_val=rnd.choice([b"{", b"[" * 10000, b'{"a":1,"a":2}', b"\xff", b"1e99999", b"null"]))
    if k == 7:
        doc = {"openconfig-interfaces:config": {"name": "hostile0", "description": "d" + "\u2028"}}
        b = bytearray(json.dumps(doc).encode())
        for _ in range(rnd.randint(0, 3)):
            at = rnd.randrange(len(b))
            b[at] = rnd.randrange(256)
        return pb.TypedValue(json_ietf_val=bytes(b))
    return pb.TypedValue(leaflist_val=pb.ScalarArray(element=[pb.TypedValue(string_val="a")]))


def check(call, what):
    try:
        call()
    except grpc.RpcError as e:
        assert e.code() not in BAD, f"{what}: {e.code()} {e.details()[:300]}"


def bystander():
    r = stub.Get(pb.GetRequest(path=[PATHS[0]], encoding=pb.Encoding.JSON_IETF), metadata=MD, timeout=20)
    assert r.notification, "bystander Get"


def running():
    r = stub.Get(pb.GetRequest(path=[pb.Path()], type=pb.GetRequest.DataType.CONFIG,
                               encoding=pb.Encoding.JSON_IETF), metadata=MD, timeout=20)
    return [u.val.json_ietf_val for n in r.notification for u in n.update]


before = running()
stub.Set(pb.SetRequest(update=[pb.Update(path=SANDBOX, val=pb.TypedValue(json_ietf_val=json.dumps(
    {"openconfig-interfaces:name": "hostile0",
     "openconfig-interfaces:config": {"name": "hostile0", "type": "iana-if-type:softwareLoopback"}}).encode()))]),
    metadata=MD, timeout=20)
n = 0
for _ in range(150):
    p = mutate_path(rnd.choice(PATHS))
    enc = rnd.choice([0, 1, 2, 3, 4, 42])
    check(lambda: stub.Get(pb.GetRequest(path=[p], encoding=enc), metadata=MD, timeout=20), f"Get {p}")
    n += 1
def under_sandbox():
    """A path below interface[name=hostile0] (only the part below it mutated), so a Set
    that happens to be valid touches nothing else."""
    tail = rnd.choice([[("config", {}), ("description", {})], [("config", {})], [],
                       [("subinterfaces", {}), ("subinterface", {"index": "0"})]])
    tail = [(rnd.choice(WEIRD) if rnd.random() < 0.3 else n, k) for n, k in tail]
    if rnd.random() < 0.3:
        tail.append((rnd.choice(WEIRD), {rnd.choice(["", "x"]): rnd.choice(WEIRD)}))
    return path([("interfaces", {}), ("interface", {"name": "hostile0"})] + tail, "openconfig")


for _ in range(100):
    op = rnd.randrange(3)
    if op == 0:
        req = pb.SetRequest(update=[pb.Update(path=under_sandbox(), val=value())])
    elif op == 1:
        req = pb.SetRequest(replace=[pb.Update(path=under_sandbox(), val=value())])
    else:
        req = pb.SetRequest(delete=[under_sandbox()])
    check(lambda: stub.Set(req, metadata=MD, timeout=20), f"Set {req}")
    n += 1
for _ in range(60):
    sub = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
        mode=pb.SubscriptionList.Mode.ONCE, encoding=rnd.choice([0, 4, 9]),
        subscription=[pb.Subscription(path=mutate_path(rnd.choice(PATHS)))]))
    check(lambda: [None for _ in stub.Subscribe(iter([sub]), metadata=MD, timeout=20)], f"Subscribe {sub}")
    n += 1
    if n % 20 == 0:
        bystander()
bystander()
print(f"OK barrage: {n} hostile calls, every status specific", flush=True)
stub.Set(pb.SetRequest(delete=[SANDBOX]), metadata=MD, timeout=20)
assert running() == before, "running changed"
print("OK running unchanged", flush=True)
