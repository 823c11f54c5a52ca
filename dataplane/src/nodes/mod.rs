//! The dataplane's graph nodes and the list that builds a graph from them.
//!
//! The path of a packet: `port-input → ethernet-input → {l2-input → (l2-input arc:
//! conntrack-l2, acl-in-l2) → l2-fwd [→ l2-flood] → (l2-output arc: acl-out-l2) |
//! arp-input | ip4-input/ip6-input → (ip4/ip6-unicast arc: nat44-out2in, conntrack, acl-in)
//! → ip-lookup → ip-local | ip-rewrite → (output arc: acl-out, nat44-in2out) → ip4-frag}
//! → interface-output → port-output`.

pub mod features;
pub mod ip4;
pub mod ip6;
pub mod l2;

use crate::buffer::Packet;
use crate::graph::{Node, Vector};
use crate::headers::write_eth;
use crate::tables::Tables;
use crate::types::Mac;
use std::net::IpAddr;

/// Every node, in roughly topological order (the runtime dispatches in this order).
pub fn all() -> Vec<Box<dyn Node>> {
    let mut v: Vec<Box<dyn Node>> = vec![
        Box::new(l2::PortInput),
        Box::new(l2::EthernetInput),
        Box::new(l2::L2Input),
        Box::new(ip4::ArpInput),
        Box::new(ip4::Ip4Input),
        Box::new(ip6::Ip6Input),
        Box::new(features::Nat44Out2In),
    ];
    let [ct4, ct6, ctl2] = features::ConntrackNode::all();
    let [ai4, ao4, ai6, ao6, ail2, aol2] = features::AclNode::all();
    v.push(Box::new(ctl2));
    v.push(Box::new(ail2));
    v.push(Box::new(ct4));
    v.push(Box::new(ct6));
    v.push(Box::new(ai4));
    v.push(Box::new(ai6));
    v.extend([
        Box::new(ip4::Ip4Lookup) as Box<dyn Node>,
        Box::new(ip6::Ip6Lookup),
        Box::new(ip4::Ip4Local),
        Box::new(ip6::Ip6Local),
        Box::new(ip4::Ip4IcmpError),
        Box::new(ip6::Ip6IcmpError),
        Box::new(ip4::Ip4Rewrite::default()),
        Box::new(ip6::Ip6Rewrite),
        Box::new(ao4),
        Box::new(ao6),
        Box::new(features::Nat44In2Out),
        Box::new(ip4::Ip4Frag::default()),
        Box::new(l2::L2Fwd),
        Box::new(l2::L2Flood::default()),
        Box::new(aol2),
        Box::new(l2::InterfaceOutput),
        Box::new(l2::PortOutput),
    ]);
    v
}

/// Where a lookup sent a packet, for the trace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FibHop {
    /// To the box itself.
    Local,
    /// To a host on the attached network of this interface.
    Attached(u32),
    /// Through next hop `nh` on interface `ifidx`, one of `paths` (ECMP).
    Via {
        nh: IpAddr,
        ifidx: u32,
        paths: usize,
    },
}

/// The trace text of a lookup's decision for `dst`.
pub(crate) fn fib_trace(t: &Tables, dst: IpAddr, hop: FibHop) -> String {
    let name = |ix: u32| t.iface(ix).map_or("?", |f| f.name.as_str()).to_string();
    match hop {
        FibHop::Local => format!("fib: {dst} is local"),
        FibHop::Attached(ix) => format!("fib: {dst} attached on {}", name(ix)),
        FibHop::Via { nh, ifidx, paths } => {
            format!(
                "fib: {dst} via {nh} on {} (1 of {paths} paths)",
                name(ifidx)
            )
        }
    }
}

/// Packs an ICMP error request into packet metadata.
#[inline]
pub fn icmp_code(typ: u8, code: u8, mtu: u16) -> u32 {
    ((typ as u32) << 24) | ((code as u32) << 16) | mtu as u32
}

/// A flow hash over addresses, protocol and ports of the IP packet at the start of `ip`
/// (symmetric inputs are not needed: ECMP only has to keep one direction on one path).
#[inline]
pub fn flow_hash(ip: &[u8]) -> u32 {
    let (addrs, proto, l4) = match ip[0] >> 4 {
        4 => {
            let hl = ((ip[0] & 0x0f) as usize) * 4;
            (&ip[12..20], ip[9], hl)
        }
        _ => (&ip[8..40], ip[6], 40),
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ proto as u64;
    for c in addrs.chunks(4) {
        h = (h ^ u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64).wrapping_mul(0x100_0000_01b3);
    }
    if matches!(proto, 6 | 17) && ip.len() >= l4 + 4 {
        h = (h ^ u32::from_be_bytes([ip[l4], ip[l4 + 1], ip[l4 + 2], ip[l4 + 3]]) as u64)
            .wrapping_mul(0x100_0000_01b3);
    }
    // murmur3 fmix64 finalizer: every input bit reaches the low bits used for path choice.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as u32
}

/// Puts an Ethernet header (`dst`, `src`, `ethertype`) right in front of the L3 header of a
/// routed packet (reusing the old one's room or the headroom) and marks the packet as
/// routed, untagged, at the start of its output arc. False when the headroom is exhausted.
#[inline]
pub fn rewrite_eth(p: &mut Packet, dst: Mac, src: Mac, ethertype: u16) -> bool {
    let l3 = p.meta.l3 as usize;
    if l3 > 14 {
        p.pull_front(l3 - 14);
    } else if l3 < 14 && !p.push_front(14 - l3) {
        return false;
    }
    write_eth(p.data_mut(), dst, src, None, ethertype);
    p.meta.l3 = 14;
    p.meta.bd = 0;
    p.meta.arc_pos = 0;
    true
}

/// Sends the ICMP/ICMPv6 error `q` (built with its IP header at offset 14) about packet `i`
/// of `v` on to the lookup (next 0) as a locally originated packet in the offender's VRF,
/// and drops the offender with `reason`.
pub fn emit_icmp_error(v: &mut Vector, i: usize, mut q: Packet, reason: u16) {
    let m = &v.pkts[i].meta;
    q.meta.l3 = 14;
    q.meta.rx_if = m.rx_if;
    q.meta.vrf = m.vrf;
    q.meta.local_origin = true;
    q.meta.trace = m.trace;
    v.emit(0, q);
    v.drop(i, reason);
}
