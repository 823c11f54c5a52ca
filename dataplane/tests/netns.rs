//! Real packets from the Linux kernel: two network namespaces joined to the dataplane by veth
//! pairs on `afpacket` ports (the dataplane side of each veth lives in a third namespace).
//! Needs root and iproute2 (a test fails when `CI` is set and they are missing; it skips
//! with a message otherwise). Every namespace is removed by a drop guard, also when a test
//! fails (deleting a namespace deletes its veth ends). The veths keep the kernel's default
//! offloads (TX checksum, TSO/GSO), as a pod's do: TCP arrives as 64 KiB super-frames.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::ns::*;
use nectar_dataplane::Dataplane;
use nectar_dataplane::control::*;
use nectar_dataplane::port::sys::in_netns;

/// What every TCP test moves end to end (each way: the server echoes it).
const MIB16: usize = 16 << 20;

fn routed_setup(t: &Topo) -> Dataplane {
    t.wire("h1", "10.0.1.10/24", Some("10.0.1.1")).unwrap();
    t.wire("h2", "10.0.2.20/24", Some("10.0.2.1")).unwrap();
    let dp = t.dataplane();
    dp.apply(&routed_ops(&[("p1", "10.0.1.1/24"), ("p2", "10.0.2.1/24")]))
        .unwrap();
    dp
}

// Input: two namespaces in different subnets, the dataplane routing between them. Output:
// ping works both to the dataplane's address and across it, and 16 MiB of TCP arrive intact
// each way (checksums compared end to end), carried as super-frames.
#[test]
fn namespaces_ping_and_tcp_across_routing() {
    let Some(t) = Topo::new() else { return };
    let dp = routed_setup(&t);
    assert!(
        ping(
            &t.path("h1"),
            "10.0.1.1".parse().unwrap(),
            Duration::from_secs(5)
        ),
        "ping gateway"
    );
    assert!(
        ping(
            &t.path("h1"),
            "10.0.2.20".parse().unwrap(),
            Duration::from_secs(5)
        ),
        "ping across"
    );
    let (n, peer) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "10.0.2.20:5001".parse().unwrap(),
        MIB16,
    );
    assert_eq!(n, MIB16);
    assert_eq!(peer.ip(), "10.0.1.10".parse::<std::net::IpAddr>().unwrap());
    let s = dp.stats();
    // Counted as segments on the wire: 16 MiB are at least 11,000 full-size segments.
    assert!(s.interface("p1").unwrap().rx_packets > 11_000);
    assert!(s.interface("p2").unwrap().tx_packets > 11_000);
    assert!(s.interface("p2").unwrap().tx_bytes > MIB16 as u64);
}

// Input: two namespaces in one subnet, the dataplane bridging them. Output: ping and TCP work,
// and both hosts' MACs are learned.
#[test]
fn namespaces_ping_and_tcp_across_bridge() {
    let Some(t) = Topo::new() else { return };
    t.wire("h1", "10.0.0.1/24", None).unwrap();
    t.wire("h2", "10.0.0.2/24", None).unwrap();
    let dp = t.dataplane();
    dp.apply(&bridge_all("bd", &["p1", "p2"])).unwrap();
    assert!(ping(
        &t.path("h1"),
        "10.0.0.2".parse().unwrap(),
        Duration::from_secs(5)
    ));
    let (n, _) = tcp_transfer(
        &t.path("h2"),
        &t.path("h1"),
        "10.0.0.1:5002".parse().unwrap(),
        MIB16,
    );
    assert_eq!(n, MIB16);
    assert!(dp.l2_entries().len() >= 2);
}

// Input: an ingress ACL on the dataplane port facing h1 that denies ICMP and permits the rest.
// Output: ping fails, TCP still passes, and the deny rule counted hits.
#[test]
fn namespaces_acl_blocks_icmp_while_tcp_passes() {
    let Some(t) = Topo::new() else { return };
    let dp = routed_setup(&t);
    dp.apply(&[
        Op::SetAcl(AclConfig {
            name: "no-icmp".into(),
            rules: vec![
                AclRule {
                    proto: Some(1),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule::any(AclAction::Permit),
            ],
        }),
        up(
            "p1",
            InterfaceConfig {
                acl_in: Some("no-icmp".into()),
                ..Default::default()
            },
        ),
    ])
    .unwrap();
    assert!(
        !ping(
            &t.path("h1"),
            "10.0.2.20".parse().unwrap(),
            Duration::from_secs(1)
        ),
        "ICMP must be blocked"
    );
    let (n, _) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "10.0.2.20:5003".parse().unwrap(),
        MIB16,
    );
    assert_eq!(n, MIB16);
    assert!(dp.tables().acls["no-icmp"].hits()[0] > 0);
}

