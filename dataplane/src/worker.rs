//! Workers: each owns a graph instance, a buffer pool, counters and a set of ports to poll.
//! A worker thread loops poll → run graph → transmit. When idle it parks: in `poll(2)` on
//! its ports' descriptors (every port has one: kernel sockets, TAP devices, the eventfd of
//! a `pg` port), waking when a frame arrives and at least every [`IDLE_WAKE_MS`] for link
//! checks and table aging, so an idle dataplane costs nothing. Ports without a descriptor
//! (DPDK) are polled with a backoff of up to a millisecond. Before a burst leaves by a port
//! that takes no offloads, super-frames are segmented and pending checksums completed
//! ([`crate::offload::prepare_tx`]). The dataplane can also drive one worker synchronously
//! (tests, benchmarks).
//!
//! Worker `id` of `of` polls the ports whose index is `id` modulo `of`. It takes the
//! published [`PortTable`] at the start of every poll, so ports created or deleted on
//! demand are picked up (or let go) without stopping the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::buffer::{BufPool, Packet};
use crate::graph::trace::TraceLine;
use crate::graph::{Ctx, Graph, VECTOR_SIZE};
use crate::nodes;
use crate::shared::{PortTable, Runtime, WorkerReg};
use crate::stats::{WorkerStats, bump};

/// Buffers a worker preallocates.
pub const POOL_INITIAL: usize = 2048;
/// Most buffers a worker holds.
pub const POOL_MAX: usize = 65_536;

/// Interval of table sweeps and link checks run by the maintenance worker.
const MAINTENANCE_NS: u64 = 100_000_000;
/// Longest an idle worker sleeps.
pub const IDLE_WAKE_MS: i32 = 100;
/// Empty polls (each followed by a yield) before an idle worker parks.
const SPIN: u32 = 64;

/// One worker.
pub struct Worker {
    sh: Arc<Runtime>,
    graph: Graph,
    pool: BufPool,
    stats: Arc<WorkerStats>,
    id: usize,
    of: usize,
    ports: Arc<PortTable>,
    mine: Vec<usize>,
    tx: Vec<Vec<Packet>>,
    rx: Vec<Packet>,
    /// Scratch for segmentation before a transmit.
    seg: Vec<Packet>,
    trace: Vec<TraceLine>,
    port_input: u16,
    ip4_lookup: u16,
    maintenance: bool,
    last_maint: u64,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("ports", &self.mine)
            .finish()
    }
}

impl Worker {
    /// Worker `id` of `of` (polling the ports whose index is `id` modulo `of`);
    /// `maintenance` makes it also sweep tables and check links.
    pub fn new(sh: Arc<Runtime>, id: usize, of: usize, maintenance: bool) -> Worker {
        let graph = Graph::new(nodes::all()).expect("built-in graph is consistent");
        let stats = Arc::new(WorkerStats::default());
        sh.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(WorkerReg {
                id,
                stats: stats.clone(),
                nodes: graph.counters(),
            });
        let port_input = graph.index("port-input").expect("port-input node");
        let ip4_lookup = graph.index("ip4-lookup").expect("ip4-lookup node");
        let mut w = Worker {
            sh,
            graph,
            pool: BufPool::new(POOL_INITIAL, POOL_MAX),
            stats,
            id,
            of: of.max(1),
            ports: Arc::new(PortTable::default()),
            mine: Vec::new(),
            tx: Vec::new(),
            rx: Vec::with_capacity(VECTOR_SIZE),
            seg: Vec::new(),
            trace: Vec::new(),
            port_input,
            ip4_lookup,
            maintenance,
            last_maint: 0,
        };
        w.refresh_ports();
        w
    }

    /// Takes the published port table if it changed: polls the new ports that are its own,
    /// lets go of the ports that went (their resources close once no worker holds them).
    pub fn refresh_ports(&mut self) {
        let cur = self.sh.ports.load();
        if Arc::ptr_eq(&cur, &self.ports) {
            return;
        }
        self.ports = arc_swap::Guard::into_inner(cur);
        self.mine = self
            .ports
            .present()
            .iter()
            .copied()
            .filter(|p| p % self.of == self.id)
            .collect();
        // Transmit queues are empty between polls.
        self.tx.resize_with(self.ports.len(), Vec::new);
        for &p in self.ports.present() {
            self.tx[p].reserve(VECTOR_SIZE);
        }
    }

