//! The provider table: every supported config node of the IETF and OpenConfig network
//! models, keyed by schema path, with a prepare callback that marks the node's source object
//! dirty; state callbacks for operational data. The side effect (programming the
//! dataplane) runs once per transaction in `prepare_done` / `apply_done`.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::{Callbacks, CbArgs, Provider};

use nectar_yang::paths as p;
use p::openconfig_network_instance::network_instances::network_instance as ni;

use crate::engine::Mapping;
use crate::sources::{Marks, SourceKind};
use nectar_dataplane::control::Op;
use nectar_dataplane::dataplane::Dataplane;
use nectar_dataplane::events::Event;

/// The dataplane northbound provider (register it in the mgmt `Registry`).
#[derive(Debug)]
pub struct Northbound {
    m: Arc<Mutex<Mapping>>,
}

/// A handle on the mapping from outside the management core: an explicit replay, the last
/// applied operations and replays (tests).
#[derive(Debug, Clone)]
pub struct NorthboundHandle {
    m: Arc<Mutex<Mapping>>,
}

fn lock(m: &Mutex<Mapping>) -> MutexGuard<'_, Mapping> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Northbound {
    /// A provider driving `dp`, and a handle on it. A thread of its own replays the whole
    /// configuration whenever the dataplane reports [`Event::Reset`] (a restart or a worker
    /// crash); it ends when the dataplane or the provider goes away.
    pub fn new(dp: Arc<Dataplane>) -> (Northbound, NorthboundHandle) {
        let rx = dp.subscribe();
        let m = Arc::new(Mutex::new(Mapping::new(dp)));
        let weak = Arc::downgrade(&m);
        let spawned = std::thread::Builder::new()
            .name("dp-replay".into())
            .spawn(move || replay_on_reset(rx, weak));
        if let Err(e) = spawned {
            // Without the thread nothing replays after a dataplane restart; say so loudly.
            tracing::error!(error = %e, "cannot start the dataplane replay thread");
        }
        (Northbound { m: m.clone() }, NorthboundHandle { m })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Mapping> {
        lock(&self.m)
    }

    /// Keeps interface indices in `path` (in the state directory) across restarts: the
    /// indices saved there are promised again now, before running is replayed, and every
    /// commit that hands out a new one saves them (RFC 2863 §3.1.5: ifIndex stays constant
    /// across re-initialisation). A removed interface's index stays promised to its name,
    /// so another interface gets it only when no other index is free.
    /// An unreadable file is reported, and replaced at the next save.
    pub fn persist_indices(&self, path: std::path::PathBuf) -> std::io::Result<()> {
        let read = crate::engine::read_indices(&path);
        let saved = read.as_ref().cloned().unwrap_or_default();
        let mut m = self.lock();
        m.dp.promise_indices(&saved);
        m.index_file = Some((path, None));
        m.save_indices();
        read.map(|_| ())
    }
}

impl Northbound {
    /// Lets capture-stop write pcap files into `dir` (created when first needed).
    pub fn captures_in(&self, dir: std::path::PathBuf) {
        self.lock().captures = Some(dir);
    }
}

impl NorthboundHandle {
    /// Replays the whole configuration into the dataplane (after it was restarted and lost
    /// its configuration).
    pub fn replay(&self) -> Result<(), nectar_dataplane::control::Error> {
        lock(&self.m).replay()
    }

    /// The operations the last commit sent to the dataplane.
    pub fn last_ops(&self) -> Vec<Op> {
        lock(&self.m).last_ops.clone()
    }

    /// The operations a replay would send to a fresh dataplane.
    pub fn replay_ops(&self) -> Vec<Op> {
        lock(&self.m).replay_ops()
    }

    /// Replays done since start (automatic ones included).
    pub fn replays(&self) -> u64 {
        lock(&self.m).replays
    }

    /// The operations the last replay sent.
    pub fn last_replay_ops(&self) -> Vec<Op> {
        lock(&self.m).last_replay_ops.clone()
    }
}

