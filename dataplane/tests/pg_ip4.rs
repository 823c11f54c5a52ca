//! IPv4 routing through the whole graph on pg ports: ARP, forwarding with TTL and checksum,
//! ICMP echo and errors, ECMP, VRFs.

mod common;

use common::*;
use nectar_dataplane::Mac;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;

fn two_subnets() -> Lab {
    let lab = Lab::new(2);
    lab.routed("pg0", &["10.0.1.1/24"]);
    lab.routed("pg1", &["10.0.2.1/24"]);
    lab
}

// Input: an ARP request for the interface address. Output: an ARP reply with the port MAC,
// and the requester is in the neighbor table.
#[test]
fn answers_arp_for_own_address() {
    let lab = two_subnets();
    let req = Builder::eth(Mac::BROADCAST, host(1))
        .arp(
            ARP_REQUEST,
            host(1),
            v4("10.0.1.10"),
            Mac::ZERO,
            v4("10.0.1.1"),
        )
        .build();
    lab.send(0, &[req]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!(
        (e.dst, e.src, e.ethertype),
        (host(1), port_mac(0), ETH_P_ARP)
    );
    let a = Arp::parse(&out[0][14..]).unwrap();
    assert_eq!(
        (a.op, a.sha, a.spa, a.tha, a.tpa),
        (
            ARP_REPLY,
            port_mac(0),
            v4("10.0.1.1"),
            host(1),
            v4("10.0.1.10")
        )
    );
    assert_eq!(lab.dp.neighbors().len(), 1);
    // Not for us: no reply.
    let other = Builder::eth(Mac::BROADCAST, host(1))
        .arp(
            ARP_REQUEST,
            host(1),
            v4("10.0.1.10"),
            Mac::ZERO,
            v4("10.0.1.99"),
        )
        .build();
    lab.send(0, &[other]);
    assert!(lab.out(0).is_empty());
}

// Input: a UDP packet to a host in the other subnet, neighbor not yet known. Output: an ARP
// request on the egress port and the packet dropped; after the ARP reply, the next packet is
// forwarded with TTL-1, a valid header checksum, and rewritten MACs.
#[test]
fn routes_between_subnets_resolving_arp() {
    let lab = two_subnets();
    let pkt = udp4(host(1), port_mac(0), "10.0.1.10", "10.0.2.20", 1000, 2000);
    lab.send(0, std::slice::from_ref(&pkt));
    let out = lab.out(1);
    assert_eq!(out.len(), 1, "one ARP request");
    let a = Arp::parse(&out[0][14..]).unwrap();
    assert_eq!(
        (a.op, a.spa, a.tpa),
        (ARP_REQUEST, v4("10.0.2.1"), v4("10.0.2.20"))
    );
    assert_eq!(
        lab.stats().drop_count("ip4-rewrite", "neighbor unresolved"),
        1
    );

    let reply = Builder::eth(port_mac(1), host(2))
        .arp(
            ARP_REPLY,
            host(2),
            v4("10.0.2.20"),
            port_mac(1),
            v4("10.0.2.1"),
        )
        .build();
    lab.send(1, &[reply]);
    lab.send(0, &[pkt]);
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!((e.dst, e.src), (host(2), port_mac(1)));
    let h = ip4_of(&out[0]);
    assert_eq!(h.ttl, 63);
    assert_eq!(checksum(&out[0][14..34]), 0);
    assert_eq!(h.dst, v4("10.0.2.20"));
    let s = lab.stats();
    let pg1 = s.interface("pg1").unwrap();
    assert_eq!(pg1.tx_unicast, 1);
    assert_eq!(pg1.tx_broadcast, 1);
    assert!(s.interface("pg0").unwrap().rx_packets >= 2);
}

// Input: ICMP echo request to the interface address. Output: an echo reply back to the host.
#[test]
fn answers_ping_to_own_address() {
    let lab = two_subnets();
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    let ping = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("10.0.2.1"))
        .echo_request(7, 1)
        .payload(b"hello")
        .build();
    lab.send(0, &[ping]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let h = ip4_of(&out[0]);
    assert_eq!(
        (h.src, h.dst, h.proto),
        (v4("10.0.2.1"), v4("10.0.1.10"), PROTO_ICMP)
    );
    let icmp = Icmp::parse(&out[0][34..]).unwrap();
    assert_eq!((icmp.typ, icmp.echo_id()), (ICMP_ECHO_REPLY, 7));
    assert_eq!(checksum(&out[0][34..]), 0, "ICMP checksum valid");
    assert_eq!(&out[0][42..], b"hello");
}

// Input: a packet with TTL 1 to be forwarded. Output: ICMP time exceeded from the ingress
// interface address, quoting the original header.
#[test]
fn ttl_expiry_sends_time_exceeded() {
    let lab = two_subnets();
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    let f = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("10.0.2.20"))
        .ttl(1)
        .udp(1, 2)
        .build();
    lab.send(0, &[f]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let h = ip4_of(&out[0]);
    assert_eq!((h.src, h.dst), (v4("10.0.1.1"), v4("10.0.1.10")));
    let icmp = Icmp::parse(&out[0][34..]).unwrap();
    assert_eq!((icmp.typ, icmp.code), (ICMP_TIME_EXCEEDED, 0));
    let quoted = Ipv4::parse(&out[0][42..]).unwrap();
    assert_eq!(quoted.dst, v4("10.0.2.20"));
    assert!(lab.out(1).is_empty());
    assert_eq!(
        lab.stats()
            .drop_count("ip4-icmp-error", "ttl expired (time-exceeded sent)"),
        1
    );
}

// Input: a packet to a destination without a route. Output: ICMP net unreachable.
#[test]
fn no_route_sends_unreachable() {
    let lab = two_subnets();
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.send(
        0,
        &[udp4(host(1), port_mac(0), "10.0.1.10", "192.0.2.1", 1, 2)],
    );
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let icmp = Icmp::parse(&out[0][34..]).unwrap();
    assert_eq!((icmp.typ, icmp.code), (ICMP_DEST_UNREACH, 0));
}

// Input: a static route with two next hops and many flows. Output: both next hops carry
// traffic, and each flow always takes the same one.
#[test]
fn ecmp_spreads_flows_and_keeps_each_on_one_path() {
    let lab = Lab::new(3);
    lab.routed("pg0", &["10.0.1.1/24"]);
    lab.routed("pg1", &["10.0.2.1/24"]);
    lab.routed("pg2", &["10.0.3.1/24"]);
    lab.apply(vec![Op::AddRoute {
        vrf: "default".into(),
        prefix: net("198.51.100.0/24"),
        target: RouteTarget::NextHops(vec![
            NextHop::via(ip("10.0.2.2")),
            NextHop::via(ip("10.0.3.2")),
        ]),
    }]);
    lab.arp_from(1, host(2), "10.0.2.2", "10.0.2.1");
    lab.arp_from(2, host(3), "10.0.3.2", "10.0.3.1");
    let flows: Vec<_> = (0..64)
        .map(|i| {
            udp4(
                host(1),
                port_mac(0),
                "10.0.1.10",
                "198.51.100.7",
                1000 + i,
                53,
            )
        })
        .collect();
    lab.send(0, &flows);
    let (a, b) = (lab.out(1).len(), lab.out(2).len());
    assert_eq!(a + b, 64);
    assert!(a > 8 && b > 8, "spread {a}/{b}");
    // Same flows again: same split.
    lab.send(0, &flows);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (a, b));
}

