//! ACLs, connection tracking and NAT44 through the whole graph on pg ports.

mod common;

use std::time::Duration;

use common::*;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;

/// pg0 = inside 10.0.1.1/24 (host 10.0.1.10), pg1 = outside 198.51.100.1/24 (server .9).
fn lab() -> Lab {
    let lab = Lab::new(2);
    lab.routed("pg0", &["10.0.1.1/24"]);
    lab.routed("pg1", &["198.51.100.1/24"]);
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.arp_from(1, host(2), "198.51.100.9", "198.51.100.1");
    lab
}

fn iface(acl_in: Option<&str>, nat: NatRole) -> InterfaceConfig {
    InterfaceConfig {
        admin_up: true,
        acl_in: acl_in.map(Into::into),
        nat,
        ..Default::default()
    }
}

/// [`lab`] with pg0 as NAT inside and pg1 as outside, plus `extra` ops.
fn nat_lab(extra: Vec<Op>) -> Lab {
    let lab = lab();
    let mut ops = vec![
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(None, NatRole::Inside),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: iface(None, NatRole::Outside),
        },
    ];
    ops.extend(extra);
    lab.apply(ops);
    lab
}

fn tcp(
    src_mac_host: u8,
    to_port: usize,
    src: &str,
    dst: &str,
    sport: u16,
    dport: u16,
    flags: u8,
) -> Vec<u8> {
    Builder::eth(port_mac(to_port), host(src_mac_host))
        .ipv4(v4(src), v4(dst))
        .tcp(sport, dport, flags)
        .build()
}

// Input: an ingress ACL denying ICMP and permitting TCP. Output: the ping is dropped (rule
// hit counted), the TCP segment is forwarded.
#[test]
fn acl_blocks_icmp_and_passes_tcp() {
    let lab = lab();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "no-ping".into(),
            rules: vec![
                AclRule {
                    proto: Some(PROTO_ICMP),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule {
                    proto: Some(PROTO_TCP),
                    dst_ports: Some((80, 80)),
                    ..AclRule::any(AclAction::Permit)
                },
            ],
        }),
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(Some("no-ping"), NatRole::None),
        },
    ]);
    let ping = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("198.51.100.9"))
        .echo_request(1, 1)
        .build();
    lab.send(
        0,
        &[
            ping,
            tcp(1, 0, "10.0.1.10", "198.51.100.9", 4000, 80, TCP_SYN),
        ],
    );
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    assert_eq!(ip4_of(&out[0]).proto, PROTO_TCP);
    // Port 22 matches no rule: implicit deny.
    lab.send(
        0,
        &[tcp(1, 0, "10.0.1.10", "198.51.100.9", 4000, 22, TCP_SYN)],
    );
    assert!(lab.out(1).is_empty());
    let s = lab.stats();
    assert_eq!(s.drop_count("acl-in-ip4", "denied by rule"), 1);
    assert_eq!(s.drop_count("acl-in-ip4", "denied (no rule matched)"), 1);
    assert_eq!(lab.dp.tables().acls["no-ping"].hits(), vec![1, 1]);
}

// Input: inside ACL permit-and-reflect, outside ACL deny all. Output: outside-initiated
// traffic is dropped; replies to inside-initiated flows come back in; after the session
// times out, replies are dropped again.
#[test]
fn reflexive_acl_lets_replies_back_until_timeout() {
    let lab = lab();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "out".into(),
            rules: vec![AclRule::any(AclAction::PermitReflect)],
        }),
        Op::SetAcl(AclConfig {
            name: "deny".into(),
            rules: vec![AclRule::any(AclAction::Deny)],
        }),
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(Some("out"), NatRole::None),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: iface(Some("deny"), NatRole::None),
        },
        Op::SetLimits(Limits {
            udp_timeout: Duration::from_secs(30),
            ..Default::default()
        }),
    ]);
    let reply = udp4(host(2), port_mac(1), "198.51.100.9", "10.0.1.10", 53, 5353);
    lab.send(1, std::slice::from_ref(&reply));
    assert!(lab.out(0).is_empty(), "unsolicited traffic denied");
    lab.send(
        0,
        &[udp4(
            host(1),
            port_mac(0),
            "10.0.1.10",
            "198.51.100.9",
            5353,
            53,
        )],
    );
    assert_eq!(lab.out(1).len(), 1);
    assert_eq!(lab.dp.conntrack_sessions().len(), 1);
    lab.send(1, std::slice::from_ref(&reply));
    assert_eq!(lab.out(0).len(), 1, "reply reflected back in");
    lab.clock.advance(Duration::from_secs(31));
    lab.send(1, &[reply]);
    assert!(lab.out(0).is_empty(), "session timed out");
    lab.dp.maintenance();
    assert_eq!(lab.dp.conntrack_sessions().len(), 0);
}

