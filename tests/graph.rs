//! The packet graph through the management plane (nectar-dataplane), on the real daemon
//! routing between two host namespaces on afpacket ports with two workers: the packet trace
//! over NETCONF (ncclient: a routed ping's path, an ACL drop with the entry named, stop,
//! clear, bounds, NACM refusing trace-start) and over RESTCONF, a pcap capture read by
//! tcpdump, and the runtime counters per
//! worker and node over NETCONF, RESTCONF, gNMI (pygnmi Get and SAMPLE) and Prometheus.
//! Needs root (namespaces): fails when `CI` is set, skipped with a message otherwise.

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns::{self as ns, Topo};
use nectar_testkit::prom::{promtool_check, sample};
use nectar_testkit::repo;

/// `script` (a Python test client) run inside namespace `netns` with `args`; its output,
/// asserted successful.
fn run_in(netns: &str, script: &str, args: &[&str], d: &Daemon) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", netns])
        .arg(repo::python())
        .arg(repo::path(script))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script}: {text}\n--- daemon log\n{}",
        d.log()
    );
    text
}

/// A Prometheus scrape from inside the daemon's namespace.
fn scrape(d: &Daemon) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", d.netns.as_deref().unwrap(), "curl", "-sS"])
        .arg(format!("http://127.0.0.1:{}/metrics", d.metrics))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Pings from namespace `ns` to `dst` once every 100 ms until killed.
fn keep_pinging(ns: &str, dst: &str) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-q", "-i", "0.1", dst])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The sum over workers of a node's counter in a scrape (every sample of `name` with
/// `node`).
fn sum_over_workers(body: &str, name: &str, node: &str) -> (f64, usize) {
    let mut total = (0.0, 0);
    for w in 0..8 {
        let w = w.to_string();
        if let Some(v) = sample(body, name, &[("node", node), ("worker", w.as_str())]) {
            total.0 += v;
            total.1 += 1;
        }
    }
    total
}

