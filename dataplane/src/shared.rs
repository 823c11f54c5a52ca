//! State shared by the control side and every worker: the published tables, the published
//! port table, the dynamic tables, events, trace and clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;

use crate::clock::Clock;
use crate::control::HostPort;
use crate::events::{Event, EventBus};
use crate::graph::runtime::NodeCounters;
use crate::graph::trace::TraceCtl;
use crate::port::Port;
use crate::state::conntrack::ConnTrack;
use crate::state::nat::Nat44;
use crate::stats::{InterfaceStats, WorkerStats};
use crate::tables::Tables;
use crate::tables::l2fib::L2Fib;
use crate::tables::neighbor::NeighborTable;
use crate::types::Mac;

/// A port and what is known of it. Its interface is the one whose index is the port's
/// index in the [`PortTable`].
pub struct PortSlot {
    /// Hardware MAC (it changes when a port re-attaches to a re-created host interface).
    mac: AtomicU64,
    /// The driver takes super-frames and pending checksums ([`Port::offloads`]).
    pub offloads: bool,
    /// Driver name.
    pub driver: &'static str,
    /// The host interface it is attached to, if any.
    pub host_interface: Option<String>,
    /// The host resource of a port created on demand (`None`: a port of the box).
    pub host: Option<HostPort>,
    /// The driver (rx by its owning worker, tx by any worker, one burst at a time).
    pub port: Mutex<Box<dyn Port>>,
    /// Last link state seen.
    pub link_up: AtomicBool,
}

impl PortSlot {
    /// A slot for `port`; `host` says what it was opened on when configuration created it.
    pub fn new(port: Box<dyn Port>, host: Option<HostPort>) -> PortSlot {
        PortSlot {
            mac: AtomicU64::new(mac_bits(port.mac())),
            offloads: port.offloads(),
            driver: port.driver(),
            host_interface: port.host_interface().map(str::to_string),
            link_up: AtomicBool::new(port.link_up()),
            port: Mutex::new(port),
            host,
        }
    }
}

fn mac_bits(m: Mac) -> u64 {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&m.0);
    u64::from_le_bytes(b)
}

impl PortSlot {
    /// The port's hardware MAC as last seen.
    pub fn mac(&self) -> Mac {
        let b = self.mac.load(Ordering::Relaxed).to_le_bytes();
        Mac::from_slice(&b[..6])
    }
}

impl std::fmt::Debug for PortSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortSlot")
            .field("driver", &self.driver)
            .field("mac", &self.mac())
            .field("host", &self.host)
            .finish()
    }
}

/// The ports by port index, which is their interface's index (`None` where the interface
/// is not a port). The control side publishes a new table when ports come or go; workers
/// pick it up at their next poll, so the other ports keep forwarding.
#[derive(Debug, Default)]
pub struct PortTable {
    slots: Vec<Option<Arc<PortSlot>>>,
    present: Vec<usize>,
}

impl PortTable {
    /// A table with these slots.
    pub fn new(slots: Vec<Option<Arc<PortSlot>>>) -> PortTable {
        let present = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|_| i))
            .collect();
        PortTable { slots, present }
    }

    /// The port at index `ix`.
    #[inline]
    pub fn get(&self, ix: usize) -> Option<&Arc<PortSlot>> {
        self.slots.get(ix).and_then(|s| s.as_ref())
    }

    /// Indices of the ports, ascending.
    pub fn present(&self) -> &[usize] {
        &self.present
    }

    /// One past the highest port index.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True if there is no port.
    pub fn is_empty(&self) -> bool {
        self.present.is_empty()
    }

    /// The slots, by index.
    pub fn slots(&self) -> &[Option<Arc<PortSlot>>] {
        &self.slots
    }
}

/// Which interface an index last belonged to, and its counters when it got it: counters
/// are shown relative to them, so an interface created on an index another one used
/// starts from zero.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Interface name.
    pub name: String,
    /// The raw counters at creation.
    pub counters: InterfaceStats,
    /// When it was created (`None`: with the dataplane).
    pub since: Option<std::time::SystemTime>,
}