// Input: p1 inside, p2 outside with interface SNAT; h2 has no route back to 10.0.1.0/24.
// Output: ping and TCP work, and the TCP server in h2 sees the dataplane's outside address.
#[test]
fn namespaces_snat_rewrites_source() {
    let Some(t) = Topo::new() else { return };
    t.wire("h1", "10.0.1.10/24", Some("10.0.1.1")).unwrap();
    t.wire("h2", "10.0.2.20/24", None).unwrap();
    let dp = t.dataplane();
    dp.apply(&[
        up(
            "p1",
            InterfaceConfig {
                nat: NatRole::Inside,
                ..Default::default()
            },
        ),
        addr("p1", "10.0.1.1/24"),
        up(
            "p2",
            InterfaceConfig {
                nat: NatRole::Outside,
                ..Default::default()
            },
        ),
        addr("p2", "10.0.2.1/24"),
    ])
    .unwrap();
    assert!(ping(
        &t.path("h1"),
        "10.0.2.20".parse().unwrap(),
        Duration::from_secs(5)
    ));
    let (_, peer) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "10.0.2.20:5004".parse().unwrap(),
        MIB16,
    );
    assert_eq!(
        peer.ip(),
        "10.0.2.1".parse::<std::net::IpAddr>().unwrap(),
        "source NATed"
    );
    assert!(!dp.nat_sessions().is_empty());
}

// Input: a TAP port created in a host namespace, addressed on the host side, and a routed
// dataplane interface on it. Output: the host pings the dataplane's address through the TAP.
#[test]
fn tap_port_answers_ping_from_host() {
    let Some(t) = Topo::new() else { return };
    let tap = tap_in(&t, "h1", &t.dev("tp"), "10.0.5.10/24");
    let dp = dataplane_of(vec![("t0", Box::new(tap))]);
    dp.apply(&routed_ops(&[("t0", "10.0.5.1/24")])).unwrap();
    assert!(ping(
        &t.path("h1"),
        "10.0.5.1".parse().unwrap(),
        Duration::from_secs(5)
    ));
    assert!(dp.stats().interface("t0").unwrap().tx_packets >= 2);
}

