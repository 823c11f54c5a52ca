//! 802.1Q sub-interfaces through the whole graph on pg ports: routed sub-interfaces
//! (router on a stick), a sub-interface bridged into a domain whose BVI routes, and the
//! control API's checks. (The kernel here has no 802.1Q module, so tagged traffic comes from
//! pg ports rather than network namespaces.)

mod common;

use common::*;
use nectar_dataplane::Error;
use nectar_dataplane::Mac;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;

fn sub(name: &str, parent: &str, vlan: u16) -> Op {
    Op::AddSubInterface {
        name: name.into(),
        parent: parent.into(),
        vlan,
    }
}

/// A frame's 802.1Q VLAN id (None: untagged).
fn vid(f: &[u8]) -> Option<u16> {
    Ethernet::parse(f).unwrap().vlan.map(|v| v.vid)
}

/// The IPv4 header of a tagged or untagged frame.
fn ip4_any(f: &[u8]) -> Ipv4 {
    let e = Ethernet::parse(f).unwrap();
    Ipv4::parse(&f[e.header_len..]).unwrap()
}

fn arp_tagged(from: Mac, vlan: u16, spa: &str, tpa: &str) -> Vec<u8> {
    Builder::eth(Mac::BROADCAST, from)
        .vlan(vlan)
        .arp(ARP_REQUEST, from, v4(spa), Mac::ZERO, v4(tpa))
        .build()
}