/// Counters a worker registers so snapshots can sum them.
#[derive(Debug, Clone)]
pub struct WorkerReg {
    /// The worker's number (a worker restarted after a crash registers again under it).
    pub id: usize,
    /// Interface and misc counters.
    pub stats: Arc<WorkerStats>,
    /// Node counters.
    pub nodes: Vec<Arc<NodeCounters>>,
}

/// Runtime state.
#[derive(Debug)]
pub struct Runtime {
    /// The published configuration snapshot.
    pub tables: ArcSwap<Tables>,
    /// Ports, by port index (= interface index).
    pub ports: ArcSwap<PortTable>,
    /// Learned MACs.
    pub l2: L2Fib,
    /// ARP/ND neighbors.
    pub neigh: NeighborTable,
    /// Connection tracking.
    pub ct: ConnTrack,
    /// NAT44 sessions.
    pub nat: Nat44,
    /// Event stream.
    pub events: EventBus,
    /// Packet trace.
    pub trace: TraceCtl,
    /// Probes the box sends (ping, traceroute) and their answers.
    pub probes: crate::probe::Probes,
    /// Packet capture.
    pub capture: crate::graph::capture::CaptureCtl,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Registered workers' counters.
    pub workers: Mutex<Vec<WorkerReg>>,
    /// Last oper state published per interface index, with the name of the interface it
    /// was published for.
    pub oper: Mutex<Vec<Option<(String, bool)>>>,
    /// Counter baselines per interface index (see [`Baseline`]).
    pub baselines: Mutex<Vec<Option<Baseline>>>,
    /// Fault injection: the next worker thread to see it set panics (see
    /// `Dataplane::inject_worker_panic`).
    pub inject_panic: AtomicBool,
    /// Worker threads restarted after a panic.
    pub worker_restarts: AtomicU64,
    /// Called (on a thread of its own) when a port's MAC changed, to give its interface
    /// the new one (set by the control side).
    pub on_mac_change: OnceLock<MacHook>,
}

/// What [`Runtime::check_links`] calls when a port's MAC changed.
pub struct MacHook(pub Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for MacHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacHook")
    }
}

impl Runtime {
    /// Polls link states and publishes oper-status changes (admin up and link up). An
    /// interface new on its index starts from down: it is announced when it comes up.
    pub fn check_links(&self) {
        let t = self.tables.load();
        let ports = self.ports.load();
        let mut link_of: Vec<Option<bool>> = vec![None; ports.len()];
        let mut mac_changed = false;
        let mut went_down = std::collections::BTreeSet::new();
        let mut oper = self.oper.lock().unwrap_or_else(|e| e.into_inner());
        for i in t.ifs.iter().flatten() {
            let link = match i.kind {
                crate::tables::Kind::Port(p) => {
                    match (link_of.get(p).copied().flatten(), ports.get(p)) {
                        (Some(up), _) => up,
                        (None, Some(slot)) => {
                            let (up, mac) = {
                                let mut port = slot.port.lock().unwrap_or_else(|e| e.into_inner());
                                port.maintain();
                                (port.link_up(), port.mac())
                            };
                            if mac != slot.mac() {
                                slot.mac.store(mac_bits(mac), Ordering::Relaxed);
                                mac_changed = true;
                            }
                            slot.link_up.store(up, Ordering::Relaxed);
                            link_of[p] = Some(up);
                            up
                        }
                        // The port is going or not yet published.
                        (None, None) => false,
                    }
                }
                crate::tables::Kind::Bvi(_) | crate::tables::Kind::Loopback => true,
            };
            // A sub-interface is up only while its parent port is up too.
            let parent_up = i.parent.and_then(|x| t.iface(x)).is_none_or(|x| x.admin_up);
            let now_up = i.admin_up && link && parent_up;
            let ix = i.index as usize;
            if oper.len() <= ix {
                oper.resize(ix + 1, None);
            }
            let was = match &oper[ix] {
                Some((n, up)) if *n == i.name => Some(*up),
                _ => None,
            };
            if was != Some(now_up) {
                oper[ix] = Some((i.name.clone(), now_up));
                if was == Some(true) {
                    went_down.insert(i.index);
                }
                if was.is_none() && !now_up {
                    continue;
                }
                self.events.publish(if now_up {
                    Event::LinkUp {
                        interface: i.name.clone(),
                    }
                } else {
                    Event::LinkDown {
                        interface: i.name.clone(),
                    }
                });
            }
        }
        drop(oper);
        // What was learned behind a link that went down is stale (the peer may come back
        // as another host, as a re-created pod does): forget it, as a router does.
        if !went_down.is_empty() {
            self.neigh.flush_interfaces(&went_down);
            self.l2.flush_interfaces(&went_down);
        }
        if mac_changed && let Some(hook) = self.on_mac_change.get() {
            (hook.0)();
        }
    }

