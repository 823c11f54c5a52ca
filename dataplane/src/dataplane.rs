//! [`Dataplane`]: the control API. Ports are fixed at construction (they are the box's
//! hardware); configuration changes come as batches of [`Op`]s, checked (`check`) or applied
//! all-or-nothing (`apply`) by compiling a new [`Tables`] snapshot and swapping it in, so
//! forwarding never pauses. Also: stats snapshots, events, packet trace, table read-outs,
//! and worker threads (or synchronous polling for tests and benchmarks).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;

use crate::clock::{Clock, SystemClock};
use crate::control::{Config, Error, Op};
use crate::events::{Event, EventBus};
use crate::graph::trace::{TraceCtl, TraceLine};
use crate::port::Port;
use crate::shared::{PortSlot, Shared};
use crate::state::conntrack::{ConnTrack, CtSession};
use crate::state::nat::{Nat44, NatSessionInfo};
use crate::stats::{InterfaceStats, NodeDrop, NodeStats, StatsSnapshot};
use crate::tables::Tables;
use crate::tables::fib::Adj;
use crate::tables::l2fib::{L2Fib, LearnedMac};
use crate::tables::neighbor::{Neighbor, NeighborTable};
use crate::types::IpNet;
use crate::worker::Worker;

/// Builds a [`Dataplane`].
pub struct DataplaneBuilder {
    ports: Vec<(String, Box<dyn Port>)>,
    workers: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DataplaneBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataplaneBuilder")
            .field("ports", &self.ports.len())
            .field("workers", &self.workers)
            .finish()
    }
}

impl DataplaneBuilder {
    /// Adds a port; it becomes interface `name` (admin down, routed, until configured).
    pub fn port(mut self, name: &str, port: impl Port + 'static) -> Self {
        self.ports.push((name.to_string(), Box::new(port)));
        self
    }

    /// Adds a boxed port.
    pub fn boxed_port(mut self, name: &str, port: Box<dyn Port>) -> Self {
        self.ports.push((name.to_string(), port));
        self
    }

    /// Worker threads (0: none; the caller drives forwarding with [`Dataplane::poll`]).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Uses `clock` instead of the system's monotonic clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds and, with workers configured, starts forwarding.
    pub fn build(self) -> Result<Dataplane, Error> {
        let mut names = BTreeSet::new();
        for (n, _) in &self.ports {
            if !names.insert(n.clone()) {
                return Err(Error::Exists(format!("port {n}")));
            }
        }
        if self.ports.len() > crate::control::MAX_INTERFACES / 2 {
            return Err(Error::TableFull("ports".into()));
        }
        let port_macs: Vec<_> = self
            .ports
            .iter()
            .map(|(n, p)| (n.clone(), p.mac()))
            .collect();
        let mut config = Config::new(&port_macs);
        let tables = Tables::compile(&config, None)?;
        config.dirty_vrfs = Some(BTreeSet::new());
        let sh = Arc::new(Shared {
            tables: ArcSwap::from_pointee(tables),
            ports: self
                .ports
                .into_iter()
                .map(|(name, p)| PortSlot {
                    mac: p.mac(),
                    driver: p.driver(),
                    link_up: AtomicBool::new(p.link_up()),
                    port: Mutex::new(p),
                    name,
                })
                .collect(),
            l2: L2Fib::default(),
            neigh: NeighborTable::default(),
            ct: ConnTrack::default(),
            nat: Nat44::default(),
            events: EventBus::default(),
            trace: TraceCtl::default(),
            clock: self.clock,
            workers: Mutex::new(Vec::new()),
            oper: Mutex::new(Vec::new()),
            inject_panic: AtomicBool::new(false),
            worker_restarts: AtomicU64::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut manual = None;
        let nports = sh.ports.len();
        if self.workers == 0 {
            manual = Some(Worker::new(sh.clone(), (0..nports).collect(), true));
        } else {
            for w in 0..self.workers {
                let ports: Vec<usize> = (0..nports).filter(|p| p % self.workers == w).collect();
                let worker = Worker::new(sh.clone(), ports.clone(), w == 0);
                let stop = stop.clone();
                let sh = sh.clone();
                let h = std::thread::Builder::new()
                    .name(format!("dp-worker-{w}"))
                    .spawn(move || supervise(w, worker, &sh, ports, &stop))
                    .map_err(|e| Error::Invalid(format!("spawning worker: {e}")))?;
                threads.push(h);
            }
        }
        tracing::info!(ports = nports, workers = self.workers, "dataplane started");
        Ok(Dataplane {
            sh,
            config: Mutex::new(config),
            manual: Mutex::new(manual),
            threads,
            stop,
        })
    }
}

/// Runs a worker thread's loop; when the worker panics, logs why, starts a new worker on
/// the same ports (fresh graph and buffers; the dead worker's counters stay registered, so
/// totals never go backwards) and publishes [`Event::Reset`] so the configuration is
/// replayed.
fn supervise(
    id: usize,
    first: Worker,
    sh: &Arc<Shared>,
    ports: Vec<usize>,
    stop: &Arc<AtomicBool>,
) {
    let mut worker = first;
    loop {
        let s = stop.clone();
        let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(move || worker.run(s))) else {
            return;
        };
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tracing::error!(worker = id, panic = %msg, "dataplane worker crashed; restarting it");
        sh.worker_restarts.fetch_add(1, Ordering::Relaxed);
        worker = Worker::new(sh.clone(), ports.clone(), id == 0);
        sh.events.publish(Event::Reset {
            reason: format!("worker {id} crashed ({msg}) and was restarted"),
        });
    }
}

/// A port as [`Dataplane::ports`] describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Interface name.
    pub name: String,
    /// Driver ("pg", "afpacket", "tap", "dpdk").
    pub driver: &'static str,
    /// Hardware MAC.
    pub mac: crate::types::Mac,
    /// Link state at the last link check.
    pub link_up: bool,
}

