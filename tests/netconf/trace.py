"""The packet graph over NETCONF with ncclient (nectar-dataplane): the trace of
a ping routed through the box (every node, the FIB entry, the headers at entry
and exit), the trace of a UDP packet an ACL drops (the ACL and entry named;
the trace selects it with an ACL-style match, not the ping sent before it),
the runtime counters per worker and node, the bound on trace-start, a capture
of what eth1 sends read by tcpdump, and NACM refusing trace-start to a user
whose group may not run it.

The box routes 10.1.0.0/24 (eth0) and 10.2.0.0/24 (eth1) already; the host
namespace H1_NS is 10.1.0.2 behind eth0, 10.2.0.2 is behind eth1.

Usage: trace.py HOST PORT H1_NS"""

import subprocess
import sys
import time

from lxml import etree

from nc import ACM_NS, BASE, IF_NS, check_error, connect, ok

h1 = sys.argv[3]
DP_NS = "urn:nectar:yang:nectar-dataplane"
ACL_NS = "urn:ietf:params:xml:ns:yang:ietf-access-control-list"
D = {"d": DP_NS}


def rpc(m, name, body=""):
    return m.dispatch(etree.fromstring(f'<{name} xmlns="{DP_NS}">{body}</{name}>'))


def assert_ok(r):
    assert r.ok and "<ok/>" in r.xml, r.xml


def in_h1(*cmd):
    out = subprocess.run(["ip", "netns", "exec", h1, *cmd], capture_output=True, text=True)
    return out.returncode, out.stdout + out.stderr


def read(m, part):
    r = m.get(filter=("subtree", f'<dataplane xmlns="{DP_NS}"><{part}/></dataplane>'))
    assert r.ok, r.xml
    return r.data_ele


def traced_packets(m):
    """{id: [(node, detail, acl, ace)]} of the trace as get returns it."""
    data = read(m, "trace")
    out = {}
    for p in data.xpath("//d:trace/d:packet", namespaces=D):
        steps = []
        for s in p.xpath("d:step", namespaces=D):
            steps.append(tuple(s.findtext(f"{{{DP_NS}}}{f}") for f in ("node", "detail", "acl", "ace")))
        out[int(p.findtext(f"{{{DP_NS}}}id"))] = steps
    return out


def wait_for(m, pred, what):
    """The trace once some packet satisfies pred (a few seconds at most)."""
    deadline = time.time() + 10
    while True:
        packets = traced_packets(m)
        hits = [s for s in packets.values() if pred(s)]
        if hits:
            return hits[0], packets
        assert time.time() < deadline, f"no traced packet {what}: {packets}"
        time.sleep(0.2)


admin = connect()

# --- a routed ping -----------------------------------------------------------
assert_ok(rpc(admin, "trace-start", "<packets>20</packets><interface>eth0</interface>"))
active = read(admin, "trace").xpath("//d:trace/d:active/text()", namespaces=D)
assert active == ["true"], etree.tostring(read(admin, "trace"))
code, text = in_h1("ping", "-c", "2", "-W", "2", "10.2.0.2")
assert code == 0, text


def is_echo_request(steps):
    return steps and steps[0][0] == "port-input" and "10.1.0.2 > 10.2.0.2 icmp type 8" in steps[0][1]


steps, packets = wait_for(admin, is_echo_request, "for the echo request")
nodes = [s[0] for s in steps]
order = ["port-input", "ethernet-input", "ip4-input", "ip4-lookup", "ip4-rewrite",
         "interface-output", "port-output"]
at = [nodes.index(n) for n in order]
assert at == sorted(at), f"path out of order: {steps}"
detail = dict((s[0], s[1]) for s in reversed(steps))
assert detail["port-input"].startswith("rx on eth0,"), steps
assert "ttl 64" in detail["port-input"], steps
fib = [s[1] for s in steps if s[0] == "ip4-lookup" and s[1].startswith("fib:")]
assert fib and "10.2.0.2" in fib[0] and "on eth1" in fib[0], steps
exit_ = [s[1] for s in steps if s[0] == "port-output"][-1]
assert exit_.startswith("tx on eth1,") and "10.1.0.2 > 10.2.0.2 icmp type 8" in exit_, steps
assert "ttl 63" in exit_, f"the exit headers show the TTL decremented: {steps}"
# Only packets received on eth0 were traced: the replies came in on eth1.
for s in packets.values():
    assert s[0][1].startswith("rx on eth0,"), packets