// Input: TCP handshake through a reflexive ACL. Output: the session reaches established, and
// a RST moves it to closing (short timeout).
#[test]
fn conntrack_follows_tcp_state() {
    let lab = lab();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "out".into(),
            rules: vec![AclRule::any(AclAction::PermitReflect)],
        }),
        Op::SetAcl(AclConfig {
            name: "deny".into(),
            rules: vec![AclRule::any(AclAction::Deny)],
        }),
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(Some("out"), NatRole::None),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: iface(Some("deny"), NatRole::None),
        },
    ]);
    lab.send(
        0,
        &[tcp(1, 0, "10.0.1.10", "198.51.100.9", 40000, 443, TCP_SYN)],
    );
    assert_eq!(lab.dp.conntrack_sessions()[0].phase, 0);
    lab.send(
        1,
        &[tcp(
            2,
            1,
            "198.51.100.9",
            "10.0.1.10",
            443,
            40000,
            TCP_SYN | TCP_ACK,
        )],
    );
    assert_eq!(lab.out(0).len(), 1);
    assert_eq!(lab.dp.conntrack_sessions()[0].phase, 1, "established");
    lab.send(
        1,
        &[tcp(2, 1, "198.51.100.9", "10.0.1.10", 443, 40000, TCP_RST)],
    );
    assert_eq!(lab.dp.conntrack_sessions()[0].phase, 2, "closing");
}

// Input: pg0 inside, pg1 outside with interface SNAT. Output: the source is rewritten to the
// outside address (checksums valid), the reply is translated back to the inside host, a
// second inside host gets a different port, and unknown return traffic is not translated.
#[test]
fn nat44_interface_snat_both_directions() {
    let lab = nat_lab(vec![]);
    lab.send(
        0,
        &[udp4(
            host(1),
            port_mac(0),
            "10.0.1.10",
            "198.51.100.9",
            5000,
            53,
        )],
    );
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let h = ip4_of(&out[0]);
    assert_eq!(h.src, v4("198.51.100.1"));
    let u = Udp::parse(&out[0][34..]).unwrap();
    let mut copy = out[0][14..].to_vec();
    fix_l4_checksum(&mut copy);
    assert_eq!(
        &copy[..],
        &out[0][14..],
        "UDP checksum valid after translation"
    );
    assert_eq!(checksum(&out[0][14..34]), 0);
    let outside_port = u.src_port;

    lab.send(
        1,
        &[udp4(
            host(2),
            port_mac(1),
            "198.51.100.9",
            "198.51.100.1",
            53,
            outside_port,
        )],
    );
    let back = lab.out(0);
    assert_eq!(back.len(), 1);
    let h = ip4_of(&back[0]);
    assert_eq!(h.dst, v4("10.0.1.10"));
    assert_eq!(Udp::parse(&back[0][34..]).unwrap().dst_port, 5000);

    lab.arp_from(0, host(3), "10.0.1.11", "10.0.1.1");
    lab.send(
        0,
        &[udp4(
            host(3),
            port_mac(0),
            "10.0.1.11",
            "198.51.100.9",
            5000,
            53,
        )],
    );
    let out = lab.out(1);
    assert_ne!(Udp::parse(&out[0][34..]).unwrap().src_port, outside_port);
    assert_eq!(lab.dp.nat_sessions().len(), 2);
    assert_eq!(lab.stats().nat_sessions, 2);

    // ICMP echo through PAT and back.
    let ping = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("198.51.100.9"))
        .echo_request(99, 1)
        .build();
    lab.send(0, &[ping]);
    let out = lab.out(1);
    let id = Icmp::parse(&out[0][34..]).unwrap().echo_id();
    assert_eq!(checksum(&out[0][34..]), 0);
    let pong = Builder::eth(port_mac(1), host(2))
        .ipv4(v4("198.51.100.9"), v4("198.51.100.1"))
        .icmp(ICMP_ECHO_REPLY, 0, (id as u32) << 16 | 1)
        .build();
    lab.send(1, &[pong]);
    let back = lab.out(0);
    assert_eq!(back.len(), 1);
    assert_eq!(Icmp::parse(&back[0][34..]).unwrap().echo_id(), 99);
    assert_eq!(ip4_of(&back[0]).dst, v4("10.0.1.10"));
}