    /// The last oper state published for interface `name` at index `ix`.
    pub fn oper_up(&self, ix: u32, name: &str) -> bool {
        let oper = self.oper.lock().unwrap_or_else(|e| e.into_inner());
        matches!(oper.get(ix as usize), Some(Some((n, true))) if n == name)
    }

    /// The counters of interface `name` at index `ix`, summed over workers, relative to its
    /// creation.
    pub fn counters(&self, ix: u32, name: &str) -> InterfaceStats {
        let mut s = InterfaceStats::default();
        for w in self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if let Some(c) = w.stats.ifs.get(ix as usize) {
                s.add(c);
            }
        }
        let b = self.baselines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Some(b)) = b.get(ix as usize)
            && b.name == name
        {
            s.subtract(&b.counters);
            s.since = b.since;
        }
        s
    }

    /// Forgets the counter baselines and oper states of the interface indices `gone`
    /// (their interfaces were deleted).
    pub fn forget(&self, gone: &std::collections::BTreeSet<u32>) {
        let t = self.tables.load();
        let keep = |ix: u32| t.iface(ix).is_some();
        let mut b = self.baselines.lock().unwrap_or_else(|e| e.into_inner());
        let mut o = self.oper.lock().unwrap_or_else(|e| e.into_inner());
        for &ix in gone.iter().filter(|&&ix| !keep(ix)) {
            if let Some(x) = b.get_mut(ix as usize) {
                *x = None;
            }
            if let Some(x) = o.get_mut(ix as usize) {
                *x = None;
            }
        }
    }

    /// Records the interfaces of the published tables that are new on their index: their
    /// counters start now.
    pub fn renew_baselines(&self) {
        let t = self.tables.load();
        let mut fresh = Vec::new();
        {
            let b = self.baselines.lock().unwrap_or_else(|e| e.into_inner());
            for i in t.ifs.iter().flatten() {
                match b.get(i.index as usize) {
                    Some(Some(x)) if x.name == i.name => {}
                    _ => fresh.push((i.index, i.name.clone())),
                }
            }
        }
        if fresh.is_empty() {
            return;
        }
        let now = std::time::SystemTime::now();
        let raw: Vec<InterfaceStats> = {
            let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            fresh
                .iter()
                .map(|(ix, _)| {
                    let mut s = InterfaceStats::default();
                    for w in workers.iter() {
                        if let Some(c) = w.stats.ifs.get(*ix as usize) {
                            s.add(c);
                        }
                    }
                    s
                })
                .collect()
        };
        let mut b = self.baselines.lock().unwrap_or_else(|e| e.into_inner());
        for ((ix, name), counters) in fresh.into_iter().zip(raw) {
            let ix = ix as usize;
            if b.len() <= ix {
                b.resize(ix + 1, None);
            }
            b[ix] = Some(Baseline {
                name,
                counters,
                since: Some(now),
            });
        }
    }

    /// Removes aged entries from every dynamic table.
    pub fn sweep(&self) {
        let now = self.clock.now_ns();
        let t = self.tables.load();
        self.l2.sweep(now, |bd| t.bd(bd).map(|b| b.aging_ns));
        self.neigh.sweep(now, t.limits.neighbor_ns);
        self.ct.sweep(now, &t.limits);
        self.nat.sweep(now, &t.limits);
    }
}
