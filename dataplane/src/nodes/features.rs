//! Feature-arc nodes: ACLs (`acl-in-ip4`, `acl-out-ip4`, `acl-in-ip6`, `acl-out-ip6` on
//! routed interfaces, `acl-in-l2`, `acl-out-l2` on bridged ones), connection tracking
//! (`conntrack-ip4`, `conntrack-ip6`, `conntrack-l2`) and NAT44 (`nat44-out2in` on received
//! unicast, `nat44-in2out` on output).

use std::net::{IpAddr, Ipv4Addr};

use crate::control::{AclAction, NatRole};
use crate::graph::arc::*;
use crate::graph::trace::RuleRef;
use crate::graph::{Ctx, Node, NodeReg, Vector};
use crate::headers::*;
use crate::state::nat::{NatFull, NatKey};
use crate::tables::acl::L2Fields;
use crate::types::Mac;

/// An ACL feature node (routed IPv4/IPv6 input and output arcs, or bridged input and
/// output arcs where frames need not carry IP).
#[derive(Debug)]
pub struct AclNode {
    name: &'static str,
    arc: usize,
    ingress: bool,
    l2: bool,
}

impl AclNode {
    /// The six ACL nodes: ip4 in/out, ip6 in/out, l2 in/out.
    pub fn all() -> [AclNode; 6] {
        let n = |name, arc, ingress, l2| AclNode {
            name,
            arc,
            ingress,
            l2,
        };
        [
            n("acl-in-ip4", ARC_IP4_UNICAST, true, false),
            n("acl-out-ip4", ARC_IP4_OUTPUT, false, false),
            n("acl-in-ip6", ARC_IP6_UNICAST, true, false),
            n("acl-out-ip6", ARC_IP6_OUTPUT, false, false),
            n("acl-in-l2", ARC_L2_INPUT, true, true),
            n("acl-out-l2", ARC_L2_OUTPUT, false, true),
        ]
    }
}

/// Where the IP header of a packet starts, for the feature nodes: bridged frames (untagged
/// inside the bridge domain) carry IP right after the Ethernet header when their ethertype
/// says so; routed packets at `meta.l3`. `None`: not IP.
#[inline]
fn ip_offset(p: &crate::buffer::Packet, l2: bool) -> Option<usize> {
    if !l2 {
        return Some(p.meta.l3 as usize);
    }
    let d = p.data();
    (d.len() >= 14 && matches!(u16::from_be_bytes([d[12], d[13]]), ETH_P_IPV4 | ETH_P_IPV6))
        .then_some(14)
}

/// The length an IP packet's header gives (Ethernet padding excluded), or what there is.
fn ip_len(ip: &[u8]) -> usize {
    let said = match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 4 => usize::from(u16::from_be_bytes([ip[2], ip[3]])),
        Some(6) if ip.len() >= 6 => 40 + usize::from(u16::from_be_bytes([ip[4], ip[5]])),
        _ => ip.len(),
    };
    said.min(ip.len())
}

