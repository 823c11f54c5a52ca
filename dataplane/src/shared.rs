//! State shared by the control side and every worker: the published tables, the ports, the
//! dynamic tables, events, trace and clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::clock::Clock;
use crate::events::{Event, EventBus};
use crate::graph::runtime::NodeCounters;
use crate::graph::trace::TraceCtl;
use crate::port::Port;
use crate::state::conntrack::ConnTrack;
use crate::state::nat::Nat44;
use crate::stats::WorkerStats;
use crate::tables::Tables;
use crate::tables::l2fib::L2Fib;
use crate::tables::neighbor::NeighborTable;
use crate::types::Mac;

/// A port and what is known of it.
pub struct PortSlot {
    /// Interface name.
    pub name: String,
    /// Hardware MAC.
    pub mac: Mac,
    /// Driver name.
    pub driver: &'static str,
    /// The driver (rx by its owning worker, tx by any worker, one burst at a time).
    pub port: Mutex<Box<dyn Port>>,
    /// Last link state seen.
    pub link_up: AtomicBool,
}

impl std::fmt::Debug for PortSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortSlot")
            .field("name", &self.name)
            .finish()
    }
}

/// Counters a worker registers so snapshots can sum them.
#[derive(Debug, Clone)]
pub struct WorkerReg {
    /// Interface and misc counters.
    pub stats: Arc<WorkerStats>,
    /// Node counters.
    pub nodes: Vec<Arc<NodeCounters>>,
}

/// Shared state.
#[derive(Debug)]
pub struct Shared {
    /// The published configuration snapshot.
    pub tables: ArcSwap<Tables>,
    /// Ports, by port index (= interface index).
    pub ports: Vec<PortSlot>,
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
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Registered workers' counters.
    pub workers: Mutex<Vec<WorkerReg>>,
    /// Last oper state published per interface index.
    pub oper: Mutex<Vec<bool>>,
    /// Fault injection: the next worker thread to see it set panics (see
    /// `Dataplane::inject_worker_panic`).
    pub inject_panic: AtomicBool,
    /// Worker threads restarted after a panic.
    pub worker_restarts: AtomicU64,
}

impl Shared {
    /// Polls link states and publishes oper-status changes (admin up and link up).
    pub fn check_links(&self) {
        let t = self.tables.load();
        let mut oper = self.oper.lock().unwrap_or_else(|e| e.into_inner());
        for i in t.ifs.iter().flatten() {
            let link = match i.kind {
                crate::tables::Kind::Port(p) => {
                    let up = self.ports[p]
                        .port
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .link_up();
                    self.ports[p].link_up.store(up, Ordering::Relaxed);
                    up
                }
                crate::tables::Kind::Bvi(_) => true,
            };
            // A sub-interface is up only while its parent port is up too.
            let parent_up = i.parent.and_then(|x| t.iface(x)).is_none_or(|x| x.admin_up);
            let now_up = i.admin_up && link && parent_up;
            let ix = i.index as usize;
            if oper.len() <= ix {
                oper.resize(ix + 1, false);
            }
            if oper[ix] != now_up {
                oper[ix] = now_up;
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