    /// One loop: receive a burst on each port, run the graph, transmit. Returns packets received.
    pub fn poll(&mut self) -> usize {
        let now = self.sh.clock.now_ns();
        if self.maintenance
            && (self.last_maint == 0 || now.saturating_sub(self.last_maint) >= MAINTENANCE_NS)
        {
            self.last_maint = now.max(1);
            self.sh.check_links();
            self.sh.sweep();
        }
        self.refresh_ports();
        let mut received = 0;
        for &pi in &self.mine {
            let Some(slot) = self.ports.get(pi) else {
                continue;
            };
            let n = {
                let mut port = slot.port.lock().unwrap_or_else(|e| e.into_inner());
                port.rx_burst(&mut self.pool, &mut self.rx, VECTOR_SIZE)
            };
            if n == 0 && self.pool.available() == 0 {
                bump(&self.stats.no_buffers, 1);
            }
            for p in &mut self.rx {
                p.meta.rx_if = pi as u32;
            }
            received += n;
            self.graph.enqueue_all(self.port_input, &mut self.rx);
        }
        bump(&self.stats.loops, 1);
        let probes = if self.id == 0 {
            self.send_probes(now)
        } else {
            0
        };
        if received == 0 && probes == 0 {
            return 0;
        }
        self.run_graph(now);
        received
    }

    /// Worker 0 sends the probes the control side queued (see [`crate::probe`]):
    /// locally originated IPv4 packets entering `ip4-lookup` in their VRF.
    fn send_probes(&mut self, now: u64) -> usize {
        let mut n = 0;
        for (vrf, frame, id, seq) in self.sh.probes.take() {
            let Some(mut p) = self.pool.alloc_from(&frame) else {
                bump(&self.stats.no_buffers, 1);
                continue;
            };
            p.meta.l3 = 14;
            p.meta.vrf = vrf;
            p.meta.local_origin = true;
            p.meta.rx_if = u32::MAX;
            self.sh.probes.sent(id, seq, now);
            self.graph.enqueue(self.ip4_lookup, p);
            n += 1;
        }
        n
    }

    fn run_graph(&mut self, now: u64) {
        let tables = self.sh.tables.load();
        let arcs = self.graph.arcs().clone();
        let mut cx = Ctx {
            t: &tables,
            sh: &self.sh,
            ports: &self.ports,
            pool: &mut self.pool,
            now,
            stats: &self.stats,
            tx: &mut self.tx,
            arcs: &arcs,
            trace: &mut self.trace,
        };
        self.graph.run(&mut cx);
        for &pi in self.ports.present() {
            let q = &mut self.tx[pi];
            if q.is_empty() {
                continue;
            }
            let Some(slot) = self.ports.get(pi) else {
                self.pool.free_all(q);
                continue;
            };
            let unsegmented = if slot.offloads {
                0
            } else {
                crate::offload::prepare_tx(q, &mut self.pool, &mut self.seg)
            };
            let mut r = {
                let mut port = slot.port.lock().unwrap_or_else(|e| e.into_inner());
                port.tx_burst(q, &mut self.pool)
            };
            self.pool.free_all(q);
            r.dropped += unsegmented;
            if r.dropped > 0
                && let Some(c) = self.stats.ifs.get(pi)
            {
                bump(&c.tx_drops, r.dropped as u64);
            }
        }
        self.sh.trace.append(&mut self.trace);
    }

    /// The descriptors of this worker's ports, if every one of them has one.
    fn poll_fds(&self) -> Option<Vec<i32>> {
        self.mine
            .iter()
            .map(|&p| {
                self.ports
                    .get(p)?
                    .port
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .poll_fd()
            })
            .collect()
    }

    /// Sleeps until a port has something, or [`IDLE_WAKE_MS`] pass. A port whose
    /// descriptor reports an error (its host interface went away) has it cleared, so the
    /// next wait sleeps again.
    fn park(&self, fds: &[i32]) {
        for at in crate::port::sys::wait_readable(fds, IDLE_WAKE_MS) {
            if let Some(slot) = self.mine.get(at).and_then(|&p| self.ports.get(p)) {
                slot.port
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear_error();
            }
        }
    }

    /// Runs until `stop` is set, parking when idle.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        let mut idle: u32 = 0;
        while !stop.load(Ordering::Relaxed) {
            if self.sh.inject_panic.load(Ordering::Relaxed)
                && self.sh.inject_panic.swap(false, Ordering::AcqRel)
            {
                panic!("injected worker fault (Dataplane::inject_worker_panic)");
            }
            if self.poll() > 0 {
                idle = 0;
                continue;
            }
            idle = idle.saturating_add(1);
            if idle > SPIN {
                match self.poll_fds() {
                    Some(fds) => self.park(&fds),
                    None => {
                        let us = (1u64 << ((idle - SPIN) / 16).min(10)).min(1000);
                        std::thread::sleep(Duration::from_micros(us));
                    }
                }
            } else {
                std::thread::yield_now();
            }
        }
    }
}
