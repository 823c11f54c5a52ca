//! IPv6 through the whole graph on pg ports: neighbor discovery, forwarding with hop limit,
//! echo replies and time-exceeded.

mod common;

use std::net::Ipv6Addr;

use common::*;
use nectar_dataplane::Mac;
use nectar_dataplane::headers::*;

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn ns(from: Mac, src: &str, target: &str) -> Vec<u8> {
    let t = v6(target).octets();
    let mut payload = t.to_vec();
    payload.extend_from_slice(&[1, 1]);
    payload.extend_from_slice(&from.0);
    let sn = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | t[13] as u16,
        u16::from_be_bytes([t[14], t[15]]),
    );
    Builder::eth(Mac::ipv6_multicast(&sn), from)
        .ipv6(v6(src), sn)
        .ttl(255)
        .icmp(ICMP6_NS, 0, 0)
        .payload(&payload)
        .build()
}

fn na(from: Mac, to: Mac, src: &str, dst: &str) -> Vec<u8> {
    let mut payload = v6(src).octets().to_vec();
    payload.extend_from_slice(&[2, 1]);
    payload.extend_from_slice(&from.0);
    Builder::eth(to, from)
        .ipv6(v6(src), v6(dst))
        .ttl(255)
        .icmp(ICMP6_NA, 0, 0x6000_0000)
        .payload(&payload)
        .build()
}

fn lab() -> Lab {
    let lab = Lab::new(2);
    lab.routed("pg0", &["2001:db8:1::1/64"]);
    lab.routed("pg1", &["2001:db8:2::1/64"]);
    lab
}

// Input: a duplicate-address-detection probe: a neighbor solicitation from the unspecified
// address without any option (24 bytes of ICMPv6, RFC 4861 7.2.2). Output: the worker does
// not crash (the advertisement is 8 bytes longer than the probe): an unsolicited NA to
// all-nodes carrying the port MAC. (Found by the dataplane_frame fuzz target.)
#[test]
fn answers_a_dad_probe_without_options() {
    let lab = lab();
    let t = v6("2001:db8:1::1").octets();
    let sn = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | t[13] as u16,
        u16::from_be_bytes([t[14], t[15]]),
    );
    let probe = Builder::eth(Mac::ipv6_multicast(&sn), host(1))
        .ipv6(Ipv6Addr::UNSPECIFIED, sn)
        .ttl(255)
        .icmp(ICMP6_NS, 0, 0)
        .payload(&t)
        .build();
    lab.send(0, &[probe]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let h = Ipv6::parse(&out[0][14..]).unwrap();
    assert_eq!(h.dst, v6("ff02::1"));
    assert_eq!(out[0][54], ICMP6_NA);
    assert_eq!(&out[0][80..86], &port_mac(0).0);
    let mut c = out[0][14..].to_vec();
    fix_l4_checksum(&mut c);
    assert_eq!(c, out[0][14..].to_vec(), "checksum");
}