ok("trace of a routed ping")

assert_ok(rpc(admin, "trace-stop"))
st = read(admin, "trace")
assert st.xpath("//d:trace/d:active/text()", namespaces=D) == ["false"], etree.tostring(st)
assert st.xpath("//d:trace/d:packet", namespaces=D), "stop keeps what was recorded"
assert_ok(rpc(admin, "trace-clear"))
assert not read(admin, "trace").xpath("//d:trace/d:packet", namespaces=D), "clear discards it"
ok("trace stop and clear")

# --- a packet an ACL drops -----------------------------------------------------
acl = f'''<config xmlns="{BASE}"><acls xmlns="{ACL_NS}">
<acl><name>blk</name><type>ipv4-acl-type</type><aces>
<ace><name>no-udp-9999</name><matches><udp><destination-port><operator>eq</operator><port>9999</port></destination-port></udp></matches>
<actions><forwarding>drop</forwarding></actions></ace>
<ace><name>rest</name><actions><forwarding>accept</forwarding></actions></ace>
</aces></acl>
<attachment-points><interface><interface-id>eth0</interface-id><ingress><acl-sets><acl-set><name>blk</name></acl-set></acl-sets></ingress></interface></attachment-points>
</acls></config>'''
r = admin.edit_config(target="running", config=acl)
assert r.ok, r.xml
assert_ok(rpc(admin, "trace-start",
              "<packets>10</packets><match><destination-prefix>10.2.0.0/24</destination-prefix>"
              "<protocol>17</protocol><destination-port>9999</destination-port></match>"))
