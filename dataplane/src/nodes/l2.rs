//! Ethernet and bridging nodes: `port-input`, `ethernet-input` (sub-interface by 802.1Q tag,
//! classify by interface role, VLAN pop/filter, ethertype), `l2-input` (learning; then the
//! l2-input feature arc), `l2-fwd` (MAC lookup), `l2-flood` (replication; both continue on
//! the l2-output arc), `interface-output` (admin state, MTU, VLAN push, counters, BVI
//! hand-off, oversized routed IPv4 to `ip4-frag`) and `port-output` (hand to the port's
//! transmit queue).

use crate::graph::arc::{ARC_L2_INPUT, ARC_L2_OUTPUT};
use crate::graph::{Ctx, Node, NodeReg, Vector, arc_hop};
use crate::headers::{ETH_P_8021Q, ETH_P_ARP, ETH_P_IPV4, ETH_P_IPV6};
use crate::stats::bump;
use crate::tables::l2fib::Learn;
use crate::tables::{Kind, L2Mode};
use crate::types::Mac;

#[inline]
fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

/// `port-input`: marks traced packets and passes to `ethernet-input`.
#[derive(Debug, Default)]
pub struct PortInput;

impl Node for PortInput {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "port-input",
            nexts: &["ethernet-input"],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let rx = v.pkts[i].meta.rx_if;
            if cx.sh.capture.watching(rx) {
                cx.sh.capture.record(v.pkts[i].data(), false);
            }
            let id = cx.sh.trace.claim(rx, v.pkts[i].data());
            if id != 0 {
                let p = &mut v.pkts[i];
                p.meta.trace = id;
                let name = cx.t.iface(p.meta.rx_if).map_or("?", |f| f.name.as_str());
                let text = format!(
                    "rx on {name}, {} bytes: {}",
                    p.len(),
                    crate::graph::trace::headers(p.data())
                );
                cx.trace(&v.pkts[i], "port-input", || text);
            }
            v.next(i, 0);
        }
    }
}

/// `ethernet-input`.
#[derive(Debug, Default)]
pub struct EthernetInput;

const E_MALFORMED: u16 = 0;
const E_DOWN: u16 = 1;
const E_UNKNOWN_IF: u16 = 2;
const E_VLAN: u16 = 3;
const E_NOT_US: u16 = 4;
const E_ETHERTYPE: u16 = 5;
const E_TAGGED: u16 = 6;