impl Node for AclNode {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: self.name,
            nexts: &[],
            errors: &[
                "denied by rule",
                "denied (no rule matched)",
                "conntrack table full",
                "malformed",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &v.pkts[i];
            let ifidx = if self.ingress {
                p.meta.rx_if
            } else {
                p.meta.tx_if
            };
            let acl = cx.t.iface(ifidx).and_then(|f| {
                if self.ingress {
                    f.acl_in.as_ref()
                } else {
                    f.acl_out.as_ref()
                }
            });
            let Some(acl) = acl else {
                v.arc_next(cx, i, self.arc, ifidx);
                continue;
            };
            if p.meta.ct {
                let name = self.name;
                cx.trace(&v.pkts[i], name, || {
                    "tracked session: acl not evaluated".into()
                });
                v.arc_next(cx, i, self.arc, ifidx);
                continue;
            }
            let d = p.data();
            let l3 = ip_offset(p, self.l2);
            // A super-frame counts as the segments it stands for, headers repeated.
            let (packets, wire_bytes) = crate::offload::wire(p);
            let extra = (wire_bytes as usize).saturating_sub(d.len());
            let octets = match l3 {
                Some(o) => {
                    ip_len(d.get(o..).unwrap_or_default())
                        + extra.saturating_sub((packets as usize - 1) * o)
                }
                None => d.len() + extra,
            };
            let flow = match l3 {
                Some(l3) => match flow_of(&d[l3..]) {
                    Some(f) => Some(f),
                    None => {
                        v.drop(i, 3);
                        continue;
                    }
                },
                None => None,
            };
            let ethertype = match (self.l2, &flow) {
                (true, _) | (false, None) => u16::from_be_bytes([d[12], d[13]]),
                (false, Some(f)) if f.src.is_ipv4() => ETH_P_IPV4,
                (false, Some(_)) => ETH_P_IPV6,
            };
            let l2 = L2Fields {
                dst: Mac::from_slice(&d[0..6]),
                src: Mac::from_slice(&d[6..12]),
                ethertype,
            };
            let verdict = acl.eval_frame(&l2, flow.as_ref(), (packets, octets));
            if p.meta.trace != 0 {
                let text = match verdict {
                    Some((r, action)) => {
                        format!(
                            "acl {}: rule {} matched, {}",
                            acl.config.name,
                            r + 1,
                            action_name(action)
                        )
                    }
                    None => format!("acl {}: no rule matched, deny", acl.config.name),
                };
                let rule = RuleRef {
                    acl: acl.config.name.clone(),
                    rule: verdict.map(|(r, _)| r),
                };
                cx.trace_rule(p, self.name, rule, text);
            }
            match (verdict, flow) {
                (Some((_, AclAction::PermitReflect)), Some(flow)) => {
                    if cx.sh.ct.create(&flow, cx.now, cx.t.limits.max_conntrack) {
                        v.pkts[i].meta.ct = true;
                        cx.trace(&v.pkts[i], self.name, || {
                            format!("conntrack session created for {} > {}", flow.src, flow.dst)
                        });
                        v.arc_next(cx, i, self.arc, ifidx);
                    } else {
                        cx.sh
                            .events
                            .table_full("conntrack", cx.t.limits.max_conntrack, cx.now);
                        v.drop(i, 2);
                    }
                }
                // Non-IP frames have no connection to reflect: plain permit.
                (Some((_, AclAction::Permit | AclAction::PermitReflect)), _) => {
                    v.arc_next(cx, i, self.arc, ifidx)
                }
                (Some((_, AclAction::Deny)), _) => v.drop(i, 0),
                (None, _) => v.drop(i, 1),
            }
        }
    }
}

/// A connection-tracking feature node: marks packets of tracked sessions.
#[derive(Debug)]
pub struct ConntrackNode {
    name: &'static str,
    arc: usize,
    l2: bool,
}

impl ConntrackNode {
    /// The conntrack nodes: ip4, ip6 (routed input) and l2 (bridged input).
    pub fn all() -> [ConntrackNode; 3] {
        [
            ConntrackNode {
                name: "conntrack-ip4",
                arc: ARC_IP4_UNICAST,
                l2: false,
            },
            ConntrackNode {
                name: "conntrack-ip6",
                arc: ARC_IP6_UNICAST,
                l2: false,
            },
            ConntrackNode {
                name: "conntrack-l2",
                arc: ARC_L2_INPUT,
                l2: true,
            },
        ]
    }
}

impl Node for ConntrackNode {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: self.name,
            nexts: &[],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let Some(l3) = ip_offset(p, self.l2) else {
                let rx = p.meta.rx_if;
                v.arc_next(cx, i, self.arc, rx);
                continue;
            };
            let ip = &p.data()[l3..];
            if let Some(flow) = flow_of(ip) {
                let hit = match cx.sh.ct.track(&flow, cx.now, &cx.t.limits) {
                    Some(true) => Some("reply"),
                    Some(false) => Some("original"),
                    // An ICMP error about a tracked flow is related to it.
                    None if matches!(flow.proto, PROTO_ICMP | PROTO_ICMPV6)
                        && icmp_error_quote(ip)
                            .is_some_and(|(_, q)| cx.sh.ct.related(&q, cx.now, &cx.t.limits)) =>
                    {
                        Some("related icmp error")
                    }
                    None => None,
                };
                if let Some(how) = hit {
                    p.meta.ct = true;
                    if p.meta.trace != 0 {
                        let name = self.name;
                        cx.trace(&v.pkts[i], name, || format!("session hit ({how})"));
                    }
                }
            }
            let rx = v.pkts[i].meta.rx_if;
            v.arc_next(cx, i, self.arc, rx);
        }
    }
}

