//! The mapping's state and its transaction: facts per source object, the effective
//! configuration, and the plan of the transaction in progress.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use nectar_mgmt::ly::Tree;
use nectar_mgmt::{ErrorTag, MgmtError};

use crate::effective::{Effective, Plan};
use crate::facts::{Fact, Prop, Target};
use crate::sources::{self, SourceKey, SourceKind};
use nectar_dataplane::control::{Error, HostPort, Op};
use nectar_dataplane::dataplane::{Dataplane, Prepared};
use nectar_mgmt::ly;

#[derive(Debug)]
struct Pending {
    staged: BTreeMap<SourceKey, Vec<Fact>>,
    plan: Plan,
    /// The dataplane's side of the transaction: its operations, checked, with the host
    /// resources of the ports it creates open (dropping it on abort closes them). None
    /// when the transaction changes nothing the dataplane holds (a description, a NACM
    /// rule): its tables are not compiled again for nothing.
    prepared: Option<Prepared>,
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

/// The source objects marked dirty in the transaction in progress, in the order they were
/// marked (duplicates dropped when taken). A source's nodes are marked one after the other
/// (a route and its leaves), so marking the last source again costs a comparison.
#[derive(Debug, Default)]
struct Dirty {
    marked: Vec<SourceKey>,
}

impl Dirty {
    /// Whether `path` is the last source marked (of this kind) or a node below it: its
    /// first steps are then that source's path.
    fn is_last_or_below(&self, kind: SourceKind, path: &str) -> bool {
        self.marked.last().is_some_and(|(k, p)| {
            *k == kind
                && path.starts_with(p.as_str())
                && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
        })
    }

    fn insert(&mut self, kind: SourceKind, path: &str) {
        if !self
            .marked
            .last()
            .is_some_and(|(k, p)| *k == kind && p == path)
        {
            self.marked.push((kind, path.to_string()));
        }
    }

    /// The sources marked, each once.
    fn take(&mut self) -> BTreeSet<SourceKey> {
        let mut v = std::mem::take(&mut self.marked);
        v.sort_unstable();
        v.dedup();
        // From sorted, deduplicated keys the set is built in one pass.
        v.into_iter().collect()
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct Mapping {
    pub(crate) dp: Arc<Dataplane>,
    pub(crate) eff: Effective,
    pub(crate) facts: HashMap<SourceKey, Vec<Fact>>,
    pub(crate) index: HashMap<Target, BTreeSet<SourceKey>>,
    dirty: Dirty,
    pending: Option<Pending>,
    /// When the dataplane's counters started (ietf-interfaces discontinuity-time).
    pub(crate) started: SystemTime,
    /// The operations of the last applied transaction (for conformance tests).
    pub(crate) last_ops: Vec<Op>,
    /// Replays done since start, and the operations of the last one.
    pub(crate) replays: u64,
    pub(crate) last_replay_ops: Vec<Op>,
    /// Where the interface indices are kept across restarts, and the
    /// [`Dataplane::indices_version`] it holds (`None`: not written yet).
    pub(crate) index_file: Option<(std::path::PathBuf, Option<u64>)>,
    /// Where capture-stop writes pcap files, and the last one written.
    pub(crate) captures: Option<std::path::PathBuf>,
    pub(crate) last_capture: Option<std::path::PathBuf>,
}

impl Mapping {
    pub fn new(dp: Arc<Dataplane>) -> Mapping {
        let ports = dp.ports().into_iter().map(|p| p.name);
        Mapping {
            eff: Effective::fresh(ports),
            dp,
            facts: HashMap::new(),
            index: HashMap::new(),
            dirty: Dirty::default(),
            pending: None,
            started: SystemTime::now(),
            last_ops: Vec::new(),
            replays: 0,
            last_replay_ops: Vec::new(),
            index_file: None,
            captures: None,
            last_capture: None,
        }
    }

    /// Writes the dataplane's interface indices to the index file when they changed
    /// (atomically: temporary file, fsync, rename), so a restart gives every interface
    /// the index it had. A failure is logged: the commit has happened.
    pub(crate) fn save_indices(&mut self) {
        let Some((path, saved)) = &mut self.index_file else {
            return;
        };
        let version = self.dp.indices_version();
        if *saved == Some(version) {
            return;
        }
        match write_indices(path, &self.dp.indices()) {
            Ok(()) => *saved = Some(version),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot save interface indices")
            }
        }
    }

    /// Marks the source object of a changed node (its first `steps` path steps) dirty.
    pub fn mark(&mut self, kind: SourceKind, path: &str) {
        if self.dirty.is_last_or_below(kind, path) {
            return;
        }
        if let Some(p) = ly::truncate_steps(path, kind.source().steps()) {
            self.dirty.insert(kind, &p);
        }
    }

    /// Reads the dirty sources, plans the new effective configuration and checks the
    /// resulting operations with the dataplane. Changes nothing.
    pub fn prepare(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        let dirty = self.dirty.take();
        let staged = sources::read_all(dirty, tree)?;
        let mut affected = Vec::new();
        // The staged facts by target, each target's in the order staged.
        let mut staged_index: Vec<(&Target, usize, &Fact)> = Vec::with_capacity(staged.len());
        for (key, new) in &staged {
            for f in self.facts.get(key).into_iter().flatten() {
                affected.push(f.target.clone());
            }
            for f in new {
                affected.push(f.target.clone());
                staged_index.push((&f.target, staged_index.len(), f));
            }
        }
        staged_index.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        affected.sort_unstable();
        affected.dedup();
        let affected: BTreeSet<Target> = affected.into_iter().collect();
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
            let from = staged_index.partition_point(|(s, _, _)| *s < t);
            v.extend(
                staged_index[from..]
                    .iter()
                    .take_while(|(s, _, _)| *s == t)
                    .map(|(_, _, f)| *f),
            );
            v
        })?;
        let ops = self.eff.ops(&plan);
        if ops.is_empty() {
            self.pending = Some(Pending {
                staged,
                plan,
                prepared: None,
            });
            return Ok(());
        }
        // Opening a port on demand can fail for reasons outside the configuration (a host
        // interface that does not exist): here, before anything changes.
        let prepared = self.dp.prepare(ops).map_err(|e| {
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
            prepared: Some(prepared),
        });
        Ok(())
    }

