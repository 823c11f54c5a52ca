//! IPv6 nodes: `ip6-input`, `ip6-lookup`, `ip6-local` (echo replies, neighbor discovery:
//! answers solicitations for own addresses, learns from solicitations and advertisements),
//! `ip6-rewrite` (hop limit, MTU, ND resolution, Ethernet rewrite) and `ip6-icmp-error`.

use std::net::{IpAddr, Ipv6Addr};

use super::{FibHop, emit_icmp_error, fib_trace, flow_hash, icmp_code, rewrite_eth};
use crate::graph::arc::{ARC_IP6_OUTPUT, ARC_IP6_UNICAST};
use crate::graph::{Ctx, Node, NodeReg, Vector};
use crate::headers::*;
use crate::stats::bump;
use crate::tables::fib::Adj;
use crate::tables::{IfEntry, is_link_local};
use crate::types::Mac;

/// The solicited-node multicast address of `a`.
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | o[13] as u16,
        u16::from_be_bytes([o[14], o[15]]),
    )
}

fn addr_at(d: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[at..at + 16]);
    Ipv6Addr::from(a)
}

/// Finds an ND option of `typ` (1 source, 2 target link-layer address) in `opts`.
fn nd_lladdr(mut opts: &[u8], typ: u8) -> Option<Mac> {
    while opts.len() >= 8 {
        let len = opts[1] as usize * 8;
        if len == 0 || len > opts.len() {
            return None;
        }
        if opts[0] == typ && len >= 8 {
            return Some(Mac::from_slice(&opts[2..8]));
        }
        opts = &opts[len..];
    }
    None
}

/// Writes an NS or NA (ICMPv6 part, 32 bytes incl. one link-layer option) into `b`.
fn write_nd(b: &mut [u8], typ: u8, flags: u8, target: Ipv6Addr, mac: Mac) {
    b[0] = typ;
    b[1] = 0;
    b[2..4].fill(0);
    b[4] = flags;
    b[5..8].fill(0);
    b[8..24].copy_from_slice(&target.octets());
    b[24] = if typ == ICMP6_NS { 1 } else { 2 };
    b[25] = 1;
    b[26..32].copy_from_slice(&mac.0);
}

/// `ip6-input`.
#[derive(Debug, Default)]
pub struct Ip6Input;

impl Node for Ip6Input {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip6-input",
            nexts: &[],
            errors: &["malformed ipv6"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let Ok(h) = Ipv6::parse(&p.data()[l3..]) else {
                if let Some(c) = cx.stats.ifs.get(p.meta.rx_if as usize) {
                    bump(&c.rx_errors, 1);
                }
                v.drop(i, 0);
                continue;
            };
            p.truncate(l3 + IPV6_LEN + h.payload_len as usize);
            let rx = p.meta.rx_if;
            p.meta.vrf = cx.t.iface(rx).map_or(0, |f| f.vrf);
            p.meta.arc_pos = 0;
            v.arc_next(cx, i, ARC_IP6_UNICAST, rx);
        }
    }
}

/// `ip6-lookup`.
#[derive(Debug, Default)]
pub struct Ip6Lookup;

