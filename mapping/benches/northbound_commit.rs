//! Commit cost through the northbound mapping, until forwarding: a pg dataplane behind the
//! management core; one commit of N IETF static routes (or of addresses on every port, or of
//! N VLAN sub-interfaces or loopbacks created with an address each) is timed from
//! `Core::edit` to its return, when the new tables are already swapped in and forwarding
//! with them; then one more small commit on top of those interfaces. Prints the figures
//! (run with `cargo bench --bench northbound_commit`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use nectar_dataplane::control::{InterfaceConfig, Op};
use nectar_dataplane::port::pg::pg;
use nectar_dataplane::{Dataplane, Mac};
use nectar_mapping::Northbound;
use nectar_mgmt::{Core, CoreConfig, Datastore, EditStep, ErrorOption, Registry};

fn core(ports: usize, dir: &std::path::Path) -> (Core, Arc<Dataplane>) {
    let ctx = nectar_yang::ModelSet::management()
        .with(nectar_yang::models::NETWORK)
        .with(nectar_yang::models::DEVIATIONS)
        .build()
        .unwrap();
    let mut b = Dataplane::builder();
    for i in 0..ports {
        b = b.port(
            &format!("eth{i}"),
            pg(Mac([2, 0, 0, 0, (i >> 8) as u8, i as u8])).0,
        );
    }
    let dp = Arc::new(b.build().unwrap());
    let (nb, _) = Northbound::new(dp.clone());
    let mut reg = Registry::new();
    reg.register(nb);
    let (tx, _) = tokio::sync::broadcast::channel(16);
    (Core::open(ctx, CoreConfig::new(dir), reg, tx).unwrap(), dp)
}

/// CPU time of the process, all threads (from /proc, in clock ticks): on a shared machine
/// it says what a commit costs when the wall time also holds waiting for a CPU.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Commits `json` to running; returns the wall and CPU seconds of `Core::edit`.
fn commit(core: &mut Core, json: &str) -> (f64, f64) {
    let t = nectar_mgmt::core::parse_json(core.context(), json).unwrap();
    let cpu = process_cpu();
    let start = Instant::now();
    core.edit(
        None,
        Datastore::Running,
        vec![EditStep::merge(t)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu, process_cpu()) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    (wall, cpu)
}

fn routes(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, dp) = core(2, dir.path());
    commit(
        &mut c,
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd",
          "ietf-ip:ipv4":{"address":[{"ip":"10.0.0.1","prefix-length":24}]}}]}}"#,
    );
    let mut r = String::new();
    for i in 0..n {
        if i > 0 {
            r.push(',');
        }
        let _ = write!(
            r,
            r#"{{"destination-prefix":"{}.{}.{}.0/24","next-hop":{{"next-hop-address":"10.0.0.2"}}}}"#,
            11 + (i >> 16),
            (i >> 8) & 255,
            i & 255
        );
    }
    let json = format!(
        r#"{{"ietf-routing:routing":{{"control-plane-protocols":{{"control-plane-protocol":[
          {{"type":"ietf-routing:static","name":"st","static-routes":{{"ietf-ipv4-unicast-routing:ipv4":{{"route":[{r}]}}}}}}]}}}}}}"#
    );
    let (s, cpu) = commit(&mut c, &json);
    assert!(dp.lookup("default", "11.0.0.1".parse().unwrap()).is_some());
    println!(
        "commit of {n} static routes until forwarding: {:.3} s ({:.0} routes/s; {:.2} s CPU)",
        s,
        n as f64 / s,
        cpu
    );
}

fn interfaces(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, dp) = core(n, dir.path());
    let mut l = String::new();
    for i in 0..n {
        if i > 0 {
            l.push(',');
        }
        let _ = write!(
            l,
            r#"{{"name":"eth{i}","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{{"address":[{{"ip":"10.{}.{}.1","prefix-length":24}}]}}}}"#,
            i >> 8,
            i & 255
        );
    }
    let (s, cpu) = commit(
        &mut c,
        &format!(r#"{{"ietf-interfaces:interfaces":{{"interface":[{l}]}}}}"#),
    );
    let last = format!("10.{}.{}.9", (n - 1) >> 8, (n - 1) & 255);
    assert!(dp.lookup("default", last.parse().unwrap()).is_some());
    println!(
        "commit of {n} interfaces with an address until forwarding: {:.3} s ({:.2} s CPU)",
        s, cpu
    );
}

/// N interfaces created on demand in one commit, each with an IPv4 address: `l2vlan`
/// sub-interfaces of eth0 (`sub`) or loopbacks; then one commit adding one more.
fn created(n: usize, sub: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, dp) = core(1, dir.path());
    let entry = |i: usize| {
        let a = format!("10.{}.{}.1", 100 + (i >> 8), i & 255);
        if sub {
            format!(
                r#"{{"name":"eth0.{v}","type":"iana-if-type:l2vlan",
                   "nectar-interfaces:sub-interface":{{"parent-interface":"eth0","vlan-id":{v}}},
                   "ietf-ip:ipv4":{{"address":[{{"ip":"{a}","prefix-length":24}}]}}}}"#,
                v = i + 1
            )
        } else {
            format!(
                r#"{{"name":"lo{i}","type":"iana-if-type:softwareLoopback",
                   "ietf-ip:ipv4":{{"address":[{{"ip":"{a}","prefix-length":32}}]}}}}"#
            )
        }
    };
    let mut l = String::from(r#"{"name":"eth0","type":"iana-if-type:ethernetCsmacd"}"#);
    for i in 0..n {
        l.push(',');
        l.push_str(&entry(i));
    }
    let (s, cpu) = commit(
        &mut c,
        &format!(r#"{{"ietf-interfaces:interfaces":{{"interface":[{l}]}}}}"#),
    );
    let last = format!("10.{}.{}.1", 100 + ((n - 1) >> 8), (n - 1) & 255);
    assert!(dp.lookup("default", last.parse().unwrap()).is_some());
    assert_eq!(dp.interfaces().len(), n + 1);
    let (one, _) = commit(
        &mut c,
        &format!(
            r#"{{"ietf-interfaces:interfaces":{{"interface":[{}]}}}}"#,
            entry(n)
        ),
    );
    // The engine's share of such a commit: the control API alone (check, then apply).
    let ops = [
        Op::AddLoopback {
            name: "bench-lo".into(),
        },
        Op::SetInterface {
            name: "bench-lo".into(),
            config: InterfaceConfig {
                admin_up: true,
                ..Default::default()
            },
        },
        Op::AddAddress {
            interface: "bench-lo".into(),
            prefix: "10.250.0.1/32".parse().unwrap(),
        },
    ];
    let start = Instant::now();
    dp.check(&ops).unwrap();
    dp.apply(&ops).unwrap();
    let engine = start.elapsed().as_secs_f64();
    let kind = if sub {
        "l2vlan sub-interfaces"
    } else {
        "loopbacks"
    };
    println!(
        "commit of {n} {kind} with an address each until forwarding: {s:.3} s \
         (CPU {cpu:.3} s); then one more: {:.1} ms (of which the engine's check + apply: {:.1} ms)",
        one * 1e3,
        engine * 1e3
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it quick then.
    let full = std::env::args().any(|a| a == "--bench");
    if full {
        routes(10_000);
        routes(100_000);
        interfaces(128);
        created(1000, true);
        created(1000, false);
        created(4000, false);
    } else {
        routes(100);
        interfaces(4);
        created(8, true);
        created(8, false);
    }
}
