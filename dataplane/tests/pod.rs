//! The dataplane as a pod has it: veth pairs with the kernel's default offloads (never
//! changed by a test), a TAP port whose host side sends 64 KiB super-frames, a
//! host interface deleted and re-created under the running vswitch (every pod restart does
//! this), idle workers that cost nothing, and ietf-ip `forwarding` false (a host
//! interface). Needs root and iproute2; a test fails when `CI` is set and they
//! are missing, and skips with a message otherwise.

mod common;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::ns::*;
use nectar_dataplane::control::*;
use nectar_dataplane::port::pg::pg;
use nectar_dataplane::port::sys::in_netns;
use nectar_dataplane::{Dataplane, Event, Mac};

const MIB16: usize = 16 << 20;

fn routed(t: &Topo) -> Dataplane {
    t.wire("h1", "10.0.1.10/24", Some("10.0.1.1")).unwrap();
    t.wire("h2", "10.0.2.20/24", Some("10.0.2.1")).unwrap();
    let dp = t.dataplane();
    dp.apply(&routed_ops(&[("p1", "10.0.1.1/24"), ("p2", "10.0.2.1/24")]))
        .unwrap();
    dp
}

/// The worker thread's CPU time (user + system) and voluntary context switches so far.
fn worker_usage() -> (Duration, u64) {
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let dir = e.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != "dp-worker-0" {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised command: state is field 3; utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        let vol = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap();
        return (Duration::from_millis(ticks * 10), vol);
    }
    panic!("no dp-worker-0 thread");
}

/// Waits for `want` about interface `name` on the event stream.
fn wait_event(rx: &Receiver<Event>, name: &str, up: bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(Event::LinkUp { interface }) if up && interface == name => return true,
            Ok(Event::LinkDown { interface }) if !up && interface == name => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

// Input: a TAP port created in host namespace h1 (its host side offers TSO, so the host's
// TCP sends 64 KiB super-frames into it), routed by the dataplane to h2 behind an afpacket
// port. Output: 16 MiB cross intact each way.
#[test]
fn tcp_crosses_a_tap_port() {
    let Some(t) = Topo::tagged("tp") else { return };
    t.wire("h2", "10.0.2.20/24", Some("10.0.2.1")).unwrap();
    let tap = tap_in(&t, "h1", &t.dev("tp"), "10.0.5.10/24");
    let hns = t.ns("h1");
    ip(&["-n", &hns, "link", "set", "lo", "up"]).unwrap();
    ip(&["-n", &hns, "route", "add", "default", "via", "10.0.5.1"]).unwrap();
    let dp = dataplane_of(vec![
        ("t0", Box::new(tap)),
        ("p2", Box::new(t.afpacket("h2"))),
    ]);
    dp.apply(&routed_ops(&[("t0", "10.0.5.1/24"), ("p2", "10.0.2.1/24")]))
        .unwrap();
    assert!(ping(
        &t.path("h1"),
        "10.0.2.20".parse().unwrap(),
        Duration::from_secs(5)
    ));
    let (n, peer) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "10.0.2.20:5111".parse().unwrap(),
        MIB16,
    );
    assert_eq!(n, MIB16);
    assert_eq!(peer.ip().to_string(), "10.0.5.10");
}