impl Node for Ip6Lookup {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip6-lookup",
            nexts: &["ip6-local", "ip6-rewrite", "ip6-icmp-error"],
            errors: &[
                "no route",
                "blackhole",
                "multicast not for us",
                "link-local not routed",
                "link-layer multicast not routed",
                "forwarding disabled on the input interface",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let d = &p.data()[l3..];
            let dst = addr_at(d, 24);
            let rx_if = cx.t.iface(p.meta.rx_if);
            if dst.is_multicast() {
                let ours = dst == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
                    || rx_if.is_some_and(|f| f.v6.iter().any(|(a, _)| solicited_node(*a) == dst));
                if ours {
                    v.next(i, 0)
                } else {
                    v.drop(i, 2)
                }
                continue;
            }
            if is_link_local(&dst) {
                let ours = if p.meta.local_origin {
                    false
                } else {
                    rx_if.is_some_and(|f| f.has_v6(dst))
                };
                if ours {
                    v.next(i, 0)
                } else {
                    v.drop(i, 3)
                }
                continue;
            }
            let l2_group = !p.meta.local_origin && p.data()[0] & 1 != 0;
            let host_if = !p.meta.local_origin && rx_if.is_some_and(|f| !f.forward_v6);
            match cx.t.fib(p.meta.vrf).and_then(|f| f.lookup(IpAddr::V6(dst))) {
                Some(Adj::Local) => {
                    let t = cx.t;
                    cx.trace(&v.pkts[i], "ip6-lookup", || {
                        fib_trace(t, dst.into(), FibHop::Local)
                    });
                    v.next(i, 0)
                }
                _ if l2_group => v.drop(i, 4),
                _ if host_if => v.drop(i, 5),
                Some(Adj::Glean { ifidx }) => {
                    p.meta.tx_if = *ifidx;
                    p.meta.nh_v6 = dst.octets();
                    if p.meta.trace != 0 {
                        let (t, hop) = (cx.t, FibHop::Attached(*ifidx));
                        cx.trace(&v.pkts[i], "ip6-lookup", || fib_trace(t, dst.into(), hop));
                    }
                    v.next(i, 1);
                }
                Some(Adj::Via(paths)) => {
                    let path = if paths.len() == 1 {
                        &paths[0]
                    } else {
                        &paths[flow_hash(d) as usize % paths.len()]
                    };
                    p.meta.tx_if = path.ifidx;
                    p.meta.nh_v6 = match path.nh {
                        Some(IpAddr::V6(a)) => a.octets(),
                        _ => dst.octets(),
                    };
                    if p.meta.trace != 0 {
                        let hop = FibHop::Via {
                            nh: Ipv6Addr::from(p.meta.nh_v6).into(),
                            ifidx: path.ifidx,
                            paths: paths.len(),
                        };
                        let t = cx.t;
                        cx.trace(&v.pkts[i], "ip6-lookup", || fib_trace(t, dst.into(), hop));
                    }
                    v.next(i, 1);
                }
                Some(Adj::Drop) => v.drop(i, 1),
                None if p.meta.local_origin => v.drop(i, 0),
                None => {
                    p.meta.icmp = icmp_code(ICMP6_DEST_UNREACH, 0, 0);
                    v.next(i, 2);
                }
            }
        }
    }
}

/// `ip6-local`.
#[derive(Debug, Default)]
pub struct Ip6Local;