code, text = in_h1("ping", "-c", "1", "-W", "2", "10.2.0.2")
assert code == 0, text
code, text = in_h1("python3", "-c",
                   "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                   "[s.sendto(b'dropped', ('10.2.0.2', 9999)) for _ in range(3)]")
assert code == 0, text


def is_udp_9999(steps):
    return steps and "udp" in steps[0][1] and "> 9999" in steps[0][1]


st = read(admin, "trace")
assert st.xpath("//d:trace/d:match/d:destination-port/text()", namespaces=D) == ["9999"], etree.tostring(st)
assert st.xpath("//d:trace/d:match/d:destination-prefix/text()", namespaces=D) == ["10.2.0.0/24"], etree.tostring(st)
steps, packets = wait_for(admin, is_udp_9999, "for the UDP packet")
assert all(is_udp_9999(p) for p in packets.values()), f"only what the match selects: {packets}"
decisions = [s for s in steps if s[2] is not None]
assert decisions, f"no ACL decision: {steps}"
node, text, acl_name, ace = decisions[0]
assert (acl_name, ace) == ("blk", "no-udp-9999"), steps
assert "deny" in text, steps
drops = [s for s in steps if s[1].startswith("drop:")]
assert drops and drops[0][0] == node, f"dropped by the ACL node: {steps}"
assert "port-output" not in [s[0] for s in steps], steps
ok(f"trace of an ACL drop: {node} {text}; {drops[0][1]}")

# --- runtime counters ---------------------------------------------------------
rt = read(admin, "runtime")
workers = rt.xpath("//d:runtime/d:worker/d:id/text()", namespaces=D)
assert sorted(workers) == ["0", "1"], etree.tostring(rt)


def node_sum(name, leaf):
    return sum(int(x) for x in rt.xpath(
        f"//d:worker/d:node[d:name='{name}']/d:{leaf}/text()", namespaces=D))


assert node_sum("ip4-lookup", "packets") >= 2, etree.tostring(rt)
assert node_sum("ip4-lookup", "vectors") >= 1
assert rt.xpath("//d:node[d:name='ip4-lookup']/d:average-vector-size", namespaces=D)
assert rt.xpath("//d:node[d:name='ip4-lookup']/d:nanoseconds-per-packet", namespaces=D)
acl_drops = sum(int(x) for x in rt.xpath(
    f"//d:node[d:name='{node}']/d:drop/d:packets/text()", namespaces=D))
assert acl_drops >= 3, etree.tostring(rt)
ok(f"runtime counters ({len(rt.xpath('//d:node', namespaces=D))} nodes)")

# --- bounds ---------------------------------------------------------------------
r = rpc(admin, "trace-start", "<packets>5000</packets>")
assert not r.ok and "invalid-value" in r.xml, r.xml
r = rpc(admin, "trace-start", "<interface>nope0</interface>")
assert not r.ok and "invalid-value" in r.xml and "nope0" in r.xml, r.xml
r = admin.edit_config(target="running", config=f"""<config xmlns="{BASE}"><interfaces xmlns="{IF_NS}">
<interface><name>lo9</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:softwareLoopback</type></interface>
</interfaces></config>""")
assert r.ok, r.xml
r = rpc(admin, "trace-start", "<interface>lo9</interface>")
assert not r.ok and "invalid-value" in r.xml and "not a port" in r.xml, r.xml
ok("bounds")

# --- capture to pcap -------------------------------------------------------------
assert_ok(rpc(admin, "capture-start",
              "<interface>eth1</interface><direction>tx</direction><packets>3</packets>"))
code, text = in_h1("ping", "-c", "4", "-i", "0.2", "-W", "2", "10.2.0.2")
assert code == 0, text
deadline = time.time() + 10
while True:
    cap = read(admin, "capture")
    got = cap.xpath("//d:capture/d:packets/text()", namespaces=D)
    if got == ["3"]:
        break
    assert time.time() < deadline, etree.tostring(cap)
    time.sleep(0.2)
assert cap.xpath("//d:capture/d:active/text()", namespaces=D) == ["false"], etree.tostring(cap)
assert cap.xpath("//d:capture/d:interface/text()", namespaces=D) == ["eth1"], etree.tostring(cap)
r = rpc(admin, "capture-stop")
assert r.ok, r.xml
out = etree.fromstring(r.xml.encode())
path = out.findtext(f".//{{{DP_NS}}}file")
assert path and path.endswith(".pcap"), r.xml
assert out.findtext(f".//{{{DP_NS}}}packets") == "3", r.xml
dump = subprocess.run(["tcpdump", "-r", path, "-nn"], capture_output=True, text=True)
assert dump.returncode == 0, dump.stderr
lines = dump.stdout.strip().splitlines()
assert len(lines) == 3 and all("10.1.0.2 > 10.2.0.2: ICMP echo request" in l for l in lines), dump.stdout
r = rpc(admin, "capture-read")
assert r.ok, r.xml
import base64
data = base64.b64decode(etree.fromstring(r.xml.encode()).findtext(f".//{{{DP_NS}}}pcap"))
assert data == open(path, "rb").read(), "capture-read returns the file's bytes"
r = rpc(admin, "capture-start", "<interface>nope0</interface>")
assert not r.ok and "invalid-value" in r.xml, r.xml
r = rpc(admin, "capture-start", "<interface>eth1</interface><packets>0</packets>")
assert not r.ok and "invalid-value" in r.xml, r.xml
ok(f"capture to pcap: {path}")

# --- NACM -----------------------------------------------------------------------
assert_ok(rpc(admin, "trace-stop"))
rules = f'''<config xmlns="{BASE}"><nacm xmlns="{ACM_NS}"><rule-list><name>ops</name><group>ops</group>
<rule><name>no-trace</name><module-name>nectar-dataplane</module-name><rpc-name>trace-start</rpc-name>
<access-operations>exec</access-operations><action>deny</action></rule>
</rule-list></nacm></config>'''
r = admin.edit_config(target="running", config=rules)
assert r.ok, r.xml
alice = connect("alice", "alice-pw")
r = rpc(alice, "trace-start", "<packets>5</packets>")
check_error(r, "protocol", "access-denied")
st = read(admin, "trace")
assert st.xpath("//d:trace/d:active/text()", namespaces=D) == ["false"], etree.tostring(st)
assert_ok(rpc(alice, "trace-clear"))
assert read(alice, "runtime").xpath("//d:worker", namespaces=D), "alice may read the counters"
ok("NACM refuses trace-start")
