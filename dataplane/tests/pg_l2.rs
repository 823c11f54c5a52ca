//! Bridging through the whole graph on pg ports: learning, flooding, aging, static MACs,
//! VLAN access/trunk, and the BVI.

mod common;

use std::time::Duration;

use common::*;
use nectar_dataplane::Mac;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;

fn access(lab: &Lab, port: &str, bd: &str) -> Op {
    let _ = lab;
    Op::SetInterface {
        name: port.into(),
        config: InterfaceConfig {
            admin_up: true,
            switchport: Switchport::Access {
                bridge_domain: bd.into(),
            },
            ..Default::default()
        },
    }
}

fn bridge3() -> Lab {
    let lab = Lab::new(3);
    let mut bd = BridgeDomainConfig::new("bd1");
    bd.aging = Duration::from_secs(60);
    lab.apply(vec![
        Op::SetBridgeDomain(bd),
        access(&lab, "pg0", "bd1"),
        access(&lab, "pg1", "bd1"),
        access(&lab, "pg2", "bd1"),
    ]);
    lab
}

fn frame(src: Mac, dst: Mac) -> Vec<u8> {
    udp4(src, dst, "10.0.0.1", "10.0.0.2", 1, 2)
}

// Input: an unknown unicast frame, then the reply. Output: the first is flooded to the other
// two ports; the reply goes only to the learned port; then traffic is unicast both ways.
#[test]
fn learns_and_floods_unknown_unicast() {
    let lab = bridge3();
    lab.send(0, &[frame(host(1), host(2))]);
    assert_eq!(
        (lab.out(0).len(), lab.out(1).len(), lab.out(2).len()),
        (0, 1, 1)
    );
    lab.send(1, &[frame(host(2), host(1))]);
    assert_eq!(
        (lab.out(0).len(), lab.out(1).len(), lab.out(2).len()),
        (1, 0, 0)
    );
    lab.send(0, &[frame(host(1), host(2))]);
    assert_eq!(
        (lab.out(0).len(), lab.out(1).len(), lab.out(2).len()),
        (0, 1, 0)
    );
    let macs = lab.dp.l2_entries();
    assert_eq!(macs.len(), 2);
    // Broadcast is always flooded.
    lab.send(2, &[frame(host(3), Mac::BROADCAST)]);
    assert_eq!((lab.out(0).len(), lab.out(1).len()), (1, 1));
    assert_eq!(lab.stats().interface("pg2").unwrap().rx_broadcast, 1);
}

// Input: a learned MAC, then silence longer than the aging time. Output: the entry is gone
// and frames to it are flooded again.
#[test]
fn learned_macs_age_out() {
    let lab = bridge3();
    lab.send(1, &[frame(host(2), Mac::BROADCAST)]);
    lab.out(0);
    lab.out(2);
    lab.send(0, &[frame(host(1), host(2))]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (1, 0));
    lab.clock.advance(Duration::from_secs(61));
    lab.send(0, &[frame(host(1), host(2))]);
    assert_eq!(
        (lab.out(1).len(), lab.out(2).len()),
        (1, 1),
        "flooded after aging"
    );
    lab.clock.advance(Duration::from_secs(61));
    lab.dp.maintenance();
    assert!(lab.dp.l2_entries().is_empty());
}

// Input: a static MAC behind pg2 and a frame from that MAC on pg0. Output: the static entry
// wins (no move), and frames to it go to pg2 only.
#[test]
fn static_macs_win_over_learning() {
    let lab = bridge3();
    lab.apply(vec![Op::AddStaticMac {
        bridge_domain: "bd1".into(),
        mac: host(9),
        interface: "pg2".into(),
    }]);
    lab.send(0, &[frame(host(9), Mac::BROADCAST)]);
    lab.out(1);
    lab.out(2);
    lab.send(1, &[frame(host(2), host(9))]);
    assert_eq!((lab.out(0).len(), lab.out(2).len()), (0, 1));
    assert!(lab.dp.l2_entries().iter().all(|e| e.mac != host(9)));
}

