//! Forwarding throughput on pg ports, one worker (the bench thread), 64-byte frames:
//! L2 bridging with 1k MACs, IPv4 routing with 100k routes, and IPv4 routing with a
//! stateful ACL and NAT44 over 10k sessions. Criterion reports elements/s = packets/s.
//!
//! Time is the bench thread's CPU time ([`ThreadCpu`]), not wall time: the forwarding runs
//! on that thread alone, so packets per CPU-second is what one dedicated core forwards, and
//! the figure holds on a shared machine where other processes take the cores (wall time
//! there measures the machine's load). Only the scenarios selected by the command-line
//! filter are set up. Run: `cargo bench -p nectar-dataplane --no-default-features --bench
//! forwarding` (the engine alone; the `northbound` feature is not needed here).

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nectar_dataplane::control::*;
use nectar_dataplane::headers::{ARP_REQUEST, Builder};
use nectar_dataplane::port::pg::{PgHandle, pg};
use nectar_dataplane::{Dataplane, IpNet, Mac};

const BATCH: u64 = 64 * 256;

/// Criterion measurement: CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ns.
struct ThreadCpu;

#[allow(unsafe_code)]
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns() - i
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values {
            *v /= 1e6;
        }
        "ms (cpu)"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
            _ => 1.0,
        };
        for v in values {
            *v = n * 1e3 / *v;
        }
        "Mpps (per cpu-second)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// True when the command line selects benchmark `name` (no filter: all).
fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn mac(a: u8, i: u32) -> Mac {
    Mac([0x02, a, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}

fn frame64(src: Mac, dst: Mac, s: Ipv4Addr, d: Ipv4Addr, sport: u16) -> Vec<u8> {
    // 14 + 20 + 8 + 18 = 60 bytes (64 on the wire with FCS).
    Builder::eth(dst, src)
        .ipv4(s, d)
        .udp(sport, 9)
        .payload(&[0; 18])
        .build()
}

fn two_ports() -> (Dataplane, PgHandle, PgHandle) {
    let (p0, h0) = pg(mac(0xdd, 0));
    let (p1, h1) = pg(mac(0xdd, 1));
    let dp = Dataplane::builder()
        .port("pg0", p0)
        .port("pg1", p1)
        .build()
        .unwrap();
    h1.count_only(true);
    (dp, h0, h1)
}

fn run(
    c: &mut Criterion<ThreadCpu>,
    name: &str,
    dp: &Dataplane,
    h0: &PgHandle,
    h1: &PgHandle,
    frames: Vec<Vec<u8>>,
) {
    // Warm up and check that traffic really flows.
    h0.stream(frames.clone(), 10_000);
    dp.poll();
    let (sent, _) = h1.tx_count();
    assert!(
        sent >= 9_000,
        "{name}: only {sent} of 10000 forwarded; drops {:?}",
        dp.stats().drops
    );
    let mut g = c.benchmark_group("forwarding");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function(name, |b| {
        h0.stream(frames.clone(), 0);
        b.iter(|| {
            h0.replay(BATCH);
            black_box(dp.poll());
        })
    });
    g.finish();
}

fn up(name: &str, cfg: InterfaceConfig) -> Op {
    Op::SetInterface {
        name: name.into(),
        config: InterfaceConfig {
            admin_up: true,
            ..cfg
        },
    }
}

fn l2_bridging(c: &mut Criterion<ThreadCpu>) {
    if !selected("l2-bridge-1k-macs") {
        return;
    }
    let (dp, h0, h1) = two_ports();
    let access = InterfaceConfig {
        switchport: Switchport::Access {
            bridge_domain: "bd".into(),
        },
        ..Default::default()
    };
    dp.apply(&[
        Op::SetBridgeDomain(BridgeDomainConfig::new("bd")),
        up("pg0", access.clone()),
        up("pg1", access),
    ])
    .unwrap();
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    // Learn 1k MACs behind pg1, then send to them from 1k MACs on pg0.
    for i in 0..1000 {
        h1.send(&frame64(mac(1, i), Mac::BROADCAST, b, a, 1));
    }
    dp.poll();
    let frames = (0..1000)
        .map(|i| frame64(mac(0, i), mac(1, i), a, b, 1))
        .collect();
    run(c, "l2-bridge-1k-macs", &dp, &h0, &h1, frames);
}

fn routed_pair(dp: &Dataplane, h1: &PgHandle, extra0: InterfaceConfig, extra1: InterfaceConfig) {
    dp.apply(&[
        up("pg0", extra0),
        Op::AddAddress {
            interface: "pg0".into(),
            prefix: "10.0.1.1/24".parse().unwrap(),
        },
        up("pg1", extra1),
        Op::AddAddress {
            interface: "pg1".into(),
            prefix: "10.0.2.1/24".parse().unwrap(),
        },
    ])
    .unwrap();
    h1.send(
        &Builder::eth(Mac::BROADCAST, mac(9, 9))
            .arp(
                ARP_REQUEST,
                mac(9, 9),
                Ipv4Addr::new(10, 0, 2, 2),
                Mac::ZERO,
                Ipv4Addr::new(10, 0, 2, 1),
            )
            .build(),
    );
    dp.poll();
}

fn ip4_routes(dp: &Dataplane, n: u32) {
    let ops: Vec<Op> = (0..n)
        .map(|i| Op::AddRoute {
            vrf: "default".into(),
            prefix: IpNet::v4(Ipv4Addr::from(0x1400_0000 + (i << 8)), 24),
            target: RouteTarget::NextHops(vec![NextHop::via("10.0.2.2".parse().unwrap())]),
        })
        .collect();
    let t = std::time::Instant::now();
    dp.apply(&ops).unwrap();
    eprintln!("applied {n} routes in {:?}", t.elapsed());
}

fn ip4_routing(c: &mut Criterion<ThreadCpu>) {
    if !selected("ip4-route-100k-routes") {
        return;
    }
    let (dp, h0, h1) = two_ports();
    routed_pair(
        &dp,
        &h1,
        InterfaceConfig::default(),
        InterfaceConfig::default(),
    );
    ip4_routes(&dp, 100_000);
    let src = mac(0, 1);
    let frames = (0..1024u32)
        .map(|i| {
            frame64(
                src,
                mac(0xdd, 0),
                Ipv4Addr::new(10, 0, 1, 10),
                Ipv4Addr::from(0x1400_0000 + ((i * 97 % 100_000) << 8) + 1),
                1,
            )
        })
        .collect();
    run(c, "ip4-route-100k-routes", &dp, &h0, &h1, frames);
}

fn ip4_acl_nat(c: &mut Criterion<ThreadCpu>) {
    if !selected("ip4-acl-reflect-nat44-10k-sessions") {
        return;
    }
    let (dp, h0, h1) = two_ports();
    dp.apply(&[Op::SetAcl(AclConfig {
        name: "reflect".into(),
        rules: vec![
            AclRule {
                proto: Some(1),
                ..AclRule::any(AclAction::Deny)
            },
            AclRule {
                dst: Some("20.0.0.0/8".parse().unwrap()),
                ..AclRule::any(AclAction::PermitReflect)
            },
        ],
    })])
    .unwrap();
    routed_pair(
        &dp,
        &h1,
        InterfaceConfig {
            acl_in: Some("reflect".into()),
            nat: NatRole::Inside,
            ..Default::default()
        },
        InterfaceConfig {
            nat: NatRole::Outside,
            ..Default::default()
        },
    );
    ip4_routes(&dp, 100_000);
    let src = mac(0, 1);
    let frames: Vec<Vec<u8>> = (0..10_000u32)
        .map(|i| {
            frame64(
                src,
                mac(0xdd, 0),
                Ipv4Addr::new(10, 0, 1, 10 + (i % 200) as u8),
                Ipv4Addr::from(0x1400_0001 + ((i % 5000) << 8)),
                1024 + (i / 200) as u16,
            )
        })
        .collect();
    h0.stream(frames.clone(), frames.len() as u64);
    dp.poll();
    let s = dp.stats();
    assert_eq!(s.nat_sessions, 10_000, "drops {:?}", s.drops);
    assert_eq!(s.conntrack_sessions, 10_000);
    run(
        c,
        "ip4-acl-reflect-nat44-10k-sessions",
        &dp,
        &h0,
        &h1,
        frames,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(ThreadCpu)
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(4));
    targets = l2_bridging, ip4_routing, ip4_acl_nat
}
criterion_main!(benches);