impl Node for EthernetInput {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "ethernet-input",
            nexts: &["l2-input", "arp-input", "ip4-input", "ip6-input"],
            errors: &[
                "malformed frame",
                "interface admin down",
                "unknown interface",
                "vlan not allowed",
                "not addressed to us",
                "unknown ethertype",
                "tagged frame on routed interface",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let rx = p.meta.rx_if;
            let Some(mut ifx) = cx.t.iface(rx) else {
                v.drop(i, E_UNKNOWN_IF);
                continue;
            };
            let d = p.data();
            if d.len() < 14 {
                if let Some(c) = cx.stats.ifs.get(rx as usize) {
                    bump(&c.rx_errors, 1);
                }
                v.drop(i, E_MALFORMED);
                continue;
            }
            let bcast = d[0..6] == [0xff; 6];
            let w = crate::offload::wire(p);
            cx.stats.rx(rx, w, d[0], bcast);
            if !ifx.admin_up {
                v.drop(i, E_DOWN);
                continue;
            }
            let mut et = be16(d, 12);
            // A tag of one of the port's sub-interfaces: the frame is the sub-interface's.
            if et == ETH_P_8021Q && !ifx.subs.is_empty() && d.len() >= 18 {
                let vid = be16(d, 14) & 0x0fff;
                if let Some(sub) = ifx
                    .subs
                    .iter()
                    .find(|(v, _)| *v == vid)
                    .and_then(|(_, s)| cx.t.iface(*s))
                {
                    p.remove_gap(12, 4);
                    p.meta.rx_if = sub.index;
                    let d = p.data();
                    cx.stats.rx(sub.index, crate::offload::wire(p), d[0], bcast);
                    if !sub.admin_up {
                        v.drop(i, E_DOWN);
                        continue;
                    }
                    et = be16(d, 12);
                    ifx = sub;
                }
            }
            let d = p.data();
            match &ifx.mode {
                L2Mode::Access(bd) => {
                    if et == ETH_P_8021Q {
                        v.drop(i, E_VLAN);
                        continue;
                    }
                    p.meta.bd = bd + 1;
                    v.next(i, 0);
                }
                L2Mode::Trunk { vlans, native } => {
                    let bd = if et == ETH_P_8021Q {
                        if d.len() < 18 {
                            v.drop(i, E_MALFORMED);
                            continue;
                        }
                        let vid = be16(d, 14) & 0x0fff;
                        let bd = vlans.iter().find(|(x, _)| *x == vid).map(|x| x.1);
                        if bd.is_some() {
                            p.remove_gap(12, 4);
                        }
                        bd
                    } else {
                        *native
                    };
                    match bd {
                        Some(b) => {
                            p.meta.bd = b + 1;
                            v.next(i, 0);
                        }
                        None => v.drop(i, E_VLAN),
                    }
                }
                L2Mode::Routed => {
                    if et == ETH_P_8021Q {
                        v.drop(i, E_TAGGED);
                        continue;
                    }
                    if d[0] & 1 == 0 && d[0..6] != ifx.mac.0 {
                        v.drop(i, E_NOT_US);
                        continue;
                    }
                    p.meta.l3 = 14;
                    p.meta.bd = 0;
                    match et {
                        ETH_P_ARP => v.next(i, 1),
                        ETH_P_IPV4 => v.next(i, 2),
                        ETH_P_IPV6 => v.next(i, 3),
                        _ => v.drop(i, E_ETHERTYPE),
                    }
                }
            }
        }
    }
}

/// `l2-input`: learns source MACs.
#[derive(Debug, Default)]
pub struct L2Input;

impl Node for L2Input {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "l2-input",
            nexts: &["l2-fwd"],
            errors: &["unknown bridge domain"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        let mut last: Option<(u16, Mac, u32)> = None;
        for i in 0..v.len() {
            let p = &v.pkts[i];
            let Some(bd) = cx.t.bd(p.meta.bd.wrapping_sub(1)) else {
                v.drop(i, 0);
                continue;
            };
            let src = Mac::from_slice(&p.data()[6..12]);
            let key = (bd.index, src, p.meta.rx_if);
            if bd.learning
                && !src.is_multicast()
                && last != Some(key)
                && !bd.statics.contains_key(&src)
            {
                let r = cx
                    .sh
                    .l2
                    .learn(bd.index, src, p.meta.rx_if, cx.now, cx.t.limits.max_macs);
                if r == Learn::Full {
                    cx.sh
                        .events
                        .table_full("l2fib", cx.t.limits.max_macs, cx.now);
                }
                if p.meta.trace != 0 && r != Learn::Known {
                    cx.trace(p, "l2-input", || format!("learned {src} ({r:?})"));
                }
                last = Some(key);
            }
            let rx = p.meta.rx_if;
            v.pkts[i].meta.arc_pos = 0;
            v.arc_next(cx, i, ARC_L2_INPUT, rx);
        }
    }
}

/// `l2-fwd`: forwards by destination MAC.
#[derive(Debug, Default)]
pub struct L2Fwd;

