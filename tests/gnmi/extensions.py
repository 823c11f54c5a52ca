"""gNMI extensions and union_replace against the running daemon, with Python stubs
generated at test time by grpcio-tools from nectar's own gnmi.proto and gnmi_ext.proto:
which RPC takes which extension (and the status of each refusal), the depth extension
on Get and Subscribe, union_replace across the openconfig and rfc7951 origins, and the
commit-confirmed extension (confirm, cancel, a timeout rolling back that NETCONF sees
too, and the exclusion of a NETCONF confirmed commit and a gNMI one).

Usage: extensions.py HOST GNMI_PORT NETCONF_PORT USER PASSWORD CAFILE PROTO_DIR"""

import json
import os
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc
from ncclient import manager
from ncclient.operations.rpc import RPCError

HOST, GPORT, NPORT, USER, PW, CA, PROTO = sys.argv[1:8]

# Stubs from the daemon's own .proto files.
out = tempfile.mkdtemp(prefix="nectar-gnmi-stubs-")
wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
rc = protoc.main(["protoc", f"-I{PROTO}", f"-I{wkt}", f"--python_out={out}",
                  f"--grpc_python_out={out}", "gnmi.proto", "gnmi_ext.proto"])
assert rc == 0, "protoc failed"
sys.path.insert(0, out)
import gnmi_ext_pb2 as ext  # noqa: E402
import gnmi_pb2 as pb  # noqa: E402
import gnmi_pb2_grpc  # noqa: E402
from google.protobuf.duration_pb2 import Duration  # noqa: E402

MD = [("username", USER), ("password", PW)]
chan = grpc.secure_channel(f"{HOST}:{GPORT}",
                           grpc.ssl_channel_credentials(root_certificates=open(CA, "rb").read()))
stub = gnmi_pb2_grpc.gNMIStub(chan)
JSON_IETF = 4


def ok(name):
    print("ok", name, flush=True)


def path(elems, origin=""):
    return pb.Path(origin=origin, elem=[pb.PathElem(name=n, key=k) for n, k in elems])


def oc_if(name, *rest):
    return path([("interfaces", {}), ("interface", {"name": name})] + [(r, {}) for r in rest], "openconfig")


def ietf_if(name, *rest):
    return path([("ietf-interfaces:interfaces", {}), ("interface", {"name": name})] + [(r, {}) for r in rest],
                "rfc7951")


def jval(v):
    return pb.TypedValue(json_ietf_val=json.dumps(v).encode())


def upd(p, v):
    return pb.Update(path=p, val=jval(v))


def status(fn, *a, **kw):
    try:
        fn(*a, metadata=MD, timeout=20, **kw)
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def expect(code, fn, *a, what="", **kw):
    got, detail = status(fn, *a, **kw)
    assert got == code, f"{what}: expected {code}, got {got}: {detail}"
    return detail


def get_json(p, **kw):
    r = stub.Get(pb.GetRequest(path=[p], encoding=JSON_IETF, **kw), metadata=MD, timeout=20)
    us = r.notification[0].update
    return json.loads(us[0].val.json_ietf_val) if us else None


def description(name):
    try:
        return get_json(ietf_if(name, "description"), type=1)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
        return None


def commit_ext(cid, **action):
    return [ext.Extension(commit=ext.Commit(id=cid, **action))]


# ---- which RPC takes which extension ----
depth1 = [ext.Extension(depth=ext.Depth(level=1))]
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Capabilities, pb.CapabilityRequest(extension=depth1),
       what="depth on Capabilities")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set, pb.SetRequest(extension=depth1), what="depth on Set")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Get,
       pb.GetRequest(path=[oc_if("eth0")], extension=commit_ext("x", confirm=ext.CommitConfirm())),
       what="commit on Get")
expect(grpc.StatusCode.UNIMPLEMENTED, stub.Get,
       pb.GetRequest(path=[oc_if("eth0")], extension=[ext.Extension(history=ext.History(snapshot_time=1))]),
       what="history")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set,
       pb.SetRequest(extension=commit_ext("", confirm=ext.CommitConfirm())), what="commit without id")
ok("extension-refusals")

# ---- depth ----
stub.Set(pb.SetRequest(update=[upd(oc_if("dx0"), {"config": {"name": "dx0", "type": "iana-if-type:softwareLoopback",
                                                           "description": "deep", "mtu": 1400}})]),
         metadata=MD, timeout=20)
# A list entry's value is its content.
entry = get_json(oc_if("dx0"))
assert "config" in entry and "counters" in entry["state"], entry
d1 = get_json(oc_if("dx0"), extension=depth1)
assert d1 == {"name": "dx0"}, d1
d2 = get_json(oc_if("dx0"), extension=[ext.Extension(depth=ext.Depth(level=2))])
e2 = d2
assert e2["config"]["description"] == "deep" and e2["config"]["mtu"] == 1400, d2
assert "state" in e2 and "counters" not in e2["state"] and "oper-status" in e2["state"], d2
assert "subinterfaces" not in e2 or all(k == "subinterface" for k in e2["subinterfaces"]), d2