impl Node for Ip6Local {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip6-local",
            nexts: &["ip6-lookup", "interface-output"],
            errors: &[
                "no listener",
                "nd not for us",
                "advertisement consumed",
                "malformed nd",
                "icmp not handled",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let rx = p.meta.rx_if;
            let Some(ifx) = cx.t.iface(rx) else {
                v.drop(i, 0);
                continue;
            };
            let d = &p.data()[l3..];
            if d[6] != PROTO_ICMPV6 || d.len() < IPV6_LEN + 8 {
                v.drop(i, 0);
                continue;
            }
            let src = addr_at(d, 8);
            let icmp = &d[IPV6_LEN..];
            let src_mac = Mac::from_slice(&p.data()[6..12]);
            match icmp[0] {
                ICMP6_ECHO_REQUEST => {
                    let dst = addr_at(d, 24);
                    let me = if dst.is_multicast() {
                        ifx.v6_source_for(src)
                    } else {
                        Some(dst)
                    };
                    let Some(me) = me else {
                        v.drop(i, 0);
                        continue;
                    };
                    let dm = p.data_mut();
                    let ip = &mut dm[l3..];
                    ip[8..24].copy_from_slice(&me.octets());
                    ip[24..40].copy_from_slice(&src.octets());
                    ip[7] = 64;
                    ip[IPV6_LEN] = ICMP6_ECHO_REPLY;
                    fix_l4_checksum(ip);
                    p.meta.local_origin = true;
                    p.meta.arc_pos = 0;
                    if is_link_local(&src) {
                        direct(p, ifx, src_mac);
                        v.next(i, 1);
                    } else {
                        v.next(i, 0);
                    }
                }
                ICMP6_NS => {
                    if icmp.len() < 24 {
                        v.drop(i, 3);
                        continue;
                    }
                    let target = addr_at(icmp, 8);
                    if !ifx.has_v6(target) {
                        v.drop(i, 1);
                        continue;
                    }
                    let sll = nd_lladdr(&icmp[24..], 1);
                    if !src.is_unspecified()
                        && let Some(m) = sll
                    {
                        cx.sh.neigh.learn(
                            rx,
                            IpAddr::V6(src),
                            m,
                            cx.now,
                            cx.t.limits.max_neighbors,
                        );
                    }
                    let (dst, flags) = if src.is_unspecified() {
                        (Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0xa0)
                    } else {
                        (src, 0xe0)
                    };
                    let eth_dst = if src.is_unspecified() {
                        Mac::ipv6_multicast(&dst)
                    } else {
                        sll.unwrap_or(src_mac)
                    };
                    // The advertisement (with its target link-layer option) is 32 bytes; a
                    // solicitation without options (a DAD probe) is only 24.
                    let want = l3 + IPV6_LEN + 32;
                    p.truncate(want);
                    let short = want.saturating_sub(p.len());
                    if short > 0 && !p.extend(short) {
                        v.drop(i, 3);
                        continue;
                    }
                    let mac = ifx.mac;
                    let ip = &mut p.data_mut()[l3..];
                    write_ipv6(ip, target, dst, PROTO_ICMPV6, 255, 32);
                    write_nd(&mut ip[IPV6_LEN..], ICMP6_NA, flags, target, mac);
                    fix_l4_checksum(ip);
                    direct(p, ifx, eth_dst);
                    cx.trace(&v.pkts[i], "ip6-local", || {
                        format!("neighbor advertisement {target} is-at {mac}")
                    });
                    v.next(i, 1);
                }
                ICMP6_NA => {
                    if icmp.len() < 24 {
                        v.drop(i, 3);
                        continue;
                    }
                    let target = addr_at(icmp, 8);
                    if let Some(m) = nd_lladdr(&icmp[24..], 2).or(Some(src_mac)) {
                        cx.sh.neigh.learn(
                            rx,
                            IpAddr::V6(target),
                            m,
                            cx.now,
                            cx.t.limits.max_neighbors,
                        );
                    }
                    v.drop(i, 2);
                }
                _ => v.drop(i, 4),
            }
        }
    }
}

/// Prepares a locally generated packet to leave on `ifx` straight to `mac`.
fn direct(p: &mut crate::buffer::Packet, ifx: &IfEntry, mac: Mac) {
    // The packet came in with an Ethernet header in front of l3: there is room.
    rewrite_eth(p, mac, ifx.mac, ETH_P_IPV6);
    p.meta.tx_if = ifx.index;
}

/// `ip6-rewrite`.
#[derive(Debug, Default)]
pub struct Ip6Rewrite;

