//! Network-namespace helpers for tests with the kernel as the traffic source: uniquely named
//! namespaces removed by a drop guard (also when a test fails), veth wiring, ping and a TCP
//! transfer run from inside a namespace. Needs root and iproute2; [`Topo::new`] returns
//! `None` with a message otherwise, outside CI only: with `CI` set a test that cannot get
//! namespaces fails. The veth pairs keep the kernel's default offloads (TX checksum,
//! TSO/GSO), as a pod's do: no test changes them.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nectar_dataplane::control::*;
use nectar_dataplane::headers::{Builder, ICMP_ECHO_REPLY, Icmp, Ipv4};
use nectar_dataplane::port::afpacket::AfPacketPort;
use nectar_dataplane::port::sys::in_netns;
use nectar_dataplane::port::tap::TapPort;
use nectar_dataplane::{Dataplane, IpNet, Mac};
use socket2::{Domain, Protocol, Socket, Type};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Namespaces of one test; deleted on drop.
pub struct Topo {
    pub id: String,
    /// Part of every namespace name (`nx{tag}{role}{id}`), naming the suite.
    pub tag: String,
    pub ns: Vec<String>,
}

impl Drop for Topo {
    fn drop(&mut self) {
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Topo {
    /// Namespaces `h1`, `h2` (hosts) and `dp`, veth `h1:e0 <-> dp:d1` and `h2:e0 <-> dp:d2`.
    /// `None` (with a message) when namespaces cannot be created here.
    pub fn new() -> Option<Topo> {
        Topo::named("", &["h1", "h2", "dp"])
    }

    /// [`Topo::new`] with `tag` in the namespace names.
    pub fn tagged(tag: &str) -> Option<Topo> {
        Topo::named(tag, &["h1", "h2", "dp"])
    }

    /// Namespaces `nx<tag><role><id>` for each role (wire them with [`Topo::wire`]).
    pub fn named(tag: &str, roles: &[&str]) -> Option<Topo> {
        let id = format!(
            "{}x{}",
            std::process::id() % 100_000,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut t = Topo {
            id: id.clone(),
            tag: tag.to_string(),
            ns: Vec::new(),
        };
        for role in roles {
            let n = t.ns(role);
            if let Err(e) = ip(&["netns", "add", &n]) {
                if std::env::var_os("CI").is_some() {
                    panic!("CI is set but network namespaces cannot be created here: {e}");
                }
                eprintln!("SKIPPED namespace test: cannot create network namespaces ({e})");
                return None;
            }
            t.ns.push(n);
        }
        Some(t)
    }

    pub fn ns(&self, role: &str) -> String {
        format!("nx{}{role}{}", self.tag, self.id)
    }

    pub fn path(&self, role: &str) -> String {
        format!("/var/run/netns/{}", self.ns(role))
    }

    pub fn dev(&self, role: &str) -> String {
        format!("{role}{}", self.id)
    }

    /// Wires a host namespace to the dataplane namespace and configures the host side.
    pub fn wire(&self, host: &str, addr: &str, gw: Option<&str>) -> Result<(), String> {
        let (h, d) = (self.dev(&format!("e{host}")), self.dev(&format!("d{host}")));
        let (hns, dns) = (self.ns(host), self.ns("dp"));
        ip(&[
            "-n", &hns, "link", "add", &h, "type", "veth", "peer", "name", &d, "netns", &dns,
        ])?;
        ip(&["-n", &hns, "addr", "add", addr, "dev", &h])?;
        ip(&["-n", &hns, "link", "set", "lo", "up"])?;
        ip(&["-n", &hns, "link", "set", &h, "up"])?;
        ip(&["-n", &dns, "link", "set", &d, "up"])?;
        if let Some(gw) = gw {
            ip(&["-n", &hns, "route", "add", "default", "via", gw])?;
        }
        Ok(())
    }

    pub fn dataplane(&self) -> Dataplane {
        dataplane_of(vec![
            ("p1", Box::new(self.afpacket("h1"))),
            ("p2", Box::new(self.afpacket("h2"))),
        ])
    }

    /// An afpacket port on the dataplane end of `host`'s veth.
    pub fn afpacket(&self, host: &str) -> AfPacketPort {
        AfPacketPort::open_in_netns(&self.path("dp"), &self.dev(&format!("d{host}"))).unwrap()
    }
}

/// A TAP port created in host namespace `host` as interface `name`, up there with `addr`.
pub fn tap_in(t: &Topo, host: &str, name: &str, addr: &str) -> TapPort {
    let n2 = name.to_string();
    let tap = in_netns(&t.path(host), move || TapPort::create(&n2))
        .unwrap()
        .unwrap();
    let hns = t.ns(host);
    ip(&["-n", &hns, "addr", "add", addr, "dev", name]).unwrap();
    ip(&["-n", &hns, "link", "set", name, "up"]).unwrap();
    tap
}

/// A dataplane with these ports and one worker thread.
pub fn dataplane_of(ports: Vec<(&str, Box<dyn nectar_dataplane::port::Port>)>) -> Dataplane {
    let mut b = Dataplane::builder().workers(1);
    for (name, p) in ports {
        b = b.boxed_port(name, p);
    }
    b.build().unwrap()
}

/// Ops that make each of `ifs` (name, address) a routed interface, admin up.
pub fn routed_ops(ifs: &[(&str, &str)]) -> Vec<Op> {
    ifs.iter()
        .flat_map(|(n, a)| [up(n, InterfaceConfig::default()), addr(n, a)])
        .collect()
}

pub fn up(name: &str, cfg: InterfaceConfig) -> Op {
    Op::SetInterface {
        name: name.into(),
        config: InterfaceConfig {
            admin_up: true,
            ..cfg
        },
    }
}

pub fn addr(name: &str, a: &str) -> Op {
    Op::AddAddress {
        interface: name.into(),
        prefix: a.parse::<IpNet>().unwrap(),
    }
}

/// Sends ICMP echo requests from namespace `ns_path` to `dst` until one is answered or
/// `timeout` passes.
pub fn ping(ns_path: &str, dst: Ipv4Addr, timeout: Duration) -> bool {
    let sock = in_netns(ns_path, || {
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
    })
    .unwrap()
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let id = (std::process::id() & 0xffff) as u16;
    let deadline = Instant::now() + timeout;
    let mut seq = 0u16;
    while Instant::now() < deadline {
        seq += 1;
        let frame = Builder::eth(Mac::ZERO, Mac::ZERO)
            .ipv4(Ipv4Addr::UNSPECIFIED, dst)
            .echo_request(id, seq)
            .payload(b"nectar-ping")
            .build();
        let icmp = &frame[34..];
        let to: SocketAddr = (dst, 0).into();
        sock.send_to(icmp, &to.into()).unwrap();
        let mut b = [0u8; 1500];
        while let Ok(n) = (&sock).read(&mut b) {
            let b = &b[..n];
            if let Ok(h) = Ipv4::parse(b)
                && h.src == dst
                && let Ok(i) = Icmp::parse(&b[h.header_len..])
                && i.typ == ICMP_ECHO_REPLY
                && i.echo_id() == id
            {
                return true;
            }
        }
    }
    false
}

/// A TCP connection from namespace `client` to `server_addr`, retried for ten seconds
/// (the first packets may wait for neighbor resolution).
fn connect(client: &str, server_addr: SocketAddr) -> TcpStream {
    let mut c = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.is_none() && Instant::now() < deadline {
        c = in_netns(client, move || {
            TcpStream::connect_timeout(&server_addr, Duration::from_secs(2))
        })
        .unwrap()
        .ok();
    }
    let c = c.expect("TCP connect through the dataplane");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Reads up to `len` bytes from `s`, echoing them back when `echo`; returns how many and
/// their checksum.
fn drain(s: &mut TcpStream, len: usize, echo: bool) -> (usize, u64) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut got, mut sum) = (0, Sum::new());
    let mut buf = vec![0u8; 65536];
    while got < len {
        let n = s.read(&mut buf).expect("server read (stalled?)");
        if n == 0 {
            break;
        }
        sum.add(&buf[..n]);
        if echo {
            s.write_all(&buf[..n]).unwrap();
        }
        got += n;
    }
    (got, sum.0)
}

/// A checksum of a byte stream (64-bit FNV-1a), computed piece by piece.
#[derive(Clone, Copy)]
pub struct Sum(u64);

impl Sum {
    pub fn new() -> Sum {
        Sum(0xcbf2_9ce4_8422_2325)
    }
    pub fn add(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ x as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// The bytes [`tcp_transfer`] sends: not a short period, so a misplaced segment shows.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends `len` bytes over TCP from namespace `client` to `server_addr` in namespace
/// `server`, which echoes them back. The checksum of what the server received and of what
/// came back must both equal the checksum of what was sent (end to end, both directions).
/// Returns (bytes echoed back, the peer address the server saw).
pub fn tcp_transfer(
    client: &str,
    server: &str,
    server_addr: SocketAddr,
    len: usize,
) -> (usize, SocketAddr) {
    let listener = in_netns(server, move || TcpListener::bind(server_addr))
        .unwrap()
        .unwrap();
    let srv = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let (got, sum) = drain(&mut s, len, true);
        (peer, got, sum)
    });
    let mut c = connect(client, server_addr);
    let data = pattern(len);
    let mut want = Sum::new();
    want.add(&data);
    let writer = {
        let mut w = c.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&data).unwrap())
    };
    let mut back = vec![0u8; len];
    c.read_exact(&mut back)
        .expect("the echo of the whole transfer (stalled?)");
    writer.join().unwrap();
    let mut got = Sum::new();
    got.add(&back);
    let (peer, server_got, server_sum) = srv.join().unwrap();
    assert_eq!(server_got, len, "bytes the server received");
    assert_eq!(server_sum, want.0, "checksum of what the server received");
    assert_eq!(got.0, want.0, "checksum of what came back");
    (back.len(), peer)
}

