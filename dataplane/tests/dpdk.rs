//! DPDK ports (cargo feature `dpdk`) on virtual devices, without hugepages or NICs:
//! `net_af_packet` on veths between network namespaces (the kernel is the traffic source),
//! `net_tap` in a namespace, and `net_memif` to a second process (DPDK's own `dpdk-testpmd`
//! as the memif peer). Built only with `--features dpdk` (scripts/test runs it); needs root
//! for the namespaces; the memif test needs `dpdk-testpmd` (apt `dpdk-dev`) and says so when
//! it is missing.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::ns::*;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::Builder;
use nectar_dataplane::port::dpdk::{self, DpdkPort, EalOptions};
use nectar_dataplane::port::pg::pg;
use nectar_dataplane::port::sys::in_netns;
use nectar_dataplane::{Dataplane, Mac};

/// Device numbers: vdev names are unique per process.
static DEV: AtomicU32 = AtomicU32::new(0);

fn eal() {
    dpdk::init(&EalOptions::default()).expect("DPDK EAL initialises without hugepages");
}

/// Opens DPDK virtual device `kind` (e.g. `net_af_packet`) with `args` from inside the
/// namespace at `ns_path` (where the device's kernel side lives).
fn open_in(ns_path: &str, kind: &str, args: String) -> DpdkPort {
    let dev = format!("{kind}{},{args}", DEV.fetch_add(1, Ordering::Relaxed));
    in_netns(ns_path, move || DpdkPort::open(&dev))
        .unwrap()
        .unwrap_or_else(|e| panic!("opening a DPDK port: {e}"))
}

// Input: two namespaces in different subnets, joined to the dataplane by veths with the
// kernel's default offloads: h1 on a nectar afpacket port, h2 on a DPDK net_af_packet port;
// the dataplane routes between them. Output: ping to the dataplane and across it works,
// and 16 MiB of TCP from h1 arrive intact in h2: h1's 64 KiB super-frames are segmented in
// software for the DPDK port (which takes no offloads), and h2's acknowledgements, whose
// checksums the kernel left pending, are recognised as such on the DPDK side. (DPDK's
// net_af_packet PMD drops frames larger than an mbuf, so h2 itself does not send bulk
// data through it: for veths nectar's own afpacket driver is the one to use.)
#[test]
fn dpdk_af_packet_ports_route_ping_and_tcp_between_namespaces() {
    let Some(t) = Topo::new() else { return };
    t.wire("h1", "10.0.1.10/24", Some("10.0.1.1")).unwrap();
    t.wire("h2", "10.0.2.20/24", Some("10.0.2.1")).unwrap();
    eal();
    let dns = t.path("dp");
    let p2 = open_in(&dns, "net_af_packet", format!("iface={}", t.dev("dh2")));
    assert_eq!(nectar_dataplane::port::Port::driver(&p2), "dpdk");
    let dp = dataplane_of(vec![
        ("p1", Box::new(t.afpacket("h1"))),
        ("p2", Box::new(p2)),
    ]);
    dp.apply(&routed_ops(&[("p1", "10.0.1.1/24"), ("p2", "10.0.2.1/24")]))
        .unwrap();
    let h1 = t.path("h1");
    assert!(
        ping(&h1, "10.0.1.1".parse().unwrap(), Duration::from_secs(5)),
        "ping the dataplane's address"
    );
    assert!(
        ping(&h1, "10.0.2.20".parse().unwrap(), Duration::from_secs(5)),
        "ping across the dataplane"
    );
    let n = tcp_send(
        &h1,
        &t.path("h2"),
        "10.0.2.20:5101".parse().unwrap(),
        16 << 20,
    );
    assert_eq!(n, 16 << 20);
    let s = dp.stats();
    assert!(s.interface("p1").unwrap().rx_packets > 11_000);
    assert!(s.interface("p2").unwrap().tx_packets > 11_000);
    assert!(
        s.interface("p2").unwrap().oper_up,
        "net_af_packet link is up"
    );
}

// Input: a DPDK net_tap port whose kernel TAP interface lives in a host namespace and has an
// address there; the dataplane port is routed. Output: the host pings the dataplane.
#[test]
fn dpdk_tap_port_answers_ping_from_namespace() {
    let Some(t) = Topo::new() else { return };
    eal();
    let name = t.dev("dt");
    let h1 = t.path("h1");
    let tap = open_in(&h1, "net_tap", format!("iface={name}"));
    let hns = t.ns("h1");
    ip(&["-n", &hns, "addr", "add", "10.0.6.10/24", "dev", &name]).unwrap();
    ip(&["-n", &hns, "link", "set", &name, "up"]).unwrap();
    ip(&["-n", &hns, "link", "set", "lo", "up"]).unwrap();
    let dp = Dataplane::builder()
        .port("t0", tap)
        .workers(1)
        .build()
        .unwrap();
    dp.apply(&[
        up("t0", InterfaceConfig::default()),
        addr("t0", "10.0.6.1/24"),
    ])
    .unwrap();
    assert!(ping(
        &h1,
        "10.0.6.1".parse().unwrap(),
        Duration::from_secs(5)
    ));
    assert!(dp.stats().interface("t0").unwrap().tx_packets >= 2);
}

