//! [`Dataplane`]: the control API. The ports given at construction are the box's hardware
//! and always exist; configuration changes come as batches of [`Op`]s in a two-phase
//! transaction: [`Dataplane::prepare`] validates a batch, compiles the new [`Tables`]
//! snapshot and opens the host resources of ports created on demand
//! ([`Op::AddHostPort`]); [`Dataplane::commit`] swaps the snapshot in, so forwarding never
//! pauses, and publishes a new port table that workers pick up without stopping the other
//! ports; dropping the [`Prepared`] batch aborts. `apply` does both at once, `check`
//! only validates, `replace` swaps in a whole configuration (a replay). Also: stats snapshots, events, packet trace, table read-outs,
//! and worker threads (or synchronous polling for tests and benchmarks).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::clock::{Clock, SystemClock};
use crate::control::{Config, Error, HostPort, Op};
use crate::events::{Event, EventBus};
use crate::graph::trace::{TraceCtl, TraceLine};
use crate::port::Port;
use crate::shared::{Baseline, PortSlot, PortTable, Shared};
use crate::state::conntrack::{ConnTrack, CtSession};
use crate::state::nat::{Nat44, NatSessionInfo};
use crate::stats::{InterfaceStats, NodeDrop, NodeStats, StatsSnapshot};
use crate::tables::Tables;
use crate::tables::fib::Adj;
use crate::tables::l2fib::{L2Fib, LearnedMac};
use crate::tables::neighbor::{Neighbor, NeighborTable};
use crate::types::IpNet;
use crate::worker::Worker;

/// Opens the host resource of a port created on demand ([`Op::AddHostPort`]). The default,
/// [`crate::port::open_host`], opens it in the calling thread's network namespace.
pub type PortOpener = Arc<dyn Fn(&HostPort) -> std::io::Result<Box<dyn Port>> + Send + Sync>;

/// Builds a [`Dataplane`].
pub struct DataplaneBuilder {
    ports: Vec<(String, Box<dyn Port>)>,
    workers: usize,
    clock: Arc<dyn Clock>,
    opener: PortOpener,
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

    /// Opens the ports created on demand with `opener` instead of
    /// [`crate::port::open_host`] (e.g. inside another network namespace, or in-memory
    /// stand-ins in tests).
    pub fn port_opener(mut self, opener: PortOpener) -> Self {
        self.opener = opener;
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
        let fixed: Vec<_> = self
            .ports
            .iter()
            .map(|(n, p)| (n.clone(), p.mac()))
            .collect();
        let mut config = Config::new(&fixed);
        let tables = Tables::compile(&config, None)?;
        config.dirty_vrfs = Some(BTreeSet::new());
        let baselines = fixed
            .iter()
            .map(|(name, _)| {
                Some(Baseline {
                    name: name.clone(),
                    counters: InterfaceStats::default(),
                    since: None,
                })
            })
            .collect();
        let sh = Arc::new(Shared {
            tables: ArcSwap::from_pointee(tables),
            ports: ArcSwap::from_pointee(PortTable::new(
                self.ports
                    .into_iter()
                    .map(|(_, p)| Some(Arc::new(PortSlot::new(p, None))))
                    .collect(),
            )),
            l2: L2Fib::default(),
            neigh: NeighborTable::default(),
            ct: ConnTrack::default(),
            nat: Nat44::default(),
            events: EventBus::default(),
            trace: TraceCtl::default(),
            clock: self.clock,
            workers: Mutex::new(Vec::new()),
            oper: Mutex::new(Vec::new()),
            baselines: Mutex::new(baselines),
            inject_panic: AtomicBool::new(false),
            worker_restarts: AtomicU64::new(0),
            on_mac_change: std::sync::OnceLock::new(),
        });
        let config = Arc::new(Mutex::new(config));
        {
            let (weak, cfg) = (Arc::downgrade(&sh), config.clone());
            let hook = move || {
                let (weak, cfg) = (weak.clone(), cfg.clone());
                let _ = std::thread::Builder::new()
                    .name("dp-port-macs".into())
                    .spawn(move || {
                        if let Some(sh) = weak.upgrade() {
                            sync_port_macs(&sh, &cfg);
                        }
                    });
            };
            let _ = sh.on_mac_change.set(crate::shared::MacHook(Box::new(hook)));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut manual = None;
        let nports = fixed.len();
        if self.workers == 0 {
            manual = Some(Worker::new(sh.clone(), 0, 1, true));
        } else {
            for w in 0..self.workers {
                let worker = Worker::new(sh.clone(), w, self.workers, w == 0);
                let stop = stop.clone();
                let sh = sh.clone();
                let of = self.workers;
                let h = std::thread::Builder::new()
                    .name(format!("dp-worker-{w}"))
                    .spawn(move || supervise(w, of, worker, &sh, &stop))
                    .map_err(|e| Error::Invalid(format!("spawning worker: {e}")))?;
                threads.push(h);
            }
        }
        tracing::info!(ports = nports, workers = self.workers, "dataplane started");
        Ok(Dataplane {
            sh,
            config,
            parked: Mutex::new(Vec::new()),
            manual: Mutex::new(manual),
            threads,
            stop,
            fixed,
            opener: self.opener,
        })
    }
}

/// Runs a worker thread's loop; when the worker panics, logs why, starts a new worker on
/// the same ports (fresh graph and buffers; the dead worker's counters stay registered, so
/// totals never go backwards) and publishes [`Event::Reset`] so the configuration is
/// replayed.
fn supervise(id: usize, of: usize, first: Worker, sh: &Arc<Shared>, stop: &Arc<AtomicBool>) {
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
        worker = Worker::new(sh.clone(), id, of, id == 0);
        sh.events.publish(Event::Reset {
            reason: format!("worker {id} crashed ({msg}) and was restarted"),
        });
    }
}

