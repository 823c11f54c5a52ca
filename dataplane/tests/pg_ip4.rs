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
    lab.send(0, &[f]);
    assert!(lab.out(1).is_empty());
    let out = lab.out(0);
    let icmp = Icmp::parse(&out[0][34..]).unwrap();
    assert_eq!(
        (icmp.typ, icmp.code, icmp.rest & 0xffff),
        (ICMP_DEST_UNREACH, 4, 1280)
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
