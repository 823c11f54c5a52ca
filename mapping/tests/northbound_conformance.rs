//! Holo-style conformance tests of the northbound mapping: one folder per case under the
//! crate's `tests/cases/`, numbered steps.
//!
//! Base topology: a pg dataplane with ports eth0, eth1, eth2, no traffic, the daemon's model
//! set (network models + nectar's deviations) and the `Northbound` provider in the core.
//! Ports created on demand (`nectar-interfaces:host-port`) open in-memory stand-ins for the
//! host: the host interfaces `veth-a` and `veth-b` exist (an afpacket port on any other one
//! fails with "No such device", as the kernel answers), and every TAP device can be created.
//! A stand-in reports the driver asked for and a MAC derived from the host interface name.
//!
//! Inputs of step NN (any of them, applied in this order):
//! - `NN-input-config.json`: RFC 7951 JSON merged into running (one commit).
//! - `NN-input-delete.txt`: data paths removed from running (one commit), one per line.
//! - `NN-input-restart`: the dataplane forgets its configuration (`Dataplane::reset`, a
//!   restart); the mapping replays running into it on its own, from the reset event.
//!
//! Outputs of step NN (golden files; `NECTAR_UPDATE_GOLDEN=1` rewrites them):
//! - `NN-output-dataplane.jsonl`: the control-API operations the step sent, one JSON object
//!   per line in the order sent (`{"SetInterface":{…}}`, fields at their defaults left out:
//!   see `golden/mod.rs`), `{"replay":{…}}` for those of an automatic replay, or
//!   `{"refused":"…"}`, the error that refused the commit (then nothing may have changed).
//! - `NN-output-state.json`: the operational datastore (interfaces in both models, the RIB,
//!   ACL counters in both models, NAT instances, network instances, bridge domains), volatile
//!   leaves masked.
//! - `NN-output-notif.jsonl`: the management events the dataplane raised during the step.

mod golden;
mod northbound_rig;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nectar_dataplane::buffer::{BufPool, Packet};
use nectar_dataplane::control::HostPort;
use nectar_dataplane::port::pg::{PgPort, pg};
use nectar_dataplane::port::{Port, TxResult};
use nectar_dataplane::{Dataplane, Mac};
use nectar_mapping::{Northbound, NorthboundHandle, events};
use nectar_mgmt::{Core, CoreConfig, Datastore, EditOp, EditStep, ErrorOption, Event, Registry};
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use northbound_rig::ctx;
use serde_json::json;

