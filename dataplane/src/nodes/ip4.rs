//! IPv4 nodes: `arp-input`, `ip4-input`, `ip4-lookup` (LPM + ECMP), `ip4-local` (echo
//! replies), `ip4-rewrite` (TTL, MTU, ARP resolution, Ethernet rewrite), `ip4-frag`
//! (fragmentation to the egress MTU, RFC 791) and `ip4-icmp-error`.

use std::net::{IpAddr, Ipv4Addr};

use super::{FibHop, emit_icmp_error, fib_trace, flow_hash, icmp_code, rewrite_eth};
use crate::graph::arc::{ARC_IP4_OUTPUT, ARC_IP4_UNICAST};
use crate::graph::{Ctx, Node, NodeReg, Vector};
use crate::headers::*;
use crate::stats::bump;
use crate::tables::fib::Adj;
use crate::types::Mac;

/// `arp-input`: answers requests for own addresses and learns neighbors.
#[derive(Debug, Default)]
pub struct ArpInput;

impl Node for ArpInput {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "arp-input",
            nexts: &["interface-output"],
            errors: &[
                "malformed arp",
                "not for us",
                "reply consumed",
                "neighbor table full",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let Ok(a) = Arp::parse(&p.data()[l3..]) else {
                v.drop(i, 0);
                continue;
            };
            let Some(ifx) = cx.t.iface(p.meta.rx_if) else {
                v.drop(i, 1);
                continue;
            };
            if !ifx.has_v4(a.tpa) {
                v.drop(i, 1);
                continue;
            }
            if !a.spa.is_unspecified()
                && !a.sha.is_multicast()
                && !cx.sh.neigh.learn(
                    p.meta.rx_if,
                    IpAddr::V4(a.spa),
                    a.sha,
                    cx.now,
                    cx.t.limits.max_neighbors,
                )
            {
                cx.sh
                    .events
                    .table_full("neighbor", cx.t.limits.max_neighbors, cx.now);
                v.drop(i, 3);
                continue;
            }
            if a.op != ARP_REQUEST {
                v.drop(i, 2);
                continue;
            }
            let mac = ifx.mac;
            p.truncate(l3 + ARP_LEN);
            let d = p.data_mut();
            d[0..6].copy_from_slice(&a.sha.0);
            d[6..12].copy_from_slice(&mac.0);
            write_arp(&mut d[l3..], ARP_REPLY, mac, a.tpa, a.sha, a.spa);
            p.meta.tx_if = p.meta.rx_if;
            p.meta.bd = 0;
            cx.trace(&v.pkts[i], "arp-input", || {
                format!("reply {} is-at {mac}", a.tpa)
            });
            v.next(i, 0);
        }
    }
}

/// `ip4-input`: validates the header and enters the ip4-unicast feature arc.
#[derive(Debug, Default)]
pub struct Ip4Input;

impl Node for Ip4Input {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-input",
            nexts: &[],
            errors: &["malformed ipv4", "bad header checksum"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let d = &p.data()[l3..];
            let h = match Ipv4::parse(d) {
                Ok(h) => h,
                Err(_) => {
                    if let Some(c) = cx.stats.ifs.get(p.meta.rx_if as usize) {
                        bump(&c.rx_errors, 1);
                    }
                    v.drop(i, 0);
                    continue;
                }
            };
            if checksum(&d[..h.header_len]) != 0 {
                v.drop(i, 1);
                continue;
            }
            p.truncate(l3 + h.total_len as usize);
            let rx = p.meta.rx_if;
            p.meta.vrf = cx.t.iface(rx).map_or(0, |f| f.vrf);
            p.meta.arc_pos = 0;
            v.arc_next(cx, i, ARC_IP4_UNICAST, rx);
        }
    }
}

/// `ip4-lookup`: longest-prefix match in the packet's VRF; ECMP by flow hash.
#[derive(Debug, Default)]
pub struct Ip4Lookup;

