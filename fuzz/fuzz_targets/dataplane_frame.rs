//! Arbitrary frames through the whole vswitch graph: a dataplane with three pg ports
//! (routed with an ingress stateful ACL, NAT44 inside/outside, and a bridge domain), every
//! header parser, the NAT and conntrack key extraction, ICMP error quoting and the
//! offload path. The first byte chooses the port and whether the rest starts with a
//! virtio-net header (a super-frame or a pending checksum, as a kernel hands over).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nectar_dataplane::control::*;
use nectar_dataplane::offload::{VNET_HDR_LEN, VnetHdr};
use nectar_dataplane::port::pg::{PgHandle, pg};
use nectar_dataplane::{Dataplane, Mac};

struct Lab {
    dp: Dataplane,
    pg: Vec<PgHandle>,
}

fn up(name: &str, cfg: InterfaceConfig) -> Op {
    Op::SetInterface {
        name: name.into(),
        config: InterfaceConfig {
            admin_up: true,
            ..cfg
        },
    }
}

fn lab() -> &'static Lab {
    static LAB: OnceLock<Lab> = OnceLock::new();
    LAB.get_or_init(|| {
        let mut b = Dataplane::builder();
        let mut pgs = Vec::new();
        for i in 0..4u8 {
            let (p, h) = pg(Mac([2, 0xdd, 0, 0, 0, i]));
            b = b.port(&format!("pg{i}"), p);
            h.count_only(true);
            pgs.push(h);
        }
        let dp = b.build().expect("dataplane");
        let bd = InterfaceConfig {
            switchport: Switchport::Access {
                bridge_domain: "bd".into(),
            },
            ..Default::default()
        };
        dp.apply(&[
            Op::SetAcl(AclConfig {
                name: "reflect".into(),
                rules: vec![
                    AclRule {
                        proto: Some(1),
                        ..AclRule::any(AclAction::Deny)
                    },
                    AclRule::any(AclAction::PermitReflect),
                ],
            }),
            Op::SetBridgeDomain(BridgeDomainConfig::new("bd")),
            up(
                "pg0",
                InterfaceConfig {
                    nat: NatRole::Inside,
                    acl_in: Some("reflect".into()),
                    ..Default::default()
                },
            ),
            Op::AddAddress {
                interface: "pg0".into(),
                prefix: "10.0.1.1/24".parse().unwrap(),
            },
            Op::AddAddress {
                interface: "pg0".into(),
                prefix: "2001:db8:1::1/64".parse().unwrap(),
            },
            up(
                "pg1",
                InterfaceConfig {
                    nat: NatRole::Outside,
                    mtu: 1280,
                    ..Default::default()
                },
            ),
            Op::AddAddress {
                interface: "pg1".into(),
                prefix: "10.0.2.1/24".parse().unwrap(),
            },
            Op::AddAddress {
                interface: "pg1".into(),
                prefix: "2001:db8:2::1/64".parse().unwrap(),
            },
            up("pg2", bd.clone()),
            up("pg3", bd),
        ])
        .expect("configuration");
        Lab { dp, pg: pgs }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let lab = lab();
    let port = (sel & 3) as usize;
    if sel & 4 != 0 && rest.len() >= VNET_HDR_LEN {
        let h = VnetHdr::read(rest).unwrap_or_default();
        lab.pg[port].send_offloaded(&rest[VNET_HDR_LEN..], h);
    } else {
        lab.pg[port].send(rest);
    }
    lab.dp.poll();
    if sel & 0x80 != 0 {
        lab.dp.maintenance();
    }
});