// Input: a static 1:1 mapping. Output: outbound source and inbound destination translated
// without sessions.
#[test]
fn nat44_static_mapping() {
    let lab = nat_lab(vec![Op::AddNatStatic {
        local: v4("10.0.1.10"),
        external: v4("198.51.100.50"),
    }]);
    lab.send(
        0,
        &[tcp(1, 0, "10.0.1.10", "198.51.100.9", 1234, 80, TCP_SYN)],
    );
    let out = lab.out(1);
    assert_eq!(ip4_of(&out[0]).src, v4("198.51.100.50"));
    assert_eq!(Tcp::parse(&out[0][34..]).unwrap().src_port, 1234);
    lab.send(
        1,
        &[tcp(
            2,
            1,
            "198.51.100.9",
            "198.51.100.50",
            80,
            1234,
            TCP_SYN | TCP_ACK,
        )],
    );
    let back = lab.out(0);
    assert_eq!(ip4_of(&back[0]).dst, v4("10.0.1.10"));
    assert!(lab.dp.nat_sessions().is_empty());
}

// Input: a session limit of 1 and two inside flows. Output: the second is dropped and a
// table-full event is published.
#[test]
fn nat44_session_table_is_bounded() {
    let lab = lab();
    let events = lab.dp.subscribe();
    lab.apply(vec![
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(None, NatRole::Inside),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: iface(None, NatRole::Outside),
        },
        Op::SetLimits(Limits {
            max_nat_sessions: 1,
            ..Default::default()
        }),
    ]);
    lab.send(
        0,
        &[
            udp4(host(1), port_mac(0), "10.0.1.10", "198.51.100.9", 1, 53),
            udp4(host(1), port_mac(0), "10.0.1.10", "198.51.100.9", 2, 53),
        ],
    );
    assert_eq!(lab.out(1).len(), 1);
    assert_eq!(
        lab.stats().drop_count("nat44-in2out", "session table full"),
        1
    );
    let got: Vec<_> = events.try_iter().collect();
    assert!(
        got.contains(&nectar_dataplane::Event::TableFull {
            table: "nat44",
            limit: 1
        }),
        "{got:?}"
    );
}

/// An ICMP error of `typ`/`code` from `from` to `to`, quoting the first 28 bytes of the IP
/// packet `quoted` (as a router does), arriving on port `port`.
fn icmp_error(
    port: usize,
    from_host: u8,
    from: &str,
    to: &str,
    typ: u8,
    code: u8,
    quoted: &[u8],
) -> Vec<u8> {
    Builder::eth(port_mac(port), host(from_host))
        .ipv4(v4(from), v4(to))
        .icmp(typ, code, 0)
        .payload(&quoted[..28.min(quoted.len())])
        .build()
}