impl Node for Ip4Lookup {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-lookup",
            nexts: &["ip4-local", "ip4-rewrite", "ip4-icmp-error"],
            errors: &[
                "no route",
                "blackhole",
                "multicast not supported",
                "link-layer broadcast not routed",
                "forwarding disabled on the input interface",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let d = &p.data()[l3..];
            let dst = Ipv4Addr::new(d[16], d[17], d[18], d[19]);
            if dst.is_broadcast() {
                v.next(i, 0);
                continue;
            }
            if dst.is_multicast() {
                v.drop(i, 2);
                continue;
            }
            let adj = cx.t.fib(p.meta.vrf).and_then(|f| f.lookup4(dst));
            // RFC 1812 5.3.4: a packet that came as a link-layer broadcast or multicast is
            // not forwarded (only delivered locally).
            let l2_group = !p.meta.local_origin && p.data()[0] & 1 != 0;
            // ietf-ip forwarding false: a host interface, transit is not routed.
            let host_if =
                !p.meta.local_origin && cx.t.iface(p.meta.rx_if).is_some_and(|f| !f.forward_v4);
            match adj {
                Some(Adj::Local) => {
                    let t = cx.t;
                    cx.trace(&v.pkts[i], "ip4-lookup", || {
                        fib_trace(t, dst.into(), FibHop::Local)
                    });
                    v.next(i, 0)
                }
                _ if l2_group => v.drop(i, 3),
                _ if host_if => v.drop(i, 4),
                Some(Adj::Glean { ifidx }) => {
                    p.meta.tx_if = *ifidx;
                    p.meta.nh_v4 = u32::from(dst);
                    if p.meta.trace != 0 {
                        let (t, hop) = (cx.t, FibHop::Attached(*ifidx));
                        cx.trace(&v.pkts[i], "ip4-lookup", || fib_trace(t, dst.into(), hop));
                    }
                    v.next(i, 1);
                }
                Some(Adj::Via(paths)) => {
                    let path = if paths.len() == 1 {
                        &paths[0]
                    } else {
                        let h = flow_hash(d);
                        p.meta.flow_hash = h;
                        &paths[h as usize % paths.len()]
                    };
                    p.meta.tx_if = path.ifidx;
                    p.meta.nh_v4 = match path.nh {
                        Some(IpAddr::V4(a)) => u32::from(a),
                        _ => u32::from(dst),
                    };
                    if p.meta.trace != 0 {
                        let hop = FibHop::Via {
                            nh: Ipv4Addr::from(p.meta.nh_v4).into(),
                            ifidx: path.ifidx,
                            paths: paths.len(),
                        };
                        let t = cx.t;
                        cx.trace(&v.pkts[i], "ip4-lookup", || fib_trace(t, dst.into(), hop));
                    }
                    v.next(i, 1);
                }
                Some(Adj::Drop) => v.drop(i, 1),
                None => {
                    if p.meta.local_origin {
                        v.drop(i, 0);
                    } else {
                        p.meta.icmp = icmp_code(ICMP_DEST_UNREACH, 0, 0);
                        v.next(i, 2);
                    }
                }
            }
        }
    }
}

/// `ip4-local`: packets for the box. Answers ICMP echo; nothing else listens.
#[derive(Debug, Default)]
pub struct Ip4Local;

impl Node for Ip4Local {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-local",
            nexts: &["ip4-lookup", "ip4-icmp-error"],
            errors: &[
                "no listener",
                "icmp not handled",
                "broadcast",
                "probe answer received",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let d = p.data_mut();
            let ip = &mut d[l3..];
            let hl = ((ip[0] & 0x0f) as usize) * 4;
            let proto = ip[9];
            if ip[16..20] == [255; 4] {
                v.drop(i, 2);
                continue;
            }
            if proto == PROTO_ICMP
                && ip.len() >= hl + 8
                && ip[hl] == ICMP_ECHO_REQUEST
                && ip[6] & 0x3f == 0
                && ip[7] == 0
            {
                let (src, dst) = (
                    [ip[12], ip[13], ip[14], ip[15]],
                    [ip[16], ip[17], ip[18], ip[19]],
                );
                ip[12..16].copy_from_slice(&dst);
                ip[16..20].copy_from_slice(&src);
                ip[8] = 64;
                fix_ipv4_checksum(ip);
                let c = u16::from_be_bytes([ip[hl + 2], ip[hl + 3]]);
                let c = update16(
                    c,
                    (ICMP_ECHO_REQUEST as u16) << 8,
                    (ICMP_ECHO_REPLY as u16) << 8,
                );
                ip[hl] = ICMP_ECHO_REPLY;
                ip[hl + 2..hl + 4].copy_from_slice(&c.to_be_bytes());
                p.meta.local_origin = true;
                p.meta.arc_pos = 0;
                cx.trace(&v.pkts[i], "ip4-local", || "icmp echo reply".into());
                v.next(i, 0);
            } else if proto == PROTO_ICMP {
                // An answer to a probe of the box (ping, traceroute) goes to it.
                if cx.sh.probes.any_open() && cx.sh.probes.deliver(ip, cx.now) {
                    cx.trace(&v.pkts[i], "ip4-local", || "probe answer".into());
                    v.drop(i, 3);
                } else {
                    v.drop(i, 1);
                }
            } else if proto == PROTO_UDP {
                p.meta.icmp = icmp_code(ICMP_DEST_UNREACH, 3, 0);
                v.next(i, 1);
            } else {
                v.drop(i, 0);
            }
        }
    }
}