// Input: overlapping prefixes in two VRFs. Output: each interface routes in its own VRF.
#[test]
fn vrfs_are_separate_routing_tables() {
    let lab = Lab::new(3);
    lab.apply(vec![Op::AddVrf { name: "red".into() }]);
    lab.routed("pg0", &["10.0.1.1/24"]);
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            vrf: "red".into(),
            ..Default::default()
        },
    }]);
    lab.apply(vec![Op::AddAddress {
        interface: "pg1".into(),
        prefix: net("10.0.1.1/24"),
    }]);
    lab.routed("pg2", &["10.0.9.1/24"]);
    lab.apply(vec![Op::AddRoute {
        vrf: "default".into(),
        prefix: net("0.0.0.0/0"),
        target: RouteTarget::NextHops(vec![NextHop::via(ip("10.0.9.2"))]),
    }]);
    lab.arp_from(2, host(9), "10.0.9.2", "10.0.9.1");
    lab.arp_from(1, host(5), "10.0.1.10", "10.0.1.1");
    // In the red VRF there is no default route: unreachable comes back on pg1.
    lab.send(
        1,
        &[udp4(host(5), port_mac(1), "10.0.1.10", "8.8.8.8", 1, 2)],
    );
    assert!(lab.out(2).is_empty());
    assert_eq!(
        Icmp::parse(&lab.out(1)[0][34..]).unwrap().typ,
        ICMP_DEST_UNREACH
    );
    // In the default VRF the same packet goes out pg2.
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.send(
        0,
        &[udp4(host(1), port_mac(0), "10.0.1.10", "8.8.8.8", 1, 2)],
    );
    assert_eq!(lab.out(2).len(), 1);
    assert!(lab.dp.lookup("red", ip("8.8.8.8")).is_none());
}

