//! Interfaces created on demand through the control API: loopbacks (their addresses answer
//! ICMP echo from any port, the rest of their prefixes is discarded) and ports opened on a
//! host resource (`Op::AddHostPort`): opened in prepare (`Dataplane::prepare`), picked
//! up and let go by running workers while the other ports forward, refused without any
//! change when the resource cannot be opened, parked by a reset and taken back by the
//! replay. The host resources here are in-memory stand-ins given by a `PortOpener` (the
//! real AF_PACKET and TAP ports are tested in `netns.rs` and end to end in the daemon).

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use nectar_dataplane::buffer::{BufPool, Packet};
use nectar_dataplane::control::*;
use nectar_dataplane::dataplane::PortOpener;
use nectar_dataplane::headers::*;
use nectar_dataplane::port::pg::{PgHandle, PgPort, pg};
use nectar_dataplane::port::{Port, TxResult};
use nectar_dataplane::tables::fib::Adj;
use nectar_dataplane::{Dataplane, Error, Event, Mac};

fn lo(name: &str) -> Op {
    Op::AddLoopback { name: name.into() }
}

fn up(name: &str) -> Op {
    Op::SetInterface {
        name: name.into(),
        config: InterfaceConfig {
            admin_up: true,
            ..Default::default()
        },
    }
}

fn addr(name: &str, a: &str) -> Op {
    Op::AddAddress {
        interface: name.into(),
        prefix: net(a),
    }
}

fn afp(name: &str, host: &str) -> Op {
    Op::AddHostPort {
        name: name.into(),
        spec: HostPort::AfPacket {
            host_interface: host.into(),
        },
    }
}

fn echo(dst_mac: Mac, src_mac: Mac, src: &str, dst: &str, seq: u16) -> Vec<u8> {
    Builder::eth(dst_mac, src_mac)
        .ipv4(v4(src), v4(dst))
        .echo_request(0x77, seq)
        .payload(b"on demand")
        .build()
}

fn is_echo_reply(f: &[u8], from: &str, to: &str) -> bool {
    let h = ip4_of(f);
    let i = Icmp::parse(&f[14 + h.header_len..]).unwrap();
    h.src == v4(from) && h.dst == v4(to) && i.typ == ICMP_ECHO_REPLY
}

