//! OpenConfig VLANs end to end: a fresh daemon with three afpacket ports on veths into host
//! namespaces is configured only through OpenConfig (one gNMI Set by pygnmi): eth0 and
//! eth1 are ACCESS ports of VLAN 10 of the DEFAULT instance, irb10 is VLAN 10's routed-vlan
//! interface, eth2 a routed port. The hosts on the access ports ping each other (switched),
//! the routed-vlan address, and the host behind eth2 (routed); a gNMI Get then shows both
//! hosts' MACs learned behind their ports, in the OpenConfig fdb and in nectar-bridge.
//! Needs root (namespaces); skipped with a message otherwise.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::{Daemon, Options};

// The dataplane's namespace helpers: uniquely named namespaces removed on drop (also when
// the test fails), veth wiring with the kernel's default offloads, ICMP echo from inside a namespace.
#[path = "../dataplane/tests/common/ns.rs"]
#[allow(dead_code)]
mod ns;

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

/// Runs `tests/gnmi/oc_vlan.py <cmd>` inside the daemon's namespace; its stdout.
fn oc_vlan(d: &Daemon, dp_ns: &str, cmd: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", dp_ns])
        .arg(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gnmi/oc_vlan.py"))
        .args([
            cmd,
            "127.0.0.1",
            &d.gnmi.to_string(),
            "admin",
            &d.password(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "oc_vlan.py {cmd} failed\n--- stdout\n{stdout}\n--- stderr\n{}\n--- nectar\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    stdout
}

/// The MAC address of `dev` in namespace `ns`.
fn mac_of(ns: &str, dev: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", "dev", dev])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_else(|| panic!("no MAC for {dev}: {text}"))
        .to_string()
}

#[test]
fn access_ports_of_an_openconfig_vlan_switch_and_its_routed_vlan_routes() {
    let Some(t) = ns::Topo::named("vlan", &["h1", "h2", "h3", "dp"]) else {
        return;
    };
    t.wire("h1", "10.10.0.2/24", Some("10.10.0.1")).unwrap();
    t.wire("h2", "10.10.0.3/24", Some("10.10.0.1")).unwrap();
    t.wire("h3", "10.3.0.2/24", Some("10.3.0.1")).unwrap();
    ns::ip(&["-n", &t.ns("dp"), "link", "set", "lo", "up"]).unwrap();

    let mut ports = String::from("[dataplane]\nworkers = 1\n");
    for (i, host) in ["h1", "h2", "h3"].iter().enumerate() {
        ports.push_str(&format!(
            "[[dataplane.ports]]\nname = \"eth{i}\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n",
            t.dev(&format!("d{host}"))
        ));
    }
    let d = Daemon::start(Options {
        extra: ports,
        netns: Some(t.ns("dp")),
        gnmi_plaintext: true,
        ..Default::default()
    });
    let set = oc_vlan(&d, &t.ns("dp"), "set");
    assert!(set.contains("ok set"), "{set}");

    let h1 = t.path("h1");
    let switched = ns::ping(&h1, Ipv4Addr::new(10, 10, 0, 3), Duration::from_secs(30));
    assert!(switched, "h1 cannot ping h2 in VLAN 10\n{}", d.log());
    let irb = ns::ping(&h1, Ipv4Addr::new(10, 10, 0, 1), Duration::from_secs(10));
    assert!(irb, "h1 cannot ping the routed-vlan address\n{}", d.log());
    let routed = ns::ping(&h1, Ipv4Addr::new(10, 3, 0, 2), Duration::from_secs(10));
    assert!(routed, "h1 cannot reach h3 through irb10\n{}", d.log());

    // The learned MACs, through a gNMI Get, in both models.
    let got = oc_vlan(&d, &t.ns("dp"), "get");
    eprintln!("{got}");
    let (m1, m2) = (
        mac_of(&t.ns("h1"), &t.dev("eh1")),
        mac_of(&t.ns("h2"), &t.dev("eh2")),
    );
    for (mac, port) in [(&m1, "eth0"), (&m2, "eth1")] {
        for line in [
            format!("mac oc {mac} {port} DYNAMIC"),
            format!("mac nectar {mac} {port} dynamic"),
        ] {
            assert!(got.lines().any(|l| l == line), "missing {line:?} in\n{got}");
        }
    }
}