// Input: a daemon with two workers routing between h1 (10.1.0.2, behind eth0) and h2
// (10.2.0.2, behind eth1), configured over NETCONF; users admin (superuser) and alice
// (group ops). Over NETCONF (ncclient, tests/netconf/trace.py): trace-start on eth0 and a
// ping from h1 to h2; an ACL "blk" whose entry "no-udp-9999" drops UDP to port 9999, then
// trace-start matching UDP to 10.2.0.0/24 port 9999, a ping and three such packets; a get of the runtime counters; trace-start for 5000
// packets and on an unknown interface; capture-start of 3 frames eth1 sends and a ping,
// capture-stop, capture-read; an NACM rule denying trace-start to group ops, and
// alice's trace-start. Then over RESTCONF, gNMI (pygnmi) and Prometheus while h1 pings h2.
// Output: the ping's trace runs port-input, ethernet-input, ip4-input, ip4-lookup (the FIB
// entry: 10.2.0.2 on eth1), ip4-rewrite, interface-output, port-output, with the headers
// at entry (TTL 64) and exit (TTL 63), and only packets received on eth0; the UDP packet's
// trace names ACL blk and entry no-udp-9999 and ends in the ACL node's drop, and the ping
// is not traced; the counters
// list workers 0 and 1, ip4-lookup's packets and the ACL node's drops; 5000 packets and an
// unknown interface are invalid-value; the capture ends by itself after 3 frames, the file
// capture-stop names holds the 3 echo requests as `tcpdump -r` reads them and capture-read
// returns the same bytes; alice gets access-denied and no trace starts. RESTCONF lists
// nectar-dataplane in the YANG library, shows the same counters and starts a trace (alice: 403 access-denied); gNMI Get reads a
// node's packets (and a node whole, zero counters included, in JSON and JSON IETF) and
// that trace (an echo request's path out of eth1), and a SAMPLE
// subscription delivers the counter repeatedly; the scrape has the node
// counters per worker (ip4-lookup's packets summed over workers at least what NETCONF
// counted), time per node, drops with the worker label, and passes promtool.
#[test]
fn the_packet_graph_through_netconf_restconf_gnmi_and_prometheus() {
    let Some(t) = Topo::router("gr") else {
        return;
    };
    let dp = t.ns("dp");
    let d = Daemon::start(Options {
        extra: format!(
            "[[users]]\nname = \"admin\"\npassword = \"admin-pw\"\ngroups = [\"admin\"]\n\
             [[users]]\nname = \"alice\"\npassword = \"alice-pw\"\ngroups = [\"ops\"]\n\
             [dataplane]\nworkers = 2\n\
             [[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n\
             [[dataplane.ports]]\nname = \"eth1\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n",
            t.dev("dh1"),
            t.dev("dh2")
        ),
        netns: Some(dp.clone()),
        gnmi_plaintext: true,
        ..Default::default()
    });
    let port = d.netconf.to_string();
    run_in(
        &dp,
        "tests/netconf/router.py",
        &["127.0.0.1", &port, "admin-pw", "true"],
        &d,
    );
    let h1 = t.path("h1");
    assert!(
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(10)),
        "h1 -> h2 across the router\n{}",
        d.log()
    );

    let out = run_in(
        &dp,
        "tests/netconf/trace.py",
        &["127.0.0.1", &port, &t.ns("h1")],
        &d,
    );
    for check in [
        "OK trace of a routed ping",
        "OK trace stop and clear",
        "OK trace of an ACL drop",
        "OK runtime counters",
        "OK bounds",
        "OK capture to pcap",
        "OK NACM refuses trace-start",
    ] {
        assert!(out.contains(check), "missing {check:?}\n{out}");
    }

    let mut pinger = keep_pinging(&t.ns("h1"), "10.2.0.2");

    // RESTCONF: the module in the YANG library, the same counters, and the trace RPCs.
    let admin = "admin:admin-pw";
    let (code, body) = d.restconf_as(
        admin,
        "GET",
        "/restconf/data/ietf-yang-library:yang-library",
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(r#""name":"nectar-dataplane""#),
        "nectar-dataplane advertised: {body}"
    );
    let (code, body) = d.restconf_as(
        admin,
        "GET",
        "/restconf/data/nectar-dataplane:dataplane/runtime",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let workers = v["nectar-dataplane:runtime"]["worker"].as_array().unwrap();
    let ids: Vec<_> = workers.iter().map(|w| w["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [0, 1], "{body}");
    let lookup: u64 = workers
        .iter()
        .flat_map(|w| w["node"].as_array().unwrap())
        .filter(|n| n["name"] == "ip4-lookup")
        .map(|n| n["packets"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(lookup >= 2, "{body}");
    let (code, body) = d.restconf_as(
        admin,
        "POST",
        "/restconf/operations/nectar-dataplane:trace-start",
        Some(r#"{"nectar-dataplane:input":{"packets":3,"interface":"eth0"}}"#),
    );
    assert_eq!(code, 204, "{body}");
    // The pings h1 sends traced (one every 100 ms), with their path.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = d.restconf_as(
            admin,
            "GET",
            "/restconf/data/nectar-dataplane:dataplane/trace",
            None,
        );
        assert_eq!(code, 200, "{body}");
        if body.contains(r#""traced":3"#) {
            assert!(body.contains(r#""active":false"#), "{body}");
            assert!(body.contains(r#""node":"ip4-lookup""#), "{body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, body) = d.restconf_as(
        "alice:alice-pw",
        "POST",
        "/restconf/operations/nectar-dataplane:trace-start",
        Some(r#"{"nectar-dataplane:input":{"packets":3}}"#),
    );
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("ietf-restconf:errors") && body.contains(r#""error-tag":"access-denied""#),
        "{body}"
    );

    // gNMI.
    let out = run_in(
        &dp,
        "tests/gnmi/graph.py",
        &["127.0.0.1", &d.gnmi.to_string(), "admin", "admin-pw"],
        &d,
    );
    assert!(out.contains("ok get ip4-lookup packets"), "{out}");
    assert!(out.contains("ok sample ip4-lookup packets"), "{out}");
    assert!(out.contains("ok get trace"), "{out}");
    assert!(out.contains("ok get a node whole"), "{out}");
    // A packet the ACL of the NETCONF part drops, traced (started over RESTCONF) and
    // read over gNMI, with the rule named.
    let (code, body) = d.restconf_as(
        admin,
        "POST",
        "/restconf/operations/nectar-dataplane:trace-start",
        Some(
            r#"{"nectar-dataplane:input":{"packets":3,"match":{"protocol":17,"destination-port":9999}}}"#,
        ),
    );
    assert_eq!(code, 204, "{body}");
    let sent = Command::new("ip")
        .args(["netns", "exec", &t.ns("h1"), "python3", "-c"])
        .arg(
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
             [s.sendto(b'dropped', ('10.2.0.2', 9999)) for _ in range(3)]",
        )
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = d.restconf_as(
            admin,
            "GET",
            "/restconf/data/nectar-dataplane:dataplane/trace/traced",
            None,
        );
        if body.contains(r#""nectar-dataplane:traced":3"#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = run_in(
        &dp,
        "tests/gnmi/graph.py",
        &[
            "127.0.0.1",
            &d.gnmi.to_string(),
            "admin",
            "admin-pw",
            "acl-drop",
        ],
        &d,
    );
    assert!(out.contains("ok get trace of an ACL drop"), "{out}");

    // Prometheus.
    let body = scrape(&d);
    let _ = pinger.kill();
    let _ = pinger.wait();
    promtool_check(&body);
    let (packets, workers) =
        sum_over_workers(&body, "nectar_dataplane_node_packets_total", "ip4-lookup");
    assert_eq!(workers, 2, "one series per worker: {body}");
    assert!(packets >= lookup as f64, "{packets} < {lookup}: {body}");
    let (vectors, _) = sum_over_workers(&body, "nectar_dataplane_node_vectors_total", "ip4-lookup");
    assert!(vectors >= 1.0 && vectors <= packets, "{body}");
    let (seconds, _) = sum_over_workers(&body, "nectar_dataplane_node_seconds_total", "ip4-lookup");
    assert!(seconds > 0.0, "{body}");
    assert!(
        body.lines()
            .any(|l| l.starts_with("nectar_dataplane_drops_total{")
                && l.contains("reason=")
                && l.contains("worker=")),
        "drops by reason and worker: {body}"
    );
}