// Input: a UDP flow and a ping from the inside through interface SNAT, then a router outside
// answering each translated packet with an ICMP error (port unreachable, time exceeded) to
// the outside address. Output: the errors reach the inside host with the outer destination
// and the quoted packet translated back (address, port / echo id, checksums valid).
#[test]
fn nat44_translates_icmp_errors_back_to_the_inside() {
    let lab = nat_lab(vec![]);
    lab.send(
        0,
        &[udp4(
            host(1),
            port_mac(0),
            "10.0.1.10",
            "198.51.100.9",
            5000,
            53,
        )],
    );
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let err = icmp_error(
        1,
        2,
        "198.51.100.9",
        "198.51.100.1",
        ICMP_DEST_UNREACH,
        3,
        &out[0][14..],
    );
    lab.send(1, &[err]);
    let back = lab.out(0);
    assert_eq!(back.len(), 1, "ICMP error forwarded to the inside host");
    let b = &back[0];
    assert_eq!(ip4_of(b).dst, v4("10.0.1.10"));
    assert_eq!(checksum(&b[14..34]), 0);
    assert_eq!(checksum(&b[34..]), 0, "ICMP checksum valid");
    let icmp = Icmp::parse(&b[34..]).unwrap();
    assert_eq!((icmp.typ, icmp.code), (ICMP_DEST_UNREACH, 3));
    let q = &b[42..];
    assert_eq!(
        &q[12..16],
        &v4("10.0.1.10").octets(),
        "quoted source back to inside"
    );
    assert_eq!(
        u16::from_be_bytes([q[20], q[21]]),
        5000,
        "quoted source port back"
    );
    assert_eq!(checksum(&q[..20]), 0, "quoted header checksum valid");

    // A ping with TTL running out outside: time exceeded quoting the translated echo.
    let ping = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("203.0.113.5"))
        .echo_request(77, 1)
        .build();
    lab.apply(vec![Op::AddRoute {
        vrf: "default".into(),
        prefix: net("203.0.113.0/24"),
        target: RouteTarget::NextHops(vec![NextHop::via(ip("198.51.100.9"))]),
    }]);
    lab.send(0, &[ping]);
    let out = lab.out(1);
    let id = Icmp::parse(&out[0][34..]).unwrap().echo_id();
    let te = icmp_error(
        1,
        2,
        "198.51.100.9",
        "198.51.100.1",
        ICMP_TIME_EXCEEDED,
        0,
        &out[0][14..],
    );
    lab.send(1, &[te]);
    let back = lab.out(0);
    assert_eq!(back.len(), 1);
    let q = &back[0][42..];
    assert_eq!(checksum(&back[0][34..]), 0);
    assert_eq!(&q[12..16], &v4("10.0.1.10").octets());
    assert_eq!(
        u16::from_be_bytes([q[24], q[25]]),
        77,
        "quoted echo id back to {id}'s origin"
    );
    assert_eq!(
        checksum(&q[20..28]),
        0,
        "quoted ICMP header checksum (8 bytes, no data) valid"
    );

    // An error quoting a flow without a session is not translated (and not forwarded).
    let stray = udp4(host(9), host(9), "198.51.100.1", "198.51.100.9", 6000, 53);
    lab.send(
        1,
        &[icmp_error(
            1,
            2,
            "198.51.100.9",
            "198.51.100.1",
            ICMP_DEST_UNREACH,
            3,
            &stray[14..],
        )],
    );
    assert!(lab.out(0).is_empty());
}

// Input: an outside host's UDP flow to an inside server through a static mapping... the
// inside server answers with port unreachable. Output: the error leaves with its source and
// the quoted destination translated to the external address.
#[test]
fn nat44_static_mapping_translates_icmp_errors_from_inside() {
    let lab = nat_lab(vec![Op::AddNatStatic {
        local: v4("10.0.1.10"),
        external: v4("198.51.100.50"),
    }]);
    lab.send(
        1,
        &[udp4(
            host(2),
            port_mac(1),
            "198.51.100.9",
            "198.51.100.50",
            4000,
            161,
        )],
    );
    let inside = lab.out(0);
    assert_eq!(inside.len(), 1);
    let err = icmp_error(
        0,
        1,
        "10.0.1.10",
        "198.51.100.9",
        ICMP_DEST_UNREACH,
        3,
        &inside[0][14..],
    );
    lab.send(0, &[err]);
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    assert_eq!(ip4_of(&out[0]).src, v4("198.51.100.50"));
    assert_eq!(checksum(&out[0][34..]), 0);
    let q = &out[0][42..];
    assert_eq!(
        &q[16..20],
        &v4("198.51.100.50").octets(),
        "quoted destination external"
    );
    assert_eq!(checksum(&q[..20]), 0);
}