// Input: with flooding of unknown unicast off, a frame to an unknown MAC. Output: dropped.
#[test]
fn unknown_unicast_flood_can_be_disabled() {
    let lab = bridge3();
    let mut bd = BridgeDomainConfig::new("bd1");
    bd.flood_unknown = false;
    lab.apply(vec![Op::SetBridgeDomain(bd)]);
    lab.send(0, &[frame(host(1), host(2))]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (0, 0));
    assert_eq!(lab.stats().drop_count("l2-fwd", "unknown unicast"), 1);
}

// Input: an access port in VLAN 10's domain and a trunk carrying VLANs 10 and 20. Output:
// untagged frames from the access port leave the trunk tagged 10; tagged 10 frames from the
// trunk reach the access port untagged; VLAN 30 and tagged frames on the access port are
// dropped; the native VLAN goes untagged.
#[test]
fn vlan_access_and_trunk_push_pop_filter() {
    let lab = Lab::new(3);
    let mut v10 = BridgeDomainConfig::new("v10");
    v10.vlan = Some(10);
    let mut v20 = BridgeDomainConfig::new("v20");
    v20.vlan = Some(20);
    lab.apply(vec![
        Op::SetBridgeDomain(v10),
        Op::SetBridgeDomain(v20),
        access(&lab, "pg0", "v10"),
        access(&lab, "pg2", "v20"),
        Op::SetInterface {
            name: "pg1".into(),
            config: InterfaceConfig {
                admin_up: true,
                switchport: Switchport::Trunk {
                    allowed_vlans: vec![10, 20],
                    native_vlan: Some(20),
                },
                ..Default::default()
            },
        },
    ]);
    let untagged = frame(host(1), Mac::BROADCAST);
    lab.send(0, std::slice::from_ref(&untagged));
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!(e.vlan.map(|v| v.vid), Some(10));
    assert_eq!(
        &out[0][18..],
        &untagged[14..],
        "payload intact after tag push"
    );
    assert!(lab.out(2).is_empty(), "other VLAN isolated");

    let tagged = Builder::eth(host(1), host(2))
        .vlan(10)
        .ipv4(v4("10.0.0.2"), v4("10.0.0.1"))
        .udp(2, 1)
        .build();
    lab.send(1, &[tagged]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert!(
        Ethernet::parse(&out[0]).unwrap().vlan.is_none(),
        "tag popped toward access port"
    );

    let v30 = Builder::eth(host(1), host(2))
        .vlan(30)
        .ipv4(v4("10.0.0.2"), v4("10.0.0.1"))
        .udp(2, 1)
        .build();
    lab.send(1, &[v30]);
    assert!(lab.out(0).is_empty() && lab.out(2).is_empty());
    let tagged_on_access = Builder::eth(Mac::BROADCAST, host(1))
        .vlan(10)
        .ipv4(v4("10.0.0.2"), v4("10.0.0.1"))
        .udp(2, 1)
        .build();
    lab.send(0, &[tagged_on_access]);
    assert!(lab.out(1).is_empty());
    assert_eq!(
        lab.stats().drop_count("ethernet-input", "vlan not allowed"),
        2
    );

    // Native VLAN 20: untagged on the trunk.
    lab.send(2, &[frame(host(5), Mac::BROADCAST)]);
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    assert!(Ethernet::parse(&out[0]).unwrap().vlan.is_none());
}

// Input: a bridge domain with a BVI holding 10.0.0.1/24, a routed port in 10.1.0.0/24, and
// hosts on both. Output: ARP for the BVI is answered across the bridge; a packet from a
// bridged host is routed out of the routed port, and the reply is routed back into the
// bridge to the right member port only.
#[test]
fn bvi_routes_between_bridge_and_routed_port() {
    let lab = Lab::new(3);
    let mut bd = BridgeDomainConfig::new("bd1");
    bd.bvi = Some("bvi1".into());
    lab.apply(vec![
        Op::SetBridgeDomain(bd),
        access(&lab, "pg0", "bd1"),
        access(&lab, "pg1", "bd1"),
    ]);
    lab.routed("bvi1", &["10.0.0.1/24"]);
    lab.routed("pg2", &["10.1.0.1/24"]);
    let bvi_mac = lab.dp.tables().ifs[lab.dp.interface_index("bvi1").unwrap() as usize]
        .as_ref()
        .unwrap()
        .mac;

    let req = Builder::eth(Mac::BROADCAST, host(1))
        .arp(
            ARP_REQUEST,
            host(1),
            v4("10.0.0.10"),
            Mac::ZERO,
            v4("10.0.0.1"),
        )
        .build();
    lab.send(0, &[req]);
    let out0 = lab.out(0);
    assert_eq!(lab.out(1).len(), 1, "request flooded to the other member");
    assert_eq!(out0.len(), 1, "reply from the BVI");
    let a = Arp::parse(&out0[0][14..]).unwrap();
    assert_eq!((a.op, a.sha), (ARP_REPLY, bvi_mac));

    lab.arp_from(2, host(7), "10.1.0.7", "10.1.0.1");
    lab.send(0, &[udp4(host(1), bvi_mac, "10.0.0.10", "10.1.0.7", 5, 6)]);
    let out = lab.out(2);
    assert_eq!(out.len(), 1);
    assert_eq!(ip4_of(&out[0]).ttl, 63);

    lab.send(
        2,
        &[udp4(host(7), port_mac(2), "10.1.0.7", "10.0.0.10", 6, 5)],
    );
    let back = lab.out(0);
    assert_eq!(back.len(), 1, "routed into the bridge to the learned port");
    let e = Ethernet::parse(&back[0]).unwrap();
    assert_eq!((e.dst, e.src), (host(1), bvi_mac));
    assert!(lab.out(1).is_empty());
}

fn with_acls(port: &str, bd: &str, acl_in: Option<&str>, acl_out: Option<&str>) -> Op {
    Op::SetInterface {
        name: port.into(),
        config: InterfaceConfig {
            admin_up: true,
            switchport: Switchport::Access {
                bridge_domain: bd.into(),
            },
            acl_in: acl_in.map(Into::into),
            acl_out: acl_out.map(Into::into),
            ..Default::default()
        },
    }
}

// Input: an ingress ACL on a bridged port: deny UDP to port 53, deny frames from one source
// MAC, deny ARP by ethertype, permit the rest. Output: denied frames are neither forwarded
// nor flooded, other IP and non-IP frames are bridged, and each rule counted its hits.
#[test]
fn ingress_acl_on_a_bridged_port() {
    let lab = bridge3();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "edge".into(),
            rules: vec![
                AclRule {
                    proto: Some(PROTO_UDP),
                    dst_ports: Some((53, 53)),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule {
                    src_mac: Some(host(7)),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule {
                    ethertype: Some(ETH_P_ARP),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule::any(AclAction::Permit),
            ],
        }),
        with_acls("pg0", "bd1", Some("edge"), None),
    ]);
    let dns = udp4(host(1), host(2), "10.0.0.1", "10.0.0.2", 1000, 53);
    let web = udp4(host(1), host(2), "10.0.0.1", "10.0.0.2", 1000, 80);
    let banned = udp4(host(7), host(2), "10.0.0.7", "10.0.0.2", 1000, 80);
    let arp = Builder::eth(Mac::BROADCAST, host(1))
        .arp(
            ARP_REQUEST,
            host(1),
            v4("10.0.0.1"),
            Mac::ZERO,
            v4("10.0.0.2"),
        )
        .build();
    let mut other = Builder::eth(host(2), host(1)).payload(&[0; 46]).build();
    other[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental ethertype
    lab.send(0, &[dns, banned, arp]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (0, 0), "all denied");
    lab.send(0, &[web, other]);
    assert_eq!(
        (lab.out(1).len(), lab.out(2).len()),
        (2, 2),
        "permitted, flooded"
    );
    assert_eq!(lab.dp.tables().acls["edge"].hits(), vec![1, 1, 1, 2]);
    assert!(
        lab.stats()
            .drops
            .iter()
            .any(|d| d.node == "acl-in-l2" && d.count == 3)
    );
    // The other ports have no ACL: traffic from them is bridged freely.
    lab.send(
        1,
        &[udp4(host(2), host(1), "10.0.0.2", "10.0.0.1", 53, 1000)],
    );
    assert_eq!(lab.out(0).len(), 1);
}

// Input: an egress ACL on one bridged port denying ICMP. Output: a flooded ping reaches the
// port without the ACL only; a flooded UDP frame reaches both; a unicast ping to a MAC
// learned behind the filtered port is dropped there.
#[test]
fn egress_acl_on_a_bridged_port() {
    let lab = bridge3();
    lab.apply(vec![
        Op::SetAcl(AclConfig {
            name: "no-icmp".into(),
            rules: vec![
                AclRule {
                    proto: Some(PROTO_ICMP),
                    ..AclRule::any(AclAction::Deny)
                },
                AclRule::any(AclAction::Permit),
            ],
        }),
        with_acls("pg2", "bd1", None, Some("no-icmp")),
    ]);
    let ping = |dst| {
        Builder::eth(dst, host(1))
            .ipv4(v4("10.0.0.1"), v4("10.0.0.2"))
            .echo_request(1, 1)
            .build()
    };
    lab.send(0, &[ping(Mac::BROADCAST)]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (1, 0));
    lab.send(0, &[frame(host(1), Mac::BROADCAST)]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (1, 1));
    lab.send(2, &[frame(host(3), host(1))]);
    lab.out(0);
    lab.send(0, &[ping(host(3))]);
    assert_eq!((lab.out(1).len(), lab.out(2).len()), (0, 0));
    assert_eq!(lab.dp.tables().acls["no-icmp"].hits(), vec![2, 1]);
    // Matched octets are the IP packets' lengths (header total length), padding excluded.
    let p = ping(host(3));
    let ip_len = u64::from(u16::from_be_bytes([p[16], p[17]]));
    assert!(ip_len >= 28 && (ip_len as usize) < p.len() - 14 + 1);
    assert_eq!(lab.dp.tables().acls["no-icmp"].octets()[0], 2 * ip_len);
}

// Input: a reflexive ACL on one bridged port and deny-all on the other. Output: a TCP
// connection opened from the reflexive side gets its replies through; unsolicited traffic
// from the deny side is dropped.
#[test]
fn reflexive_acl_between_bridged_ports() {
    let lab = Lab::new(2);
    lab.apply(vec![
        Op::SetBridgeDomain(BridgeDomainConfig::new("bd1")),
        Op::SetAcl(AclConfig {
            name: "out".into(),
            rules: vec![AclRule::any(AclAction::PermitReflect)],
        }),
        Op::SetAcl(AclConfig {
            name: "in".into(),
            rules: vec![AclRule::any(AclAction::Deny)],
        }),
        with_acls("pg0", "bd1", Some("out"), None),
        with_acls("pg1", "bd1", Some("in"), None),
    ]);
    let seg = |from, to, src, dst, sp, dp, fl| {
        Builder::eth(to, from)
            .ipv4(v4(src), v4(dst))
            .tcp(sp, dp, fl)
            .build()
    };
    lab.send(
        0,
        &[seg(
            host(1),
            host(2),
            "10.0.0.1",
            "10.0.0.2",
            40000,
            22,
            TCP_SYN,
        )],
    );
    assert_eq!(lab.out(1).len(), 1);
    lab.send(
        1,
        &[seg(
            host(2),
            host(1),
            "10.0.0.2",
            "10.0.0.1",
            22,
            40000,
            TCP_SYN | TCP_ACK,
        )],
    );
    assert_eq!(lab.out(0).len(), 1, "reply of a reflected flow passes");
    lab.send(
        1,
        &[seg(
            host(2),
            host(1),
            "10.0.0.2",
            "10.0.0.1",
            23,
            40000,
            TCP_SYN,
        )],
    );
    assert!(lab.out(0).is_empty(), "unsolicited traffic denied");
    assert_eq!(lab.dp.conntrack_sessions().len(), 1);
}
