//! The daemon's dataplane wiring end to end: running is written through the management core
//! (ietf-interfaces, ietf-ip, ietf-routing), then `nectar` starts with two afpacket ports on
//! veths into two host namespaces, replays running into its vswitch at start-up, and the
//! hosts ping each other (and a prefix only a static route reaches) through it.
//!
//! The model-mapping conformance cases (golden files) live in `tests/mapping/` and run from
//! `dataplane/tests/northbound_conformance.rs`. Needs root (namespaces); skipped with a
//! message otherwise.

use std::net::Ipv4Addr;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nectar_dataplane::northbound::Northbound;
use nectar_dataplane::port::pg::pg;
use nectar_dataplane::{Dataplane, Mac};
use nectar_mgmt::{Core, CoreConfig, Datastore, EditStep, ErrorOption, LoadFrom, Registry};

mod common;

use common::{BIN, free_port};

// The dataplane's own namespace helpers: uniquely named namespaces removed on drop, veth
// wiring with offloads off, ICMP echo from inside a namespace.
#[path = "../dataplane/tests/common/ns.rs"]
#[allow(dead_code)]
mod ns;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Commits `json` to the running datastore in `state`, as the daemon's core would, with
/// in-memory stand-ins for the ports eth0 and eth1.
fn write_running(state: &std::path::Path, json: &str) {
    let ctx = nectar_yang::ModelSet::management()
        .with(nectar_yang::models::NETWORK)
        .with(nectar_yang::models::DEVIATIONS)
        .build()
        .unwrap();
    let mut b = Dataplane::builder();
    for (i, n) in ["eth0", "eth1"].iter().enumerate() {
        b = b.port(n, pg(Mac([2, 0, 0, 0, 0, i as u8 + 1])).0);
    }
    let (nb, _) = Northbound::new(Arc::new(b.build().unwrap()));
    let mut reg = Registry::new();
    reg.register(nb);
    let mut cfg = CoreConfig::new(state);
    cfg.load = LoadFrom::Running;
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let mut core = Core::open(ctx, cfg, reg, tx).unwrap();
    let t = nectar_mgmt::core::parse_json(ctx, json).unwrap();
    core.edit(
        None,
        Datastore::Running,
        vec![EditStep::merge(t)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
}

#[test]
fn the_daemon_replays_running_into_afpacket_ports_and_routes_between_namespaces() {
    let Some(t) = ns::Topo::new() else { return };
    t.wire("h1", "10.1.0.2/24", Some("10.1.0.1")).unwrap();
    t.wire("h2", "10.2.0.2/24", Some("10.2.0.1")).unwrap();
    ns::ip(&[
        "-n",
        &t.ns("h2"),
        "addr",
        "add",
        "10.99.0.1/32",
        "dev",
        "lo",
    ])
    .unwrap();
    ns::ip(&["-n", &t.ns("dp"), "link", "set", "lo", "up"]).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    write_running(
        &state,
        r#"{"ietf-interfaces:interfaces":{"interface":[
          {"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.1.0.1","prefix-length":24}]}},
          {"name":"eth1","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.2.0.1","prefix-length":24}]}}]},
         "ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
          {"type":"ietf-routing:static","name":"st","static-routes":{"ietf-ipv4-unicast-routing:ipv4":{"route":[
            {"destination-prefix":"10.99.0.0/16","next-hop":{"next-hop-address":"10.2.0.2"}}]}}}]}}}"#,
    );
    let cfg = dir.path().join("nectar.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"state_dir = "{}"
[netconf]
listen = "127.0.0.1:{}"
[restconf]
listen = "127.0.0.1:{}"
[gnmi]
listen = "127.0.0.1:{}"
[metrics]
listen = "127.0.0.1:{}"
[datastore]
load = "running"
[dataplane]
workers = 1
[[dataplane.ports]]
name = "eth0"
driver = "afpacket"
host_interface = "{}"
[[dataplane.ports]]
name = "eth1"
driver = "afpacket"
host_interface = "{}"
"#,
            state.display(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            t.dev("dh1"),
            t.dev("dh2"),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("nectar.log")).unwrap();
    let mut d = Daemon(
        Command::new("ip")
            .args(["netns", "exec", &t.ns("dp"), BIN, "--config"])
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let h1 = t.path("h1");
    let reached = ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(30))
        && ns::ping(&h1, Ipv4Addr::new(10, 99, 0, 1), Duration::from_secs(5));
    let exited = d.0.try_wait().unwrap();
    let text = std::fs::read_to_string(dir.path().join("nectar.log")).unwrap_or_default();
    assert!(exited.is_none(), "nectar exited: {exited:?}\n{text}");
    assert!(reached, "no ping through the daemon's vswitch\n{text}");
}
