//! Network namespaces for tests with the kernel as the traffic source: uniquely named
//! namespaces removed by a drop guard (also when a test fails), veth wiring, code run
//! inside a namespace, and from there ICMP echo and TCP transfers checked end to end.
//! Needs root and iproute2: [`Topo::named`] and [`available`] follow [`crate::env::skip`]
//! otherwise. The veth pairs keep the kernel's default offloads (TX checksum, TSO/GSO), as a
//! pod's do: nothing here changes them.
//!
//! What puts a dataplane on these veths (afpacket ports, a `Dataplane`) is in the
//! dataplane's tests (`dataplane/tests/common/ns.rs`); the daemon tests name the veths in
//! its configuration file.
#![allow(unsafe_code)] // setns(2) in `in_netns`, the one call std has no safe form of.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::env;

/// `ip ARGS`; the error names the command and carries ip's message.
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

/// Whether network namespaces can be used here (root and iproute2); if not, [`env::skip`].
pub fn available() -> bool {
    let ok = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
        && env::is_root();
    if !ok {
        env::skip("network namespaces need root and iproute2");
    }
    ok
}

/// Runs `f` on a thread inside the network namespace at `ns_path` (`/var/run/netns/NAME`):
/// sockets it creates belong to that namespace for their whole life.
pub fn in_netns<T: Send + 'static>(
    ns_path: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let ns = std::fs::File::open(ns_path)?;
    std::thread::spawn(move || -> io::Result<T> {
        // SAFETY: `ns` is an open namespace file; setns only changes this thread's namespace.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f())
    })
    .join()
    .map_err(|_| io::Error::other("namespace thread panicked"))?
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Namespaces of one test; deleted on drop (which deletes the veth ends in them).
#[derive(Debug)]
pub struct Topo {
    /// Unique per process and topology; part of every name.
    pub id: String,
    /// Part of every namespace name (`nx{tag}{role}{id}`), naming the suite.
    pub tag: String,
    /// The namespaces created.
    pub ns: Vec<String>,
}