/// `dpdk-testpmd` as a memif client in MAC-swap loopback, its output going to a file.
/// Dropping it closes its standard input (testpmd exits cleanly on that), kills it if it
/// lingers, and removes its EAL runtime directory.
struct TestPmd {
    child: Option<Child>,
    prefix: String,
    log: std::path::PathBuf,
}

impl TestPmd {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TestPmd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(3);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

fn testpmd_binary() -> Option<&'static str> {
    ["/usr/bin/dpdk-testpmd", "/usr/local/bin/dpdk-testpmd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

// Input: a memif server port (DPDK net_memif) bridged with a pg port; another process,
// DPDK's dpdk-testpmd, connects as the memif client and sends every frame back with source
// and destination MACs swapped. Output: the memif link comes up, frames sent into the pg
// port come back out of it swapped with their payload intact, and the far MAC is learned
// behind the memif port.
#[test]
fn dpdk_memif_exchanges_frames_with_another_process() {
    let Some(pmd) = testpmd_binary() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but dpdk-testpmd is not installed (scripts/setup installs dpdk-dev)");
        }
        eprintln!("SKIPPED memif test: dpdk-testpmd is not installed (apt install dpdk-dev)");
        return;
    };
    eal();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("memif.sock");
    let n = DEV.fetch_add(1, Ordering::Relaxed);
    let memif = DpdkPort::open(&format!(
        "net_memif{n},role=server,id=0,socket-abstract=no,socket={}",
        sock.display()
    ))
    .unwrap();
    let (p, h) = pg(Mac([0x02, 0xdd, 0, 0, 0, 1]));
    let dp = Dataplane::builder()
        .port("m0", memif)
        .port("pg0", p)
        .workers(1)
        .build()
        .unwrap();
    dp.apply(&bridge_all("bd", &["m0", "pg0"])).unwrap();
    let prefix = format!("nectar-pmd-{}", std::process::id());
    let log = dir.path().join("testpmd.log");
    let logf = std::fs::File::create(&log).unwrap();
    let child = Command::new(pmd)
        .args([
            // Main lcore 0, one forwarding lcore 1 (it busy-polls for the test's few seconds).
            "-l",
            "0-1",
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            &format!("--file-prefix={prefix}"),
            &format!(
                "--vdev=net_memif0,role=client,id=0,socket-abstract=no,socket={}",
                sock.display()
            ),
            "--",
            "--forward-mode=macswap",
            "--port-topology=loop",
            "--total-num-mbufs=2048",
            "--rxd=256",
            "--txd=256",
        ])
        .stdin(Stdio::piped())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf)
        .spawn()
        .expect("starting dpdk-testpmd");
    let mut pmd_guard = TestPmd {
        child: Some(child),
        prefix,
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let exited = pmd_guard
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        assert!(exited.is_none(), "testpmd exited: {}", pmd_guard.output());
        dp.maintenance();
        if dp.stats().interface("m0").unwrap().oper_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "memif link never came up; testpmd said: {}",
            pmd_guard.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (me, far) = (Mac([0x02, 0, 0, 0, 0, 1]), Mac([0x02, 0, 0, 0, 0, 2]));
    let frame = |i: u16| {
        Builder::eth(far, me)
            .ipv4("10.9.0.1".parse().unwrap(), "10.9.0.2".parse().unwrap())
            .udp(4000 + i, 9)
            .payload(b"nectar over memif")
            .build()
    };
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = 0u16;
    while got.len() < 20 && Instant::now() < deadline {
        if sent < 40 {
            h.send(&frame(sent));
            sent += 1;
        }
        got.extend(h.take());
        std::thread::sleep(Duration::from_millis(20));
    }
    let said = pmd_guard.output();
    // While the peer is there: once it goes, the memif link goes down and what was learned
    // behind it is flushed.
    let m0 = dp.interface_index("m0").unwrap();
    let learned = dp.l2_entries();
    drop(pmd_guard);
    assert!(
        got.len() >= 20,
        "only {} of {sent} frames came back through memif; testpmd said: {said}",
        got.len(),
    );
    for f in &got {
        assert_eq!(&f[0..6], &me.0, "destination swapped back to the sender");
        assert_eq!(&f[6..12], &far.0);
        assert!(f.ends_with(b"nectar over memif"), "payload intact");
    }
    assert!(
        learned.iter().any(|e| e.mac == far && e.ifidx == m0),
        "far MAC learned behind the memif port: {learned:?}"
    );
}