// Input: a reflexive ACL on the outside interface (only replies of flows started inside come
// in); an inside TCP flow, then a router's "fragmentation needed" about it. Output: the ICMP
// error is let in as related to the tracked flow, an unrelated one is dropped.
#[test]
fn reflexive_acl_lets_related_icmp_errors_in() {
    let lab = lab();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "out".into(),
            rules: vec![AclRule::any(AclAction::PermitReflect)],
        }),
        Op::SetAcl(AclConfig {
            name: "in".into(),
            rules: vec![AclRule::any(AclAction::Deny)],
        }),
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(Some("out"), NatRole::None),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: iface(Some("in"), NatRole::None),
        },
    ]);
    let syn = tcp(1, 0, "10.0.1.10", "198.51.100.9", 40000, 80, TCP_SYN);
    lab.send(0, std::slice::from_ref(&syn));
    assert_eq!(lab.out(1).len(), 1);
    let fneed = icmp_error(
        1,
        2,
        "198.51.100.9",
        "10.0.1.10",
        ICMP_DEST_UNREACH,
        4,
        &syn[14..],
    );
    lab.send(1, &[fneed]);
    assert_eq!(lab.out(0).len(), 1, "related ICMP error let in");
    let other = tcp(1, 0, "10.0.1.10", "198.51.100.9", 40001, 80, TCP_SYN);
    lab.send(
        1,
        &[icmp_error(
            1,
            2,
            "198.51.100.9",
            "10.0.1.10",
            ICMP_DEST_UNREACH,
            4,
            &other[14..],
        )],
    );
    assert!(lab.out(0).is_empty(), "unrelated ICMP error denied");
}

// Input: pg0 NAT inside with a reflexive ACL "out" (one rule) on ingress, pg1 outside; a
// trace of the next 2 packets; a UDP datagram from the inside host, then the server's reply.
// Output: the datagram's trace names the ACL rule (RuleRef "out" rule 0, "permit and
// reflect"), the conntrack session created and the source translation, and leaves pg1 with
// the translated headers; the reply's trace shows the destination translated back and leaves
// pg0 addressed to the inside host.
#[test]
fn the_trace_shows_the_acl_rule_conntrack_and_nat() {
    let lab = nat_lab(vec![
        Op::SetAcl(AclConfig {
            name: "out".into(),
            rules: vec![AclRule::any(AclAction::PermitReflect)],
        }),
        Op::SetInterface {
            name: "pg0".into(),
            config: iface(Some("out"), NatRole::Inside),
        },
    ]);
    lab.dp.trace_start(2);
    lab.send(
        0,
        &[udp4(
            host(1),
            port_mac(0),
            "10.0.1.10",
            "198.51.100.9",
            5000,
            53,
        )],
    );
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let outside_port = Udp::parse(&out[0][34..]).unwrap().src_port;
    lab.send(
        1,
        &[udp4(
            host(2),
            port_mac(1),
            "198.51.100.9",
            "198.51.100.1",
            53,
            outside_port,
        )],
    );
    assert_eq!(lab.out(0).len(), 1);
    let tr = lab.dp.trace();
    let of = |packet: u32| -> Vec<_> { tr.iter().filter(|l| l.packet == packet).collect() };
    let first = of(1);
    let acl = first
        .iter()
        .find(|l| l.rule.is_some())
        .unwrap_or_else(|| panic!("no ACL decision: {tr:#?}"));
    assert_eq!(
        acl.rule,
        Some(nectar_dataplane::graph::trace::RuleRef {
            acl: "out".into(),
            rule: Some(0)
        })
    );
    assert_eq!(acl.text, "acl out: rule 1 matched, permit and reflect");
    let has = |lines: &[&nectar_dataplane::graph::trace::TraceLine], node: &str, text: &str| {
        lines
            .iter()
            .any(|l| l.node == node && l.text.contains(text))
    };
    assert!(
        has(
            &first,
            acl.node,
            "conntrack session created for 10.0.1.10 > 198.51.100.9"
        ),
        "{tr:#?}"
    );
    assert!(
        has(
            &first,
            "nat44-in2out",
            &format!("src -> 198.51.100.1:{outside_port}")
        ),
        "{tr:#?}"
    );
    assert!(
        has(
            &first,
            "port-output",
            &format!("ipv4 198.51.100.1 > 198.51.100.9 udp {outside_port} > 53")
        ),
        "{tr:#?}"
    );
    let second = of(2);
    assert!(
        has(&second, "nat44-out2in", "dst -> 10.0.1.10:5000"),
        "{tr:#?}"
    );
    assert!(
        has(
            &second,
            "port-output",
            "ipv4 198.51.100.9 > 10.0.1.10 udp 53 > 5000"
        ),
        "{tr:#?}"
    );
}