// Input: a 1400-byte DF packet toward a 1280-MTU interface. Output: ICMP fragmentation
// needed carrying the MTU.
#[test]
fn mtu_exceeded_with_df_sends_frag_needed() {
    let lab = two_subnets();
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            mtu: 1280,
            ..Default::default()
        },
    }]);
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.arp_from(1, host(2), "10.0.2.20", "10.0.2.1");
    let f = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("10.0.2.20"))
        .udp(1, 2)
        .payload(&[0; 1372])
        .build();
    let f_hdr = f[14..34].to_vec();
    lab.send(0, &[f]);
    assert!(lab.out(1).is_empty());
    let out = lab.out(0);
    let icmp = Icmp::parse(&out[0][34..]).unwrap();
    assert_eq!(
        (icmp.typ, icmp.code, icmp.rest & 0xffff),
        (ICMP_DEST_UNREACH, 4, 1280)
    );
    assert_eq!(
        &out[0][42..62],
        &f_hdr[..],
        "quotes the header as the source sent it (TTL not yet decremented)"
    );
}

// Input: frames on an admin-down interface. Output: dropped and counted.
#[test]
fn admin_down_interface_drops() {
    let lab = two_subnets();
    lab.apply(vec![Op::SetInterface {
        name: "pg0".into(),
        config: InterfaceConfig::default(),
    }]);
    lab.send(
        0,
        &[udp4(host(1), port_mac(0), "10.0.1.10", "10.0.2.20", 1, 2)],
    );
    assert!(lab.out(1).is_empty());
    let s = lab.stats();
    assert_eq!(s.drop_count("ethernet-input", "interface admin down"), 1);
    assert_eq!(s.interface("pg0").unwrap().rx_drops, 1);
    assert!(!s.interface("pg0").unwrap().oper_up);
}

/// Clears the DF bit of the IPv4 packet in an untagged frame (header checksum fixed).
fn clear_df(f: &mut [u8]) {
    f[20] &= !0x40;
    fix_ipv4_checksum(&mut f[14..]);
}

// Input: a 1000-byte UDP datagram without DF routed toward a 576-MTU interface. Output: it
// leaves in fragments of at most 576 bytes with payloads in multiples of 8, offsets and MF
// set, valid header checksums and the TTL decremented; reassembled, the datagram is the
// original one (UDP checksum valid).
#[test]
fn too_big_without_df_is_fragmented() {
    let lab = two_subnets();
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            mtu: 576,
            ..Default::default()
        },
    }]);
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.arp_from(1, host(2), "10.0.2.20", "10.0.2.1");
    let payload: Vec<u8> = (0..972u32).map(|i| (i % 251) as u8).collect();
    let mut f = Builder::eth(port_mac(0), host(1))
        .ipv4(v4("10.0.1.10"), v4("10.0.2.20"))
        .udp(1111, 2222)
        .payload(&payload)
        .build();
    clear_df(&mut f);
    let orig = f[14..].to_vec();
    lab.send(0, &[f]);
    let out = lab.out(1);
    assert_eq!(out.len(), 2, "1000 bytes over MTU 576: two fragments");
    let mut data = vec![0u8; 980];
    let mut seen = 0;
    for (k, fr) in out.iter().enumerate() {
        assert_eq!(&fr[0..6], &host(2).0);
        let h = ip4_of(fr);
        assert!(h.total_len as usize <= 576);
        assert_eq!(checksum(&fr[14..34]), 0, "header checksum");
        assert_eq!(h.ttl, 63);
        let fo = u16::from_be_bytes([fr[20], fr[21]]);
        let (off, mf) = (((fo & 0x1fff) as usize) * 8, fo & 0x2000 != 0);
        assert_eq!(mf, k == 0, "MF on all but the last fragment");
        let body = &fr[34..14 + h.total_len as usize];
        if mf {
            assert_eq!(body.len() % 8, 0);
        }
        data[off..off + body.len()].copy_from_slice(body);
        seen += body.len();
    }
    assert_eq!(seen, 980);
    assert_eq!(
        &data[..],
        &orig[20..],
        "reassembled payload equals the original"
    );
    let mut whole = orig.clone();
    whole[8] -= 1;
    fix_ipv4_checksum(&mut whole);
    let mut check = whole.clone();
    fix_l4_checksum(&mut check);
    assert_eq!(
        check, whole,
        "UDP checksum of the reassembled datagram is valid"
    );
    assert!(lab.out(0).is_empty(), "no ICMP error without DF");
}

