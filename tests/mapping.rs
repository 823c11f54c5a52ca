//! The daemon's dataplane wiring end to end: running is written through the management core
//! (ietf-interfaces, ietf-ip, ietf-routing), then `nectar` starts with two afpacket ports on
//! veths into two host namespaces, replays running into its vswitch at start-up, and the
//! hosts ping each other (and a prefix only a static route reaches) through it. And a daemon
//! without ports in its configuration file gets afpacket ports and a loopback created on
//! demand through RESTCONF (`nectar-interfaces:host-port`, `softwareLoopback`).
//!
//! The model-mapping conformance cases (golden files) live in `mapping/tests/cases/` and run from
//! `mapping/tests/northbound_conformance.rs`. Needs root (namespaces); skipped with a
//! message otherwise.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nectar_dataplane::port::pg::pg;
use nectar_dataplane::{Dataplane, Mac};
use nectar_mapping::Northbound;
use nectar_mgmt::{Core, CoreConfig, Datastore, EditStep, ErrorOption, LoadFrom, Registry};

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns as ns;
use nectar_testkit::repo;

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
    replays_and_routes(
        r#"{"ietf-interfaces:interfaces":{"interface":[
          {"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.1.0.1","prefix-length":24}]}},
          {"name":"eth1","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.2.0.1","prefix-length":24}]}}]},
         "ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
          {"type":"ietf-routing:static","name":"st","static-routes":{"ietf-ipv4-unicast-routing:ipv4":{"route":[
            {"destination-prefix":"10.99.0.0/16","next-hop":{"next-hop-address":"10.2.0.2"}}]}}}]}}}"#,
    );
}

/// The same network as the IETF test above, on a fresh daemon, configured only through
/// openconfig-interfaces, openconfig-if-ip and openconfig-network-instance.
#[test]
fn the_same_network_through_openconfig_routes_between_namespaces() {
    replays_and_routes(
        r#"{"openconfig-interfaces:interfaces":{"interface":[
          {"name":"eth0","config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd"},
           "subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},
             "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.1.0.1","config":{"ip":"10.1.0.1","prefix-length":24}}]}}}]}},
          {"name":"eth1","config":{"name":"eth1","type":"iana-if-type:ethernetCsmacd"},
           "subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},
             "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.2.0.1","config":{"ip":"10.2.0.1","prefix-length":24}}]}}}]}}]},
         "openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"DEFAULT","config":{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"},
           "protocols":{"protocol":[{"identifier":"openconfig-policy-types:STATIC","name":"DEFAULT",
             "config":{"identifier":"openconfig-policy-types:STATIC","name":"DEFAULT"},
             "static-routes":{"static":[{"prefix":"10.99.0.0/16","config":{"prefix":"10.99.0.0/16"},
               "next-hops":{"next-hop":[{"index":"gw","config":{"index":"gw","next-hop":"10.2.0.2"}}]}}]}}]}}]}}"#,
    );
}

/// Writes `running` (RFC 7951 JSON) into a fresh state directory, starts the daemon in a
/// dataplane namespace with two afpacket ports wired to host namespaces, and pings from h1
/// to h2 and to a prefix behind h2 reached by the static route.
fn replays_and_routes(running: &str) {
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
    write_running(&state, running);
    let mut d = Daemon::spawn(
        Options {
            extra: format!(
                "[datastore]\nload = \"running\"\n[dataplane]\nworkers = 1\n\
                 [[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n\
                 [[dataplane.ports]]\nname = \"eth1\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n",
                t.dev("dh1"),
                t.dev("dh2"),
            ),
            netns: Some(t.ns("dp")),
            ..Options::default()
        },
        Some(state),
    );
    let h1 = t.path("h1");
    let reached = ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(30))
        && ns::ping(&h1, Ipv4Addr::new(10, 99, 0, 1), Duration::from_secs(5));
    let exited = d.child.try_wait().unwrap();
    let text = d.log();
    assert!(exited.is_none(), "nectar exited: {exited:?}\n{text}");
    assert!(reached, "no ping through the daemon's vswitch\n{text}");
}

