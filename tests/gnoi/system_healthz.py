"""gNOI on the daemon's gNMI listener, with Python stubs generated at test time by
grpcio-tools from nectar's own .proto files: System.Time; Healthz of the doors, the
datastore and the dataplane (a port whose host interface goes down makes it unhealthy,
and healthy again when it comes back); System.Reboot WARM with traffic between two host
namespaces resuming through the vswitch, a delayed reboot seen by RebootStatus and
withdrawn by CancelReboot, COLD (the daemon runs again on its stored running and traffic
resumes); and the refusals, each with its status code.

Usage: system_healthz.py HOST PORT ADMIN_PW VIEWER_PW CAFILE PROTO_DIR H1_NS H2_NS H2_DEV STATE_DIR NETCONF_PORT

The network: h1 (10.1.0.2) and h2 (10.2.0.2) on the vswitch's eth0 (10.1.0.1) and eth1
(10.2.0.1); h3 (10.3.0.2) behind h2, a router, with a static route of the vswitch."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

HOST, PORT, ADMIN_PW, VIEWER_PW, CA, PROTO, H1, H2, H2_DEV, STATE, NC_PORT = sys.argv[1:12]

out = tempfile.mkdtemp(prefix="nectar-gnoi-stubs-")
wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
rc = protoc.main(["protoc", f"-I{PROTO}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}",
                  "gnoi/types/types.proto", "gnoi/common/common.proto", "gnoi/system/system.proto",
                  "gnoi/healthz/healthz.proto", "gnoi/file/file.proto", "gnmi.proto", "gnmi_ext.proto"])
assert rc == 0, "protoc failed"
sys.path.insert(0, out)
from gnoi.file import file_pb2 as fi, file_pb2_grpc  # noqa: E402
from gnoi.healthz import healthz_pb2 as hz, healthz_pb2_grpc  # noqa: E402
from gnoi.system import system_pb2 as sy, system_pb2_grpc  # noqa: E402
from gnoi.types import types_pb2 as ty  # noqa: E402
import gnmi_pb2 as gpb  # noqa: E402
import gnmi_pb2_grpc  # noqa: E402

ADMIN = [("username", "admin"), ("password", ADMIN_PW)]
VIEWER = [("username", "viewer"), ("password", VIEWER_PW)]
creds = grpc.ssl_channel_credentials(root_certificates=open(CA, "rb").read())


def channel():
    return grpc.secure_channel(f"{HOST}:{PORT}", creds)


chan = channel()
system = system_pb2_grpc.SystemStub(chan)
health = healthz_pb2_grpc.HealthzStub(chan)
gnmi = gnmi_pb2_grpc.gNMIStub(chan)


def ok(name):
    print("ok", name, flush=True)


def code_of(fn, req, md=ADMIN):
    try:
        fn(req, metadata=md, timeout=30)
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def component(name):
    return ty.Path(elem=[ty.PathElem(name="components"), ty.PathElem(name="component", key={"name": name})])


def status(name):
    return health.Get(hz.GetRequest(path=component(name)), metadata=VIEWER, timeout=30).component


def pings(timeout=1):
    return subprocess.run(["ip", "netns", "exec", H1, "ping", "-c", "1", "-W", str(timeout), "10.2.0.2"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def pings_within(seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pings():
            return True
    return False


def eth1_address():
    p = gpb.Path(origin="rfc7951", elem=[gpb.PathElem(name="ietf-interfaces:interfaces"),
                                         gpb.PathElem(name="interface", key={"name": "eth1"}),
                                         gpb.PathElem(name="ietf-ip:ipv4")])
    r = gnmi.Get(gpb.GetRequest(path=[p], type=1, encoding=4), metadata=ADMIN, timeout=30)
    return json.loads(r.notification[0].update[0].val.json_ietf_val)["address"][0]["ip"]


# ---- Time ----
t = system.Time(sy.TimeRequest(), metadata=VIEWER, timeout=30).time
assert abs(t / 1e9 - time.time()) < 5, (t, time.time())
assert code_of(system.Time, sy.TimeRequest(), md=[("username", "admin"), ("password", "wrong")]) == \
    grpc.StatusCode.UNAUTHENTICATED
ok("time")

# ---- routing through the vswitch, configured over gNMI ----
cfg = {"ietf-interfaces:interfaces": {"interface": [
    {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
     "ietf-ip:ipv4": {"address": [{"ip": "10.1.0.1", "prefix-length": 24}]}},
    {"name": "eth1", "type": "iana-if-type:ethernetCsmacd",
     "ietf-ip:ipv4": {"address": [{"ip": "10.2.0.1", "prefix-length": 24}]}}]},
       "ietf-routing:routing": {"control-plane-protocols": {"control-plane-protocol": [
           {"type": "ietf-routing:static", "name": "st", "static-routes": {"ietf-ipv4-unicast-routing:ipv4": {
               "route": [{"destination-prefix": "10.3.0.0/24", "next-hop": {"next-hop-address": "10.2.0.2"}}]}}}]}}}
gnmi.Set(gpb.SetRequest(update=[gpb.Update(path=gpb.Path(origin="rfc7951"),
                                           val=gpb.TypedValue(json_ietf_val=json.dumps(cfg).encode()))]),
         metadata=ADMIN, timeout=30)
assert pings_within(30), "no ping through the vswitch"
ok("routing")

# ---- Healthz ----
for name in ["netconf", "restconf", "gnmi", "datastore"]:
    assert status(name).status == hz.STATUS_HEALTHY, (name, status(name))
dp = status("dataplane")
subs = {s.path.elem[1].key["name"]: s.status for s in dp.subcomponents}
assert dp.status == hz.STATUS_HEALTHY and subs == {
    "worker0": hz.STATUS_HEALTHY, "port-eth0": hz.STATUS_HEALTHY, "port-eth1": hz.STATUS_HEALTHY}, dp
lst = health.List(hz.ListRequest(path=component("gnmi")), metadata=VIEWER, timeout=30)
assert len(lst.statuses) == 1 and lst.statuses[0].id and lst.statuses[0].created.seconds > 0, lst
assert code_of(health.Get, hz.GetRequest(path=component("nope")), VIEWER) == grpc.StatusCode.NOT_FOUND
assert code_of(health.Get, hz.GetRequest(path=ty.Path(elem=[ty.PathElem(name="x")])), VIEWER) == \
    grpc.StatusCode.INVALID_ARGUMENT
assert code_of(health.Acknowledge, hz.AcknowledgeRequest(path=component("gnmi"), id="x"), VIEWER) == \
    grpc.StatusCode.UNIMPLEMENTED
subprocess.run(["ip", "-n", H2, "link", "set", H2_DEV, "down"], check=True)
end = time.time() + 10
while status("port-eth1").status != hz.STATUS_UNHEALTHY:
    assert time.time() < end, "the port stayed healthy with its host interface down"
    time.sleep(0.2)
dp = status("dataplane")
assert dp.status == hz.STATUS_UNHEALTHY, dp
subprocess.run(["ip", "-n", H2, "link", "set", H2_DEV, "up"], check=True)
# The host's kernel dropped its default route with the link.
subprocess.run(["ip", "-n", H2, "route", "replace", "default", "via", "10.2.0.1"], check=True)
end = time.time() + 10
while status("dataplane").status != hz.STATUS_HEALTHY:
    assert time.time() < end, "the dataplane stayed unhealthy with the link back up"
    time.sleep(0.2)
assert pings_within(20)
ok("healthz")

# ---- refusals ----
assert code_of(system.Reboot, sy.RebootRequest(method=sy.WARM), VIEWER) == grpc.StatusCode.PERMISSION_DENIED
assert code_of(system.Reboot, sy.RebootRequest(method=sy.POWERDOWN)) == grpc.StatusCode.INVALID_ARGUMENT
assert code_of(system.Reboot, sy.RebootRequest(method=sy.UNKNOWN)) == grpc.StatusCode.INVALID_ARGUMENT
assert code_of(system.Reboot, sy.RebootRequest(method=sy.WARM, subcomponents=[component("worker0")])) == \
    grpc.StatusCode.INVALID_ARGUMENT
assert code_of(system.KillProcess, sy.KillProcessRequest(pid=1)) == grpc.StatusCode.UNIMPLEMENTED
ok("refusals")

# ---- File: a capture of the vswitch, and nothing outside the captures directory ----
from lxml import etree  # noqa: E402
from ncclient import manager  # noqa: E402

DP_NS = "urn:nectar:yang:nectar-dataplane"
nc = manager.connect(host=HOST, port=int(NC_PORT), username="admin", password=ADMIN_PW, hostkey_verify=False,
                     allow_agent=False, look_for_keys=False, timeout=30)


def dp_rpc(name, body=""):
    r = nc.dispatch(etree.fromstring(f'<{name} xmlns="{DP_NS}">{body}</{name}>'))
    assert r.ok, r.xml
    return etree.fromstring(r.xml.encode())


dp_rpc("capture-start", "<interface>eth1</interface><direction>tx</direction><packets>3</packets>")
subprocess.run(["ip", "netns", "exec", H1, "ping", "-c", "4", "-i", "0.2", "-W", "2", "10.2.0.2"],
               stdout=subprocess.DEVNULL, check=True)
end = time.time() + 10
while True:
    cap = nc.get(filter=("subtree", f'<dataplane xmlns="{DP_NS}"><capture/></dataplane>')).data_ele
    if cap.xpath("//d:capture/d:packets/text()", namespaces={"d": DP_NS}) == ["3"]:
        break
    assert time.time() < end, etree.tostring(cap)
    time.sleep(0.2)
FILE = dp_rpc("capture-stop").findtext(f".//{{{DP_NS}}}file")
assert FILE.startswith(os.path.join(STATE, "captures") + "/") and FILE.endswith(".pcap"), FILE
nc.close_session()
files = file_pb2_grpc.FileStub(chan)
want = open(FILE, "rb").read()
got, digest = b"", None
for r in files.Get(fi.GetRequest(remote_file=FILE), metadata=ADMIN, timeout=30):
    if r.HasField("contents"):
        assert len(r.contents) <= 64 * 1024
        got += r.contents
    else:
        digest = r.hash
assert got == want and digest.method == 1 and digest.hash == hashlib.sha256(want).digest(), digest
with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
    f.write(got)
    f.flush()
    dump = subprocess.run(["tcpdump", "-r", f.name, "-nn"], capture_output=True, text=True)
lines = dump.stdout.strip().splitlines()
assert dump.returncode == 0 and len(lines) == 3 and all("> 10.2.0.2: ICMP echo request" in x for x in lines), dump
stats = files.Stat(fi.StatRequest(path=os.path.dirname(FILE)), metadata=VIEWER, timeout=30).stats
mine = [x for x in stats if x.path == FILE]
assert mine and mine[0].size == len(want) and mine[0].permissions in (600, 640, 644), stats
assert abs(mine[0].last_modified / 1e9 - os.stat(FILE).st_mtime) < 2, mine
outside = os.path.join(STATE, "outside.txt")
assert code_of(files.Stat, fi.StatRequest(path=outside), VIEWER) == grpc.StatusCode.PERMISSION_DENIED
assert code_of(files.Stat, fi.StatRequest(path="/etc/passwd"), VIEWER) == grpc.StatusCode.PERMISSION_DENIED
assert code_of(files.Stat, fi.StatRequest(path=os.path.dirname(FILE) + "/../outside.txt"), VIEWER) == \
    grpc.StatusCode.PERMISSION_DENIED
assert code_of(files.Stat, fi.StatRequest(path="relative.pcap"), VIEWER) == grpc.StatusCode.INVALID_ARGUMENT


def drain(call):
    for _ in call:
        pass


assert code_of(lambda r, **kw: drain(files.Get(r, **kw)), fi.GetRequest(remote_file=FILE), VIEWER) == \
    grpc.StatusCode.PERMISSION_DENIED
assert code_of(files.Remove, fi.RemoveRequest(remote_file=FILE), VIEWER) == grpc.StatusCode.PERMISSION_DENIED
assert code_of(files.Remove, fi.RemoveRequest(remote_file=outside)) == grpc.StatusCode.PERMISSION_DENIED
assert os.path.exists(outside)
files.Remove(fi.RemoveRequest(remote_file=FILE), metadata=ADMIN, timeout=30)
assert not os.path.exists(FILE)
assert code_of(files.Stat, fi.StatRequest(path=FILE), VIEWER) == grpc.StatusCode.NOT_FOUND
ok("file")

# ---- Ping and Traceroute, sent by the vswitch ----
def ping(**kw):
    rs = list(system.Ping(sy.PingRequest(**kw), metadata=VIEWER, timeout=60))
    return [r for r in rs if r.sent == 0], rs[-1]


replies, summary = ping(destination="10.2.0.2", count=3, interval=200_000_000)
assert summary.sent == 3 and summary.received == len(replies) >= 2, (replies, summary)
assert all(r.source == "10.2.0.2" and r.bytes == 64 and r.ttl == 64 and 0 < r.time < 10**9 for r in replies), replies
seqs = [r.sequence for r in replies]
assert len(set(seqs)) == len(seqs) and set(seqs) <= {1, 2, 3}, replies
assert 0 < summary.min_time <= summary.avg_time <= summary.max_time and summary.source == "10.2.0.2", summary
# Through a static route to a host behind a router, from a chosen source.
replies, summary = ping(destination="10.3.0.2", source="10.1.0.1", count=2, interval=100_000_000, size=100)
assert summary.received >= 1 and replies[0].source == "10.3.0.2" and replies[0].bytes == 108, (replies, summary)
assert replies[0].ttl == 63, replies  # one router on the way back
# Nobody there: every probe lost.
replies, summary = ping(destination="10.2.0.99", count=2, interval=100_000_000, wait=500_000_000)
assert replies == [] and summary.sent == 2 and summary.received == 0, summary
for bad, code in [(dict(destination="10.2.0.2", source="10.9.9.9"), grpc.StatusCode.INVALID_ARGUMENT),
                  (dict(destination="10.2.0.2", network_instance="nope"), grpc.StatusCode.INVALID_ARGUMENT),
                  (dict(destination="h2.example"), grpc.StatusCode.INVALID_ARGUMENT),
                  (dict(destination="2001:db8::1"), grpc.StatusCode.UNIMPLEMENTED),
                  (dict(destination="10.2.0.2", size=100000), grpc.StatusCode.INVALID_ARGUMENT),
                  (dict(destination="192.0.2.1"), grpc.StatusCode.FAILED_PRECONDITION)]:
    got = code_of(lambda r, **k: list(system.Ping(r, **k)), sy.PingRequest(**bad), VIEWER)
    assert got == code, (bad, got)
ok("ping")

hops = list(system.Traceroute(sy.TracerouteRequest(destination="10.3.0.2", max_ttl=5, wait=1_000_000_000),
                              metadata=VIEWER, timeout=120))
head, hops = hops[0], hops[1:]
assert head.destination_address == "10.3.0.2" and head.hops == 5 and head.packet_size == 60, head
by_hop = {}
for h in hops:
    by_hop.setdefault(h.hop, []).append(h)
assert sorted(by_hop) == [1, 2] and all(len(v) == 3 for v in by_hop.values()), hops
first = [h for h in by_hop[1] if h.state == sy.TracerouteResponse.DEFAULT]
assert first and all(h.address == "10.2.0.2" and h.rtt > 0 for h in first), by_hop[1]
last = [h for h in by_hop[2] if h.address == "10.3.0.2"]
assert last and all(h.state == sy.TracerouteResponse.DEFAULT for h in last), by_hop[2]
assert code_of(lambda r, **k: list(system.Traceroute(r, **k)),
               sy.TracerouteRequest(destination="10.3.0.2", l4protocol=sy.TracerouteRequest.UDP), VIEWER) == \
    grpc.StatusCode.UNIMPLEMENTED
ok("traceroute")

# ---- WARM: the dataplane is reset, running replayed, traffic resumes ----
system.Reboot(sy.RebootRequest(method=sy.WARM, message="test warm"), metadata=ADMIN, timeout=60)
st = system.RebootStatus(sy.RebootStatusRequest(), metadata=VIEWER, timeout=30)
assert not st.active and st.count == 1 and st.method == sy.WARM and st.status.status == sy.RebootStatus.STATUS_SUCCESS, st
assert pings_within(20), "traffic did not resume after the warm reboot"
assert eth1_address() == "10.2.0.1"
ok("reboot-warm")

# ---- a delayed reboot: pending, refused twice, cancelled ----
system.Reboot(sy.RebootRequest(method=sy.WARM, delay=60 * 10**9, message="later"), metadata=ADMIN, timeout=30)
st = system.RebootStatus(sy.RebootStatusRequest(), metadata=VIEWER, timeout=30)
assert st.active and 50 * 10**9 < st.wait <= 60 * 10**9 and st.reason == "later" and st.method == sy.WARM, st
assert abs(st.when / 1e9 - (time.time() + 60)) < 5, st
assert code_of(system.Reboot, sy.RebootRequest(method=sy.COLD)) == grpc.StatusCode.FAILED_PRECONDITION
assert code_of(system.CancelReboot, sy.CancelRebootRequest(), VIEWER) == grpc.StatusCode.PERMISSION_DENIED
system.CancelReboot(sy.CancelRebootRequest(message="no"), metadata=ADMIN, timeout=30)
st = system.RebootStatus(sy.RebootStatusRequest(), metadata=VIEWER, timeout=30)
assert not st.active and st.count == 1, st
ok("reboot-delayed-cancelled")

# ---- COLD: the daemon runs again on its stored running ----
before = time.time()
system.Reboot(sy.RebootRequest(method=sy.COLD, message="test cold"), metadata=ADMIN, timeout=30)
chan.close()
down = False
end = time.time() + 60
while True:
    assert time.time() < end, "the daemon did not come back after the cold reboot"
    c = channel()
    try:
        system_pb2_grpc.SystemStub(c).Time(sy.TimeRequest(), metadata=VIEWER, timeout=2)
        if down:
            break
    except grpc.RpcError:
        down = True
    finally:
        c.close()
    time.sleep(0.2)
chan = channel()
system = system_pb2_grpc.SystemStub(chan)
gnmi = gnmi_pb2_grpc.gNMIStub(chan)
st = system.RebootStatus(sy.RebootStatusRequest(), metadata=VIEWER, timeout=30)
assert st.count == 0 and not st.active, st  # a new run
assert eth1_address() == "10.2.0.1"
assert pings_within(30), "traffic did not resume after the cold reboot"
print(f"cold reboot: back in {time.time() - before:.1f} s", flush=True)
ok("reboot-cold")
print("OK gnoi", flush=True)