    /// Applies the prepared plan: one all-or-nothing batch for the dataplane.
    pub fn apply(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let ops = match p.prepared.map(|prepared| self.dp.commit(prepared)) {
            None => Vec::new(),
            Some(Ok(ops)) => ops,
            // prepare() accepted this batch and nothing else changes the dataplane's
            // configuration in between, so this is a bug; keep the model in step anyway.
            Some(Err(e)) => {
                tracing::error!(error = %e, "the dataplane refused a prepared batch");
                Vec::new()
            }
        };
        // Room for every source and target of the transaction: no rehashing on the way.
        self.facts.reserve(p.staged.len());
        self.index.reserve(p.staged.len());
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
        self.last_ops = ops;
        self.save_indices();
    }

    /// Drops the transaction in progress (closing what it opened).
    pub fn abort(&mut self) {
        self.dirty.take();
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
    pub fn replay(&mut self) -> Result<(), nectar_dataplane::control::Error> {
        let ops = self.replay_ops();
        let r = self.dp.replace(&ops);
        self.replays += 1;
        self.last_replay_ops = ops;
        self.save_indices();
        r
    }
}

/// The interface index file: a JSON object, interface name to if-index - 1.
pub(crate) fn read_indices(path: &std::path::Path) -> std::io::Result<BTreeMap<String, u32>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

fn write_indices(path: &std::path::Path, map: &BTreeMap<String, u32>) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(map).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nectar_dataplane::port::pg::pg;

    fn mapping() -> Mapping {
        let dp = Dataplane::builder()
            .port("eth0", pg(nectar_dataplane::Mac([2, 0, 0, 0, 0, 1])).0)
            .build()
            .unwrap();
        Mapping::new(Arc::new(dp))
    }

    const ROUTE: &str = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol[type='ietf-routing:static'][name='st']/static-routes/ietf-ipv4-unicast-routing:ipv4/route[destination-prefix='11.0.0.0/24']";

    /// What `Dirty::take` would give now, without taking it.
    fn dirty(m: &Mapping) -> Vec<SourceKey> {
        let mut v = m.dirty.marked.clone();
        v.sort();
        v.dedup();
        v
    }

    /// The remembered last source must never hide a source that is no longer marked:
    /// after prepare took the marks, or abort cleared them, marking it again marks it.
    /// Nor may it hide another source whose path merely starts like it.
    #[test]
    fn remembered_source_does_not_outlive_the_transaction() {
        let mut m = mapping();
        let leaf = format!("{ROUTE}/next-hop/next-hop-address");
        m.mark(SourceKind::IetfRoute, ROUTE);
        m.mark(SourceKind::IetfRoute, &leaf);
        m.mark(SourceKind::IetfProto, &leaf);
        m.mark(SourceKind::IetfRoute, &leaf);
        assert_eq!(dirty(&m).len(), 2);
        assert!(dirty(&m).contains(&(SourceKind::IetfRoute, ROUTE.to_string())));
        // A route whose key merely extends the last one's is another route.
        let longer = ROUTE.replace("/24']", "/24'][x='y']");
        m.mark(SourceKind::IetfRoute, &format!("{longer}/next-hop"));
        let other = ROUTE.replace("11.0.0.0/24", "11.0.0.0/2");
        m.mark(SourceKind::IetfRoute, &format!("{other}/next-hop"));
        m.mark(SourceKind::IetfRoute, ROUTE);
        assert_eq!(dirty(&m).len(), 4);
        assert!(dirty(&m).contains(&(SourceKind::IetfRoute, longer)));
        assert!(dirty(&m).contains(&(SourceKind::IetfRoute, other)));

        m.abort();
        assert!(dirty(&m).is_empty());
        m.mark(SourceKind::IetfRoute, ROUTE);
        m.mark(SourceKind::IetfRoute, &leaf);
        assert_eq!(dirty(&m), vec![(SourceKind::IetfRoute, ROUTE.to_string())]);

        let empty = nectar_mgmt::ly::Tree::new(
            nectar_yang::ModelSet::management()
                .with(nectar_yang::models::NETWORK)
                .build()
                .unwrap(),
        );
        m.prepare(&empty).unwrap();
        assert!(dirty(&m).is_empty());
        m.mark(SourceKind::IetfRoute, &leaf);
        assert_eq!(dirty(&m), vec![(SourceKind::IetfRoute, ROUTE.to_string())]);
    }
}