/// `ip4-rewrite`: TTL decrement (or time-exceeded), MTU check, ARP resolution, MAC rewrite,
/// then the ip4-output feature arc. The last resolved neighbor is remembered for the rest of
/// the vector (packets of a vector mostly share their next hop).
#[derive(Debug, Default)]
pub struct Ip4Rewrite {
    last: Option<(u32, u32, Mac)>,
}

impl Node for Ip4Rewrite {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-rewrite",
            nexts: &["interface-output", "ip4-icmp-error"],
            errors: &[
                "neighbor unresolved",
                "mtu exceeded",
                "unknown interface",
                "no buffers",
                "no headroom",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        self.last = None;
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let tx = p.meta.tx_if;
            let Some(ifx) = cx.t.iface(tx) else {
                v.drop(i, 2);
                continue;
            };
            let l3 = p.meta.l3 as usize;
            let local = p.meta.local_origin;
            let seg = (p.meta.gso_size != 0).then(|| crate::offload::wire_l3_len(p, l3));
            let d = p.data_mut();
            let ip = &mut d[l3..];
            if !local && ip[8] <= 1 {
                p.meta.icmp = icmp_code(ICMP_TIME_EXCEEDED, 0, 0);
                v.next(i, 1);
                continue;
            }
            // Too big for the egress MTU: with DF, "fragmentation needed" to the source
            // (RFC 1191), quoting the packet as it was sent (checked before the TTL
            // changes); without, `interface-output` hands it to `ip4-frag` at the end of the
            // output arc (after NAT and output ACLs have seen the whole datagram).
            // A super-frame: its segments must fit (it is never fragmented; without DF it is
            // dropped as too big, there being no datagram of that size to fragment).
            let total = seg.map_or(u16::from_be_bytes([ip[2], ip[3]]) as usize, |s| s);
            if total > ifx.mtu as usize && seg.is_some() && ip[6] & 0x40 == 0 {
                v.drop(i, 1);
                continue;
            }
            if total > ifx.mtu as usize && ip[6] & 0x40 != 0 {
                if local {
                    v.drop(i, 1);
                } else {
                    p.meta.icmp = icmp_code(ICMP_DEST_UNREACH, 4, ifx.mtu);
                    v.next(i, 1);
                }
                continue;
            }
            if !local {
                let old = u16::from_be_bytes([ip[8], ip[9]]);
                ip[8] -= 1;
                let new = u16::from_be_bytes([ip[8], ip[9]]);
                let c = update16(u16::from_be_bytes([ip[10], ip[11]]), old, new);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
            }
            let nh = Ipv4Addr::from(p.meta.nh_v4);
            let cached = match self.last {
                Some((t, a, m)) if t == tx && a == p.meta.nh_v4 => Some(m),
                _ => None,
            };
            let found = cached.or_else(|| {
                cx.sh
                    .neigh
                    .lookup(tx, IpAddr::V4(nh), cx.now, cx.t.limits.neighbor_ns)
            });
            if let Some(m) = found {
                self.last = Some((tx, p.meta.nh_v4, m));
            }
            let Some(mac) = found else {
                if cx
                    .sh
                    .neigh
                    .should_request(tx, IpAddr::V4(nh), cx.now, cx.t.limits.max_neighbors)
                    && let Some(spa) = ifx.v4_source_for(nh)
                {
                    match cx.pool.alloc() {
                        Some(mut q) => {
                            q.set_len(14 + ARP_LEN);
                            let b = q.data_mut();
                            write_eth(b, Mac::BROADCAST, ifx.mac, None, ETH_P_ARP);
                            write_arp(&mut b[14..], ARP_REQUEST, ifx.mac, spa, Mac::ZERO, nh);
                            q.meta.tx_if = tx;
                            q.meta.rx_if = p.meta.rx_if;
                            v.emit(0, q);
                        }
                        None => bump(&cx.stats.no_buffers, 1),
                    }
                }
                v.drop(i, 0);
                continue;
            };
            if !rewrite_eth(p, mac, ifx.mac, ETH_P_IPV4) {
                v.drop(i, 4);
                continue;
            }
            if p.meta.trace != 0 {
                let out = ifx.name.as_str();
                cx.trace(&v.pkts[i], "ip4-rewrite", || {
                    format!("neighbor {nh} is {mac}: rewritten for {out}")
                });
            }
            v.arc_next(cx, i, ARC_IP4_OUTPUT, tx);
        }
    }
}

