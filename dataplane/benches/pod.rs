//! The dataplane in a pod, side by side with the kernel: two host namespaces joined by veth
//! pairs with the kernel's **default** offloads (as every pod's veth is) to a middle
//! namespace that forwards between them, either the Linux kernel (ip_forward, or a Linux
//! bridge) or nectar on `afpacket` ports (one worker). iperf3 measures TCP throughput and
//! the rate of 64-byte UDP datagrams received; a table with the ratios is printed.
//!
//! Needs root, iproute2 and iperf3 (scripts/setup installs them). Run:
//! `cargo bench -p nectar-dataplane --bench pod` (`-- 10` for 10-second runs; default 5;
//! a word such as `-- 5 nectar` runs only the cases whose name contains it).

#[path = "../tests/common/ns.rs"]
#[allow(dead_code)]
mod ns;

use std::process::{Command, Stdio};
use std::time::Duration;

use nectar_dataplane::Dataplane;
use nectar_dataplane::control::*;
use ns::*;

/// What forwards in the middle namespace.
#[derive(Clone, Copy, PartialEq)]
enum Fwd {
    KernelRouter,
    KernelBridge,
    NectarRouter,
    NectarBridge,
    NectarAclNat,
}

impl Fwd {
    fn name(self) -> &'static str {
        match self {
            Fwd::KernelRouter => "kernel routing (ip_forward)",
            Fwd::KernelBridge => "kernel Linux bridge",
            Fwd::NectarRouter => "nectar routing (afpacket)",
            Fwd::NectarBridge => "nectar bridging (afpacket)",
            Fwd::NectarAclNat => "nectar routing + stateful ACL + NAT44",
        }
    }

    fn routed(self) -> bool {
        !matches!(self, Fwd::KernelBridge | Fwd::NectarBridge)
    }
}

fn sh(ns: &str, cmd: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", cmd])
        .status()
        .expect("ip netns exec");
    assert!(ok.success(), "{cmd} in {ns}");
}

/// Builds the topology for `f`; returns it with the dataplane (nectar cases) and the
/// server address.
fn setup(f: Fwd) -> (Topo, Option<Dataplane>, &'static str) {
    let t = Topo::tagged("pb").expect("network namespaces (run as root)");
    let server = if f.routed() {
        t.wire("h1", "10.0.1.10/24", Some("10.0.1.1")).unwrap();
        let gw = (f != Fwd::NectarAclNat).then_some("10.0.2.1");
        t.wire("h2", "10.0.2.20/24", gw).unwrap();
        "10.0.2.20"
    } else {
        t.wire("h1", "10.0.0.1/24", None).unwrap();
        t.wire("h2", "10.0.0.2/24", None).unwrap();
        "10.0.0.2"
    };
    let dns = t.ns("dp");
    let (d1, d2) = (t.dev("dh1"), t.dev("dh2"));
    let dp = match f {
        Fwd::KernelRouter => {
            ip(&["-n", &dns, "addr", "add", "10.0.1.1/24", "dev", &d1]).unwrap();
            ip(&["-n", &dns, "addr", "add", "10.0.2.1/24", "dev", &d2]).unwrap();
            // The namespace's own forwarding switch (this namespace is ours).
            sh(&dns, "echo 1 > /proc/sys/net/ipv4/ip_forward");
            None
        }
        Fwd::KernelBridge => {
            ip(&["-n", &dns, "link", "add", "br0", "type", "bridge"]).unwrap();
            ip(&["-n", &dns, "link", "set", &d1, "master", "br0"]).unwrap();
            ip(&["-n", &dns, "link", "set", &d2, "master", "br0"]).unwrap();
            ip(&["-n", &dns, "link", "set", "br0", "up"]).unwrap();
            None
        }
        Fwd::NectarRouter | Fwd::NectarAclNat | Fwd::NectarBridge => {
            let dp = t.dataplane();
            let ops = match f {
                Fwd::NectarBridge => bridge_all("bd", &["p1", "p2"]),
                Fwd::NectarRouter => routed_ops(&[("p1", "10.0.1.1/24"), ("p2", "10.0.2.1/24")]),
                _ => vec![
                    Op::SetAcl(AclConfig {
                        name: "out".into(),
                        rules: vec![AclRule::any(AclAction::PermitReflect)],
                    }),
                    Op::SetAcl(AclConfig {
                        name: "in".into(),
                        rules: vec![AclRule::any(AclAction::Deny)],
                    }),
                    up(
                        "p1",
                        InterfaceConfig {
                            nat: NatRole::Inside,
                            acl_in: Some("out".into()),
                            ..Default::default()
                        },
                    ),
                    addr("p1", "10.0.1.1/24"),
                    up(
                        "p2",
                        InterfaceConfig {
                            nat: NatRole::Outside,
                            acl_in: Some("in".into()),
                            ..Default::default()
                        },
                    ),
                    addr("p2", "10.0.2.1/24"),
                ],
            };
            dp.apply(&ops).unwrap();
            Some(dp)
        }
    };
    assert!(
        ping(
            &t.path("h1"),
            server.parse().unwrap(),
            Duration::from_secs(5)
        ),
        "{}: no ping across",
        f.name()
    );
    (t, dp, server)
}

