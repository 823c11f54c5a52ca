//! Graph runtime: resolves node registrations into a graph, and dispatches queued packets
//! node by node in vectors until every queue is empty.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::arc::{ARC_END, NUM_ARCS, arcs};
use super::trace::TraceLine;
use super::{ArcNodes, Ctx, DROP_BIT, GOTO_BIT, Node, VECTOR_SIZE, Vector};
use crate::buffer::Packet;
use crate::stats::bump;

/// Counters of one node in one worker.
#[derive(Debug)]
pub struct NodeCounters {
    /// Node name.
    pub name: &'static str,
    /// Vectors processed.
    pub vectors: AtomicU64,
    /// Packets processed.
    pub packets: AtomicU64,
    /// Drop reasons.
    pub reasons: &'static [&'static str],
    /// Drops per reason.
    pub drops: Vec<AtomicU64>,
    /// Time spent in the node's function (ns, measured around each vector).
    pub nanos: AtomicU64,
}

struct Slot {
    node: Box<dyn Node>,
    nexts: Vec<u16>,
    queue: Vec<Packet>,
    counters: Arc<NodeCounters>,
}

/// A graph instance (one per worker: nodes keep per-worker state).
pub struct Graph {
    slots: Vec<Slot>,
    arcs: ArcNodes,
    by_name: HashMap<&'static str, u16>,
    vec: Vector,
    spare: Vec<Packet>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.slots.len())
            .finish()
    }
}