impl Node for Ip6Rewrite {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip6-rewrite",
            nexts: &["interface-output", "ip6-icmp-error"],
            errors: &["neighbor unresolved", "unknown interface", "no headroom"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let tx = p.meta.tx_if;
            let Some(ifx) = cx.t.iface(tx) else {
                v.drop(i, 1);
                continue;
            };
            let l3 = p.meta.l3 as usize;
            let local = p.meta.local_origin;
            let seg = (p.meta.gso_size != 0).then(|| crate::offload::wire_l3_len(p, l3));
            let ip = &mut p.data_mut()[l3..];
            if !local && ip[7] <= 1 {
                p.meta.icmp = icmp_code(ICMP6_TIME_EXCEEDED, 0, 0);
                v.next(i, 1);
                continue;
            }
            // Checked before the hop limit changes, so the error quotes the packet as sent.
            // A super-frame: its segments must fit.
            let len = seg.unwrap_or(IPV6_LEN + u16::from_be_bytes([ip[4], ip[5]]) as usize);
            if len > ifx.mtu as usize {
                p.meta.icmp = icmp_code(ICMP6_PACKET_TOO_BIG, 0, ifx.mtu);
                v.next(i, 1);
                continue;
            }
            if !local {
                ip[7] -= 1;
            }
            let nh = Ipv6Addr::from(p.meta.nh_v6);
            let Some(mac) = cx
                .sh
                .neigh
                .lookup(tx, IpAddr::V6(nh), cx.now, cx.t.limits.neighbor_ns)
            else {
                if cx
                    .sh
                    .neigh
                    .should_request(tx, IpAddr::V6(nh), cx.now, cx.t.limits.max_neighbors)
                    && let Some(src) = ifx.v6_source_for(nh)
                    && let Some(mut q) = cx.pool.alloc()
                {
                    let sn = solicited_node(nh);
                    q.set_len(14 + IPV6_LEN + 32);
                    let b = q.data_mut();
                    write_eth(b, Mac::ipv6_multicast(&sn), ifx.mac, None, ETH_P_IPV6);
                    write_ipv6(&mut b[14..], src, sn, PROTO_ICMPV6, 255, 32);
                    write_nd(&mut b[14 + IPV6_LEN..], ICMP6_NS, 0, nh, ifx.mac);
                    fix_l4_checksum(&mut b[14..]);
                    q.meta.tx_if = tx;
                    q.meta.rx_if = p.meta.rx_if;
                    v.emit(0, q);
                }
                v.drop(i, 0);
                continue;
            };
            if !rewrite_eth(p, mac, ifx.mac, ETH_P_IPV6) {
                v.drop(i, 2);
                continue;
            }
            if p.meta.trace != 0 {
                let out = ifx.name.as_str();
                cx.trace(&v.pkts[i], "ip6-rewrite", || {
                    format!("neighbor {nh} is {mac}: rewritten for {out}")
                });
            }
            v.arc_next(cx, i, ARC_IP6_OUTPUT, tx);
        }
    }
}

/// `ip6-icmp-error`.
#[derive(Debug, Default)]
pub struct Ip6IcmpError;

impl Node for Ip6IcmpError {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip6-icmp-error",
            nexts: &["ip6-lookup"],
            errors: &[
                "hop limit expired (time-exceeded sent)",
                "icmpv6 error sent",
                "icmpv6 error suppressed",
                "no buffers",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &v.pkts[i];
            let (typ, code, mtu) = (
                (p.meta.icmp >> 24) as u8,
                (p.meta.icmp >> 16) as u8,
                p.meta.icmp as u16,
            );
            let reason = if typ == ICMP6_TIME_EXCEEDED { 0 } else { 1 };
            let l3 = p.meta.l3 as usize;
            let orig = &p.data()[l3..];
            let Ok(h) = Ipv6::parse(orig) else {
                v.drop(i, 2);
                continue;
            };
            let is_err =
                h.next_header == PROTO_ICMPV6 && orig.len() > IPV6_LEN && orig[IPV6_LEN] < 128;
            let src =
                cx.t.iface(p.meta.rx_if)
                    .and_then(|f| f.v6_source_for(h.src));
            let (Some(src), false) = (
                src,
                is_err || h.src.is_multicast() || h.src.is_unspecified(),
            ) else {
                v.drop(i, 2);
                continue;
            };
            let quote = orig.len().min(1232);
            let Some(mut q) = cx.pool.alloc() else {
                bump(&cx.stats.no_buffers, 1);
                v.drop(i, 3);
                continue;
            };
            q.set_len(14 + IPV6_LEN + 8 + quote);
            let b = q.data_mut();
            b[..14].fill(0);
            write_ipv6(&mut b[14..], src, h.src, PROTO_ICMPV6, 64, 8 + quote);
            let icmp = &mut b[14 + IPV6_LEN..];
            icmp[0] = typ;
            icmp[1] = code;
            icmp[2..8].fill(0);
            icmp[4..8].copy_from_slice(&(mtu as u32).to_be_bytes());
            icmp[8..8 + quote].copy_from_slice(&orig[..quote]);
            fix_l4_checksum(&mut b[14..]);
            emit_icmp_error(v, i, q, reason);
        }
    }
}