/// A port as [`Dataplane::ports`] and [`Dataplane::port`] describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Interface name.
    pub name: String,
    /// Port index (= interface index).
    pub index: usize,
    /// Driver ("pg", "afpacket", "tap", "dpdk").
    pub driver: &'static str,
    /// Hardware MAC.
    pub mac: crate::types::Mac,
    /// Link state at the last link check.
    pub link_up: bool,
    /// The host interface it is attached to, if any.
    pub host_interface: Option<String>,
    /// For a port created on demand, what it was opened on (`None`: a port of the box).
    pub host: Option<HostPort>,
}

/// Host resources opened for the new ports of a batch. Dropping them (an aborted
/// transaction) closes them.
#[derive(Default)]
struct OpenedPorts {
    ports: Vec<(HostPort, Box<dyn Port>)>,
}

impl OpenedPorts {
    /// Number of resources opened.
    fn len(&self) -> usize {
        self.ports.len()
    }

    /// True if nothing was opened.
    fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }
}

impl std::fmt::Debug for OpenedPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.ports.iter().map(|(s, _)| s))
            .finish()
    }
}

/// A running dataplane.
pub struct Dataplane {
    sh: Arc<Shared>,
    /// Shared with the hook that gives re-attached ports' interfaces their new MAC.
    config: Arc<Mutex<Config>>,
    /// Ports created on demand that a reset took out of the configuration, kept open for
    /// the replay to take back (locked after `config`).
    parked: Mutex<Vec<Arc<PortSlot>>>,
    manual: Mutex<Option<Worker>>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// The box's ports (name, MAC), by index.
    fixed: Vec<(String, crate::types::Mac)>,
    opener: PortOpener,
}

/// A batch of operations [`Dataplane::prepare`] accepted: the configuration and compiled
/// tables it leads to from the tables it was checked against, and the host resources
/// opened for the ports it creates. [`Dataplane::commit`] installs it; dropping it instead
/// aborts the transaction (what was opened is closed, nothing changed).
pub struct Prepared {
    ops: Vec<Op>,
    /// The tables running when the batch was checked (held, so never reused for others).
    base: Arc<Tables>,
    next: Config,
    tables: Tables,
    opened: OpenedPorts,
}