/// Sends `len` bytes over TCP from namespace `client` to `server_addr` in namespace
/// `server`, one way (the server only acknowledges); the checksum of what the server
/// received must equal that of what was sent. Returns the bytes received.
pub fn tcp_send(client: &str, server: &str, server_addr: SocketAddr, len: usize) -> usize {
    let listener = in_netns(server, move || TcpListener::bind(server_addr))
        .unwrap()
        .unwrap();
    let srv = std::thread::spawn(move || drain(&mut listener.accept().unwrap().0, len, false));
    let mut c = connect(client, server_addr);
    let data = pattern(len);
    let mut want = Sum::new();
    want.add(&data);
    c.write_all(&data).unwrap();
    let (got, sum) = srv.join().unwrap();
    assert_eq!(got, len, "bytes the server received");
    assert_eq!(sum, want.0, "checksum of what the server received");
    got
}

/// Ops that put `ports` (admin up) as access ports into a new bridge domain `bd`.
pub fn bridge_all(bd: &str, ports: &[&str]) -> Vec<Op> {
    let access = InterfaceConfig {
        switchport: Switchport::Access {
            bridge_domain: bd.into(),
        },
        ..Default::default()
    };
    let mut ops = vec![Op::SetBridgeDomain(BridgeDomainConfig::new(bd))];
    ops.extend(ports.iter().map(|p| up(p, access.clone())));
    ops
}