def subscribed_leaves(p, level):
    """The leaves a ONCE subscription with depth `level` reports (the last element of each
    update's path, which is relative to the notification's prefix)."""
    sub = pb.SubscribeRequest(
        subscribe=pb.SubscriptionList(mode=1, encoding=JSON_IETF, subscription=[pb.Subscription(path=p)]),
        extension=[ext.Extension(depth=ext.Depth(level=level))])
    leaves = set()
    for r in stub.Subscribe(iter([sub]), metadata=MD, timeout=20):
        if r.sync_response:
            return leaves
        leaves.update(u.path.elem[-1].name for u in r.update.update)
    raise AssertionError("no sync_response")


assert subscribed_leaves(oc_if("dx0"), 1) == {"name"}
assert subscribed_leaves(oc_if("dx0", "config"), 1) == {"name", "type", "description", "mtu", "enabled"}
two = subscribed_leaves(oc_if("dx0"), 2)
assert {"description", "mtu", "oper-status", "ifindex"} <= two and "in-octets" not in two, two
assert "in-octets" in subscribed_leaves(oc_if("dx0"), 0)
ok("depth")

# ---- union_replace ----
r = stub.Set(pb.SetRequest(union_replace=[
    upd(ietf_if("ur1"), {"name": "ur1", "type": "iana-if-type:softwareLoopback", "description": "native"}),
    upd(oc_if("ur0"), {"name": "ur0", "config": {"name": "ur0", "type": "iana-if-type:softwareLoopback",
                                                  "description": "oc", "mtu": 1400}}),
]), metadata=MD, timeout=20)
assert [x.op for x in r.response] == [4, 4], r
assert description("ur1") == "native", description("ur1")
cfg = get_json(oc_if("ur0", "config"), type=1)
assert cfg["description"] == "oc" and cfg["mtu"] == 1400, cfg
# A replace: what the path covers and the value lacks goes.
stub.Set(pb.SetRequest(union_replace=[
    upd(oc_if("ur0"), {"name": "ur0", "config": {"name": "ur0", "type": "iana-if-type:softwareLoopback"}})]),
    metadata=MD, timeout=20)
cfg = get_json(oc_if("ur0", "config"), type=1)
assert "mtu" not in cfg and "description" not in cfg, cfg
# A plain replace, as the specification has it: children left out are deleted, and a
# leaf with a default shows its default again.
stub.Set(pb.SetRequest(update=[upd(oc_if("ur0", "config"), {"name": "ur0", "type": "iana-if-type:softwareLoopback",
                                                              "enabled": False, "mtu": 1300})]),
         metadata=MD, timeout=20)
cfg = get_json(oc_if("ur0", "config"), type=1)
assert cfg["enabled"] is False and cfg["mtu"] == 1300, cfg
r = stub.Set(pb.SetRequest(replace=[upd(oc_if("ur0", "config"), {"name": "ur0",
                                                                 "type": "iana-if-type:softwareLoopback"})]),
             metadata=MD, timeout=20)
assert [x.op for x in r.response] == [2], r
cfg = get_json(oc_if("ur0", "config"), type=1)
assert cfg.get("enabled", True) is True and "mtu" not in cfg, cfg
state = get_json(oc_if("ur0", "state"))
assert state["enabled"] is True and state["admin-status"] == "UP", state
# The union must be consistent: one property set differently by the two origins.
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set, pb.SetRequest(union_replace=[
    upd(oc_if("ur2"), {"name": "ur2", "config": {"name": "ur2", "type": "iana-if-type:softwareLoopback",
                                                  "description": "a"}}),
    upd(ietf_if("ur2"), {"name": "ur2", "type": "iana-if-type:softwareLoopback", "description": "b"})]),
    what="union of conflicting values")
assert description("ur2") is None
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set, pb.SetRequest(union_replace=[
    upd(oc_if("ur0"), {"name": "ur0", "config": {"name": "ur0"}}),
    upd(oc_if("ur0", "config"), {"name": "ur0"})]), what="overlapping union paths")
# The root of one origin: every OpenConfig top-level node replaced, native ones kept.
stub.Set(pb.SetRequest(union_replace=[upd(path([], "openconfig"), {"openconfig-interfaces:interfaces": {
    "interface": [{"name": "ur0", "config": {"name": "ur0", "type": "iana-if-type:softwareLoopback"}}]}})]),
    metadata=MD, timeout=20)
expect(grpc.StatusCode.NOT_FOUND, stub.Get, pb.GetRequest(path=[oc_if("dx0", "config")], type=1, encoding=JSON_IETF),
       what="dx0 gone with the OpenConfig root")
assert description("ur1") == "native"
ok("union-replace-and-replace")

# ---- commit confirmed ----
nc = manager.connect(host=HOST, port=int(NPORT), username=USER, password=PW, hostkey_verify=False,
                     allow_agent=False, look_for_keys=False, timeout=30)
