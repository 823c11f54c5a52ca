//! The packet graph, VPP style.
//!
//! A node is a registration ([`NodeReg`]: name, next nodes, drop reasons) plus a function over
//! a whole [`Vector`] of up to [`VECTOR_SIZE`] packets that gives each packet a verdict: a
//! next node, a feature-arc hop, or a drop with a reason. Nodes may also emit new packets
//! (flood copies, ARP requests, ICMP errors). The [`runtime`] moves packets between node
//! queues, counts drops per node and reason, and records the per-packet trace. Feature
//! [`arc`]s are data, sorted at start-up.
//!
//! May import: buffer, headers, tables, stats, the shared dataplane state. Not ports' internals.

pub mod arc;
pub mod capture;
pub mod runtime;
pub mod trace;

use crate::buffer::{BufPool, Meta, Packet};
use crate::shared::{PortTable, Runtime};
use crate::stats::WorkerStats;
use crate::tables::Tables;
use trace::TraceLine;

pub use runtime::Graph;

/// Most packets in one vector.
pub const VECTOR_SIZE: usize = 256;

const DROP_BIT: u16 = 0x8000;
const GOTO_BIT: u16 = 0x4000;

/// A node's registration.
#[derive(Debug, Clone, Copy)]
pub struct NodeReg {
    /// Unique node name.
    pub name: &'static str,
    /// Names of the nodes it can send packets to; a node refers to them by position.
    pub nexts: &'static [&'static str],
    /// Drop reasons; a node refers to them by position.
    pub errors: &'static [&'static str],
}

/// A graph node.
pub trait Node: Send {
    /// Registration.
    fn reg(&self) -> NodeReg;
    /// Processes a vector: every packet must get a verdict (the default is next 0).
    fn process(&mut self, cx: &mut Ctx<'_>, v: &mut Vector);
}

/// A vector of packets being processed by one node, with a verdict per packet.
#[derive(Debug, Default)]
pub struct Vector {
    /// The packets.
    pub pkts: Vec<Packet>,
    verdicts: Vec<u16>,
    emitted: Vec<(u16, Packet)>,
}

impl Vector {
    /// Number of packets.
    #[inline]
    pub fn len(&self) -> usize {
        self.pkts.len()
    }

    /// True if empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pkts.is_empty()
    }

    /// Sends packet `i` to the node's next number `next`.
    #[inline]
    pub fn next(&mut self, i: usize, next: u16) {
        self.verdicts[i] = next;
    }

    /// Drops packet `i` with the node's drop reason number `reason`.
    #[inline]
    pub fn drop(&mut self, i: usize, reason: u16) {
        self.verdicts[i] = DROP_BIT | reason;
    }

    /// Sends packet `i` to a node by global index (feature arcs).
    #[inline]
    pub fn goto(&mut self, i: usize, node: u16) {
        self.verdicts[i] = GOTO_BIT | node;
    }

    /// Sends packet `i` to the next enabled feature of `arc` for interface `ifidx` (after
    /// the packet's current arc position), or to the arc's end node.
    #[inline]
    pub fn arc_next(&mut self, cx: &Ctx<'_>, i: usize, arc: usize, ifidx: u32) {
        let node = arc_hop(cx, &mut self.pkts[i].meta, arc, ifidx);
        self.goto(i, node);
    }

    /// Emits a new packet to the node's next number `next`.
    pub fn emit(&mut self, next: u16, p: Packet) {
        self.emitted.push((next, p));
    }

    /// Emits a new packet to a node by global index.
    pub fn emit_goto(&mut self, node: u16, p: Packet) {
        self.emitted.push((GOTO_BIT | node, p));
    }
}

/// The next node of `arc` for a packet with metadata `meta` on interface `ifidx`: its next
/// enabled feature after `meta.arc_pos` (which advances), or the arc's end node.
#[inline]
pub fn arc_hop(cx: &Ctx<'_>, meta: &mut Meta, arc: usize, ifidx: u32) -> u16 {
    let mask = cx.t.iface(ifidx).map_or(0, |f| f.features[arc]);
    let pos = meta.arc_pos as u32;
    let rest = if pos >= 32 { 0 } else { mask >> pos };
    if rest == 0 {
        cx.arcs.end[arc]
    } else {
        let at = pos + rest.trailing_zeros();
        meta.arc_pos = (at + 1) as u8;
        cx.arcs.features[arc][at as usize]
    }
}

/// Global node indices of each arc's features (in order) and end node.
#[derive(Debug, Clone, Default)]
pub struct ArcNodes {
    /// Per arc, per feature position: node index.
    pub features: Vec<Vec<u16>>,
    /// Per arc: end node index.
    pub end: Vec<u16>,
}

/// What a node sees besides its vector.
pub struct Ctx<'a> {
    /// The configuration snapshot.
    pub t: &'a Tables,
    /// Runtime dynamic state.
    pub sh: &'a Runtime,
    /// The ports as this worker last loaded them.
    pub ports: &'a PortTable,
    /// The worker's buffer pool.
    pub pool: &'a mut BufPool,
    /// Time of this dispatch (ns, dataplane clock).
    pub now: u64,
    /// The worker's counters.
    pub stats: &'a WorkerStats,
    /// Per-port transmit queues of this dispatch.
    pub tx: &'a mut [Vec<Packet>],
    /// Resolved feature arcs.
    pub arcs: &'a ArcNodes,
    /// Trace lines of this dispatch.
    pub trace: &'a mut Vec<TraceLine>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("now", &self.now).finish()
    }
}

impl Ctx<'_> {
    /// Adds a detail line to the trace of `p` if it is traced.
    #[inline]
    pub fn trace(&mut self, p: &Packet, node: &'static str, detail: impl FnOnce() -> String) {
        if p.meta.trace != 0 {
            self.trace.push(TraceLine {
                packet: p.meta.trace,
                node,
                text: detail(),
                rule: None,
            });
        }
    }

    /// Adds a line for an ACL decision (`rule`: the rule that matched, if any) to the
    /// trace of `p` if it is traced.
    #[inline]
    pub fn trace_rule(
        &mut self,
        p: &Packet,
        node: &'static str,
        rule: trace::RuleRef,
        text: String,
    ) {
        if p.meta.trace != 0 {
            self.trace.push(TraceLine {
                packet: p.meta.trace,
                node,
                text,
                rule: Some(rule),
            });
        }
    }
}
