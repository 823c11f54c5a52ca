//! The mapping's state and its transaction: facts per source object, the effective
//! configuration, and the plan of the transaction in progress.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use nectar_mgmt::ly::Tree;
use nectar_mgmt::{ErrorTag, MgmtError};

use super::effective::{Effective, Plan};
use super::facts::{Fact, Kind, Prop, SourceKey, Target};
use super::keys::truncate;
use super::read;
use crate::control::{Error, HostPort, Op};
use crate::dataplane::{Dataplane, OpenedPorts};

#[derive(Debug)]
struct Pending {
    staged: BTreeMap<SourceKey, Vec<Fact>>,
    plan: Plan,
    ops: Vec<Op>,
    /// Host resources opened for the ports the transaction creates (closed on abort).
    opened: OpenedPorts,
}

/// A port created on demand that could not be opened, as the commit's error: at the
/// `host-port` node that asked for it (`invalid-value` when the host interface does not
/// exist).
fn port_open_error(e: &Error, path_of: impl Fn(&str) -> Option<String>) -> MgmtError {
    let Error::PortOpen {
        name,
        spec,
        reason,
        not_found,
    } = e
    else {
        return MgmtError::app(
            ErrorTag::OperationFailed,
            format!("the vswitch refuses the configuration: {e}"),
        );
    };
    let what = match spec {
        HostPort::AfPacket { host_interface } => format!(
            "cannot attach an AF_PACKET socket to host interface {host_interface}{}",
            if *not_found {
                " (no such interface)"
            } else {
                ""
            }
        ),
        HostPort::Tap { host_interface } => format!("cannot create TAP device {host_interface}"),
    };
    let msg = format!("interface {name}: {what}: {reason}");
    let err = if *not_found {
        MgmtError::invalid_value(msg)
    } else {
        MgmtError::app(ErrorTag::OperationFailed, msg)
    };
    match path_of(name) {
        Some(p) => err.with_path(format!("{p}/host-interface")),
        None => err,
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct Mapping {
    pub(crate) dp: Arc<Dataplane>,
    pub(crate) eff: Effective,
    pub(crate) facts: HashMap<SourceKey, Vec<Fact>>,
    pub(crate) index: HashMap<Target, BTreeSet<SourceKey>>,
    dirty: BTreeSet<SourceKey>,
    pending: Option<Pending>,
    /// When the dataplane's counters started (ietf-interfaces discontinuity-time).
    pub(crate) started: SystemTime,
    /// The operations of the last applied transaction (for conformance tests).
    pub(crate) last_ops: Vec<Op>,
    /// Replays done since start, and the operations of the last one.
    pub(crate) replays: u64,
    pub(crate) last_replay_ops: Vec<Op>,
}

impl Mapping {
    pub fn new(dp: Arc<Dataplane>) -> Mapping {
        let ports = dp.ports().into_iter().map(|p| p.name);
        Mapping {
            eff: Effective::fresh(ports),
            dp,
            facts: HashMap::new(),
            index: HashMap::new(),
            dirty: BTreeSet::new(),
            pending: None,
            started: SystemTime::now(),
            last_ops: Vec::new(),
            replays: 0,
            last_replay_ops: Vec::new(),
        }
    }

    /// Marks the source object of a changed node (its first `steps` path steps) dirty.
    pub fn mark(&mut self, kind: Kind, path: &str, steps: usize) {
        if let Some(p) = truncate(path, steps) {
            self.dirty.insert((kind, p));
        }
    }

    /// Reads the dirty sources, plans the new effective configuration and checks the
    /// resulting operations with the dataplane. Changes nothing.
    pub fn prepare(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        let dirty = std::mem::take(&mut self.dirty);
        let staged = read::read_all(dirty, tree)?;
        let mut affected = BTreeSet::new();
        let mut staged_index: HashMap<&Target, Vec<&Fact>> = HashMap::new();
        for (key, new) in &staged {
            for f in self.facts.get(key).into_iter().flatten() {
                affected.insert(f.target.clone());
            }
            for f in new {
                affected.insert(f.target.clone());
                staged_index.entry(&f.target).or_default().push(f);
            }
        }
        let plan = self.eff.plan(&affected, |t| {
            let mut v: Vec<&Fact> = Vec::new();
            for src in self.index.get(t).into_iter().flatten() {
                if staged.contains_key(src) {
                    continue;
                }
                v.extend(
                    self.facts
                        .get(src)
                        .into_iter()
                        .flatten()
                        .filter(|f| &f.target == t),
                );
            }
            v.extend(staged_index.get(t).into_iter().flatten().copied());
            v
        })?;
        let ops = self.eff.ops(&plan);
        self.dp.check(&ops).map_err(|e| {
            MgmtError::app(
                ErrorTag::OperationFailed,
                format!("the vswitch refuses the configuration: {e}"),
            )
        })?;
        // Opening a port on demand can fail for reasons outside the configuration (a host
        // interface that does not exist): here, before anything changes.
        let opened = self.dp.open_ports(&ops).map_err(|e| {
            port_open_error(&e, |name| {
                staged
                    .values()
                    .flatten()
                    .find(|f| {
                        f.target == Target::If(name.to_string())
                            && matches!(f.prop, Prop::HostPort(_))
                    })
                    .map(|f| f.path.clone())
            })
        })?;
        self.pending = Some(Pending {
            staged,
            plan,
            ops,
            opened,
        });
        Ok(())
    }

    /// Applies the prepared plan: one all-or-nothing batch for the dataplane.
    pub fn apply(&mut self) {
        let Some(p) = self.pending.take() else { return };
        if let Err(e) = self.dp.apply_with(&p.ops, p.opened) {
            // check() accepted this batch and nothing else changes the dataplane's
            // configuration in between, so this is a bug; keep the model in step anyway.
            tracing::error!(error = %e, "the dataplane refused a checked batch");
        }
        for (key, new) in p.staged {
            if let Some(old) = self.facts.remove(&key) {
                for f in old {
                    if let Some(s) = self.index.get_mut(&f.target) {
                        s.remove(&key);
                        if s.is_empty() {
                            self.index.remove(&f.target);
                        }
                    }
                }
            }
            if !new.is_empty() {
                for f in &new {
                    self.index
                        .entry(f.target.clone())
                        .or_default()
                        .insert(key.clone());
                }
                self.facts.insert(key, new);
            }
        }
        self.eff.commit(p.plan);
        self.last_ops = p.ops;
    }

    /// Drops the transaction in progress (closing what it opened).
    pub fn abort(&mut self) {
        self.dirty.clear();
        self.pending = None;
    }

    /// The operations that bring a fresh dataplane to the effective configuration.
    pub fn replay_ops(&self) -> Vec<Op> {
        Effective::fresh(self.eff.ports.iter().cloned()).ops(&self.eff.whole())
    }

    /// Replays the whole effective configuration into the dataplane after it lost its
    /// configuration or it became suspect (a restart, a worker crash): the dataplane's
    /// configuration is replaced by what running says, whatever it held before. Counters
    /// survive a reset, so discontinuity-time stays.
    pub fn replay(&mut self) -> Result<(), crate::control::Error> {
        let ops = self.replay_ops();
        let r = self.dp.replace(&ops);
        self.replays += 1;
        self.last_replay_ops = ops;
        r
    }
}
