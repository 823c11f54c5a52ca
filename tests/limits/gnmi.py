"""gNMI limits of a daemon started with small ones (tests/limits.rs):
max_sessions_per_user = 2, max_subscriptions_per_user = 2,
max_message_bytes = 65536. Users admin, alice and bob (password
"<name>-pw"); TLS with the daemon's certificate as the CA.

Usage: gnmi.py HOST PORT CAFILE"""

import queue
import sys
import threading
import time

import grpc
from pygnmi.spec.v080 import gnmi_pb2 as pb
from pygnmi.spec.v080 import gnmi_pb2_grpc

HOST, PORT, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3]
creds = grpc.ssl_channel_credentials(root_certificates=open(CA, "rb").read())
chan = grpc.secure_channel(f"{HOST}:{PORT}", creds, options=[("grpc.max_send_message_length", 1 << 24)])
stub = gnmi_pb2_grpc.gNMIStub(chan)


def md(user):
    return [("username", user), ("password", f"{user}-pw")]


def ok(what):
    print("OK", what, flush=True)


IFACES = pb.Path(elem=[pb.PathElem(name="interfaces"), pb.PathElem(name="interface", key={"name": "*"}),
                       pb.PathElem(name="state"), pb.PathElem(name="oper-status")])


class Sub:
    """A STREAM ON_CHANGE subscription held open until closed."""

    def __init__(self, user):
        self.q = queue.Queue()
        self.done = threading.Event()
        req = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
            mode=pb.SubscriptionList.STREAM, encoding=pb.JSON_IETF,
            subscription=[pb.Subscription(path=IFACES, mode=pb.ON_CHANGE)]))

        def requests():
            yield req
            self.done.wait()

        self.call = stub.Subscribe(requests(), metadata=md(user), timeout=60)
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()

    def read(self):
        try:
            for r in self.call:
                self.q.put(r)
        except grpc.RpcError as e:
            self.q.put(e)

    def first(self):
        """The sync response, or the error that ended the call."""
        while True:
            r = self.q.get(timeout=20)
            if isinstance(r, grpc.RpcError) or r.sync_response:
                return r

    def close(self):
        self.done.set()
        self.call.cancel()


def get(user):
    return stub.Get(pb.GetRequest(path=[IFACES], encoding=pb.JSON_IETF), metadata=md(user), timeout=20)


def exhausted(e, key):
    assert isinstance(e, grpc.RpcError), e
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (e.code(), e.details())
    assert key in e.details(), e.details()


# Subscriptions per user: alice's two are served, her third is
# RESOURCE_EXHAUSTED; bob subscribes meanwhile.
a1, a2 = Sub("alice"), Sub("alice")
for s in (a1, a2):
    r = s.first()
    assert not isinstance(r, grpc.RpcError), r
a3 = Sub("alice")
exhausted(a3.first(), "gnmi.max_subscriptions_per_user")
b1 = Sub("bob")
r = b1.first()
assert not isinstance(r, grpc.RpcError), r
ok("subscriptions per user")

# Sessions per user: alice's two subscriptions are both of her sessions:
# her Get is RESOURCE_EXHAUSTED; bob's is served.
try:
    get("alice")
    raise AssertionError("alice's Get beyond her sessions was served")
except grpc.RpcError as e:
    exhausted(e, "gnmi.max_sessions_per_user")
assert get("bob").notification, "bob's Get"
ok("sessions per user")

# Given back: once one subscription ends, alice gets and subscribes again.
a1.close()
deadline = time.time() + 10
while True:
    try:
        get("alice")
        break
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.time() < deadline, e
        time.sleep(0.1)
a4 = Sub("alice")
r = a4.first()
assert not isinstance(r, grpc.RpcError), r
for s in (a2, a4, b1):
    s.close()
ok("given back")

# Message size: a Set over 64 KiB is RESOURCE_EXHAUSTED, and the server keeps
# serving; one under it is taken.
def set_descr(n):
    p = pb.Path(elem=[pb.PathElem(name="interfaces"), pb.PathElem(name="interface", key={"name": "lim0"}),
                      pb.PathElem(name="config")])
    val = ('{"openconfig-interfaces:name":"lim0","openconfig-interfaces:type":"iana-if-type:softwareLoopback",'
           '"openconfig-interfaces:description":"' + "x" * n + '"}')
    return stub.Set(pb.SetRequest(update=[pb.Update(path=p, val=pb.TypedValue(json_ietf_val=val.encode()))]),
                    metadata=md("admin"), timeout=20)


try:
    set_descr(70000)
    raise AssertionError("a 70 KB Set was taken")
except grpc.RpcError as e:
    exhausted(e, "gnmi.max_message_bytes")
set_descr(1000)
assert get("admin").notification
ok("message size")