// Input: the routed topology with a UDP flow running from h1 to h2 (a datagram every
// millisecond, numbered); h2's veth pair is deleted and, a second and a half later, created
// again with the same names and addresses (a new MAC), as a pod restart does.
// Output: the port goes oper-down and comes back up on its own within about a second, with
// the new MAC (also on its interface); the flow resumes by itself, pings and TCP too; the
// worker stays nearly idle while the interface is missing (no spinning on the dead socket).
#[test]
fn a_recreated_host_veth_is_reattached_and_traffic_resumes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let Some(t) = Topo::tagged("ra") else { return };
    let dp = routed(&t);
    let events = dp.subscribe();
    let h1 = t.path("h1");
    assert!(ping(
        &h1,
        "10.0.2.20".parse().unwrap(),
        Duration::from_secs(5)
    ));
    // The flow: h2 listens on every address (its interface goes and comes back).
    let rx = in_netns(&t.path("h2"), || std::net::UdpSocket::bind("0.0.0.0:7100"))
        .unwrap()
        .unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let tx = in_netns(&h1, || std::net::UdpSocket::bind("10.0.1.10:0"))
        .unwrap()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let last_seen = Arc::new(AtomicU32::new(0));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n: u32 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let _ = tx.send_to(&n.to_be_bytes(), "10.0.2.20:7100");
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let receiver = {
        let (stop, last_seen) = (stop.clone(), last_seen.clone());
        std::thread::spawn(move || {
            let mut b = [0u8; 16];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(4) = rx.recv(&mut b) {
                    last_seen.store(
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                        Ordering::Relaxed,
                    );
                }
            }
        })
    };
    let wait_flow = |after: u32| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while last_seen.load(Ordering::Relaxed) <= after {
            assert!(
                Instant::now() < deadline,
                "the UDP flow does not get through"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        last_seen.load(Ordering::Relaxed)
    };
    let before = wait_flow(0);
    let old_mac = dp.port(1).unwrap().mac;
    let (dns, hns) = (t.ns("dp"), t.ns("h2"));
    let (d, h) = (t.dev("dh2"), t.dev("eh2"));
    ip(&["-n", &dns, "link", "del", &d]).unwrap();
    let gone_at = last_seen.load(Ordering::Relaxed).max(before);
    assert!(
        wait_event(&events, "p2", false, Duration::from_secs(2)),
        "oper-status down while the host interface is gone"
    );
    assert!(!dp.port(1).unwrap().link_up);
    // Missing its interface (the flow still arriving from h1 and dropped), the worker
    // sleeps between datagrams.
    let (cpu0, _) = worker_usage();
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let (cpu1, _) = worker_usage();
    let busy = (cpu1 - cpu0).as_secs_f64() / w0.elapsed().as_secs_f64();
    assert!(
        busy < 0.2,
        "worker at {:.0} % of a core while the port's interface is gone",
        busy * 100.0
    );
    ip(&[
        "-n", &hns, "link", "add", &h, "type", "veth", "peer", "name", &d, "netns", &dns,
    ])
    .unwrap();
    ip(&["-n", &hns, "addr", "add", "10.0.2.20/24", "dev", &h]).unwrap();
    ip(&["-n", &hns, "link", "set", &h, "up"]).unwrap();
    ip(&["-n", &hns, "route", "add", "default", "via", "10.0.2.1"]).unwrap();
    ip(&["-n", &dns, "link", "set", &d, "up"]).unwrap();
    let t0 = Instant::now();
    assert!(
        wait_event(&events, "p2", true, Duration::from_secs(3)),
        "oper-status up again"
    );
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "re-attached within about a second ({:?})",
        t0.elapsed()
    );
    let resumed = wait_flow(gone_at + 500);
    assert!(resumed > gone_at, "the flow resumed on its own");
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    receiver.join().unwrap();
    let new_mac = dp.port(1).unwrap().mac;
    assert_ne!(new_mac, old_mac, "the port took the new veth's MAC");
    let deadline = Instant::now() + Duration::from_secs(3);
    while dp.tables().iface(1).unwrap().mac != new_mac {
        assert!(Instant::now() < deadline, "the interface took the new MAC");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        ping(&h1, "10.0.2.20".parse().unwrap(), Duration::from_secs(5)),
        "traffic resumes without a restart"
    );
    let (n, _) = tcp_transfer(
        &h1,
        &t.path("h2"),
        "10.0.2.20:5121".parse().unwrap(),
        4 << 20,
    );
    assert_eq!(n, 4 << 20);
}