/// `ip4-icmp-error`: replaces the packet with an ICMP error to its source (type/code from
/// the packet's metadata), unless the packet must not trigger one.
#[derive(Debug, Default)]
pub struct Ip4IcmpError;

const ERR_SENT_TE: u16 = 0;
const ERR_SENT_UNREACH: u16 = 1;
const ERR_SUPPRESSED: u16 = 2;
const ERR_NO_BUF: u16 = 3;

impl Node for Ip4IcmpError {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-icmp-error",
            nexts: &["ip4-lookup"],
            errors: &[
                "ttl expired (time-exceeded sent)",
                "unreachable (icmp error sent)",
                "icmp error suppressed",
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
            let reason = if typ == ICMP_TIME_EXCEEDED {
                ERR_SENT_TE
            } else {
                ERR_SENT_UNREACH
            };
            let l3 = p.meta.l3 as usize;
            let orig = &p.data()[l3..];
            let Ok(h) = Ipv4::parse(orig) else {
                v.drop(i, ERR_SUPPRESSED);
                continue;
            };
            let is_err = h.proto == PROTO_ICMP
                && !h.is_later_fragment()
                && orig.len() > h.header_len
                && !matches!(orig[h.header_len], ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY);
            let src =
                cx.t.iface(p.meta.rx_if)
                    .and_then(|f| f.v4_source_for(h.src));
            let (Some(src), false) = (
                src,
                is_err
                    || h.is_later_fragment()
                    || h.src.is_multicast()
                    || h.src.is_broadcast()
                    || h.src.is_unspecified(),
            ) else {
                v.drop(i, ERR_SUPPRESSED);
                continue;
            };
            let quote = orig.len().min(548);
            let Some(mut q) = cx.pool.alloc() else {
                bump(&cx.stats.no_buffers, 1);
                v.drop(i, ERR_NO_BUF);
                continue;
            };
            q.set_len(14 + 28 + quote);
            let b = q.data_mut();
            b[..14].fill(0);
            write_ipv4(&mut b[14..], src, h.src, PROTO_ICMP, 64, 8 + quote);
            let icmp = &mut b[34..];
            icmp[0] = typ;
            icmp[1] = code;
            icmp[2..4].fill(0);
            icmp[4..6].fill(0);
            icmp[6..8].copy_from_slice(&mtu.to_be_bytes());
            icmp[8..8 + quote].copy_from_slice(&orig[..quote]);
            let c = checksum(&icmp[..8 + quote]);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            emit_icmp_error(v, i, q, reason);
        }
    }
}

/// `ip4-frag`: `interface-output` sends it routed IPv4 datagrams larger than the egress
/// interface's MTU whose DF bit is clear (`ip4-rewrite` answered the others with
/// "fragmentation needed"); they are split into fragments of at most MTU bytes
/// (RFC 791: payload in multiples of 8 bytes, offsets and MF set, options without the copy
/// flag only in the first fragment). The packet's own buffer becomes the first fragment.
#[derive(Debug, Default)]
pub struct Ip4Frag {
    out: Vec<crate::buffer::Packet>,
}