const STATE_ROOTS: &[&str] = &[
    "/ietf-interfaces:interfaces",
    "/openconfig-interfaces:interfaces",
    "/ietf-routing:routing",
    "/ietf-access-control-list:acls",
    "/openconfig-acl:acl",
    "/ietf-nat:nat",
    "/openconfig-network-instance:network-instances",
    "/nectar-bridge:bridge-domains",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Masks the leaves whose values depend on when the test ran.
fn mask(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "discontinuity-time" || k == "last-updated" {
                    *x = serde_json::Value::String("<masked>".into());
                } else {
                    mask(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// The operational datastore under the state roots, volatile leaves masked.
fn state_of(core: &Core) -> serde_json::Value {
    let mut state = serde_json::Map::new();
    for root in STATE_ROOTS {
        let t = core.get(None, Datastore::Operational, Some(root)).unwrap();
        let s = t
            .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_else(|| "{}".into());
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        if let serde_json::Value::Object(m) = v {
            state.extend(m);
        }
    }
    let mut state = serde_json::Value::Object(state);
    mask(&mut state);
    state
}

/// An in-memory stand-in for a host resource of a port created on demand.
struct StandIn {
    inner: PgPort,
    spec: HostPort,
}

impl Port for StandIn {
    fn driver(&self) -> &'static str {
        self.spec.driver()
    }
    fn mac(&self) -> Mac {
        self.inner.mac()
    }
    fn link_up(&self) -> bool {
        self.inner.link_up()
    }
    fn rx_burst(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>, max: usize) -> usize {
        self.inner.rx_burst(pool, out, max)
    }
    fn tx_burst(&mut self, pkts: &mut Vec<Packet>, pool: &mut BufPool) -> TxResult {
        self.inner.tx_burst(pkts, pool)
    }
    fn host_interface(&self) -> Option<&str> {
        Some(self.spec.host_interface())
    }
}

/// Opens a stand-in (see the module documentation).
fn open_stand_in(spec: &HostPort) -> std::io::Result<Box<dyn Port>> {
    let host = spec.host_interface();
    if matches!(spec, HostPort::AfPacket { .. }) && !["veth-a", "veth-b"].contains(&host) {
        return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
    }
    let h = host
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let (p, _) = pg(Mac([
        0x02,
        0x68,
        (h >> 16) as u8,
        (h >> 8) as u8,
        h as u8,
        1,
    ]));
    Ok(Box::new(StandIn {
        inner: p,
        spec: spec.clone(),
    }))
}

fn run(case: &str) {
    let dir = cases_dir().join(case);
    let mut b = Dataplane::builder().port_opener(Arc::new(open_stand_in));
    for i in 0..3u8 {
        let (p, _h) = pg(Mac([0x02, 0x6e, 0x63, 0, 0, i + 1]));
        b = b.port(&format!("eth{i}"), p);
    }
    let dp = Arc::new(b.build().unwrap());
    let dp_events = dp.subscribe();
    let (nb, handle): (Northbound, NorthboundHandle) = Northbound::new(dp.clone());
    let mut reg = Registry::new();
    reg.register(nb);
    let state_dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = tokio::sync::broadcast::channel(1024);
    let mut core = Core::open(ctx(), CoreConfig::new(state_dir.path()), reg, tx).unwrap();
    // What start-up did is not part of any step.
    while dp_events.try_recv().is_ok() {}

    let mut steps: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            (n.contains("-input-")).then(|| n[..2].to_string())
        })
        .collect();
    steps.sort();
    steps.dedup();
    assert!(!steps.is_empty(), "case {case} has no steps");
    let mut failures = Vec::new();
    for step in steps {
        let file = |s: &str| dir.join(format!("{step}-{s}"));
        let mut out = String::new();
        let mut edits = Vec::new();
        if let Ok(json) = std::fs::read_to_string(file("input-config.json")) {
            let t = nectar_mgmt::core::parse_json(ctx(), &json)
                .unwrap_or_else(|e| panic!("{case} step {step}: {e}"));
            edits.push(vec![EditStep::merge(t)]);
        }
        if let Ok(text) = std::fs::read_to_string(file("input-delete.txt")) {
            edits.push(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| EditStep::at(EditOp::Remove, l.trim(), None))
                    .collect(),
            );
        }
        for e in edits {
            match core.edit(
                None,
                Datastore::Running,
                e,
                ErrorOption::RollbackOnError,
                false,
            ) {
                Ok(_) => {
                    for op in handle.last_ops() {
                        out.push_str(&golden::line(&golden::op(&op)));
                        out.push('\n');
                    }
                }
                Err(e) => {
                    out.push_str(&golden::line(&json!({"refused": e.to_string()})));
                    out.push('\n');
                }
            }
        }
        if file("input-restart").exists() {
            // Nobody calls replay: the mapping sees the dataplane's reset event and replays
            // on its own (the notifications show the ports going down, then up again).
            let before = state_of(&core);
            let replays = handle.replays();
            dp.reset().unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while handle.replays() == replays {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{case}: no replay after the reset"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(state_of(&core), before, "{case}: state did not converge");
            for op in handle.last_replay_ops() {
                out.push_str(&golden::line(&json!({"replay": golden::op(&op)})));
                out.push('\n');
            }
        }
        golden::check(&file("output-dataplane.jsonl"), &out, &mut failures);

        let state = state_of(&core);
        golden::check(
            &file("output-state.json"),
            &(serde_json::to_string_pretty(&state).unwrap() + "\n"),
            &mut failures,
        );

        let mut notif = String::new();
        while let Ok(e) = dp_events.try_recv() {
            for ev in events::convert(&e, std::time::SystemTime::UNIX_EPOCH) {
                match ev {
                    Event::OperChanged { path, value, .. } => notif.push_str(
                        &serde_json::json!({"oper-changed": {"path": path, "value": value}})
                            .to_string(),
                    ),
                    Event::Notification { json, .. } => notif.push_str(&json),
                    _ => continue,
                }
                notif.push('\n');
            }
        }
        golden::check(&file("output-notif.jsonl"), &notif, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Input: ports configured, modified and released through ietf-interfaces and ietf-ip.
// Output: SetInterface/AddAddress/DelAddress operations; the ports in both views.
#[test]
fn ietf_interfaces() {
    run("ietf-interfaces");
}

// Input: RFC 8344 router interfaces with ietf-ip `forwarding` true, then IPv4 forwarding
// false on eth0 and IPv6 false on eth1, then eth0's leaf removed. Output: SetInterface
// with forward_v4/forward_v6 following the leaves (true where absent: nectar's deviation
// makes it the default); `forwarding` in the operational state of each family shown.
#[test]
fn ietf_forwarding() {
    run("ietf-forwarding");
}

// Input: a commit naming a port that does not exist, then a valid one.
// Output: the first is refused with the list of ports and changes nothing.
#[test]
fn prepare_failure() {
    run("prepare-failure");
}

// Input: ietf-routing static routes: next-hop address, ECMP list, interface, blackhole.
// Output: AddRoute/DelRoute; the RIB with static and direct routes.
#[test]
fn ietf_routing() {
    run("ietf-routing");
}

// Input: an ietf-access-control-list ACL attached to an interface, then detached.
// Output: SetAcl, SetInterface with the ACL, counters per ACE.
#[test]
fn ietf_acl() {
    run("ietf-acl");
}

// Input: interfaces configured through openconfig-interfaces and openconfig-if-ip.
// Output: the same operations as for IETF; both views show them.
#[test]
fn openconfig_interfaces() {
    run("openconfig-interfaces");
}

// Input: IETF and OpenConfig set the same MTU differently, then the same.
// Output: the conflict is refused naming both leaves; agreement is accepted.
#[test]
fn cross_model() {
    run("cross-model");
}

// Input: configuration, then a dataplane restart (nobody calls replay).
// Output: the automatic replay sends the whole configuration; the ports go down, a
// dataplane-restart notification, the ports come up; state converges to what it was.
#[test]
fn replay() {
    run("replay");
}

// Input: openconfig-acl IPv4, IPv6 and L2 sets bound to an interface, an entry added, an
// IETF ACL bound to the same direction (refused) and to the other one (accepted), removal.
// Output: the same SetAcl/SetInterface operations as for IETF; counters per entry.
#[test]
fn openconfig_acl() {
    run("openconfig-acl");
}

// Input: nectar-bridge bridge domains (VLAN, aging, learning, flooding, static MAC, BVI),
// access and trunk members through ietf-interfaces, an address on a switchport (refused),
// removal of everything in one commit.
// Output: SetBridgeDomain/SetInterface/AddStaticMac and their removal; the BVI in both views.
#[test]
fn nectar_bridge() {
    run("nectar-bridge");
}

// Input: an ietf-nat NAPT44 instance (internal interface, external interface, a static
// mapping); a prefix mapping; a second instance making eth1 internal too; disable, enable
// with another mapping, delete.
// Output: NAT roles in SetInterface and AddNatStatic; the /24 mapping and the role conflict
// are refused naming the paths; disabling removes roles and mappings; capabilities and
// mapping statistics as state.
#[test]
fn ietf_nat() {
    run("ietf-nat");
}

// Input: OpenConfig DEFAULT_INSTANCE and L3VRF instances with interfaces and static routes
// (ECMP, interface next hop, DROP); the same route through ietf-routing (agreeing, then
// disagreeing); an L3VRF named "default"; a second VRF claiming a bound interface; the VRF
// deleted.
// Output: AddVrf, SetInterface with the VRF, AddRoute in the VRF; the agreeing IETF route
// sends nothing for it; the conflicts are refused naming both paths; the delete unbinds
// and removes routes, then the VRF; both views in state.
#[test]
fn openconfig_network_instance() {
    run("openconfig-network-instance");
}

// Input: ietf-interfaces l2vlan sub-interfaces of eth0 (nectar-interfaces:sub-interface):
// one routed with an address and a static route through it, one bridged with eth1; a
// sub-interface of a sub-interface and a second one on the same VLAN (both refused); the
// VLAN changed; a restart; removal.
// Output: AddSubInterface before its SetInterface/AddAddress, the refusals naming the
// cause, DelSubInterface + AddSubInterface for the new VLAN, the replay recreating them,
// DelSubInterface after the route goes; the sub-interfaces in both views.
#[test]
fn ietf_subinterfaces() {
    run("ietf-subinterfaces");
}

// Input: openconfig-vlan: VLANs 10 and 20 of the DEFAULT instance with an fdb aging time,
// an ACCESS port, a TRUNK with a native VLAN and a trunk-vlans range, an l3ipvlan
// routed-vlan interface with addresses; an access-vlan naming no VLAN (refused); deleting
// a VLAN that a port and the routed-vlan use (refused); moving the access port, a trunk
// listing a VLAN no domain has; a dataplane restart; removal.
// Output: SetBridgeDomain vlan10 (with the routed-vlan as its BVI) and vlan20, Access /
// Trunk switchports, the BVI's addresses; the refusals name the VLAN and change nothing;
// the replay rebuilds the domains, the BVI and the members; the VLANs, members,
// switched-vlan and routed-vlan in both models' state.
#[test]
fn openconfig_vlan() {
    run("openconfig-vlan");
}

// Input: OpenConfig VLAN subinterfaces of eth0: 100 (single-tagged match) with IPv4 and
// IPv6 addresses, 200 (the inline vlan-id) bound to an L3VRF with a static route through
// it by interface + subinterface; a subinterface whose two VLAN ids disagree and one on a
// VLAN already taken (both refused); the same sub-interface through ietf-interfaces
// (agreeing VLAN and address) with OpenConfig disabling it; the VLAN changed; removal.
// Output: AddSubInterface eth0.100 / eth0.200 before their addresses, eth0.200 in VRF
// red, the route in red; the refusals naming both paths; the IETF view adds nothing but
// the admin state; DelSubInterface + AddSubInterface for VLAN 150; the subinterfaces in
// both views' state.
#[test]
fn openconfig_subinterfaces() {
    run("openconfig-subinterfaces");
}

// Input: an L2VSI instance with one VLAN, fdb settings (no learning, 120 s aging), a static
// MAC behind a VLAN subinterface, a port and that subinterface as members; an L2VSI without
// VLAN; a second VLAN in the L2VSI and a STATIC protocol in an L2VSI (both refused);
// learning on and aging 0 (never); removal.
// Output: SetBridgeDomain for each instance, AddSubInterface, the members as Access
// switchports, AddStaticMac; the refusals say why; both instances in nectar-bridge and
// OpenConfig state (the static MAC in both MAC tables).
#[test]
fn openconfig_l2vsi() {
    run("openconfig-l2vsi");
}

// Input: nectar-bridge domain vlan10 (aging 30 s) and OpenConfig VLAN 10 of the DEFAULT
// instance (no learning): the same domain; a different OpenConfig aging time (refused);
// OpenConfig VLAN 30 while nectar-bridge domain lab has VLAN 30 (refused); eth0 an access
// port of vlan10 in both models, eth1 an OpenConfig access port of VLAN 30 (lab); a
// nectar-bridge routed-interface and an OpenConfig routed-vlan for VLAN 10 that differ
// (refused); lab moved to VLAN 31 while eth1 uses VLAN 30 (refused); an OpenConfig
// routed-vlan for lab's VLAN agreeing with nectar-bridge; the OpenConfig VLAN removed.
// Output: one SetBridgeDomain combining both models; refusals naming both paths and
// changing nothing; one SetInterface for eth0; eth1 in lab; irb30 as lab's BVI; removing
// the OpenConfig VLAN keeps the nectar-bridge domain with its own settings.
#[test]
fn cross_model_l2() {
    run("cross-model-l2");
}

// Input: an ietf-interfaces softwareLoopback interface with IPv4 and IPv6 addresses next to
// a routed port; a sub-interface of it and a loopback as a bridge-domain member (both
// refused); disabled; deleted.
// Output: AddLoopback before its SetInterface/AddAddress; the loopback up in both views
// (driver loopback, no phys-address), its /32 and /128 as receive routes and the rest of
// its /24 as a discard in the RIB; the refusals naming the cause; oper-status down when
// disabled; DelLoopback.
#[test]
fn ietf_loopback() {
    run("ietf-loopback");
}

// Input: a loopback created through openconfig-interfaces (type softwareLoopback, an
// address on subinterface 0); the same interface in ietf-interfaces as ethernetCsmacd, then
// with the address at another prefix length (both refused: the models disagree); then
// agreeing, disabled and with an IPv6 address; bound to an L3VRF network instance; the
// OpenConfig entry and the instance deleted, then the IETF entry.
// Output: AddLoopback from OpenConfig, shown in the IETF view; the conflicts refused naming
// both paths; the agreeing IETF entry sends only what it adds (admin down, the IPv6
// address), and the OpenConfig state shows it disabled; AddVrf and the loopback in the VRF;
// deleting the OpenConfig entry keeps the address IETF still sets and takes the loopback
// back to the default VRF; deleting the IETF entry deletes the loopback.
#[test]
fn openconfig_loopback() {
    run("openconfig-loopback");
}

// Input: ietf-interfaces ports created on demand (nectar-interfaces:host-port): one on a
// host interface that does not exist; one afpacket and one tap port with addresses; host-port
// on a port of the box, and a second port on the same host interface (refused); a restart;
// the host interface changed; the host-port container removed alone (refused); the
// interfaces deleted.
// Output: the first commit refused at host-interface with "No such device" and nothing
// changed (no operation, the same state); AddHostPort before SetInterface/AddAddress; the
// ports in both views with their driver, host interface and MAC; the refusals naming the
// cause; the replay re-creating them; DelHostPort + AddHostPort for the new host interface;
// DelHostPort.
#[test]
fn host_port() {
    run("host-port");
}