/// Runs an iperf3 client in `h1` against a one-shot server in `h2`; returns its JSON.
fn iperf(t: &Topo, server: &str, secs: u32, extra: &[&str]) -> serde_json::Value {
    let mut srv = Command::new("ip")
        .args([
            "netns",
            "exec",
            &t.ns("h2"),
            "iperf3",
            "-s",
            "-1",
            "-B",
            server,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 (apt install iperf3)");
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new("ip")
        .args(["netns", "exec", &t.ns("h1"), "iperf3", "-J", "-c", server])
        .args(["-t", &secs.to_string()])
        .args(extra)
        .output()
        .expect("iperf3 client");
    let _ = srv.wait();
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// TCP throughput in Gbit/s as the receiver saw it.
fn tcp_gbps(t: &Topo, server: &str, secs: u32) -> f64 {
    let j = iperf(t, server, secs, &[]);
    j["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        / 1e9
}

/// 64-byte UDP datagrams received per second (sent as fast as one sender can).
fn udp64_pps(t: &Topo, server: &str, secs: u32) -> f64 {
    let j = iperf(t, server, secs, &["-u", "-l", "64", "-b", "0"]);
    let s = &j["end"]["sum"];
    let (pk, lost, sec) = (
        s["packets"].as_f64().unwrap_or(0.0),
        s["lost_packets"].as_f64().unwrap_or(0.0),
        s["seconds"].as_f64().unwrap_or(1.0),
    );
    (pk - lost).max(0.0) / sec.max(0.001)
}

fn main() {
    let secs: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a.parse::<u32>().is_err() && !a.starts_with('-'));
    let cases: Vec<Fwd> = [
        Fwd::KernelRouter,
        Fwd::NectarRouter,
        Fwd::KernelBridge,
        Fwd::NectarBridge,
        Fwd::NectarAclNat,
    ]
    .into_iter()
    .filter(|f| only.as_ref().is_none_or(|w| f.name().contains(w.as_str())))
    .collect();
    let mut rows = Vec::new();
    for f in cases {
        let (t, dp, server) = setup(f);
        let tcp = tcp_gbps(&t, server, secs);
        let pps = udp64_pps(&t, server, secs);
        drop(dp);
        drop(t);
        eprintln!("{}: TCP {tcp:.2} Gbit/s, UDP 64 B {pps:.0} pps", f.name());
        rows.push((f, tcp, pps));
    }
    let base = |routed: bool| {
        rows.iter()
            .find(|(f, ..)| {
                *f == if routed {
                    Fwd::KernelRouter
                } else {
                    Fwd::KernelBridge
                }
            })
            .map(|r| (r.1, r.2))
            .unwrap_or((1.0, 1.0))
    };
    println!(
        "\n| forwarding ({secs} s each, default veth offloads) | TCP Gbit/s | × kernel | UDP 64 B pps | × kernel |"
    );
    println!("|---|---|---|---|---|");
    for (f, tcp, pps) in &rows {
        let (bt, bp) = base(f.routed());
        println!(
            "| {} | {tcp:.2} | {:.2} | {pps:.0} | {:.2} |",
            f.name(),
            tcp / bt.max(1e-9),
            pps / bp.max(1e-9)
        );
    }
}