// Input: a routed pg port, a loopback lo0 with 10.255.0.1/24 and 2001:db8:ff::1/64, admin
// up then down, deleted. Output: lo0 goes oper up (and down) with events; an echo request
// from the port's host to 10.255.0.1 is answered from that address; one to 10.255.0.77 (its
// prefix, not its address) is discarded without ARP; the FIB has the addresses local and
// the prefixes as discards; a loopback is refused as a switchport; deleted, it no longer
// answers.
#[test]
fn a_loopback_answers_echo_on_its_address_and_discards_the_rest_of_its_prefix() {
    let lab = Lab::new(1);
    let events = lab.dp.subscribe();
    lab.routed("pg0", &["10.0.0.1/24"]);
    lab.apply(vec![lo("lo0")]);
    lab.routed("lo0", &["10.255.0.1/24", "2001:db8:ff::1/64"]);
    assert!(lab.dp.interfaces().contains(&"lo0".to_string()));
    let seen: Vec<Event> = events.try_iter().collect();
    assert!(
        seen.contains(&Event::LinkUp {
            interface: "lo0".into()
        }),
        "{seen:?}"
    );
    assert!(lab.dp.interface_stats("lo0").unwrap().oper_up);

    lab.arp_from(0, host(1), "10.0.0.10", "10.0.0.1");
    lab.send(
        0,
        &[echo(port_mac(0), host(1), "10.0.0.10", "10.255.0.1", 1)],
    );
    let out = lab.out(0);
    assert_eq!(out.len(), 1, "one echo reply");
    assert!(is_echo_reply(&out[0], "10.255.0.1", "10.0.0.10"));

    lab.send(
        0,
        &[echo(port_mac(0), host(1), "10.0.0.10", "10.255.0.77", 2)],
    );
    assert!(lab.out(0).is_empty(), "nothing behind a loopback");
    assert_eq!(lab.stats().drop_count("ip4-lookup", "blackhole"), 1);
    assert_eq!(lab.dp.lookup("default", ip("10.255.0.1")), Some(Adj::Local));
    assert_eq!(lab.dp.lookup("default", ip("10.255.0.77")), Some(Adj::Drop));
    assert_eq!(
        lab.dp.lookup("default", ip("2001:db8:ff::1")),
        Some(Adj::Local)
    );
    assert_eq!(
        lab.dp.lookup("default", ip("2001:db8:ff::9")),
        Some(Adj::Drop)
    );
    // No link, so no link-local address.
    let t = lab.dp.tables();
    let l = t.iface(t.if_index("lo0").unwrap()).unwrap();
    assert_eq!(l.v6.len(), 1, "{:?}", l.v6);

    let bridged = Op::SetInterface {
        name: "lo0".into(),
        config: InterfaceConfig {
            admin_up: true,
            switchport: Switchport::Access {
                bridge_domain: "bd".into(),
            },
            ..Default::default()
        },
    };
    let e = lab
        .dp
        .apply(&[Op::SetBridgeDomain(BridgeDomainConfig::new("bd")), bridged])
        .unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
    assert!(matches!(lab.dp.apply(&[lo("lo0")]), Err(Error::Exists(_))));
    assert!(matches!(
        lab.dp.apply(&[Op::DelLoopback { name: "pg0".into() }]),
        Err(Error::Invalid(_))
    ));

    lab.apply(vec![Op::SetInterface {
        name: "lo0".into(),
        config: InterfaceConfig::default(),
    }]);
    let seen: Vec<Event> = events.try_iter().collect();
    assert!(seen.contains(&Event::LinkDown {
        interface: "lo0".into()
    }));
    lab.apply(vec![Op::DelLoopback { name: "lo0".into() }]);
    assert!(!lab.dp.interfaces().contains(&"lo0".to_string()));
    lab.send(
        0,
        &[echo(port_mac(0), host(1), "10.0.0.10", "10.255.0.1", 3)],
    );
    assert!(
        !lab.out(0)
            .iter()
            .any(|f| is_echo_reply(f, "10.255.0.1", "10.0.0.10")),
        "a deleted loopback does not answer"
    );
}

/// An in-memory port standing in for a host resource; counts when it is closed.
struct Stub {
    inner: PgPort,
    closed: Arc<AtomicUsize>,
}