/// Replays the configuration on every [`Event::Reset`] of the dataplane.
fn replay_on_reset(rx: Receiver<Event>, m: Weak<Mutex<Mapping>>) {
    while let Ok(e) = rx.recv() {
        let Event::Reset { reason } = e else { continue };
        let Some(m) = m.upgrade() else { return };
        let mut g = lock(&m);
        match g.replay() {
            Ok(()) => tracing::info!(%reason, "dataplane restarted: configuration replayed"),
            // The effective configuration was accepted before, so this is a bug.
            Err(e) => tracing::error!(%reason, error = %e, "replaying the configuration failed"),
        }
    }
}

/// A network instance's type: the instance, and its static routes, which change VRF with it.
fn oc_ni_type(p: &mut Northbound, a: &CbArgs<'_>) -> Result<(), MgmtError> {
    let mut m = p.lock();
    m.mark(SourceKind::OcNi, &a.change.path);
    if let Some(ni) = a.node().and_then(|n| {
        n.ancestors()
            .find(|x| x.schema().name() == "network-instance")
    }) {
        for r in crate::object::routing::oc_ni::routes_of(&ni) {
            m.mark(SourceKind::OcRoute, &r);
        }
    }
    Ok(())
}

impl Marks for Northbound {
    fn mark(&mut self, kind: SourceKind, path: &str) {
        self.lock().mark(kind, path);
    }
}

impl Provider for Northbound {
    fn name(&self) -> &'static str {
        "dataplane"
    }

    fn callbacks() -> Callbacks<Self> {
        let mut cb = Callbacks::new();
        for kind in SourceKind::ALL {
            for node in kind.source().nodes {
                cb = cb.path(node).prepare(kind.marker());
            }
        }
        // A network instance's type also moves its static routes to another VRF.
        cb = cb.path(ni::config::type_::PATH).prepare(oc_ni_type);
        cb.state(p::ietf_interfaces::interfaces::PATH, |p, a, o| {
            crate::object::interface::state::ietf_interfaces(&p.lock(), a, o)
        })
        .state(p::openconfig_acl::acl::PATH, |p, a, o| {
            crate::object::acl::oc_state::oc_acl(&p.lock(), a, o)
        })
        .state(p::ietf_access_control_list::acls::PATH, |p, a, o| {
            crate::object::acl::state::ietf_acls(&p.lock(), a, o)
        })
        .state(p::openconfig_interfaces::interfaces::PATH, |p, a, o| {
            crate::object::interface::state::oc_interfaces(&p.lock(), a, o)
        })
        .state(p::ietf_routing::routing::PATH, |p, a, o| {
            crate::object::routing::state::ietf_routing(&p.lock(), a, o)
        })
        .state(p::ietf_nat::nat::PATH, |p, a, o| {
            crate::object::nat::state::ietf_nat(&p.lock(), a, o)
        })
        .state(
            p::openconfig_network_instance::network_instances::PATH,
            |p, a, o| crate::object::routing::oc_state::oc_network_instances(&p.lock(), a, o),
        )
        .state(p::nectar_bridge::bridge_domains::PATH, |p, a, o| {
            crate::object::bridge::state::nectar_bridge(&p.lock(), a, o)
        })
        .state(p::nectar_dataplane::dataplane::PATH, |p, a, o| {
            crate::object::graph::dataplane(&p.lock(), a, o)
        })
        .rpc("/nectar-dataplane:trace-start", |p, a| {
            crate::object::graph::trace_start(&p.lock(), a)
        })
        .rpc("/nectar-dataplane:trace-stop", |p, a| {
            crate::object::graph::trace_stop(&p.lock(), a)
        })
        .rpc("/nectar-dataplane:trace-clear", |p, a| {
            crate::object::graph::trace_clear(&p.lock(), a)
        })
        .rpc("/nectar-dataplane:capture-start", |p, a| {
            crate::object::graph::capture_start(&p.lock(), a)
        })
        .rpc("/nectar-dataplane:capture-stop", |p, a| {
            crate::object::graph::capture_stop(&mut p.lock(), a)
        })
        .rpc("/nectar-dataplane:capture-read", |p, a| {
            crate::object::graph::capture_read(&p.lock(), a)
        })
    }

    fn prepare_done(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        self.lock().prepare(tree)
    }

    fn apply_done(&mut self, _tree: &Tree) {
        self.lock().apply();
    }

    fn abort_done(&mut self) {
        self.lock().abort();
    }
}