const HP2: &str = r#"{"name":"hp2","type":"iana-if-type:ethernetCsmacd",
  "nectar-interfaces:host-port":{"driver":"afpacket","host-interface":"HOST2"},
  "ietf-ip:ipv4":{"address":[{"ip":"10.2.0.1","prefix-length":24}]}}"#;

// Input: a daemon in its own namespace whose configuration file declares no port at all;
// through RESTCONF, two ietf-interfaces interfaces created on demand as afpacket ports
// (nectar-interfaces:host-port) on the veths into two host namespaces, each with an address,
// and a softwareLoopback with an address; then one of the ports deleted, then created again;
// then the daemon restarted on the same state.
// Output: the hosts ping each other across the vswitch and both ping the loopback's address;
// the operational view shows the ports (driver afpacket, host interface, oper-status up)
// and the loopback; once the port is deleted, traffic to its side stops, the loopback still
// answers from the other side, and the interface is gone from the operational view; created
// again, it forwards again; after the restart, the start-up replay opens the ports again and
// the hosts ping across.
#[test]
fn ports_created_on_demand_through_restconf_route_between_namespaces() {
    let Some(t) = ns::Topo::router("eng") else {
        return;
    };
    let dp = t.ns("dp");
    let keep = tempfile::tempdir().unwrap();
    let start = || {
        Daemon::start_on(
            Options {
                extra: "[dataplane]\nworkers = 1\nports = []\n".into(),
                netns: Some(dp.clone()),
                ..Default::default()
            },
            Some(keep.path().join("state")),
        )
    };
    let d = start();
    let hp2 = HP2.replace("HOST2", &t.dev("dh2"));
    let body = format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[
          {{"name":"hp1","type":"iana-if-type:ethernetCsmacd",
            "nectar-interfaces:host-port":{{"driver":"afpacket","host-interface":"{}"}},
            "ietf-ip:ipv4":{{"address":[{{"ip":"10.1.0.1","prefix-length":24}}]}}}},
          {hp2},
          {{"name":"lo0","type":"iana-if-type:softwareLoopback",
            "ietf-ip:ipv4":{{"address":[{{"ip":"10.255.0.1","prefix-length":32}}]}}}}]}}}}"#,
        t.dev("dh1")
    );
    let (code, out) = d.restconf(
        "PATCH",
        "/restconf/data/ietf-interfaces:interfaces",
        Some(&body),
    );
    assert_eq!(code, 204, "{out}\n{}", d.log());

    let (h1, h2) = (t.path("h1"), t.path("h2"));
    let lo = Ipv4Addr::new(10, 255, 0, 1);
    assert!(
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(30)),
        "h1 -> h2 across the ports created on demand\n{}",
        d.log()
    );
    assert!(ns::ping(&h1, lo, Duration::from_secs(5)), "h1 -> loopback");
    assert!(ns::ping(&h2, lo, Duration::from_secs(5)), "h2 -> loopback");

    let oper = "/restconf/ds/ietf-datastores:operational/ietf-interfaces:interfaces";
    let (code, out) = d.restconf("GET", &format!("{oper}/interface=hp2"), None);
    assert_eq!(code, 200, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let i = &v["ietf-interfaces:interface"][0];
    assert_eq!(i["oper-status"], "up", "{out}");
    assert_eq!(
        i["nectar-interfaces:dataplane"]["driver"], "afpacket",
        "{out}"
    );
    assert_eq!(
        i["nectar-interfaces:dataplane"]["host-interface"],
        t.dev("dh2").as_str(),
        "{out}"
    );
    let (code, out) = d.restconf("GET", &format!("{oper}/interface=lo0"), None);
    assert_eq!(code, 200, "{out}");
    assert!(
        out.contains(r#""driver":"loopback""#) && out.contains(r#""oper-status":"up""#),
        "{out}"
    );

    let (code, out) = d.restconf(
        "DELETE",
        "/restconf/data/ietf-interfaces:interfaces/interface=hp2",
        None,
    );
    assert_eq!(code, 204, "{out}");
    assert!(
        !ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(3)),
        "traffic to the deleted port's side stops"
    );
    assert!(
        ns::ping(&h1, lo, Duration::from_secs(5)),
        "the other port keeps forwarding"
    );
    let (code, out) = d.restconf("GET", oper, None);
    assert_eq!(code, 200, "{out}");
    assert!(
        out.contains(r#""name":"hp1""#) && !out.contains(r#""name":"hp2""#),
        "hp2 is gone from the operational view: {out}"
    );

    let (code, out) = d.restconf(
        "POST",
        "/restconf/data/ietf-interfaces:interfaces",
        Some(&format!(r#"{{"ietf-interfaces:interface":[{hp2}]}}"#)),
    );
    assert_eq!(code, 201, "{out}");
    assert!(
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(10)),
        "created again, it forwards again\n{}",
        d.log()
    );

    // A new daemon on the same state: the start-up replay opens the ports again.
    drop(d);
    let d = start();
    assert!(
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(30))
            && ns::ping(&h2, lo, Duration::from_secs(5)),
        "after a restart, running is replayed into new ports\n{}",
        d.log()
    );
}

/// Runs `tests/netconf/router.py` (ncclient) inside namespace `ns` against the daemon:
/// RFC 8344 router interfaces eth0 and eth1, eth0's IPv4 `forwarding` set to `fwd`.
fn router_config_over_netconf(d: &Daemon, ns: &str, fwd: bool) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(repo::python())
        .arg(repo::path("tests/netconf/router.py"))
        .args(["127.0.0.1", &d.netconf.to_string(), &d.password()])
        .arg(if fwd { "true" } else { "false" })
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n--- daemon log\n{}", d.log());
}