// Input: a dataplane without ports whose port opener works inside a host namespace; a TAP
// port created on demand there (`Op::AddHostPort`), addressed on both sides; an afpacket
// port on a host interface that does not exist; the TAP port deleted.
// Output: the host pings the dataplane through the TAP device created on demand; the
// missing host interface is refused as not found and changes nothing; once deleted, the TAP
// device is gone from the namespace when the batch returns.
#[test]
fn tap_port_created_on_demand_answers_ping_and_goes_with_it() {
    use nectar_dataplane::dataplane::PortOpener;
    use nectar_dataplane::port::open_host;
    let Some(t) = Topo::tagged("eng") else { return };
    let path = t.path("h1");
    let opener: PortOpener = std::sync::Arc::new(move |spec: &HostPort| {
        let spec = spec.clone();
        in_netns(&path, move || open_host(&spec)).and_then(|r| r)
    });
    let dp = Dataplane::builder()
        .workers(1)
        .port_opener(opener)
        .build()
        .unwrap();
    let name = t.dev("tp");
    dp.apply(&[
        Op::AddHostPort {
            name: "t0".into(),
            spec: HostPort::Tap {
                host_interface: name.clone(),
            },
        },
        up("t0", InterfaceConfig::default()),
        addr("t0", "10.0.5.1/24"),
    ])
    .unwrap();
    let hns = t.ns("h1");
    ip(&["-n", &hns, "addr", "add", "10.0.5.10/24", "dev", &name]).unwrap();
    ip(&["-n", &hns, "link", "set", &name, "up"]).unwrap();
    assert!(ping(
        &t.path("h1"),
        "10.0.5.1".parse().unwrap(),
        Duration::from_secs(5)
    ));
    assert_eq!(dp.port(0).unwrap().driver, "tap");

    let tables = dp.tables();
    let e = dp
        .apply(&[Op::AddHostPort {
            name: "a0".into(),
            spec: HostPort::AfPacket {
                host_interface: "nxengnone".into(),
            },
        }])
        .unwrap_err();
    assert!(
        matches!(
            &e,
            nectar_dataplane::Error::PortOpen {
                not_found: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(std::sync::Arc::ptr_eq(&tables, &dp.tables()));

    dp.apply(&[Op::DelHostPort { name: "t0".into() }]).unwrap();
    assert!(
        ip(&["-n", &hns, "link", "show", &name]).is_err(),
        "the TAP device went with the port"
    );
}

/// What came back for an ICMP echo request.
#[derive(Debug, PartialEq, Eq)]
enum Echo {
    Reply,
    FragNeeded(u16),
    Nothing,
}

/// Sends one `size`-byte ICMP echo request (IP length) from namespace `ns_path` to `dst`,
/// with the DF bit set or clear, and waits up to `timeout` for the reply or a
/// "fragmentation needed" error about it. (Setting the DF behaviour of the socket needs
/// one setsockopt that socket2 does not wrap.)
#[allow(unsafe_code)]
fn ping_sized(
    ns_path: &str,
    dst: std::net::Ipv4Addr,
    size: usize,
    df: bool,
    timeout: Duration,
) -> Echo {
    use nectar_dataplane::Mac;
    use nectar_dataplane::headers::{Builder, ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, Icmp, Ipv4};
    use socket2::{Domain, Protocol, Socket, Type};
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let sock = in_netns(ns_path, || {
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
    })
    .unwrap()
    .unwrap();
    let mode: libc::c_int = if df {
        libc::IP_PMTUDISC_PROBE
    } else {
        libc::IP_PMTUDISC_DONT
    };
    // SAFETY: a valid socket and an int option value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&mode as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let id = ((std::process::id() + size as u32) & 0xffff) as u16;
    let to: std::net::SocketAddr = (dst, 0).into();
    let deadline = Instant::now() + timeout;
    let mut b = vec![0u8; 65536];
    let mut seq = 0;
    // Resent every half second: the first one may be lost to neighbor resolution.
    let mut next_send = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_send {
            seq += 1;
            let frame = Builder::eth(Mac::ZERO, Mac::ZERO)
                .ipv4(std::net::Ipv4Addr::UNSPECIFIED, dst)
                .echo_request(id, seq)
                .payload(&vec![0x5a; size - 28])
                .build();
            sock.send_to(&frame[34..], &to.into()).unwrap();
            next_send = Instant::now() + Duration::from_millis(500);
        }
        let Ok(n) = (&sock).read(&mut b) else {
            continue;
        };
        let Ok(h) = Ipv4::parse(&b[..n]) else {
            continue;
        };
        let Ok(i) = Icmp::parse(&b[h.header_len..n]) else {
            continue;
        };
        if i.typ == ICMP_ECHO_REPLY && i.echo_id() == id && h.src == dst {
            assert_eq!(h.total_len as usize, size, "reply of full size");
            return Echo::Reply;
        }
        if i.typ == ICMP_DEST_UNREACH && i.code == 4 {
            // The quoted echo request follows the 8-byte ICMP header.
            let q = h.header_len + 8;
            if n >= q + 28 && u16::from_be_bytes([b[q + 24], b[q + 25]]) == id {
                return Echo::FragNeeded((i.rest & 0xffff) as u16);
            }
        }
    }
    Echo::Nothing
}

/// The kernel's IPv4 counter `name` (from /proc/net/snmp) in namespace `ns`.
fn ip_counter(ns: &str, name: &str) -> u64 {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "cat", "/proc/net/snmp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().filter(|l| l.starts_with("Ip:"));
    let (names, values) = (lines.next().unwrap(), lines.next().unwrap());
    let i = names.split_whitespace().position(|n| n == name).unwrap();
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

// Input: the dataplane routes h1 → h2 with an IP MTU of 1000 on its interface toward h2.
// Output: a 256 KB TCP transfer completes (PMTU discovery through the dataplane's
// "fragmentation needed"); a 1400-byte ping without DF to a second address of h2 is
// fragmented by the dataplane (h1 sent it whole, h2's kernel reassembled it) and answered;
// the same ping with DF gets "fragmentation needed" with MTU 1000 back.
#[test]
fn namespaces_fragmentation_and_path_mtu_discovery() {
    let Some(t) = Topo::new() else { return };
    let dp = routed_setup(&t);
    dp.apply(&[up(
        "p2",
        InterfaceConfig {
            mtu: 1000,
            ..Default::default()
        },
    )])
    .unwrap();
    ip(&[
        "-n",
        &t.ns("h2"),
        "addr",
        "add",
        "10.0.2.21/24",
        "dev",
        &t.dev("eh2"),
    ])
    .unwrap();
    let (n, _) = tcp_transfer(
        &t.path("h1"),
        &t.path("h2"),
        "10.0.2.20:5005".parse().unwrap(),
        256 << 10,
    );
    assert_eq!(n, 256 << 10);
    let h1 = t.path("h1");
    let dst = "10.0.2.21".parse().unwrap();
    let (made, reasm) = (
        ip_counter(&t.ns("h1"), "FragCreates"),
        ip_counter(&t.ns("h2"), "ReasmOKs"),
    );
    assert_eq!(
        ping_sized(&h1, dst, 1400, false, Duration::from_secs(5)),
        Echo::Reply
    );
    assert_eq!(
        ip_counter(&t.ns("h1"), "FragCreates"),
        made,
        "h1 sent the request whole"
    );
    assert!(
        ip_counter(&t.ns("h2"), "ReasmOKs") > reasm,
        "h2 reassembled the dataplane's fragments"
    );
    assert_eq!(
        ping_sized(&h1, dst, 1400, true, Duration::from_secs(5)),
        Echo::FragNeeded(1000)
    );
    let s = dp.stats();
    assert!(
        s.drops
            .iter()
            .any(|d| d.node == "ip4-icmp-error" && d.count > 0),
        "frag-needed errors were sent: {:?}",
        s.drops
    );
}