/// Rewrites source (`src == true`) or destination address and port of the IPv4 packet at
/// the start of `ip`, updating IP and L4 checksums incrementally. With `pending` (the
/// packet's transport checksum is left to the egress, `Meta::csum_partial`), the
/// transport checksum field holds the pseudo-header sum: it is recomputed instead.
pub fn nat_rewrite(ip: &mut [u8], src: bool, addr: Ipv4Addr, port: Option<u16>, pending: bool) {
    let hl = ((ip[0] & 0x0f) as usize) * 4;
    let at = if src { 12 } else { 16 };
    let old = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
    let new = u32::from(addr);
    ip[at..at + 4].copy_from_slice(&addr.octets());
    let c = update32(u16::from_be_bytes([ip[10], ip[11]]), old, new);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
        return; // later fragment: no L4 header
    }
    let proto = ip[9];
    let l4 = &mut ip[hl..];
    let (csum_at, port_at, pseudo) = match proto {
        PROTO_TCP if l4.len() >= 20 => (16, if src { 0 } else { 2 }, true),
        PROTO_UDP if l4.len() >= 8 => (6, if src { 0 } else { 2 }, true),
        PROTO_ICMP if l4.len() >= 8 => (2, 4, false),
        _ => return,
    };
    if pending && pseudo {
        if let Some(np) = port {
            l4[port_at..port_at + 2].copy_from_slice(&np.to_be_bytes());
        }
        crate::offload::refresh_pseudo_ip(ip);
        return;
    }
    let mut c = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
    let udp_zero = proto == PROTO_UDP && c == 0;
    if pseudo {
        c = update32(c, old, new);
    }
    if let Some(np) = port {
        let op = u16::from_be_bytes([l4[port_at], l4[port_at + 1]]);
        l4[port_at..port_at + 2].copy_from_slice(&np.to_be_bytes());
        c = update16(c, op, np);
    }
    if udp_zero {
        return;
    }
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Rewrites the source (`src == true`) or destination address, and port (ICMP echo:
/// identifier), of the packet quoted by an ICMP error (`q` starts at its IPv4 header),
/// updating its header checksum and, where the quote holds it, its transport checksum.
pub fn nat_rewrite_quoted(q: &mut [u8], src: bool, addr: Ipv4Addr, port: Option<u16>) {
    let hl = ((q[0] & 0x0f) as usize) * 4;
    let at = if src { 12 } else { 16 };
    let old = u32::from_be_bytes([q[at], q[at + 1], q[at + 2], q[at + 3]]);
    let new = u32::from(addr);
    q[at..at + 4].copy_from_slice(&addr.octets());
    let c = update32(u16::from_be_bytes([q[10], q[11]]), old, new);
    q[10..12].copy_from_slice(&c.to_be_bytes());
    if u16::from_be_bytes([q[6], q[7]]) & 0x1fff != 0 || q.len() < hl {
        return;
    }
    let proto = q[9];
    let l4 = &mut q[hl..];
    let (port_at, csum_at, pseudo) = match proto {
        PROTO_TCP => (if src { 0 } else { 2 }, 16, true),
        PROTO_UDP => (if src { 0 } else { 2 }, 6, true),
        PROTO_ICMP => (4, 2, false),
        _ => return,
    };
    let mut old_port = None;
    if let Some(np) = port
        && l4.len() >= port_at + 2
    {
        old_port = Some((u16::from_be_bytes([l4[port_at], l4[port_at + 1]]), np));
        l4[port_at..port_at + 2].copy_from_slice(&np.to_be_bytes());
    }
    if l4.len() < csum_at + 2 {
        return;
    }
    let mut c = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
    if proto == PROTO_UDP && c == 0 {
        return;
    }
    if pseudo {
        c = update32(c, old, new);
    }
    if let Some((op, np)) = old_port {
        c = update16(c, op, np);
    }
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the ICMP checksum of the IPv4 ICMP message at the start of `ip`.
fn fix_icmp4_checksum(ip: &mut [u8]) {
    let hl = ((ip[0] & 0x0f) as usize) * 4;
    let icmp = &mut ip[hl..];
    icmp[2..4].fill(0);
    let c = checksum(icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
}

/// The NAT key under which a session knows the packet an ICMP error quotes, looked up in
/// the direction opposite to the quoted packet's (the quote travelled the other way).
fn quoted_reply_key(q: &Flow) -> Option<NatKey> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (q.src, q.dst) else {
        return None;
    };
    let ok = match q.proto {
        PROTO_TCP | PROTO_UDP => q.l4.valid,
        PROTO_ICMP => q.l4.valid && matches!(q.l4.icmp_type, ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY),
        _ => false,
    };
    ok.then_some(NatKey {
        src: dst,
        dst: src,
        proto: q.proto,
        sport: q.l4.dport,
        dport: q.l4.sport,
    })
}

fn nat_key(ip: &[u8]) -> Option<(NatKey, u8)> {
    let f = flow_of(ip)?;
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (f.src, f.dst) else {
        return None;
    };
    let ok = match f.proto {
        PROTO_TCP | PROTO_UDP => f.l4.valid,
        PROTO_ICMP => f.l4.valid && matches!(f.l4.icmp_type, ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY),
        _ => false,
    };
    ok.then_some((
        NatKey {
            src,
            dst,
            proto: f.proto,
            sport: f.l4.sport,
            dport: f.l4.dport,
        },
        f.l4.tcp_flags,
    ))
}

/// `nat44-out2in`: translates the destination of packets arriving on an outside interface
/// (static mappings, then PAT sessions). Packets without a translation pass unchanged.
#[derive(Debug, Default)]
pub struct Nat44Out2In;

impl Node for Nat44Out2In {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "nat44-out2in",
            nexts: &[],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let l3 = p.meta.l3 as usize;
            let rx = p.meta.rx_if;
            let pending = p.meta.csum_partial;
            let ip = &mut p.data_mut()[l3..];
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            if let Some(local) = cx.t.nat.e2l.get(&dst) {
                nat_rewrite(ip, false, *local, None, pending);
                // An ICMP error quoting a packet the mapping sent out: quote it as sent inside.
                if let Some((qo, q)) = icmp_error_quote(ip)
                    && q.src == IpAddr::V4(dst)
                {
                    nat_rewrite_quoted(&mut ip[qo..], true, *local, None);
                    fix_icmp4_checksum(ip);
                }
                p.meta.natted = true;
            } else if let Some((qo, q)) = icmp_error_quote(ip)
                && q.src == IpAddr::V4(dst)
                && let Some(k) = quoted_reply_key(&q)
                && let Some(s) = cx.sh.nat.lookup_out2in(&k, cx.now, &cx.t.limits)
            {
                // An ICMP error about a translated flow (RFC 5508): back to the inside host,
                // with the quoted packet translated back as the inside host sent it.
                let (a, port) = s.inside;
                nat_rewrite_quoted(&mut ip[qo..], true, a, Some(port));
                nat_rewrite(ip, false, a, None, pending);
                fix_icmp4_checksum(ip);
                p.meta.natted = true;
                if p.meta.trace != 0 {
                    cx.trace(&v.pkts[i], "nat44-out2in", || {
                        format!("icmp error for {a}:{port}")
                    });
                }
            } else if let Some((k, flags)) = nat_key(ip)
                && let Some(s) = cx.sh.nat.lookup_out2in(&k, cx.now, &cx.t.limits)
            {
                s.touch(flags, true, cx.now);
                nat_rewrite(ip, false, s.inside.0, Some(s.inside.1), pending);
                p.meta.natted = true;
                if p.meta.trace != 0 {
                    let (a, port) = s.inside;
                    cx.trace(&v.pkts[i], "nat44-out2in", || format!("dst -> {a}:{port}"));
                }
            }
            v.arc_next(cx, i, ARC_IP4_UNICAST, rx);
        }
    }
}