// Input: a dataplane with two pg ports and one worker thread, idle for a second; then a
// frame arrives. Output: the idle worker wakes at most a few dozen times a second (it parks
// on the ports' eventfds), and still forwards the frame at once.
#[test]
fn an_idle_worker_parks() {
    let (a, ha) = pg(Mac([2, 0, 0, 0, 0, 1]));
    let (b, hb) = pg(Mac([2, 0, 0, 0, 0, 2]));
    let dp = Dataplane::builder()
        .port("pg0", a)
        .port("pg1", b)
        .workers(1)
        .build()
        .unwrap();
    dp.apply(&bridge_all("bd", &["pg0", "pg1"])).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (_, s0) = worker_usage();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let (_, s1) = worker_usage();
    let per_s = (s1 - s0) as f64 / t0.elapsed().as_secs_f64();
    assert!(
        per_s < 40.0,
        "an idle worker woke {per_s:.0} times a second"
    );
    let frame = nectar_dataplane::headers::Builder::eth(Mac::BROADCAST, Mac([2, 0, 0, 0, 0, 9]))
        .ipv4("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
        .udp(1, 2)
        .build();
    let sent = Instant::now();
    ha.send(&frame);
    while hb.take().is_empty() {
        assert!(
            sent.elapsed() < Duration::from_millis(50),
            "the parked worker woke for the frame"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(dp);
}

// Input: the routed topology; forwarding is turned off (ietf-ip forwarding false) for IPv4
// on p1, then on again. Output: while off, h1 still pings p1's own address but nothing
// crosses to h2, and the transit packets are counted under ip4-lookup's drop reason; on
// again, it crosses.
#[test]
fn forwarding_false_makes_a_host_interface() {
    let Some(t) = Topo::tagged("fw") else { return };
    let dp = routed(&t);
    let h1 = t.path("h1");
    assert!(ping(
        &h1,
        "10.0.2.20".parse().unwrap(),
        Duration::from_secs(5)
    ));
    dp.apply(&[up(
        "p1",
        InterfaceConfig {
            forward_v4: false,
            ..Default::default()
        },
    )])
    .unwrap();
    assert!(ping(
        &h1,
        "10.0.1.1".parse().unwrap(),
        Duration::from_secs(3)
    ));
    assert!(
        !ping(&h1, "10.0.2.20".parse().unwrap(), Duration::from_secs(1)),
        "transit must not be routed"
    );
    let drops = dp
        .stats()
        .drops
        .iter()
        .filter(|d| {
            d.node == "ip4-lookup" && d.reason == "forwarding disabled on the input interface"
        })
        .map(|d| d.count)
        .sum::<u64>();
    assert!(drops > 0, "counted under its drop reason");
    dp.apply(&[up("p1", InterfaceConfig::default())]).unwrap();
    assert!(ping(
        &h1,
        "10.0.2.20".parse().unwrap(),
        Duration::from_secs(5)
    ));
}

// Input: the routed topology with IPv6 addresses too (TSO for IPv6: GSO_TCP6 super-frames).
// Output: 16 MiB of TCP over IPv6 cross intact each way.
#[test]
fn tcp_over_ipv6_crosses_with_default_offloads() {
    let Some(t) = Topo::tagged("v6") else { return };
    let dp = routed(&t);
    for (h, a, gw) in [
        ("h1", "2001:db8:1::10/64", "2001:db8:1::1"),
        ("h2", "2001:db8:2::20/64", "2001:db8:2::1"),
    ] {
        let (n, dev) = (t.ns(h), t.dev(&format!("e{h}")));
        ip(&["-n", &n, "addr", "add", a, "dev", &dev, "nodad"]).unwrap();
        ip(&["-n", &n, "-6", "route", "add", "default", "via", gw]).unwrap();
    }
    dp.apply(&[
        addr("p1", "2001:db8:1::1/64"),
        addr("p2", "2001:db8:2::1/64"),
    ])
    .unwrap();
    let (n, peer) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "[2001:db8:2::20]:5131".parse().unwrap(),
        MIB16,
    );
    assert_eq!(n, MIB16);
    assert_eq!(peer.ip().to_string(), "2001:db8:1::10");
}
