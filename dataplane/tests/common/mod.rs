//! The dataplane's own test fixtures: a dataplane with N pg ports and a manual clock, host
//! MACs and frame builders; in `ns`, a dataplane on the test kit's network namespaces.
#![allow(dead_code)]

pub mod ns;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use nectar_dataplane::clock::ManualClock;
use nectar_dataplane::control::*;
use nectar_dataplane::headers::*;
use nectar_dataplane::port::pg::{PgHandle, pg};
use nectar_dataplane::{Dataplane, IpNet, Mac};

pub struct Lab {
    pub dp: Dataplane,
    pub pg: Vec<PgHandle>,
    pub clock: Arc<ManualClock>,
}

/// MAC of port `i` of the dataplane.
pub fn port_mac(i: usize) -> Mac {
    Mac([0x02, 0xdd, 0, 0, 0, i as u8])
}

/// MAC of test host `i`.
pub fn host(i: u8) -> Mac {
    Mac([0x02, 0x00, 0, 0, 0, i])
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

impl Lab {
    pub fn new(ports: usize) -> Lab {
        let clock = Arc::new(ManualClock::default());
        let mut b = Dataplane::builder().clock(clock.clone());
        let mut pgs = Vec::new();
        for i in 0..ports {
            let (p, h) = pg(port_mac(i));
            b = b.port(&format!("pg{i}"), p);
            pgs.push(h);
        }
        Lab {
            dp: b.build().unwrap(),
            pg: pgs,
            clock,
        }
    }

    pub fn apply(&self, ops: Vec<Op>) {
        self.dp.apply(&ops).unwrap();
    }

    /// Sends frames on port `i` and runs the dataplane until idle.
    pub fn send(&self, i: usize, frames: &[Vec<u8>]) {
        for f in frames {
            self.pg[i].send(f);
        }
        self.dp.poll();
    }

    /// Frames transmitted on port `i` since last asked.
    pub fn out(&self, i: usize) -> Vec<Vec<u8>> {
        self.pg[i].take()
    }

    /// A routed, admin-up interface with addresses.
    pub fn routed(&self, name: &str, addrs: &[&str]) {
        let mut ops = vec![Op::SetInterface {
            name: name.into(),
            config: InterfaceConfig {
                admin_up: true,
                ..Default::default()
            },
        }];
        for a in addrs {
            ops.push(Op::AddAddress {
                interface: name.into(),
                prefix: net(a),
            });
        }
        self.apply(ops);
    }

    /// Makes the dataplane learn `mac` as the neighbor `addr` on port `i` (ARP request to us).
    pub fn arp_from(&self, i: usize, mac: Mac, addr: &str, ours: &str) {
        let f = Builder::eth(Mac::BROADCAST, mac)
            .arp(ARP_REQUEST, mac, v4(addr), Mac::ZERO, v4(ours))
            .build();
        self.send(i, &[f]);
        let out = self.out(i);
        assert_eq!(out.len(), 1, "ARP reply expected");
    }

    pub fn stats(&self) -> nectar_dataplane::stats::StatsSnapshot {
        self.dp.stats()
    }
}

/// Parses the IPv4 header of an untagged Ethernet frame.
pub fn ip4_of(f: &[u8]) -> Ipv4 {
    let e = Ethernet::parse(f).unwrap();
    assert_eq!(e.ethertype, ETH_P_IPV4);
    Ipv4::parse(&f[e.header_len..]).unwrap()
}

pub fn udp4(src_mac: Mac, dst_mac: Mac, src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    Builder::eth(dst_mac, src_mac)
        .ipv4(v4(src), v4(dst))
        .udp(sport, dport)
        .payload(&[0xab; 18])
        .build()
}