/// `nat44-in2out`: translates the source of packets from inside interfaces leaving by an
/// outside interface (static mapping, else PAT to the outside interface's address).
#[derive(Debug, Default)]
pub struct Nat44In2Out;

impl Node for Nat44In2Out {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "nat44-in2out",
            nexts: &[],
            errors: &[
                "session table full",
                "out of ports",
                "no outside address",
                "untranslatable protocol",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let tx = p.meta.tx_if;
            let from_inside =
                cx.t.iface(p.meta.rx_if)
                    .is_some_and(|f| f.nat == NatRole::Inside);
            if !from_inside || p.meta.local_origin {
                v.arc_next(cx, i, ARC_IP4_OUTPUT, tx);
                continue;
            }
            let l3 = p.meta.l3 as usize;
            let pending = p.meta.csum_partial;
            let ip = &mut p.data_mut()[l3..];
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            if let Some(ext) = cx.t.nat.l2e.get(&src) {
                nat_rewrite(ip, true, *ext, None, pending);
                if let Some((qo, q)) = icmp_error_quote(ip)
                    && q.dst == IpAddr::V4(src)
                {
                    nat_rewrite_quoted(&mut ip[qo..], false, *ext, None);
                    fix_icmp4_checksum(ip);
                }
                v.arc_next(cx, i, ARC_IP4_OUTPUT, tx);
                continue;
            }
            let Some((k, flags)) = nat_key(ip) else {
                // An inside host's ICMP error about a packet that came in through a session:
                // it leaves from the outside endpoint, quoting the packet as it arrived.
                if let Some((qo, q)) = icmp_error_quote(ip)
                    && q.dst == IpAddr::V4(src)
                    && let Some(k) = quoted_reply_key(&q)
                    && let Some(s) = cx.sh.nat.lookup_in2out(&k, cx.now, &cx.t.limits)
                {
                    let (a, port) = s.outside;
                    nat_rewrite_quoted(&mut ip[qo..], false, a, Some(port));
                    nat_rewrite(ip, true, a, None, pending);
                    fix_icmp4_checksum(ip);
                    p.meta.natted = true;
                    v.arc_next(cx, i, ARC_IP4_OUTPUT, tx);
                } else {
                    v.drop(i, 3);
                }
                continue;
            };
            let s = match cx.sh.nat.lookup_in2out(&k, cx.now, &cx.t.limits) {
                Some(s) => s,
                None => {
                    let Some(out) = cx.t.iface(tx).and_then(|f| f.v4.first().map(|a| a.0)) else {
                        v.drop(i, 2);
                        continue;
                    };
                    match cx.sh.nat.create(&k, out, cx.now, cx.t.limits.max_nat) {
                        Ok(s) => s,
                        Err(e) => {
                            cx.sh
                                .events
                                .table_full("nat44", cx.t.limits.max_nat, cx.now);
                            v.drop(i, if e == NatFull::Sessions { 0 } else { 1 });
                            continue;
                        }
                    }
                }
            };
            s.touch(flags, false, cx.now);
            nat_rewrite(ip, true, s.outside.0, Some(s.outside.1), pending);
            p.meta.natted = true;
            if p.meta.trace != 0 {
                let (a, port) = s.outside;
                cx.trace(&v.pkts[i], "nat44-in2out", || format!("src -> {a}:{port}"));
            }
            v.arc_next(cx, i, ARC_IP4_OUTPUT, tx);
        }
    }
}