watcher = manager.connect(host=HOST, port=int(NPORT), username=USER, password=PW, hostkey_verify=False,
                          allow_agent=False, look_for_keys=False, timeout=30)
watcher.create_subscription()


def set_desc(d, extension=()):
    return pb.SetRequest(update=[upd(ietf_if("ur1", "description"), d)],
                         extension=list(extension))


stub.Set(set_desc("base"), metadata=MD, timeout=20)
stub.Set(set_desc("cc1", commit_ext("c1", commit=ext.CommitRequest(rollback_duration=Duration(seconds=60)))),
         metadata=MD, timeout=20)
assert description("ur1") == "cc1"
d = expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set, set_desc("plain"), what="plain Set while pending")
expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set,
       set_desc("again", commit_ext("c9", commit=ext.CommitRequest())), what="second commit")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set,
       pb.SetRequest(extension=commit_ext("wrong", confirm=ext.CommitConfirm())), what="confirm, wrong id")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set, set_desc("x", commit_ext("c1", confirm=ext.CommitConfirm())),
       what="confirm with changes")
try:
    nc.commit()
    raise AssertionError("a NETCONF commit went through while a gNMI confirmed commit is pending")
except RPCError as e:
    assert "persist" in str(e), e
stub.Set(pb.SetRequest(extension=commit_ext("c1", confirm=ext.CommitConfirm())), metadata=MD, timeout=20)
expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set,
       pb.SetRequest(extension=commit_ext("c1", confirm=ext.CommitConfirm())), what="confirm with none pending")
assert description("ur1") == "cc1"
ok("commit-confirm")

# A timeout (re-timed once) rolls back, and NETCONF sees it.
stub.Set(set_desc("cc2", commit_ext("c2", commit=ext.CommitRequest(rollback_duration=Duration(seconds=30)))),
         metadata=MD, timeout=20)
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set, pb.SetRequest(extension=commit_ext(
    "c2", set_rollback_duration=ext.CommitSetRollbackDuration(rollback_duration=Duration(seconds=0)))),
    what="zero rollback duration")
stub.Set(pb.SetRequest(extension=commit_ext(
    "c2", set_rollback_duration=ext.CommitSetRollbackDuration(rollback_duration=Duration(seconds=2)))),
    metadata=MD, timeout=20)
assert description("ur1") == "cc2"
deadline = time.time() + 10
while description("ur1") != "cc1":
    assert time.time() < deadline, "no rollback after the rollback duration"
    time.sleep(0.2)
running = nc.get_config("running", filter=("xpath", "/interfaces/interface[name='ur1']/description")).data_xml
assert ">cc1<" in running and "cc2" not in running, running
events = []
deadline = time.time() + 5
while time.time() < deadline and "timeout" not in events:
    n = watcher.take_notification(timeout=1)
    if n is not None and "netconf-confirmed-commit" in n.notification_xml:
        x = n.notification_xml
        events.append(x.split("<confirm-event>")[1].split("<")[0])
assert events[:3] == ["start", "complete", "start"] and "extend" in events and events[-1] == "timeout", events
ok("commit-timeout-seen-over-netconf")

stub.Set(set_desc("cc3", commit_ext("c3", commit=ext.CommitRequest())), metadata=MD, timeout=20)
assert description("ur1") == "cc3"
stub.Set(pb.SetRequest(extension=commit_ext("c3", cancel=ext.CommitCancel())), metadata=MD, timeout=20)
assert description("ur1") == "cc1"
ok("commit-cancel")

# A NETCONF confirmed commit excludes a gNMI one, and the other way round.
nc.edit_config(target="candidate", config="""<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
  <interface><name>ur1</name><description>nc1</description></interface></interfaces></config>""")
nc.commit(confirmed=True, timeout="60")
expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set,
       set_desc("g", commit_ext("c5", commit=ext.CommitRequest())), what="gNMI commit during a NETCONF one")
expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set, set_desc("g"), what="plain Set during a NETCONF one")
expect(grpc.StatusCode.INVALID_ARGUMENT, stub.Set,
       pb.SetRequest(extension=commit_ext("c5", cancel=ext.CommitCancel())), what="gNMI cancel of a NETCONF one")
nc.cancel_commit()
assert description("ur1") == "cc1"
# A gNMI commit's id is its persist-id: NETCONF confirms it with it.
stub.Set(set_desc("cc4", commit_ext("c4", commit=ext.CommitRequest())), metadata=MD, timeout=20)
nc.commit(persist_id="c4")
expect(grpc.StatusCode.FAILED_PRECONDITION, stub.Set,
       pb.SetRequest(extension=commit_ext("c4", confirm=ext.CommitConfirm())), what="already confirmed over NETCONF")
stub.Set(set_desc("after"), metadata=MD, timeout=20)
assert description("ur1") == "after"
ok("commit-netconf-exclusion")
nc.close_session()
watcher.close_session()
print("OK extensions", flush=True)