impl Port for Stub {
    fn driver(&self) -> &'static str {
        "afpacket"
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
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// The host as the stand-in opener sees it: which host interfaces exist, what was opened
/// (the test side of each opened port, by host interface) and closed.
#[derive(Clone, Default)]
struct Host {
    exists: Arc<Vec<&'static str>>,
    handles: Arc<Mutex<HashMap<String, PgHandle>>>,
    opened: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Host {
    fn new(exists: &[&'static str]) -> Host {
        Host {
            exists: Arc::new(exists.to_vec()),
            ..Default::default()
        }
    }

    fn opener(&self) -> PortOpener {
        let h = self.clone();
        Arc::new(move |spec: &HostPort| {
            let name = spec.host_interface();
            if !h.exists.contains(&name) {
                return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
            }
            let n = h.opened.fetch_add(1, Ordering::SeqCst);
            let (p, handle) = pg(Mac([0x02, 0xee, 0, 0, 1, n as u8]));
            h.handles.lock().unwrap().insert(name.to_string(), handle);
            Ok(Box::new(Stub {
                inner: p,
                closed: h.closed.clone(),
            }) as Box<dyn Port>)
        })
    }

    fn handle(&self, host_interface: &str) -> PgHandle {
        self.handles.lock().unwrap()[host_interface].clone()
    }

    fn open_now(&self) -> usize {
        self.opened.load(Ordering::SeqCst) - self.closed.load(Ordering::SeqCst)
    }
}

/// Waits until `f` holds (worker threads forward asynchronously).
fn wait(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A dataplane with pg ports pg0 and pg1 (routed, 10.0.0.1/24 and 10.1.0.1/24, the host
/// 10.1.0.10 behind pg1 resolved) and the stand-in opener.
fn routed_pair(hs: &Host, workers: usize) -> (Dataplane, Vec<PgHandle>) {
    let mut b = Dataplane::builder()
        .workers(workers)
        .port_opener(hs.opener());
    let mut pgs = Vec::new();
    for i in 0..2 {
        let (p, h) = pg(port_mac(i));
        b = b.port(&format!("pg{i}"), p);
        pgs.push(h);
    }
    let dp = b.build().unwrap();
    dp.apply(&[
        up("pg0"),
        addr("pg0", "10.0.0.1/24"),
        up("pg1"),
        addr("pg1", "10.1.0.1/24"),
    ])
    .unwrap();
    let arp = Builder::eth(Mac::BROADCAST, host(2))
        .arp(
            ARP_REQUEST,
            host(2),
            v4("10.1.0.10"),
            Mac::ZERO,
            v4("10.1.0.1"),
        )
        .build();
    pgs[1].send(&arp);
    if workers == 0 {
        dp.poll();
    }
    wait("ARP reply on pg1", || !pgs[1].take().is_empty());
    (dp, pgs)
}

/// Sends an ARP request for `ours` into a port's test side; true when the dataplane
/// answered on that port.
fn arp_answered(h: &PgHandle, from: Mac, addr: &str, ours: &str) -> bool {
    let f = Builder::eth(Mac::BROADCAST, from)
        .arp(ARP_REQUEST, from, v4(addr), Mac::ZERO, v4(ours))
        .build();
    h.send(&f);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if h.take()
            .iter()
            .any(|f| Arp::parse(&f[14..]).is_ok_and(|a| a.op == ARP_REPLY && a.spa == v4(ours)))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

// Input: a worker thread forwarding a continuous UDP stream from pg0 to pg1; meanwhile a
// port on demand is created (with an address), used, deleted, five times, and once
// re-created under another name in the batch that deletes it. Output: the stream never
// stops (pg1's transmit count grows across every change); each new port is polled (it
// answers ARP for its address) and counts from zero; each deleted one is closed by the time
// the batch returns; the rename keeps the open resource.
#[test]
fn ports_on_demand_come_and_go_while_another_port_forwards() {
    let hs = Host::new(&["veth-a"]);
    let (dp, pgs) = routed_pair(&hs, 1);
    pgs[1].count_only(true);
    pgs[0].stream(
        vec![udp4(
            host(1),
            port_mac(0),
            "10.0.0.10",
            "10.1.0.10",
            1000,
            2000,
        )],
        u64::MAX,
    );
    let tx = || pgs[1].tx_count().0;
    wait("stream forwarded", || tx() > 100);
    for round in 0..5u8 {
        let before = tx();
        dp.apply(&[afp("hp", "veth-a"), up("hp"), addr("hp", "10.2.0.1/24")])
            .unwrap();
        assert_eq!(hs.open_now(), 1);
        let h = hs.handle("veth-a");
        assert!(
            arp_answered(&h, host(9), "10.2.0.9", "10.2.0.1"),
            "round {round}: the new port is polled"
        );
        let st = dp.interface_stats("hp").unwrap();
        assert_eq!(st.rx_packets, 1, "round {round}: counts from zero: {st:?}");
        assert!(st.oper_up);
        let info = dp.port(dp.interface_index("hp").unwrap() as usize).unwrap();
        assert_eq!(
            info.host,
            Some(HostPort::AfPacket {
                host_interface: "veth-a".into()
            })
        );
        dp.apply(&[Op::DelHostPort { name: "hp".into() }]).unwrap();
        assert_eq!(hs.open_now(), 0, "round {round}: closed when apply returns");
        assert!(dp.interface_index("hp").is_none());
        wait("stream keeps flowing", || tx() > before + 100);
    }
    // Deleted and created under another name in one batch: the resource stays open.
    dp.apply(&[afp("hp", "veth-a"), up("hp")]).unwrap();
    let opened = hs.opened.load(Ordering::SeqCst);
    dp.apply(&[Op::DelHostPort { name: "hp".into() }, afp("hq", "veth-a")])
        .unwrap();
    assert_eq!(hs.opened.load(Ordering::SeqCst), opened, "not reopened");
    assert_eq!(hs.open_now(), 1);
    let before = tx();
    wait("stream keeps flowing", || tx() > before + 100);
    assert_eq!(
        dp.stats().drop_count("interface-output", "interface down"),
        0
    );
}

// Input: batches creating ports on demand on host interfaces that do not exist (alone, and
// after one that exists), a port whose name is taken, two ports on one host interface, a
// bad host interface name, deleting a port of the box. Output: each is refused with a
// precise error; the configuration, the tables and the open resources are exactly as
// before (what the batch opened is closed again); `check` alone opens nothing.
#[test]
fn a_port_on_demand_that_cannot_be_opened_changes_nothing() {
    let hs = Host::new(&["veth-a", "veth-b"]);
    let (dp, _pgs) = routed_pair(&hs, 0);
    let tables = dp.tables();
    let ifs = dp.interfaces();
    let batch = [
        afp("a1", "veth-a"),
        afp("hp", "nxeng-missing"),
        up("hp"),
        addr("hp", "10.2.0.1/24"),
        Op::SetInterface {
            name: "pg0".into(),
            config: InterfaceConfig::default(),
        },
    ];
    dp.check(&batch).unwrap();
    assert_eq!(hs.opened.load(Ordering::SeqCst), 0, "check opens nothing");
    match dp.apply(&batch) {
        Err(Error::PortOpen {
            name,
            spec,
            not_found,
            reason,
        }) => {
            assert_eq!(name, "hp");
            assert_eq!(spec.host_interface(), "nxeng-missing");
            assert!(not_found, "{reason}");
            assert!(reason.contains("No such device"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(hs.opened.load(Ordering::SeqCst), 1, "veth-a was opened");
    assert_eq!(hs.open_now(), 0, "and closed again");
    assert!(Arc::ptr_eq(&tables, &dp.tables()), "tables untouched");
    assert_eq!(dp.interfaces(), ifs);
    assert!(dp.interface_stats("pg0").unwrap().admin_up);

    // Refused by the configuration itself, before anything is opened.
    let cases: Vec<(Vec<Op>, &str)> = vec![
        (vec![afp("pg1", "veth-a")], "already exists: interface pg1"),
        (
            vec![afp("x", "veth-a"), afp("y", "veth-a")],
            "ports x and y are both afpacket on veth-a",
        ),
        (vec![afp("x", "bad/name")], "is not a Linux interface name"),
        (
            vec![afp("x", "sixteen-chars-xx")],
            "is not a Linux interface name",
        ),
        (
            vec![Op::DelHostPort { name: "pg0".into() }],
            "pg0 is a port of the box",
        ),
    ];
    for (ops, want) in cases {
        let e = dp.apply(&ops).unwrap_err().to_string();
        assert!(e.contains(want), "{ops:?}: {e}");
        assert_eq!(hs.open_now(), 0);
    }
    assert!(Arc::ptr_eq(&tables, &dp.tables()));

    // Prepare then abort: what prepare opened closes when dropped.
    let prepared = dp.prepare(vec![afp("hp", "veth-b")]).unwrap();
    assert_eq!((prepared.opened(), hs.open_now()), (1, 1));
    drop(prepared);
    assert_eq!(hs.open_now(), 0);
    assert!(Arc::ptr_eq(&tables, &dp.tables()));
}

// Input: a port on demand with an address and some traffic, a sub-interface on it, a
// loopback; a reset, then the replay (replace with the same ops); a reset followed by a
// replace without the port; a replace with the port on another host interface.
// Output: the reset takes the port out of the configuration (no interface, no forwarding)
// but keeps its resource open; the replay takes it back without reopening it, at the same
// interface index, with its counters continuing; a replace that does not create it again
// closes it; a changed host interface opens the new one and closes the old.
#[test]
fn reset_parks_ports_on_demand_and_the_replay_takes_them_back() {
    let hs = Host::new(&["veth-a", "veth-b"]);
    let (dp, _pgs) = routed_pair(&hs, 0);
    let config = vec![
        up("pg0"),
        addr("pg0", "10.0.0.1/24"),
        up("pg1"),
        addr("pg1", "10.1.0.1/24"),
        lo("lo0"),
        up("lo0"),
        addr("lo0", "10.255.0.1/32"),
        afp("hp", "veth-a"),
        up("hp"),
        addr("hp", "10.2.0.1/24"),
        Op::AddSubInterface {
            name: "hp.7".into(),
            parent: "hp".into(),
            vlan: 7,
        },
        up("hp.7"),
    ];
    dp.replace(&config).unwrap();
    let ix = dp.interface_index("hp").unwrap();
    let lo_ix = dp.interface_index("lo0").unwrap();
    let h = hs.handle("veth-a");
    assert!(arp_answered_polled(&dp, &h, "10.2.0.9", "10.2.0.1"));
    let rx = dp.interface_stats("hp").unwrap().rx_packets;
    assert_eq!(rx, 1);
    // A port with sub-interfaces cannot go.
    let e = dp
        .apply(&[Op::DelHostPort { name: "hp".into() }])
        .unwrap_err();
    assert!(e.to_string().contains("hp.7"), "{e}");

    dp.reset().unwrap();
    assert!(dp.interface_index("hp").is_none());
    assert_eq!(hs.open_now(), 1, "parked, not closed");
    assert!(!arp_answered_polled(&dp, &h, "10.2.0.9", "10.2.0.1"));

    dp.replace(&config).unwrap();
    assert_eq!(
        hs.opened.load(Ordering::SeqCst),
        1,
        "taken back, not reopened"
    );
    assert_eq!(dp.interface_index("hp"), Some(ix));
    assert_eq!(dp.interface_index("lo0"), Some(lo_ix));
    assert!(arp_answered_polled(&dp, &h, "10.2.0.9", "10.2.0.1"));
    assert_eq!(dp.interface_stats("hp").unwrap().rx_packets, rx + 2);

    dp.reset().unwrap();
    let without: Vec<Op> = config[..7].to_vec();
    dp.replace(&without).unwrap();
    assert_eq!(hs.open_now(), 0, "a replay without it closes it");
    assert!(dp.interface_index("hp").is_none());

    dp.replace(&config).unwrap();
    assert_eq!(hs.open_now(), 1);
    let mut moved = config.clone();
    moved[7] = afp("hp", "veth-b");
    dp.replace(&moved).unwrap();
    assert_eq!(hs.opened.load(Ordering::SeqCst), 3);
    assert_eq!(hs.open_now(), 1, "veth-a closed, veth-b open");
    assert!(arp_answered_polled(
        &dp,
        &hs.handle("veth-b"),
        "10.2.0.9",
        "10.2.0.1"
    ));
}

/// `arp_answered` for a dataplane without worker threads.
fn arp_answered_polled(dp: &Dataplane, h: &PgHandle, addr: &str, ours: &str) -> bool {
    let from = host(9);
    let f = Builder::eth(Mac::BROADCAST, from)
        .arp(ARP_REQUEST, from, v4(addr), Mac::ZERO, v4(ours))
        .build();
    h.send(&f);
    dp.poll();
    h.take()
        .iter()
        .any(|f| Arp::parse(&f[14..]).is_ok_and(|a| a.op == ARP_REPLY && a.spa == v4(ours)))
}

// Input: 4000 loopbacks with one address each in one batch, then 1000 of them deleted and
// 1000 sub-interfaces created in their place. Output: all exist and answer through the FIB;
// the freed indices are reused and the new interfaces count from zero; the interface count
// limit is enforced with a table-full error.
#[test]
fn thousands_of_interfaces() {
    let lab = Lab::new(1);
    let n = 4000u32;
    let mut ops = Vec::new();
    for i in 0..n {
        let name = format!("lo{i}");
        ops.push(lo(&name));
        ops.push(up(&name));
        ops.push(addr(
            &name,
            &format!("10.{}.{}.1/32", 100 + i / 256, i % 256),
        ));
    }
    lab.apply(ops);
    assert_eq!(lab.dp.interfaces().len(), n as usize + 1);
    let last = Ipv4Addr::new(10, (100 + (n - 1) / 256) as u8, ((n - 1) % 256) as u8, 1);
    assert_eq!(lab.dp.lookup("default", last.into()), Some(Adj::Local));
    let mut ops = Vec::new();
    for i in 0..1000u32 {
        ops.push(Op::DelLoopback {
            name: format!("lo{i}"),
        });
        ops.push(Op::AddSubInterface {
            name: format!("pg0.{}", i + 1),
            parent: "pg0".into(),
            vlan: i as u16 + 1,
        });
    }
    lab.apply(ops);
    assert!(lab.dp.interface_index("pg0.1000").unwrap() <= 1000);
    assert_eq!(lab.dp.interface_stats("pg0.1000").unwrap().rx_packets, 0);
    let too_many: Vec<Op> = (0..200).map(|i| lo(&format!("more{i}"))).collect();
    assert!(matches!(lab.dp.apply(&too_many), Err(Error::TableFull(_))));
}