/// How a trace names an ACL action.
fn action_name(a: AclAction) -> &'static str {
    match a {
        AclAction::Permit => "permit",
        AclAction::Deny => "deny",
        AclAction::PermitReflect => "permit and reflect",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Builder;

    #[test]
    fn nat_rewrite_keeps_checksums_valid() {
        let m = Mac([2, 0, 0, 0, 0, 1]);
        for b in [
            Builder::eth(m, m)
                .ipv4("10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap())
                .udp(1234, 53),
            Builder::eth(m, m)
                .ipv4("10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap())
                .tcp(1234, 80, TCP_SYN),
            Builder::eth(m, m)
                .ipv4("10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap())
                .echo_request(77, 1),
        ] {
            let mut f = b.payload(b"abcdefg").build();
            nat_rewrite(
                &mut f[14..],
                true,
                "198.51.100.7".parse().unwrap(),
                Some(40000),
                false,
            );
            let mut g = f.clone();
            fix_ipv4_checksum(&mut g[14..]);
            fix_l4_checksum(&mut g[14..]);
            assert_eq!(f, g, "incremental update equals recomputation");
            let fl = flow_of(&f[14..]).unwrap();
            assert_eq!(fl.src, "198.51.100.7".parse::<IpAddr>().unwrap());
            assert_eq!(fl.l4.sport, 40000);
        }
    }
}