/// A running dataplane.
pub struct Dataplane {
    sh: Arc<Shared>,
    config: Mutex<Config>,
    manual: Mutex<Option<Worker>>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

/// A batch [`Dataplane::check_batch`] accepted: the configuration and tables it leads to
/// from the tables it was checked against.
pub struct Checked {
    /// The tables running when the batch was checked (held, so never reused for others).
    base: Arc<Tables>,
    next: Config,
    tables: Tables,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("ports", &self.sh.ports.len())
            .field("workers", &self.threads.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Dataplane {
    /// A builder.
    pub fn builder() -> DataplaneBuilder {
        DataplaneBuilder {
            ports: Vec::new(),
            workers: 0,
            clock: Arc::new(SystemClock::default()),
        }
    }

    fn prepare(&self, cfg: &Config, ops: &[Op]) -> Result<(Config, Tables), Error> {
        let mut next = cfg.clone();
        next.dirty_vrfs = Some(BTreeSet::new());
        for op in ops {
            next.apply_op(op)?;
        }
        let tables = Tables::compile(&next, Some(&self.sh.tables.load()))?;
        next.dirty_vrfs = Some(BTreeSet::new());
        Ok((next, tables))
    }

    /// Validates `ops` against the current configuration without changing anything
    /// (a transaction's prepare phase): unknown objects, bad values, full tables.
    pub fn check(&self, ops: &[Op]) -> Result<(), Error> {
        let cfg = lock(&self.config);
        self.prepare(&cfg, ops).map(|_| ())
    }

    /// [`Dataplane::check`] that keeps what it worked out (the new configuration and
    /// compiled tables) for [`Dataplane::apply_checked`], so that a transaction compiles
    /// its tables once.
    pub fn check_batch(&self, ops: &[Op]) -> Result<Checked, Error> {
        let cfg = lock(&self.config);
        let base = self.sh.tables.load_full();
        let (next, tables) = self.prepare(&cfg, ops)?;
        Ok(Checked { base, next, tables })
    }

    /// [`Dataplane::apply`] of the batch `checked` was made from. Its result is installed
    /// as is while the dataplane still runs the tables it was checked against (every change
    /// of the configuration publishes new tables); otherwise `ops` are applied anew.
    pub fn apply_checked(&self, ops: &[Op], checked: Checked) -> Result<(), Error> {
        let cfg = lock(&self.config);
        if !Arc::ptr_eq(&self.sh.tables.load_full(), &checked.base) {
            drop(cfg);
            return self.apply(ops);
        }
        self.install(cfg, checked.next, checked.tables);
        Ok(())
    }

    /// Applies `ops` all-or-nothing: either every op takes effect in one atomic swap of the
    /// forwarding tables, or none does and the error says why.
    pub fn apply(&self, ops: &[Op]) -> Result<(), Error> {
        let cfg = lock(&self.config);
        let (next, tables) = self.prepare(&cfg, ops)?;
        self.install(cfg, next, tables);
        Ok(())
    }

    /// Publishes the tables of configuration `next` and makes it current.
    fn install(&self, mut cfg: MutexGuard<'_, Config>, next: Config, tables: Tables) {
        let old = self.sh.tables.swap(Arc::new(tables));
        *cfg = next;
        drop(cfg);
        // Forget learned MACs behind interfaces that left their bridge domain.
        let t = self.sh.tables.load();
        for o in old.ifs.iter().flatten() {
            if t.iface(o.index).map(|n| &n.mode) != Some(&o.mode) {
                self.sh.l2.flush_interface(o.index);
            }
        }
        self.sh.check_links();
    }

    /// Drives forwarding synchronously (only without worker threads): polls every port and
    /// runs the graph until no port has anything to receive. Returns packets received.
    pub fn poll(&self) -> usize {
        let mut m = lock(&self.manual);
        let Some(w) = m.as_mut() else { return 0 };
        let mut total = 0;
        loop {
            let n = w.poll();
            total += n;
            if n == 0 {
                return total;
            }
        }
    }

    /// A subscription to the event stream.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.sh.events.subscribe()
    }

    /// Starts tracing the next `n` received packets (clearing the previous trace).
    pub fn trace_start(&self, n: u32) {
        self.sh.trace.start(n);
    }

    /// The recorded trace.
    pub fn trace(&self) -> Vec<TraceLine> {
        self.sh.trace.read()
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> StatsSnapshot {
        let t = self.sh.tables.load();
        let workers = lock(&self.sh.workers).clone();
        let oper = lock(&self.sh.oper).clone();
        let mut interfaces = Vec::new();
        for i in t.ifs.iter().flatten() {
            let mut s = InterfaceStats {
                name: i.name.clone(),
                admin_up: i.admin_up,
                oper_up: oper.get(i.index as usize).copied().unwrap_or(false),
                ..Default::default()
            };
            for w in &workers {
                s.add(&w.stats.ifs[i.index as usize]);
            }
            interfaces.push(s);
        }
        let mut nodes: Vec<NodeStats> = Vec::new();
        let mut drops: Vec<NodeDrop> = Vec::new();
        let mut no_buffers = 0;
        for w in &workers {
            no_buffers += w.stats.no_buffers.load(Ordering::Relaxed);
            for n in &w.nodes {
                let (v, p) = (
                    n.vectors.load(Ordering::Relaxed),
                    n.packets.load(Ordering::Relaxed),
                );
                match nodes.iter_mut().find(|x| x.node == n.name) {
                    Some(x) => {
                        x.vectors += v;
                        x.packets += p;
                    }
                    None => nodes.push(NodeStats {
                        node: n.name,
                        vectors: v,
                        packets: p,
                    }),
                }
                for (r, c) in n.reasons.iter().zip(&n.drops) {
                    let c = c.load(Ordering::Relaxed);
                    if c == 0 {
                        continue;
                    }
                    match drops
                        .iter_mut()
                        .find(|d| d.node == n.name && d.reason == *r)
                    {
                        Some(d) => d.count += c,
                        None => drops.push(NodeDrop {
                            node: n.name,
                            reason: r,
                            count: c,
                        }),
                    }
                }
            }
        }
        StatsSnapshot {
            interfaces,
            nodes,
            drops,
            l2_entries: self.sh.l2.len(),
            neighbors: self.sh.neigh.len(),
            conntrack_sessions: self.sh.ct.len(),
            nat_sessions: self.sh.nat.len(),
            no_buffers,
        }
    }

    /// Learned MACs.
    pub fn l2_entries(&self) -> Vec<LearnedMac> {
        self.sh.l2.entries(self.sh.clock.now_ns())
    }

    /// Neighbor table.
    pub fn neighbors(&self) -> Vec<Neighbor> {
        self.sh.neigh.entries(self.sh.clock.now_ns())
    }

    /// Connection-tracking sessions.
    pub fn conntrack_sessions(&self) -> Vec<CtSession> {
        self.sh.ct.sessions(self.sh.clock.now_ns())
    }

    /// NAT44 sessions.
    pub fn nat_sessions(&self) -> Vec<NatSessionInfo> {
        self.sh.nat.sessions(self.sh.clock.now_ns())
    }

    /// Installed routes of a VRF (prefix and what it resolves to).
    pub fn routes(&self, vrf: &str) -> Vec<(IpNet, Adj)> {
        let t = self.sh.tables.load();
        let Some(fib) = t.vrf_names.get(vrf).and_then(|&i| t.fib(i)) else {
            return Vec::new();
        };
        fib.routes
            .iter()
            .map(|(p, a)| (*p, fib.adjs[*a as usize].clone()))
            .collect()
    }

    /// FIB lookup as the dataplane would do it.
    pub fn lookup(&self, vrf: &str, dst: IpAddr) -> Option<Adj> {
        let t = self.sh.tables.load();
        t.vrf_names
            .get(vrf)
            .and_then(|&i| t.fib(i))
            .and_then(|f| f.lookup(dst).cloned())
    }

    /// Interface index by name.
    pub fn interface_index(&self, name: &str) -> Option<u32> {
        self.sh.tables.load().if_index(name)
    }

    /// Interface names (ports first, then BVIs), by index.
    pub fn interfaces(&self) -> Vec<String> {
        self.sh
            .tables
            .load()
            .ifs
            .iter()
            .flatten()
            .map(|i| i.name.clone())
            .collect()
    }

    /// The ports (the box's hardware), in index order.
    pub fn ports(&self) -> Vec<PortInfo> {
        self.sh
            .ports
            .iter()
            .map(|p| PortInfo {
                name: p.name.clone(),
                driver: p.driver,
                mac: p.mac,
                link_up: p.link_up.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The counters of one interface (summed over workers), without walking the others.
    pub fn interface_stats(&self, name: &str) -> Option<InterfaceStats> {
        let t = self.sh.tables.load();
        let i = t.iface(t.if_index(name)?)?;
        let oper = lock(&self.sh.oper).get(i.index as usize).copied();
        let mut s = InterfaceStats {
            name: i.name.clone(),
            admin_up: i.admin_up,
            oper_up: oper.unwrap_or(false),
            ..Default::default()
        };
        for w in lock(&self.sh.workers).iter() {
            s.add(&w.stats.ifs[i.index as usize]);
        }
        Some(s)
    }

    /// The current compiled tables (for inspection).
    pub fn tables(&self) -> Arc<Tables> {
        self.sh.tables.load_full()
    }

    /// The configuration of this dataplane freshly started: its ports, unconfigured.
    fn fresh_config(&self) -> Config {
        let ports: Vec<_> = self
            .sh
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.mac))
            .collect();
        Config::new(&ports)
    }

    /// Forgets the whole configuration, as a restarted dataplane would (ports and counters
    /// stay; learned MACs go with it), and publishes [`Event::Reset`]: the test hook for the
    /// management plane's replay.
    pub fn reset(&self) -> Result<(), Error> {
        let mut cfg = lock(&self.config);
        let mut fresh = self.fresh_config();
        let tables = Tables::compile(&fresh, None)?;
        fresh.dirty_vrfs = Some(BTreeSet::new());
        let old = self.sh.tables.swap(Arc::new(tables));
        *cfg = fresh;
        drop(cfg);
        for o in old.ifs.iter().flatten() {
            self.sh.l2.flush_interface(o.index);
        }
        self.sh.check_links();
        self.sh.events.publish(Event::Reset {
            reason: "the dataplane was reset".to_string(),
        });
        Ok(())
    }

    /// Replaces the whole configuration, all-or-nothing, with `ops` applied to a fresh
    /// dataplane (a replay): whatever the dataplane ran before, it then runs exactly `ops`.
    /// Learned MACs behind interfaces that changed go.
    pub fn replace(&self, ops: &[Op]) -> Result<(), Error> {
        let mut cfg = lock(&self.config);
        let mut next = self.fresh_config();
        for op in ops {
            next.apply_op(op)?;
        }
        let tables = Tables::compile(&next, Some(&self.sh.tables.load()))?;
        next.dirty_vrfs = Some(BTreeSet::new());
        let old = self.sh.tables.swap(Arc::new(tables));
        *cfg = next;
        drop(cfg);
        let t = self.sh.tables.load();
        for o in old.ifs.iter().flatten() {
            let now = t.iface(o.index);
            if now.map(|n| (&n.name, &n.mode)) != Some((&o.name, &o.mode)) {
                self.sh.l2.flush_interface(o.index);
            }
        }
        self.sh.check_links();
        Ok(())
    }

    /// Fault injection (tests): the next worker thread to poll panics, as a bug in a graph
    /// node would make it. Its supervisor restarts it and publishes [`Event::Reset`].
    /// Returns false (and injects nothing) without worker threads.
    pub fn inject_worker_panic(&self) -> bool {
        if self.threads.is_empty() {
            return false;
        }
        self.sh.inject_panic.store(true, Ordering::Relaxed);
        true
    }

    /// Worker threads restarted after a panic since start.
    pub fn worker_restarts(&self) -> u64 {
        self.sh.worker_restarts.load(Ordering::Relaxed)
    }

    /// Runs table aging and link checks now (workers also do it periodically).
    pub fn maintenance(&self) {
        self.sh.check_links();
        self.sh.sweep();
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}