impl Prepared {
    /// The operations of the batch.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of host resources opened for it.
    pub fn opened(&self) -> usize {
        self.opened.len()
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("ops", &self.ops.len())
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("ports", &self.sh.ports.load().present().len())
            .field("workers", &self.threads.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives the interfaces of ports whose MAC changed (a port re-attached to a re-created
/// host interface) the new one, and their sub-interfaces too, publishing new tables.
fn sync_port_macs(sh: &Shared, config: &Mutex<Config>) {
    let mut cfg = lock(config);
    let ports = sh.ports.load();
    let mut next = cfg.clone();
    let mut moved: BTreeMap<String, (crate::types::Mac, crate::types::Mac)> = BTreeMap::new();
    for (name, st) in next.ifs.iter_mut() {
        if let crate::control::IfKind::Port(p) = st.kind
            && let Some(slot) = ports.get(p)
            && slot.mac() != st.hw_mac
        {
            moved.insert(name.clone(), (st.hw_mac, slot.mac()));
            st.hw_mac = slot.mac();
        }
    }
    if moved.is_empty() {
        return;
    }
    for st in next.ifs.values_mut() {
        if let crate::control::IfKind::Sub { parent, .. } = &st.kind
            && let Some((old, new)) = moved.get(parent)
            && st.hw_mac == *old
        {
            st.hw_mac = *new;
        }
    }
    next.dirty_vrfs = Some(BTreeSet::new());
    match Tables::compile(&next, Some(&sh.tables.load())) {
        Ok(t) => {
            sh.tables.store(Arc::new(t));
            *cfg = next;
            for (name, (_, new)) in &moved {
                tracing::info!(interface = %name, mac = %new, "interface took its port's new MAC");
            }
        }
        Err(e) => tracing::warn!(error = %e, "new port MACs not applied"),
    }
}

/// Drops the ports that went once no worker holds them any more (workers let go at their
/// next poll, within about a millisecond), so that their host resource is closed when this
/// returns. Gives up waiting after a second (a worker stuck in a long burst): the resource
/// then closes when that worker lets go.
fn release(mut gone: Vec<Arc<PortSlot>>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !gone.is_empty() && Instant::now() < deadline {
        gone.retain(|s| Arc::strong_count(s) > 1);
        if !gone.is_empty() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Dataplane {
    /// A builder.
    pub fn builder() -> DataplaneBuilder {
        DataplaneBuilder {
            ports: Vec::new(),
            workers: 0,
            clock: Arc::new(SystemClock::default()),
            opener: Arc::new(crate::port::open_host),
        }
    }

    /// `cfg` with `ops` applied (references and limits not yet checked).
    fn next_config(cfg: &Config, ops: &[Op]) -> Result<Config, Error> {
        let mut next = cfg.clone();
        next.dirty_vrfs = Some(BTreeSet::new());
        for op in ops {
            next.apply_op(op)?;
        }
        Ok(next)
    }

    /// Validates `ops` against the current configuration without changing or opening
    /// anything (a query, like NETCONF `validate`): unknown objects, bad values, full
    /// tables. A transaction uses [`Dataplane::prepare`].
    pub fn check(&self, ops: &[Op]) -> Result<(), Error> {
        let cfg = lock(&self.config);
        let next = Self::next_config(&cfg, ops)?;
        Tables::compile(&next, Some(&self.sh.tables.load())).map(|_| ())
    }

    /// A transaction's prepare phase: validates `ops` against the current configuration
    /// (unknown objects, bad values, full tables), compiles the tables they lead to, then
    /// opens the host resources of the ports they create ([`Op::AddHostPort`]) — the part
    /// that can fail for reasons outside the configuration (a host interface that does not
    /// exist, a TAP device the system refuses). A batch the configuration refuses opens
    /// nothing. Nothing changes until [`Dataplane::commit`]; dropping the result aborts
    /// (closing what was opened). A port whose resource is already open (the same driver
    /// on the same host interface, e.g. a port re-created under another name in the same
    /// batch) is not opened twice.
    pub fn prepare(&self, ops: Vec<Op>) -> Result<Prepared, Error> {
        let cfg = lock(&self.config);
        let base = self.sh.tables.load_full();
        let next = Self::next_config(&cfg, &ops)?;
        let tables = Tables::compile(&next, Some(&base))?;
        let opened = if ops.iter().any(|o| matches!(o, Op::AddHostPort { .. })) {
            self.open_missing(&next)?
        } else {
            OpenedPorts::default()
        };
        Ok(Prepared {
            ops,
            base,
            next,
            tables,
            opened,
        })
    }

    /// A transaction's commit phase: installs what [`Dataplane::prepare`] accepted, in one
    /// atomic swap of the forwarding tables (and of the port table when ports come or go).
    /// The compiled tables are installed as they are while the dataplane still runs the
    /// tables the batch was checked against (every change of the configuration publishes
    /// new tables) and the batch neither creates nor deletes ports on demand; otherwise the
    /// operations are applied anew, all-or-nothing. Gives the batch's operations back.
    pub fn commit(&self, p: Prepared) -> Result<Vec<Op>, Error> {
        let Prepared {
            ops,
            base,
            mut next,
            tables,
            opened,
        } = p;
        let ports_change = !opened.is_empty()
            || ops
                .iter()
                .any(|o| matches!(o, Op::AddHostPort { .. } | Op::DelHostPort { .. }));
        let mut cfg = lock(&self.config);
        if ports_change
            || !lock(&self.parked).is_empty()
            || !Arc::ptr_eq(&self.sh.tables.load_full(), &base)
        {
            let next = Self::next_config(&cfg, &ops)?;
            return self.install(&mut cfg, next, opened).map(|()| ops);
        }
        next.dirty_vrfs = Some(BTreeSet::new());
        // Every index handed out stays promised to its name (RFC 2863 §3.1.5).
        next.index_hints = Self::hints_of(&next);
        let old = self.sh.tables.swap(Arc::new(tables));
        *cfg = next;
        self.after_swap(&old, true);
        Ok(ops)
    }

    /// [`Dataplane::prepare`] then [`Dataplane::commit`]: applies `ops` all-or-nothing,
    /// opening what new ports need; on error nothing changed and nothing stays open.
    pub fn apply(&self, ops: &[Op]) -> Result<(), Error> {
        let p = self.prepare(ops.to_vec())?;
        self.commit(p).map(|_| ())
    }

    /// The host resources that are open now: the live ports created on demand and the
    /// parked ones.
    fn open_specs(&self) -> BTreeSet<HostPort> {
        let ports = self.sh.ports.load();
        let mut v: BTreeSet<HostPort> = ports
            .slots()
            .iter()
            .flatten()
            .filter_map(|s| s.host.clone())
            .collect();
        v.extend(lock(&self.parked).iter().filter_map(|s| s.host.clone()));
        v
    }

    /// Opens the resources of the ports of `next` that are not open yet.
    fn open_missing(&self, next: &Config) -> Result<OpenedPorts, Error> {
        let mut open = self.open_specs();
        let mut opened = OpenedPorts::default();
        for (name, spec) in &next.host_ports {
            if !open.insert(spec.clone()) {
                continue;
            }
            match (self.opener)(spec) {
                Ok(p) => opened.ports.push((spec.clone(), p)),
                Err(e) => {
                    let not_found = e.kind() == std::io::ErrorKind::NotFound
                        || matches!(e.raw_os_error(), Some(libc::ENODEV | libc::ENXIO));
                    return Err(Error::PortOpen {
                        name: name.clone(),
                        spec: spec.clone(),
                        reason: e.to_string(),
                        not_found,
                    });
                }
            }
        }
        Ok(opened)
    }

    /// Makes `next` the configuration: gives its ports created on demand their resource
    /// (the open one with the same spec, else the one in `opened`), compiles, publishes the
    /// port table and the tables, closes the resources no port uses any more. Fails (and
    /// changes nothing) only if compiling fails or a resource is missing.
    fn install(
        &self,
        cfg: &mut MutexGuard<'_, Config>,
        mut next: Config,
        opened: OpenedPorts,
    ) -> Result<(), Error> {
        let old_ports = self.sh.ports.load_full();
        let mut parked = lock(&self.parked);
        let mut pool: BTreeMap<HostPort, Arc<PortSlot>> = old_ports
            .slots()
            .iter()
            .flatten()
            .chain(parked.iter())
            .filter_map(|s| s.host.clone().map(|h| (h, s.clone())))
            .collect();
        let mut fresh: BTreeMap<HostPort, Box<dyn Port>> = opened.ports.into_iter().collect();
        let mut slots: Vec<Option<Arc<PortSlot>>> = old_ports
            .slots()
            .iter()
            .take(self.fixed.len())
            .cloned()
            .collect();
        for (name, spec) in &next.host_ports {
            let Some(st) = next.ifs.get_mut(name) else {
                continue;
            };
            let slot = match pool.remove(spec) {
                Some(s) => s,
                None => match fresh.remove(spec) {
                    Some(p) => Arc::new(PortSlot::new(p, Some(spec.clone()))),
                    None => {
                        return Err(Error::Invalid(format!(
                            "port {name}: {spec} was not opened (Dataplane::prepare)"
                        )));
                    }
                },
            };
            st.hw_mac = slot.mac();
            let ix = st.index as usize;
            if slots.len() <= ix {
                slots.resize(ix + 1, None);
            }
            slots[ix] = Some(slot);
        }
        let tables = Tables::compile(&next, Some(&self.sh.tables.load()))?;
        next.dirty_vrfs = Some(BTreeSet::new());
        // Every index handed out stays promised to its name (RFC 2863 §3.1.5).
        next.index_hints = Self::hints_of(&next);
        // Nothing below fails.
        let same = slots.len() == old_ports.len()
            && slots
                .iter()
                .zip(old_ports.slots())
                .all(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                });
        if !same {
            self.sh.ports.store(Arc::new(PortTable::new(slots)));
        }
        let old = self.sh.tables.swap(Arc::new(tables));
        **cfg = next;
        // Parked ports not taken back close now; so do the new resources nobody took.
        parked.clear();
        drop(parked);
        drop(fresh);
        self.after_swap(&old, true);
        // Live ports that went: wait until no worker holds them, so their resource is
        // closed (and, for a TAP device, gone) when the batch returns.
        let gone: Vec<Arc<PortSlot>> = pool
            .into_values()
            .filter(|s| {
                old_ports
                    .slots()
                    .iter()
                    .flatten()
                    .any(|o| Arc::ptr_eq(o, s))
            })
            .collect();
        drop(old_ports);
        if !same {
            if let Some(w) = lock(&self.manual).as_mut() {
                w.refresh_ports();
            }
            release(gone);
        }
        Ok(())
    }

    /// What follows a swap of the tables: learned MACs and neighbors behind interfaces that
    /// went or changed go, interfaces new on their index get fresh counters, and link states
    /// are checked (publishing oper-status changes). With `forget`, what is known of the
    /// interfaces that went (their counters, their last oper state) goes too, so one created
    /// again later starts afresh; a reset keeps it, for the replay to continue.
    fn after_swap(&self, old: &Tables, forget: bool) {
        let t = self.sh.tables.load();
        let mut l2_gone = BTreeSet::new();
        let mut neigh_gone = BTreeSet::new();
        for o in old.ifs.iter().flatten() {
            match t.iface(o.index) {
                Some(n) if n.name == o.name => {
                    if n.mode != o.mode {
                        l2_gone.insert(o.index);
                    }
                }
                _ => {
                    l2_gone.insert(o.index);
                    neigh_gone.insert(o.index);
                }
            }
        }
        if !l2_gone.is_empty() {
            self.sh.l2.flush_interfaces(&l2_gone);
        }
        if !neigh_gone.is_empty() {
            self.sh.neigh.flush_interfaces(&neigh_gone);
            if forget {
                self.sh.forget(&neigh_gone);
            }
        }
        self.sh.renew_baselines();
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
        let mut interfaces = Vec::new();
        for i in t.ifs.iter().flatten() {
            let mut s = self.sh.counters(i.index, &i.name);
            s.name = i.name.clone();
            s.admin_up = i.admin_up;
            s.oper_up = self.sh.oper_up(i.index, &i.name);
            interfaces.push(s);
        }
        let workers = lock(&self.sh.workers).clone();
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

    /// Interface names, by index.
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

    /// The ports of the box (given at construction; they always exist), in index order.
    pub fn ports(&self) -> Vec<PortInfo> {
        (0..self.fixed.len())
            .filter_map(|ix| self.port(ix))
            .collect()
    }

    /// The port at index `ix` (a port of the box or one created on demand).
    pub fn port(&self, ix: usize) -> Option<PortInfo> {
        let ports = self.sh.ports.load();
        let p = ports.get(ix)?;
        let name = match self.fixed.get(ix) {
            Some((n, _)) => n.clone(),
            None => self.sh.tables.load().iface(ix as u32)?.name.clone(),
        };
        Some(PortInfo {
            name,
            index: ix,
            driver: p.driver,
            mac: p.mac(),
            link_up: p.link_up.load(Ordering::Relaxed),
            host_interface: p.host_interface.clone(),
            host: p.host.clone(),
        })
    }

    /// The counters of one interface (summed over workers, from its creation), without
    /// walking the others.
    pub fn interface_stats(&self, name: &str) -> Option<InterfaceStats> {
        let t = self.sh.tables.load();
        let i = t.iface(t.if_index(name)?)?;
        let mut s = self.sh.counters(i.index, &i.name);
        s.name = i.name.clone();
        s.admin_up = i.admin_up;
        s.oper_up = self.sh.oper_up(i.index, &i.name);
        Some(s)
    }

    /// The current compiled tables (for inspection).
    pub fn tables(&self) -> Arc<Tables> {
        self.sh.tables.load_full()
    }

    /// The configuration of this dataplane freshly started: its ports, unconfigured.
    fn fresh_config(&self) -> Config {
        let ports = self.sh.ports.load();
        let now: Vec<_> = self
            .fixed
            .iter()
            .enumerate()
            .map(|(i, (n, m))| (n.clone(), ports.get(i).map_or(*m, |s| s.mac())))
            .collect();
        Config::new(&now)
    }

    /// Promises interface indices to names (e.g. those persisted before a restart): an
    /// interface of that name created later gets its index if free, and other new
    /// interfaces avoid it while another is free. Current interfaces keep theirs.
    pub fn promise_indices(&self, hints: &BTreeMap<String, u32>) {
        let mut cfg = lock(&self.config);
        for (name, &ix) in hints {
            if !cfg.ifs.contains_key(name) && (ix as usize) < crate::control::MAX_INTERFACES {
                cfg.index_hints.insert(name.clone(), ix);
            }
        }
    }

    /// Every index this dataplane handed out or promised, by interface name (current
    /// interfaces and the ones it still remembers).
    pub fn indices(&self) -> BTreeMap<String, u32> {
        Self::hints_of(&lock(&self.config))
    }

    /// Every interface's index in `cfg`, and the indices it promised, for the next replay.
    fn hints_of(cfg: &Config) -> BTreeMap<String, u32> {
        let mut h = cfg.index_hints.clone();
        h.extend(cfg.ifs.iter().map(|(n, s)| (n.clone(), s.index)));
        h
    }

    /// Forgets the whole configuration, as a restarted dataplane would, and publishes
    /// [`Event::Reset`]: the test hook for the management plane's replay. The box's ports
    /// and all counters stay; learned MACs and neighbors go. Ports created on demand leave
    /// the configuration (they stop forwarding and are no interfaces any more) but their
    /// host resources are *parked*, still open: the replay ([`Dataplane::replace`]) takes
    /// back those it creates again with the same driver and host interface (so a TAP
    /// device is not destroyed and re-created under the host's feet), and the next
    /// `replace` or `apply` closes the others. A replay gives every interface the index it
    /// had, so if-indexes and counters continue.
    pub fn reset(&self) -> Result<(), Error> {
        let mut cfg = lock(&self.config);
        let mut fresh = self.fresh_config();
        let tables = Tables::compile(&fresh, None)?;
        fresh.dirty_vrfs = Some(BTreeSet::new());
        fresh.index_hints = Self::hints_of(&cfg);
        let old_ports = self.sh.ports.load_full();
        {
            let mut parked = lock(&self.parked);
            parked.extend(
                old_ports
                    .slots()
                    .iter()
                    .flatten()
                    .filter(|s| s.host.is_some())
                    .cloned(),
            );
        }
        let fixed: Vec<_> = old_ports
            .slots()
            .iter()
            .take(self.fixed.len())
            .cloned()
            .collect();
        self.sh.ports.store(Arc::new(PortTable::new(fixed)));
        drop(old_ports);
        let old = self.sh.tables.swap(Arc::new(tables));
        *cfg = fresh;
        drop(cfg);
        if let Some(w) = lock(&self.manual).as_mut() {
            w.refresh_ports();
        }
        self.after_swap(&old, false);
        self.sh.events.publish(Event::Reset {
            reason: "the dataplane was reset".to_string(),
        });
        Ok(())
    }

    /// Replaces the whole configuration, all-or-nothing, with `ops` applied to a fresh
    /// dataplane (a replay): whatever the dataplane ran before, it then runs exactly `ops`.
    /// Interfaces keep the index they had (or had before a reset). Ports created on demand
    /// keep their open resource when `ops` create them again with the same driver and host
    /// interface (live or parked by [`Dataplane::reset`]); the others are opened here (an
    /// error then changes nothing) and those `ops` do not create are closed. Learned MACs
    /// behind interfaces that changed go.
    pub fn replace(&self, ops: &[Op]) -> Result<(), Error> {
        let mut cfg = lock(&self.config);
        let mut next = self.fresh_config();
        next.index_hints = Self::hints_of(&cfg);
        for op in ops {
            next.apply_op(op)?;
        }
        let opened = self.open_missing(&next)?;
        self.install(&mut cfg, next, opened)
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