impl Drop for Topo {
    fn drop(&mut self) {
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

impl Topo {
    /// Namespaces `h1`, `h2` (hosts) and `dp` (wire them with [`Topo::wire`]). `None` (after
    /// [`env::skip`]) when namespaces cannot be created here.
    pub fn new() -> Option<Topo> {
        Topo::named("", &["h1", "h2", "dp"])
    }

    /// [`Topo::new`] with `tag` in the namespace names.
    pub fn tagged(tag: &str) -> Option<Topo> {
        Topo::named(tag, &["h1", "h2", "dp"])
    }

    /// Namespaces `nx<tag><role><id>` for each role.
    pub fn named(tag: &str, roles: &[&str]) -> Option<Topo> {
        let id = format!(
            "{}x{}",
            std::process::id() % 100_000,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut t = Topo {
            id,
            tag: tag.to_string(),
            ns: Vec::new(),
        };
        for role in roles {
            let n = t.ns(role);
            if let Err(e) = ip(&["netns", "add", &n]) {
                env::skip(&format!("cannot create network namespaces ({e})"));
                return None;
            }
            t.ns.push(n);
        }
        Some(t)
    }

    /// The name of namespace `role`.
    pub fn ns(&self, role: &str) -> String {
        format!("nx{}{role}{}", self.tag, self.id)
    }

    /// The path of namespace `role` (for [`in_netns`], `open_in_netns`).
    pub fn path(&self, role: &str) -> String {
        format!("/var/run/netns/{}", self.ns(role))
    }

    /// A device name unique to this topology.
    pub fn dev(&self, role: &str) -> String {
        format!("{role}{}", self.id)
    }

    /// [`Topo::tagged`] wired for a router between two networks: h1 (10.1.0.2/24, default
    /// route via 10.1.0.1) and h2 (10.2.0.2/24, via 10.2.0.1), each by a veth pair to
    /// namespace `dp` (ends `dev("dh1")`, `dev("dh2")`), whose loopback is up (the daemon's
    /// listeners there).
    pub fn router(tag: &str) -> Option<Topo> {
        let t = Topo::tagged(tag)?;
        t.wire("h1", "10.1.0.2/24", Some("10.1.0.1")).unwrap();
        t.wire("h2", "10.2.0.2/24", Some("10.2.0.1")).unwrap();
        ip(&["-n", &t.ns("dp"), "link", "set", "lo", "up"]).unwrap();
        Some(t)
    }

    /// Wires host namespace `host` to namespace `dp` by a veth pair, `dev("e<host>")` on the
    /// host side (with `addr` and, when given, a default route via `gw`), `dev("d<host>")`
    /// on the dataplane side; both up.
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
}

/// One host namespace wired by a veth pair to an end for a dataplane port, which is in a
/// namespace of its own or in the test's namespace; removed on drop. The host end has
/// 10.77.0.1/24.
#[derive(Debug)]
pub struct Host {
    /// The host namespace.
    pub ns: String,
    /// The host end (in `ns`).
    pub host_dev: String,
    /// The dataplane end (in `dp_ns`, or in the test's namespace when `dp_ns` is None).
    pub dp_dev: String,
    /// The dataplane end's namespace, if it has one.
    pub dp_ns: Option<String>,
}

impl Host {
    /// `with_dp_ns`: put the dataplane end in a namespace of its own too. Panics if the
    /// namespaces cannot be made (check [`available`] first).
    pub fn new(tag: &str, with_dp_ns: bool) -> Host {
        let id = format!("{tag}{}", std::process::id() % 100_000);
        let n = Host {
            ns: format!("nth{id}"),
            host_dev: format!("th{id}"),
            dp_dev: format!("td{id}"),
            dp_ns: with_dp_ns.then(|| format!("ntd{id}")),
        };
        let ip = |args: &[&str]| ip(args).unwrap();
        ip(&["netns", "add", &n.ns]);
        match &n.dp_ns {
            Some(d) => {
                ip(&["netns", "add", d]);
                ip(&[
                    "-n",
                    &n.ns,
                    "link",
                    "add",
                    &n.host_dev,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &n.dp_dev,
                    "netns",
                    d,
                ]);
            }
            None => {
                ip(&[
                    "link",
                    "add",
                    &n.dp_dev,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &n.host_dev,
                ]);
                ip(&["link", "set", &n.host_dev, "netns", &n.ns]);
            }
        }
        ip(&[
            "-n",
            &n.ns,
            "addr",
            "add",
            "10.77.0.1/24",
            "dev",
            &n.host_dev,
        ]);
        ip(&["-n", &n.ns, "link", "set", &n.host_dev, "up"]);
        match &n.dp_ns {
            Some(d) => ip(&["-n", d, "link", "set", &n.dp_dev, "up"]),
            None => ip(&["link", "set", &n.dp_dev, "up"]),
        }
        n
    }

    /// Sets the host end up or down (the dataplane end's carrier follows).
    pub fn set_host_link(&self, up: bool) {
        ip(&[
            "-n",
            &self.ns,
            "link",
            "set",
            &self.host_dev,
            if up { "up" } else { "down" },
        ])
        .unwrap();
    }

    /// UDP broadcasts (about 200 a second) from the host end, frames the dataplane port
    /// receives, for `secs` seconds.
    pub fn blast(&self, secs: u32) -> Child {
        let script = format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n\
             end = time.time() + {secs}\n\
             while time.time() < end:\n    s.sendto(b'x' * 64, ('10.77.0.255', 9)); time.sleep(0.005)\n"
        );
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-c", &script])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        if let Some(d) = &self.dp_ns {
            let _ = Command::new("ip").args(["netns", "del", d]).output();
        } else {
            let _ = Command::new("ip")
                .args(["link", "del", &self.dp_dev])
                .output();
        }
    }
}

// ===== traffic from inside a namespace =====

const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;

/// The Internet checksum (RFC 1071) of `b`.
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request (header and payload).
fn echo_request(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![ICMP_ECHO_REQUEST, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// Whether `b` (an IPv4 packet as a raw socket receives it) is an echo reply from `from`
/// with identifier `id`.
fn is_echo_reply(b: &[u8], from: Ipv4Addr, id: u16) -> bool {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    ihl >= 20
        && b.len() >= ihl + 8
        && Ipv4Addr::new(b[12], b[13], b[14], b[15]) == from
        && b[ihl] == ICMP_ECHO_REPLY
        && u16::from_be_bytes([b[ihl + 4], b[ihl + 5]]) == id
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
        let to: SocketAddr = (dst, 0).into();
        sock.send_to(&echo_request(id, seq, b"nectar-ping"), &to.into())
            .unwrap();
        let mut b = [0u8; 1500];
        while let Ok(n) = (&sock).read(&mut b) {
            if is_echo_reply(&b[..n], dst, id) {
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
#[derive(Debug, Clone, Copy)]
struct Sum(u64);

impl Sum {
    fn new() -> Sum {
        Sum(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, b: &[u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    // Input: an echo request. Output: its checksum verifies (the sum over the message with
    // the checksum in place is zero), and a reply built from it parses as one.
    #[test]
    fn echo_request_checksums_and_a_reply_parses() {
        let m = echo_request(0x1234, 7, b"nectar-ping");
        assert_eq!(checksum(&m), 0);
        assert_eq!(m[0], ICMP_ECHO_REQUEST);
        let mut ip4 = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
        ];
        let mut reply = m.clone();
        reply[0] = ICMP_ECHO_REPLY;
        ip4.extend_from_slice(&reply);
        assert!(is_echo_reply(&ip4, Ipv4Addr::new(10, 0, 0, 2), 0x1234));
        assert!(!is_echo_reply(&ip4, Ipv4Addr::new(10, 0, 0, 3), 0x1234));
        assert!(!is_echo_reply(&ip4, Ipv4Addr::new(10, 0, 0, 2), 0x1235));
    }
}