const FRAG_DF: u16 = 0;
const FRAG_NO_BUF: u16 = 1;
const FRAG_MALFORMED: u16 = 2;

/// Options of the IPv4 header `h` (without the fixed 20 bytes) that are copied into every
/// fragment (RFC 791 copy flag), zero-padded to a multiple of 4 bytes, into `out`.
fn copied_options(h: &[u8], out: &mut [u8; 40]) -> usize {
    let mut n = 0;
    let mut k = 20;
    while k < h.len() {
        let t = h[k];
        if t == 0 {
            break;
        }
        if t == 1 {
            k += 1;
            continue;
        }
        let len = h.get(k + 1).copied().unwrap_or(0) as usize;
        if len < 2 || k + len > h.len() {
            break;
        }
        if t & 0x80 != 0 {
            out[n..n + len].copy_from_slice(&h[k..k + len]);
            n += len;
        }
        k += len;
    }
    let padded = n.div_ceil(4) * 4;
    out[n..padded].fill(0);
    padded
}

impl Node for Ip4Frag {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ip4-frag",
            nexts: &["interface-output"],
            errors: &[
                "mtu exceeded with don't-fragment",
                "no buffers",
                "malformed ipv4",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &v.pkts[i];
            let Some(ifx) = cx.t.iface(p.meta.tx_if) else {
                v.next(i, 0);
                continue;
            };
            let mtu = ifx.mtu as usize;
            let l3 = p.meta.l3 as usize;
            let d = p.data();
            let ip = &d[l3..];
            let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
            if total <= mtu {
                v.next(i, 0);
                continue;
            }
            let hl = ((ip[0] & 0x0f) as usize) * 4;
            let flags = u16::from_be_bytes([ip[6], ip[7]]);
            if flags & 0x4000 != 0 {
                v.drop(i, FRAG_DF);
                continue;
            }
            if hl < 20 || total > ip.len() || total <= hl {
                v.drop(i, FRAG_MALFORMED);
                continue;
            }
            let (base_off, more) = ((flags & 0x1fff) as usize, flags & 0x2000 != 0);
            let payload = total - hl;
            let first = (mtu - hl) & !7;
            let mut opts = [0u8; 40];
            let hl2 = 20 + copied_options(&ip[..hl], &mut opts);
            let step = (mtu - hl2) & !7;
            // Later fragments, as new packets.
            let mut off = first;
            let mut ok = true;
            while off < payload {
                let len = step.min(payload - off);
                let Some(mut q) = cx.pool.alloc() else {
                    ok = false;
                    break;
                };
                q.set_len(l3 + hl2 + len);
                let b = q.data_mut();
                b[..l3].copy_from_slice(&d[..l3]);
                let h = &mut b[l3..];
                h[..20].copy_from_slice(&ip[..20]);
                h[20..hl2].copy_from_slice(&opts[..hl2 - 20]);
                h[0] = 0x40 | (hl2 / 4) as u8;
                h[2..4].copy_from_slice(&((hl2 + len) as u16).to_be_bytes());
                let last = off + len == payload;
                let fo = (base_off + off / 8) as u16 | if last && !more { 0 } else { 0x2000 };
                h[6..8].copy_from_slice(&fo.to_be_bytes());
                h[hl2..hl2 + len].copy_from_slice(&ip[hl + off..hl + off + len]);
                fix_ipv4_checksum(h);
                q.meta = p.meta;
                q.meta.trace = 0;
                self.out.push(q);
                off += len;
            }
            if !ok {
                bump(&cx.stats.no_buffers, 1);
                cx.pool.free_all(&mut self.out);
                v.drop(i, FRAG_NO_BUF);
                continue;
            }
            let n = self.out.len() + 1;
            let p = &mut v.pkts[i];
            p.truncate(l3 + hl + first);
            let h = &mut p.data_mut()[l3..];
            h[2..4].copy_from_slice(&((hl + first) as u16).to_be_bytes());
            h[6..8].copy_from_slice(&((base_off as u16) | 0x2000).to_be_bytes());
            fix_ipv4_checksum(h);
            cx.trace(&v.pkts[i], "ip4-frag", || {
                format!("{total} bytes in {n} fragments for mtu {mtu}")
            });
            for q in self.out.drain(..) {
                v.emit(0, q);
            }
            v.next(i, 0);
        }
    }
}