// Input: port pg0 routed with 10.0.0.1/24 untagged and sub-interfaces pg0.10 (10.0.10.1/24)
// and pg0.20 (10.0.20.1/24); hosts in VLANs 10 and 20 behind it. Output: ARP and ping are
// answered in each host's VLAN, a packet from VLAN 10 to VLAN 20 is routed back out of pg0
// tagged 20 with the TTL decremented, untagged traffic still reaches the parent's address,
// an unknown VLAN is dropped, counters land on the sub-interfaces (and the parent), and an
// admin-down sub-interface stops forwarding.
#[test]
fn routed_subinterfaces_route_between_vlans() {
    let lab = Lab::new(1);
    lab.apply(vec![sub("pg0.10", "pg0", 10), sub("pg0.20", "pg0", 20)]);
    lab.routed("pg0", &["10.0.0.1/24"]);
    lab.routed("pg0.10", &["10.0.10.1/24"]);
    lab.routed("pg0.20", &["10.0.20.1/24"]);

    lab.send(0, &[arp_tagged(host(1), 10, "10.0.10.10", "10.0.10.1")]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!(vid(&out[0]), Some(10), "ARP reply in VLAN 10");
    let a = Arp::parse(&out[0][18..]).unwrap();
    assert_eq!(
        (a.op, a.sha, a.spa),
        (ARP_REPLY, port_mac(0), v4("10.0.10.1"))
    );
    lab.send(0, &[arp_tagged(host(2), 20, "10.0.20.20", "10.0.20.1")]);
    assert_eq!(vid(&lab.out(0)[0]), Some(20));

    let f = Builder::eth(port_mac(0), host(1))
        .vlan(10)
        .ipv4(v4("10.0.10.10"), v4("10.0.20.20"))
        .udp(1000, 2000)
        .payload(b"between vlans")
        .build();
    lab.send(0, &[f]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!(
        (e.dst, e.src, vid(&out[0])),
        (host(2), port_mac(0), Some(20))
    );
    let h = ip4_any(&out[0]);
    assert_eq!((h.ttl, h.dst), (63, v4("10.0.20.20")));
    assert_eq!(checksum(&out[0][18..38]), 0);
    assert!(out[0].ends_with(b"between vlans"));

    let ping = Builder::eth(port_mac(0), host(1))
        .vlan(10)
        .ipv4(v4("10.0.10.10"), v4("10.0.10.1"))
        .echo_request(5, 1)
        .build();
    lab.send(0, &[ping]);
    let out = lab.out(0);
    assert_eq!(vid(&out[0]), Some(10), "echo reply in VLAN 10");
    assert_eq!(Icmp::parse(&out[0][38..]).unwrap().typ, ICMP_ECHO_REPLY);

    let untagged = Builder::eth(port_mac(0), host(3))
        .ipv4(v4("10.0.0.3"), v4("10.0.0.1"))
        .echo_request(6, 1)
        .build();
    lab.send(0, &[untagged]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!(vid(&out[0]), None, "the parent still routes untagged");

    lab.send(0, &[arp_tagged(host(1), 30, "10.0.30.10", "10.0.30.1")]);
    assert!(lab.out(0).is_empty(), "no sub-interface for VLAN 30");
    let s = lab.stats();
    assert_eq!(
        s.drop_count("ethernet-input", "tagged frame on routed interface"),
        1
    );
    assert!(s.interface("pg0.10").unwrap().rx_packets >= 3);
    assert!(s.interface("pg0.20").unwrap().tx_packets >= 2);
    let pg0 = s.interface("pg0").unwrap();
    assert!(
        pg0.rx_packets >= 6 && pg0.tx_packets >= 5,
        "the parent counts the wire"
    );
    assert!(s.interface("pg0.10").unwrap().oper_up);

    lab.apply(vec![Op::SetInterface {
        name: "pg0.20".into(),
        config: InterfaceConfig::default(),
    }]);
    let f = Builder::eth(port_mac(0), host(1))
        .vlan(10)
        .ipv4(v4("10.0.10.10"), v4("10.0.20.20"))
        .udp(1000, 2000)
        .build();
    lab.send(0, &[f]);
    assert!(
        lab.out(0).is_empty(),
        "admin-down sub-interface does not forward"
    );
    lab.dp.maintenance();
    assert!(!lab.stats().interface("pg0.20").unwrap().oper_up);
}

// Input: sub-interface pg0.30 as an access member of bridge domain b30 (with BVI bvi30,
// 10.0.30.1/24) together with untagged port pg1; the parent pg0 is itself a member of
// another domain. Output: frames from VLAN 30 are bridged to pg1 untagged and back tagged
// 30, a host in VLAN 30 resolves and pings the BVI and gets answers tagged 30, and the
// parent's untagged traffic stays in its own domain.
#[test]
fn subinterface_bridged_into_a_domain_with_a_bvi() {
    let lab = Lab::new(3);
    let mut b30 = BridgeDomainConfig::new("b30");
    b30.bvi = Some("bvi30".into());
    let access = |bd: &str| InterfaceConfig {
        admin_up: true,
        switchport: Switchport::Access {
            bridge_domain: bd.into(),
        },
        ..Default::default()
    };
    lab.apply(vec![
        Op::SetBridgeDomain(b30),
        Op::SetBridgeDomain(BridgeDomainConfig::new("other")),
        sub("pg0.30", "pg0", 30),
        Op::SetInterface {
            name: "pg0.30".into(),
            config: access("b30"),
        },
        Op::SetInterface {
            name: "pg0".into(),
            config: access("other"),
        },
        Op::SetInterface {
            name: "pg1".into(),
            config: access("b30"),
        },
        Op::SetInterface {
            name: "pg2".into(),
            config: access("other"),
        },
    ]);
    lab.routed("bvi30", &["10.0.30.1/24"]);

    let to_c = udp4(host(1), Mac::BROADCAST, "10.0.30.10", "10.0.30.3", 1, 2);
    let mut tagged = to_c.clone();
    tagged.splice(12..12, [0x81, 0x00, 0x00, 30]);
    lab.send(0, &[tagged]);
    let out = lab.out(1);
    assert_eq!(out.len(), 1);
    assert_eq!(vid(&out[0]), None, "tag popped into the domain");
    assert!(lab.out(2).is_empty(), "not into the parent's domain");
    lab.send(
        1,
        &[udp4(host(3), host(1), "10.0.30.3", "10.0.30.10", 2, 1)],
    );
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        vid(&out[0]),
        Some(30),
        "tag pushed toward the sub-interface"
    );

    lab.send(0, &[arp_tagged(host(1), 30, "10.0.30.10", "10.0.30.1")]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1, "ARP reply from the BVI: {out:02x?}");
    assert_eq!(vid(&out[0]), Some(30));
    let bvi_mac = Arp::parse(&out[0][18..]).unwrap().sha;
    lab.out(1);
    let ping = Builder::eth(bvi_mac, host(1))
        .vlan(30)
        .ipv4(v4("10.0.30.10"), v4("10.0.30.1"))
        .echo_request(9, 1)
        .build();
    lab.send(0, &[ping]);
    let out = lab.out(0);
    assert_eq!(out.len(), 1);
    assert_eq!(vid(&out[0]), Some(30));
    assert_eq!(Icmp::parse(&out[0][38..]).unwrap().typ, ICMP_ECHO_REPLY);

    lab.send(
        0,
        &[udp4(host(5), Mac::BROADCAST, "10.9.9.5", "10.9.9.6", 1, 2)],
    );
    assert_eq!(
        (lab.out(1).len(), lab.out(2).len()),
        (0, 1),
        "untagged stays in 'other'"
    );
}

// Input: invalid sub-interface operations. Output: each is refused with a precise error and
// nothing changes; a valid create/delete round trip works.
#[test]
fn subinterface_control_errors() {
    let lab = Lab::new(2);
    let dp = &lab.dp;
    assert_eq!(
        dp.apply(&[sub("x.1", "nope", 1)]),
        Err(Error::UnknownInterface("nope".into()))
    );
    assert!(matches!(
        dp.apply(&[sub("pg0.0", "pg0", 0)]),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        dp.apply(&[sub("pg0", "pg1", 5)]),
        Err(Error::Exists(_))
    ));
    dp.apply(&[sub("pg0.5", "pg0", 5)]).unwrap();
    assert!(matches!(
        dp.apply(&[sub("pg0.55", "pg0", 5)]),
        Err(Error::Exists(_))
    ));
    assert!(matches!(
        dp.apply(&[sub("pg0.5.5", "pg0.5", 6)]),
        Err(Error::Invalid(_))
    ));
    let trunk = InterfaceConfig {
        admin_up: true,
        switchport: Switchport::Trunk {
            allowed_vlans: vec![5],
            native_vlan: None,
        },
        ..Default::default()
    };
    assert!(matches!(
        dp.apply(&[Op::SetInterface {
            name: "pg0.5".into(),
            config: trunk.clone(),
        }]),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        dp.apply(&[
            Op::SetBridgeDomain(BridgeDomainConfig {
                vlan: Some(5),
                ..BridgeDomainConfig::new("v5")
            }),
            Op::SetInterface {
                name: "pg0".into(),
                config: trunk,
            }
        ]),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        dp.apply(&[Op::DelSubInterface { name: "pg1".into() }]),
        Err(Error::Invalid(_))
    ));
    dp.apply(&[Op::AddAddress {
        interface: "pg0.5".into(),
        prefix: net("10.5.0.1/24"),
    }])
    .unwrap();
    assert!(dp.lookup("default", ip("10.5.0.9")).is_some());
    dp.apply(&[Op::DelSubInterface {
        name: "pg0.5".into(),
    }])
    .unwrap();
    assert!(dp.interface_index("pg0.5").is_none());
    assert!(
        dp.lookup("default", ip("10.5.0.9")).is_none(),
        "its subnet left the FIB"
    );
}
