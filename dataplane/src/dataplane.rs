//! [`Dataplane`]: the control API. The ports given at construction are the box's hardware
//! and always exist; configuration changes come as batches of [`Op`]s in a two-phase
//! transaction: [`Dataplane::prepare`] validates a batch, compiles the new [`Tables`]
//! snapshot and opens the host resources of ports created on demand
//! ([`Op::AddHostPort`]); [`Dataplane::commit`] swaps the snapshot in, so forwarding never
//! pauses, and publishes a new port table that workers pick up without stopping the other
//! ports; dropping the [`Prepared`] batch aborts. `apply` does both at once, `check`
//! only validates, `replace` swaps in a whole configuration (a replay). Building one and
//! its worker threads: [`builder`]; stats snapshots, events, packet trace and table
//! read-outs: [`readout`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::control::{Config, Error, HostPort, Op};
use crate::events::Event;
use crate::port::Port;
use crate::shared::{PortSlot, PortTable, Runtime};
use crate::tables::Tables;
use crate::worker::Worker;

mod builder;
mod readout;

pub use builder::DataplaneBuilder;

/// Opens the host resource of a port created on demand ([`Op::AddHostPort`]). The default,
/// [`crate::port::open_host`], opens it in the calling thread's network namespace.
pub type PortOpener = Arc<dyn Fn(&HostPort) -> std::io::Result<Box<dyn Port>> + Send + Sync>;

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
    sh: Arc<Runtime>,
    /// Runtime with the hook that gives re-attached ports' interfaces their new MAC.
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
fn sync_port_macs(sh: &Runtime, config: &Mutex<Config>) {
    let mut cfg = lock(config);
    let ports = sh.ports.load();
    let mut next = cfg.clone();
    let mut moved: BTreeMap<String, (crate::types::Mac, crate::types::Mac)> = BTreeMap::new();
    for (name, st) in next.ifs.iter() {
        if let crate::control::IfKind::Port(p) = st.kind
            && let Some(slot) = ports.get(p)
            && slot.mac() != st.hw_mac
        {
            moved.insert(name.clone(), (st.hw_mac, slot.mac()));
        }
    }
    if moved.is_empty() {
        return;
    }
    let subs: Vec<(String, crate::types::Mac)> = next
        .ifs
        .iter()
        .filter_map(|(name, st)| match &st.kind {
            crate::control::IfKind::Sub { parent, .. } => moved
                .get(parent)
                .filter(|(old, _)| st.hw_mac == *old)
                .map(|(_, new)| (name.clone(), *new)),
            _ => None,
        })
        .collect();
    let ports_moved = moved.iter().map(|(n, (_, new))| (n.clone(), *new));
    for (name, mac) in ports_moved.chain(subs) {
        if let Some(st) = next.ifs.get_mut(&name) {
            st.hw_mac = mac;
        }
    }
    next.mark_compiled();
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
    /// `cfg` with `ops` applied (references and limits not yet checked).
    fn next_config(cfg: &Config, ops: &[Op]) -> Result<Config, Error> {
        let mut next = cfg.clone();
        next.mark_compiled();
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
        next.mark_compiled();
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
        next.mark_compiled();
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
                cfg.promise(name, ix);
            }
        }
    }

    /// Every index this dataplane handed out or promised, by interface name (current
    /// interfaces and the ones it still remembers).
    pub fn indices(&self) -> BTreeMap<String, u32> {
        Self::hints_of(&lock(&self.config))
    }

    /// Changes whenever [`Dataplane::indices`] does: a commit that hands out no new index
    /// leaves it as it was.
    pub fn indices_version(&self) -> u64 {
        lock(&self.config).hints_version
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
        fresh.mark_compiled();
        fresh.index_hints = Self::hints_of(&cfg);
        fresh.hints_version = cfg.hints_version + 1;
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
        next.hints_version = cfg.hints_version + 1;
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

    /// Dispatch loops run by each worker thread, in worker order: a worker that
    /// runs advances its count at least every 100 ms, even idle (it parks at
    /// most that long). Empty without worker threads.
    pub fn worker_loops(&self) -> Vec<u64> {
        lock(&self.sh.workers)
            .iter()
            .map(|w| w.stats.loops.load(Ordering::Relaxed))
            .collect()
    }

    /// Opens a probe session (see [`crate::probe`]) in the VRF named `vrf`
    /// (`default` is the default VRF) from `src` to `dst`. Without `src`, the
    /// probes leave from the address of the interface the route to `dst` goes
    /// out of (its address in `dst`'s subnet if it has one), or from `dst`
    /// itself when it is the box's.
    pub fn probe(
        &self,
        vrf: &str,
        src: Option<std::net::Ipv4Addr>,
        dst: std::net::Ipv4Addr,
    ) -> Result<crate::probe::ProbeSession, crate::probe::ProbeError> {
        use crate::probe::ProbeError;
        use crate::tables::fib::Adj;
        let t = self.sh.tables.load();
        let ix = *t
            .vrf_names
            .get(vrf)
            .ok_or_else(|| ProbeError::UnknownVrf(vrf.to_string()))?;
        let ours = |a: std::net::Ipv4Addr| {
            t.ifs
                .iter()
                .flatten()
                .any(|f| f.vrf == ix && f.v4.iter().any(|(x, _)| *x == a))
        };
        let src = match src {
            Some(s) if ours(s) => s,
            Some(s) => return Err(ProbeError::NotOurs(s)),
            None => {
                let out = match t.fib(ix).and_then(|f| f.lookup4(dst)) {
                    Some(Adj::Local) => Some(dst),
                    Some(Adj::Glean { ifidx }) => t.iface(*ifidx).and_then(|f| pick(&f.v4, dst)),
                    Some(Adj::Via(paths)) => paths
                        .first()
                        .and_then(|p| t.iface(p.ifidx))
                        .and_then(|f| pick(&f.v4, dst)),
                    _ => None,
                };
                out.ok_or(ProbeError::NoRoute(dst))?
            }
        };
        crate::probe::ProbeSession::open(self.sh.clone(), ix, src, dst)
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

/// An interface's address to send to `dst` from: one in `dst`'s subnet, else
/// the first.
fn pick(addrs: &[(std::net::Ipv4Addr, u8)], dst: std::net::Ipv4Addr) -> Option<std::net::Ipv4Addr> {
    let within = |(a, len): &(std::net::Ipv4Addr, u8)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        u32::from(*a) & mask == u32::from(dst) & mask
    };
    addrs
        .iter()
        .find(|x| within(x))
        .or(addrs.first())
        .map(|(a, _)| *a)
}