// Input: an already fragmented datagram's first fragment (MF set) carrying a copied IP option
// (a 4-byte option with the copy flag) and one without, toward a 100-MTU interface. Output:
// every piece keeps MF, the copied option is in every fragment and the other only in the
// first, and the offsets continue from the original.
#[test]
fn fragmenting_a_fragment_keeps_mf_and_copies_only_copied_options() {
    let lab = two_subnets();
    lab.apply(vec![Op::SetInterface {
        name: "pg1".into(),
        config: InterfaceConfig {
            admin_up: true,
            mtu: 100,
            ..Default::default()
        },
    }]);
    lab.arp_from(0, host(1), "10.0.1.10", "10.0.1.1");
    lab.arp_from(1, host(2), "10.0.2.20", "10.0.2.1");
    // 28-byte header: 20 + option 0x94 (copied, len 4) + option 0x07-like uncopied (len 4).
    let mut ip = vec![0u8; 28 + 160];
    ip[0] = 0x47;
    ip[2..4].copy_from_slice(&(188u16).to_be_bytes());
    ip[6..8].copy_from_slice(&(0x2000u16 | 5).to_be_bytes()); // MF, offset 40 bytes
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&v4("10.0.1.10").octets());
    ip[16..20].copy_from_slice(&v4("10.0.2.20").octets());
    ip[20..24].copy_from_slice(&[0x94, 4, 0, 0]);
    ip[24..28].copy_from_slice(&[0x1e, 4, 0xaa, 0xbb]);
    for (k, b) in ip[28..].iter_mut().enumerate() {
        *b = k as u8;
    }
    fix_ipv4_checksum(&mut ip);
    let mut f = Builder::eth(port_mac(0), host(1)).build();
    f.truncate(12);
    f.extend_from_slice(&ETH_P_IPV4.to_be_bytes());
    f.extend_from_slice(&ip);
    lab.send(0, &[f]);
    let out = lab.out(1);
    assert!(out.len() >= 3, "{} fragments", out.len());
    let mut total = 0;
    for (k, fr) in out.iter().enumerate() {
        let h = ip4_of(fr);
        assert!(h.total_len <= 100);
        assert_eq!(checksum(&fr[14..14 + h.header_len]), 0);
        let fo = u16::from_be_bytes([fr[20], fr[21]]);
        assert!(
            fo & 0x2000 != 0,
            "MF stays set: the original was not the last fragment"
        );
        assert_eq!((fo & 0x1fff) as usize * 8, 40 + total);
        assert_eq!(
            &fr[34..38],
            &[0x94, 4, 0, 0],
            "copied option in every fragment"
        );
        if k == 0 {
            assert_eq!(h.header_len, 28);
        } else {
            assert_eq!(
                h.header_len, 24,
                "uncopied option only in the first fragment"
            );
        }
        let body = &fr[14 + h.header_len..14 + h.total_len as usize];
        assert_eq!(body[0] as usize, total % 256);
        total += body.len();
    }
    assert_eq!(total, 160);
}