impl Node for L2Fwd {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "l2-fwd",
            nexts: &["interface-output", "l2-flood", "ethernet-input"],
            errors: &[
                "unknown bridge domain",
                "unknown unicast",
                "destination on input interface",
            ],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &mut v.pkts[i];
            let Some(bd) = cx.t.bd(p.meta.bd.wrapping_sub(1)) else {
                v.drop(i, 0);
                continue;
            };
            let dst = Mac::from_slice(&p.data()[0..6]);
            if dst.is_multicast() {
                v.next(i, 1);
                continue;
            }
            if bd.bvi_mac == Some(dst)
                && let Some(bvi) = bd.bvi
                && p.meta.rx_if != bvi
            {
                p.meta.rx_if = bvi;
                p.meta.bd = 0;
                v.next(i, 2);
                continue;
            }
            let out = match bd.statics.get(&dst) {
                Some(o) => Some(*o),
                None => cx.sh.l2.lookup(bd.index, dst, cx.now, bd.aging_ns),
            };
            match out {
                Some(o) if o == p.meta.rx_if => v.drop(i, 2),
                Some(o) => {
                    p.meta.tx_if = o;
                    p.meta.arc_pos = 0;
                    v.arc_next(cx, i, ARC_L2_OUTPUT, o);
                }
                None if bd.flood_unknown => v.next(i, 1),
                None => v.drop(i, 1),
            }
        }
    }
}

/// `l2-flood`: replicates to every member but the input one (and to the BVI for
/// broadcast/multicast).
#[derive(Debug, Default)]
pub struct L2Flood {
    targets: Vec<(u32, bool)>,
}

impl Node for L2Flood {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "l2-flood",
            nexts: &["interface-output", "ethernet-input"],
            errors: &["unknown bridge domain", "no other members", "no buffers"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for i in 0..v.len() {
            let p = &v.pkts[i];
            let Some(bd) = cx.t.bd(p.meta.bd.wrapping_sub(1)) else {
                v.drop(i, 0);
                continue;
            };
            let rx = p.meta.rx_if;
            self.targets.clear();
            self.targets
                .extend(bd.members.iter().filter(|m| **m != rx).map(|m| (*m, false)));
            if p.data()[0] & 1 == 1
                && let Some(bvi) = bd.bvi
                && bvi != rx
            {
                self.targets.push((bvi, true));
            }
            let Some(&(last, last_bvi)) = self.targets.last() else {
                v.drop(i, 1);
                continue;
            };
            for k in 0..self.targets.len() - 1 {
                let (t, is_bvi) = self.targets[k];
                let Some(mut c) = cx.pool.clone_packet(&v.pkts[i]) else {
                    bump(&cx.stats.no_buffers, 1);
                    continue;
                };
                c.meta.trace = 0;
                if is_bvi {
                    c.meta.rx_if = t;
                    c.meta.bd = 0;
                    v.emit(1, c);
                } else {
                    c.meta.tx_if = t;
                    c.meta.arc_pos = 0;
                    let node = arc_hop(cx, &mut c.meta, ARC_L2_OUTPUT, t);
                    v.emit_goto(node, c);
                }
            }
            let p = &mut v.pkts[i];
            if last_bvi {
                p.meta.rx_if = last;
                p.meta.bd = 0;
                v.next(i, 1);
            } else {
                p.meta.tx_if = last;
                p.meta.arc_pos = 0;
                v.arc_next(cx, i, ARC_L2_OUTPUT, last);
            }
        }
    }
}

/// `interface-output`: admin/link state, L2 MTU, VLAN push on trunks and sub-interfaces, tx
/// counters (a sub-interface's frames count on its parent port too); frames routed out of a
/// BVI enter its bridge domain; nothing leaves by a loopback.
#[derive(Debug, Default)]
pub struct InterfaceOutput;