// Input: a neighbor solicitation for the interface address. Output: a solicited
// advertisement carrying the port MAC, sent to the solicitor, with a valid checksum.
#[test]
fn answers_neighbor_solicitation() {
    let lab = lab();
    lab.send(0, &[ns(host(1), "2001:db8:1::10", "2001:db8:1::1")]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!((e.dst, e.ethertype), (host(1), ETH_P_IPV6));
    let h = Ipv6::parse(&out[0][14..]).unwrap();
    assert_eq!(
        (h.src, h.dst, h.hop_limit),
        (v6("2001:db8:1::1"), v6("2001:db8:1::10"), 255)
    );
    assert_eq!(out[0][54], ICMP6_NA);
    assert_eq!(
        &out[0][80..86],
        &port_mac(0).0,
        "target link-layer address option"
    );
    let mut c = out[0][14..].to_vec();
    fix_l4_checksum(&mut c);
    assert_eq!(&c[..], &out[0][14..]);
    assert_eq!(lab.dp.neighbors().len(), 1, "solicitor learned");
}

// Input: a packet toward an unresolved IPv6 neighbor, then its advertisement, then the packet
// again. Output: a solicitation to the solicited-node group, then the packet forwarded with
// hop limit decremented.
#[test]
fn forwards_after_nd_resolution() {
    let lab = lab();
    lab.send(0, &[ns(host(1), "2001:db8:1::10", "2001:db8:1::1")]);
    lab.out(0);
    let pkt = Builder::eth(port_mac(0), host(1))
        .ipv6(v6("2001:db8:1::10"), v6("2001:db8:2::20"))
        .udp(1, 2)
        .build();
    lab.send(0, std::slice::from_ref(&pkt));
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let h = Ipv6::parse(&out[0][14..]).unwrap();
    assert_eq!(h.dst, v6("ff02::1:ff00:20"));
    assert_eq!(out[0][54], ICMP6_NS);
    lab.send(
        1,
        &[na(host(2), port_mac(1), "2001:db8:2::20", "2001:db8:2::1")],
    );
    lab.send(0, &[pkt]);
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!((e.dst, e.src), (host(2), port_mac(1)));
    assert_eq!(Ipv6::parse(&out[0][14..]).unwrap().hop_limit, 63);
}

// Input: echo request to the interface address, and a packet with hop limit 1. Output: an
// echo reply, and an ICMPv6 time exceeded.
#[test]
fn echo_reply_and_time_exceeded() {
    let lab = lab();
    lab.send(0, &[ns(host(1), "2001:db8:1::10", "2001:db8:1::1")]);
    lab.out(0);
    let ping = Builder::eth(port_mac(0), host(1))
        .ipv6(v6("2001:db8:1::10"), v6("2001:db8:2::1"))
        .echo_request(3, 4)
        .build();
    lab.send(0, &[ping]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][54], ICMP6_ECHO_REPLY);
    assert_eq!(Ipv6::parse(&out[0][14..]).unwrap().src, v6("2001:db8:2::1"));
    let mut c = out[0][14..].to_vec();
    fix_l4_checksum(&mut c);
    assert_eq!(&c[..], &out[0][14..]);

    let f = Builder::eth(port_mac(0), host(1))
        .ipv6(v6("2001:db8:1::10"), v6("2001:db8:2::20"))
        .ttl(1)
        .udp(1, 2)
        .build();
    lab.send(0, &[f]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0][54], out[0][55]), (ICMP6_TIME_EXCEEDED, 0));
}

// Input: a 1400-byte IPv6 packet toward an interface with IPv6 MTU 1280 (IPv6 routers never
// fragment). Output: nothing forwarded; an ICMPv6 packet too big with MTU 1280 goes back to
// the source, quoting the packet (as much as fits 1280 bytes), with a valid checksum.
#[test]
fn too_big_sends_packet_too_big() {
    let lab = lab();
    lab.apply(vec![nectar_dataplane::Op::SetInterface {
        name: "pg1".into(),
        config: nectar_dataplane::control::InterfaceConfig {
            admin_up: true,
            mtu: 1280,
            ..Default::default()
        },
    }]);
    lab.send(0, &[ns(host(1), "2001:db8:1::10", "2001:db8:1::1")]);
    lab.out(0);
    lab.send(
        1,
        &[na(host(2), port_mac(1), "2001:db8:2::20", "2001:db8:2::1")],
    );
    let f = Builder::eth(port_mac(0), host(1))
        .ipv6(v6("2001:db8:1::10"), v6("2001:db8:2::20"))
        .udp(7, 9)
        .payload(&[0x33; 1352])
        .build();
    lab.send(0, std::slice::from_ref(&f));
    assert!(lab.out(1).is_empty(), "not forwarded");
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let h = Ipv6::parse(&out[0][14..]).unwrap();
    assert_eq!(h.dst, v6("2001:db8:1::10"));
    assert!(
        40 + h.payload_len as usize <= 1280,
        "error fits the minimum MTU"
    );
    let icmp = &out[0][54..];
    assert_eq!((icmp[0], icmp[1]), (ICMP6_PACKET_TOO_BIG, 0));
    assert_eq!(
        u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]),
        1280
    );
    assert_eq!(
        &icmp[8..48],
        &f[14..54],
        "quotes the offending packet's header"
    );
    let mut c = out[0][14..].to_vec();
    fix_l4_checksum(&mut c);
    assert_eq!(&c[..], &out[0][14..]);
}