impl Graph {
    /// Builds a graph; fails on duplicate names or next nodes that do not exist.
    pub fn new(nodes: Vec<Box<dyn Node>>) -> Result<Graph, String> {
        let mut by_name = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if by_name.insert(n.reg().name, i as u16).is_some() {
                return Err(format!("duplicate node {}", n.reg().name));
            }
        }
        let mut slots = Vec::new();
        for n in nodes {
            let reg = n.reg();
            let nexts = reg
                .nexts
                .iter()
                .map(|x| {
                    by_name
                        .get(x)
                        .copied()
                        .ok_or_else(|| format!("{}: unknown next node {x}", reg.name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            slots.push(Slot {
                nexts,
                queue: Vec::with_capacity(VECTOR_SIZE),
                counters: Arc::new(NodeCounters {
                    name: reg.name,
                    vectors: AtomicU64::new(0),
                    packets: AtomicU64::new(0),
                    reasons: reg.errors,
                    drops: reg.errors.iter().map(|_| AtomicU64::new(0)).collect(),
                    nanos: AtomicU64::new(0),
                }),
                node: n,
            });
        }
        let sorted = arcs();
        let mut an = ArcNodes::default();
        for (arc, end) in ARC_END.iter().enumerate().take(NUM_ARCS) {
            let feats = sorted.order[arc]
                .iter()
                .map(|f| {
                    by_name
                        .get(f)
                        .copied()
                        .ok_or_else(|| format!("feature node {f} missing"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            an.features.push(feats);
            an.end.push(
                by_name
                    .get(end)
                    .copied()
                    .ok_or_else(|| format!("arc end {end} missing"))?,
            );
        }
        Ok(Graph {
            slots,
            arcs: an,
            by_name,
            vec: Vector::default(),
            spare: Vec::with_capacity(VECTOR_SIZE),
        })
    }

    /// Global index of a node.
    pub fn index(&self, name: &str) -> Option<u16> {
        self.by_name.get(name).copied()
    }

    /// The resolved arcs.
    pub fn arcs(&self) -> &ArcNodes {
        &self.arcs
    }

    /// Counters of every node.
    pub fn counters(&self) -> Vec<Arc<NodeCounters>> {
        self.slots.iter().map(|s| s.counters.clone()).collect()
    }

    /// Queues a packet for node `ix`.
    #[inline]
    pub fn enqueue(&mut self, ix: u16, p: Packet) {
        self.slots[ix as usize].queue.push(p);
    }

    /// Queues many packets for node `ix`, leaving `v` empty.
    pub fn enqueue_all(&mut self, ix: u16, v: &mut Vec<Packet>) {
        let q = &mut self.slots[ix as usize].queue;
        if q.is_empty() {
            std::mem::swap(q, v);
        } else {
            q.append(v);
        }
    }

    /// Runs nodes until every queue is empty. `cx.arcs` is ignored: the graph's own arcs
    /// are used. Returns the number of vectors processed.
    pub fn run(&mut self, cx: &mut Ctx<'_>) -> usize {
        let mut vectors = 0;
        // Guard against loops in a misbehaving node: bounded number of passes.
        for _pass in 0..64 {
            let mut any = false;
            for i in 0..self.slots.len() {
                while !self.slots[i].queue.is_empty() {
                    any = true;
                    vectors += 1;
                    self.dispatch(i, cx);
                }
            }
            if !any {
                break;
            }
        }
        // Anything left after the pass bound is dropped.
        for s in &mut self.slots {
            cx.pool.free_all(&mut s.queue);
        }
        vectors
    }

    fn dispatch(&mut self, i: usize, outer: &mut Ctx<'_>) {
        let slot = &mut self.slots[i];
        // Take up to a vector's worth from the queue, in order.
        self.vec.pkts.clear();
        if slot.queue.len() <= VECTOR_SIZE {
            std::mem::swap(&mut self.vec.pkts, &mut slot.queue);
            std::mem::swap(&mut slot.queue, &mut self.spare);
        } else {
            self.vec.pkts.extend(slot.queue.drain(..VECTOR_SIZE));
        }
        let n = self.vec.pkts.len();
        self.vec.verdicts.clear();
        self.vec.verdicts.resize(n, 0);
        let mut cx = Ctx {
            t: outer.t,
            sh: outer.sh,
            ports: outer.ports,
            pool: &mut *outer.pool,
            now: outer.now,
            stats: outer.stats,
            tx: &mut *outer.tx,
            arcs: &self.arcs,
            trace: &mut *outer.trace,
        };
        let t0 = Instant::now();
        slot.node.process(&mut cx, &mut self.vec);
        bump(&slot.counters.nanos, t0.elapsed().as_nanos() as u64);
        bump(&slot.counters.vectors, 1);
        bump(&slot.counters.packets, n as u64);

        let name = slot.counters.name;
        let mut pkts = std::mem::take(&mut self.vec.pkts);
        let verdicts = std::mem::take(&mut self.vec.verdicts);
        // The common case: the whole vector goes to one node and nothing is traced; then it
        // moves as one block.
        let v0 = verdicts.first().copied().unwrap_or(DROP_BIT);
        let to = if v0 & DROP_BIT != 0 {
            None
        } else if v0 & GOTO_BIT != 0 {
            Some(v0 & !GOTO_BIT)
        } else {
            slot.nexts.get(v0 as usize).copied()
        };
        if let Some(to) = to
            && verdicts.iter().all(|&v| v == v0)
            && pkts.iter().all(|p| p.meta.trace == 0)
        {
            let q = &mut self.slots[to as usize].queue;
            if q.is_empty() {
                std::mem::swap(q, &mut pkts);
            } else {
                q.append(&mut pkts);
            }
        } else {
            for (p, &v) in pkts.drain(..).zip(verdicts.iter()) {
                self.route(i, name, v, p, outer);
            }
        }
        self.vec.verdicts = verdicts;
        let mut emitted = std::mem::take(&mut self.vec.emitted);
        for (v, p) in emitted.drain(..) {
            self.route(i, name, v, p, outer);
        }
        self.vec.emitted = emitted;
        self.spare = pkts;
    }

    #[inline]
    fn route(&mut self, from: usize, name: &'static str, v: u16, p: Packet, cx: &mut Ctx<'_>) {
        let slot = &self.slots[from];
        if v & DROP_BIT != 0 {
            let r = (v & !DROP_BIT) as usize;
            if let Some(c) = slot.counters.drops.get(r) {
                bump(c, 1);
            }
            if p.meta.trace != 0 {
                cx.trace.push(TraceLine {
                    packet: p.meta.trace,
                    node: name,
                    text: format!("drop: {}", slot.counters.reasons.get(r).unwrap_or(&"?")),
                    rule: None,
                });
            }
            if let Some(c) = cx.stats.ifs.get(p.meta.rx_if as usize) {
                bump(&c.rx_drops, 1);
            }
            cx.pool.free(p);
            return;
        }
        let to = if v & GOTO_BIT != 0 {
            v & !GOTO_BIT
        } else {
            match slot.nexts.get(v as usize) {
                Some(t) => *t,
                None => {
                    cx.pool.free(p);
                    return;
                }
            }
        };
        if p.meta.trace != 0 {
            let next_name = self.slots[to as usize].counters.name;
            cx.trace.push(TraceLine {
                packet: p.meta.trace,
                node: name,
                text: format!("-> {next_name}"),
                rule: None,
            });
        }
        self.slots[to as usize].queue.push(p);
    }

    /// Total packets queued (for tests).
    pub fn queued(&self) -> usize {
        self.slots.iter().map(|s| s.queue.len()).sum()
    }

    /// Counter snapshot helper: drops by (node, reason) with non-zero counts.
    pub fn drops(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut v = Vec::new();
        for s in &self.slots {
            for (r, c) in s.counters.reasons.iter().zip(&s.counters.drops) {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    v.push((s.counters.name, *r, n));
                }
            }
        }
        v
    }
}