// Input: a daemon routing between two host namespaces on afpacket ports (kernel default
// offloads); over NETCONF (ncclient, candidate + commit), the standard RFC 8344 router
// configuration: each interface with an ietf-ip address and `<forwarding>true</forwarding>`;
// then eth0's forwarding false; then true again.
// Output: the configuration commits and h1 reaches h2 across the box and moves 16 MiB of
// TCP; with forwarding false on eth0, transit from h1 stops while h1 still pings the box's
// own address on eth0; true again, transit resumes.
#[test]
fn rfc8344_router_interfaces_with_forwarding_over_netconf() {
    let Some(t) = ns::Topo::router("rf") else {
        return;
    };
    let dp = t.ns("dp");
    let d = Daemon::start(Options {
        extra: format!(
            "[dataplane]\nworkers = 1\n\
             [[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n\
             [[dataplane.ports]]\nname = \"eth1\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n",
            t.dev("dh1"),
            t.dev("dh2")
        ),
        netns: Some(dp.clone()),
        ..Default::default()
    });
    let h1 = t.path("h1");
    let (gw, far) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 2, 0, 2));
    router_config_over_netconf(&d, &dp, true);
    assert!(
        ns::ping(&h1, far, Duration::from_secs(10)),
        "h1 -> h2 across the router\n{}",
        d.log()
    );
    let (n, _) = ns::tcp_transfer(
        &h1,
        &t.path("h2"),
        "10.2.0.2:5201".parse().unwrap(),
        16 << 20,
    );
    assert_eq!(n, 16 << 20);

    router_config_over_netconf(&d, &dp, false);
    assert!(
        ns::ping(&h1, gw, Duration::from_secs(5)),
        "the box's own address still answers"
    );
    assert!(
        !ns::ping(&h1, far, Duration::from_secs(2)),
        "no transit from a host interface"
    );

    router_config_over_netconf(&d, &dp, true);
    assert!(
        ns::ping(&h1, far, Duration::from_secs(5)),
        "transit again with forwarding true"
    );
}
