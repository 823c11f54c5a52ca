//! Building a [`Dataplane`]: its ports, workers and clock, and the supervisor that
//! restarts a worker that panicked.

use crate::clock::{Clock, SystemClock};
use crate::control::{Config, Error};
use crate::events::{Event, EventBus};
use crate::graph::trace::TraceCtl;
use crate::port::Port;
use crate::shared::{Baseline, PortSlot, PortTable, Runtime};
use crate::state::conntrack::ConnTrack;
use crate::state::nat::Nat44;
use crate::stats::InterfaceStats;
use crate::tables::Tables;
use crate::tables::l2fib::L2Fib;
use crate::tables::neighbor::NeighborTable;
use crate::worker::Worker;
use arc_swap::ArcSwap;
use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Dataplane, PortOpener, sync_port_macs};

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
        config.mark_compiled();
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
        let sh = Arc::new(Runtime {
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
            probes: Default::default(),
            capture: Default::default(),
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
pub(super) fn supervise(
    id: usize,
    of: usize,
    first: Worker,
    sh: &Arc<Runtime>,
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
        worker = Worker::new(sh.clone(), id, of, id == 0);
        sh.events.publish(Event::Reset {
            reason: format!("worker {id} crashed ({msg}) and was restarted"),
        });
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
}