impl Node for InterfaceOutput {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "interface-output",
            nexts: &["port-output", "l2-fwd", "ip4-frag"],
            errors: &[
                "interface down",
                "unknown interface",
                "mtu exceeded",
                "no headroom",
                "loopback (no link)",
            ],
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
            let port = match ifx.kind {
                Kind::Bvi(bd) => {
                    if !ifx.admin_up {
                        v.drop(i, 0);
                        continue;
                    }
                    if frame_len(p) > ifx.mtu as usize + 14 && fragmentable(p) {
                        v.next(i, 2);
                        continue;
                    }
                    p.meta.rx_if = tx;
                    p.meta.bd = bd + 1;
                    v.next(i, 1);
                    continue;
                }
                Kind::Loopback => {
                    v.drop(i, 4);
                    continue;
                }
                Kind::Port(port) => port,
            };
            let parent = ifx.parent.and_then(|x| cx.t.iface(x));
            if !ifx.admin_up
                || parent.is_some_and(|x| !x.admin_up)
                || !cx
                    .ports
                    .get(port)
                    .is_some_and(|s| s.link_up.load(std::sync::atomic::Ordering::Relaxed))
            {
                if let Some(c) = cx.stats.ifs.get(tx as usize) {
                    bump(&c.tx_drops, 1);
                }
                v.drop(i, 0);
                continue;
            }
            let mut tag = ifx.vlan;
            if p.meta.bd != 0
                && let L2Mode::Trunk { native, .. } = &ifx.mode
            {
                let b = p.meta.bd - 1;
                if *native != Some(b) {
                    tag = cx.t.bd(b).and_then(|b| b.vlan);
                }
            }
            if frame_len(p) > ifx.mtu as usize + 14 {
                if fragmentable(p) {
                    v.next(i, 2);
                    continue;
                }
                if let Some(c) = cx.stats.ifs.get(tx as usize) {
                    bump(&c.tx_drops, 1);
                }
                v.drop(i, 2);
                continue;
            }
            if let Some(vid) = tag {
                if !p.insert_gap(12, 4) {
                    v.drop(i, 3);
                    continue;
                }
                let d = p.data_mut();
                d[12..14].copy_from_slice(&ETH_P_8021Q.to_be_bytes());
                d[14..16].copy_from_slice(&vid.to_be_bytes());
            }
            let d = p.data();
            let bcast = d[0..6] == [0xff; 6];
            let w = crate::offload::wire(p);
            cx.stats.tx(tx, w, d[0], bcast);
            if let Some(x) = parent {
                cx.stats.tx(x.index, w, d[0], bcast);
            }
            v.next(i, 0);
        }
    }
}

/// The longest frame `p` puts on the wire: itself, or for a super-frame its headers and
/// one segment (MTU checks use the segment size).
fn frame_len(p: &crate::buffer::Packet) -> usize {
    if p.meta.gso_size == 0 {
        p.len()
    } else {
        crate::offload::wire_l3_len(p, 0)
    }
}

/// A routed (not bridged) IPv4 packet right after its Ethernet header, DF clear: too big
/// for its egress MTU, it is fragmented rather than dropped.
fn fragmentable(p: &crate::buffer::Packet) -> bool {
    let d = p.data();
    p.meta.bd == 0
        && p.meta.gso_size == 0
        && p.meta.l3 == 14
        && d.len() > 20
        && be16(d, 12) == ETH_P_IPV4
        && d[20] & 0x40 == 0
}

/// `port-output`: moves frames to their port's transmit queue (they leave the graph).
#[derive(Debug, Default)]
pub struct PortOutput;

impl Node for PortOutput {
    fn reg(&self) -> NodeReg {
        NodeReg {
            name: "port-output",
            nexts: &[],
            errors: &["not a port"],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector) {
        for p in v.pkts.drain(..) {
            match cx.t.iface(p.meta.tx_if).map(|f| (f.kind, f.name.as_str())) {
                Some((Kind::Port(port), name))
                    if port < cx.tx.len() && cx.ports.get(port).is_some() =>
                {
                    if cx.sh.capture.watching(port as u32) {
                        cx.sh.capture.record(p.data(), true);
                    }
                    if p.meta.trace != 0 {
                        let text = format!(
                            "tx on {name}, {} bytes: {}",
                            p.len(),
                            crate::graph::trace::headers(p.data())
                        );
                        cx.trace(&p, "port-output", || text);
                    }
                    cx.tx[port].push(p);
                }
                _ => cx.pool.free(p),
            }
        }
    }
}
