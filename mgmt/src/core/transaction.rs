//! Transactions: a change to running prepared by every provider, journalled, applied or undone; the changes it made, for providers, NACM, history and the journal.

use crate::edit::{self, EditOp, EditStep, ErrorOption, Touched};
use crate::error::{Errors, MgmtError};
use crate::ly::{self, Tree};
use crate::nacm::{self, Nacm, UserCtx};
use crate::provider::{Change, ChangeOp, Registry};
use crate::store::{CommitRecord, Encoded, PrimOp};
use crate::types::{Datastore, Event, SessionId, now_rfc3339};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use yang2::context::Context;
use yang2::data::{DataNodeRef, DataTree};
use yang2::schema::SchemaNodeKind;

use super::*;

impl Core {
    /// [`Core::transaction_steps`], timed and counted in [`crate::metrics`].
    pub(super) fn transaction(
        &mut self,
        sid: Option<SessionId>,
        steps: Steps<'_>,
        error_option: ErrorOption,
        test_only: bool,
        comment: Option<String>,
    ) -> Result<EditOutcome, Errors> {
        let started = std::time::Instant::now();
        if !test_only && self.candidate.tree.is_none() && !self.candidate.steps.is_empty() {
            // Running is about to move: a candidate that is running plus
            // pending edits keeps what it is now (an unmodified one follows
            // running).
            self.materialise_candidate()?;
        }
        let out = self.transaction_steps(sid, steps, error_option, test_only, comment);
        match &out {
            Ok(EditOutcome {
                commit: Some(_), ..
            }) => crate::metrics::commit(started.elapsed(), true),
            Err(_) if !test_only => crate::metrics::commit(started.elapsed(), false),
            _ => {}
        }
        out
    }

    /// The transaction on running: edit in place → validate (libyang, scoped
    /// to what the change can affect) → NACM → provider validate → prepare →
    /// journal (fsync) → apply → history → event. A failure before the
    /// journal write undoes everything: running and the providers are exactly
    /// as before.
    pub(super) fn transaction_steps(
        &mut self,
        sid: Option<SessionId>,
        steps: Steps<'_>,
        error_option: ErrorOption,
        test_only: bool,
        comment: Option<String>,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        let mut log = Vec::new();
        let (errors, _) = Self::apply_steps(&mut self.running, steps, error_option, &mut log)?;
        if log.is_empty() {
            return if errors.is_empty() {
                Ok(EditOutcome::default())
            } else {
                Err(Errors(errors))
            };
        }

        match self.scope.validate(&mut self.running, &log) {
            Ok(vlog) => log.extend(vlog),
            Err((vlog, errs)) => {
                crate::metrics::validation_failed(crate::metrics::ValidationStage::Yang);
                log.extend(vlog);
                edit::undo(&mut self.running, log);
                return Err(Errors(errs));
            }
        }
        let (changes, schemas) = changes_with_schema(&self.running, &log);
        if changes.is_empty() {
            // Only default flags changed, e.g. a leaf set to its default.
            if test_only {
                edit::undo(&mut self.running, log);
            }
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        if let Err(e) = check_nacm(&self.nacm, self.ctx, &user, &changes) {
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        let sel = self.registry.select(&changes, &schemas);
        if let Err(e) = self.registry.validate(&sel, &self.running) {
            crate::metrics::validation_failed(crate::metrics::ValidationStage::Provider);
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        if test_only {
            edit::undo(&mut self.running, log);
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        let (prepared, rec) = self.prepare_and_record(&sel, &user, &log, comment);
        if let Err(e) = prepared {
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        let (rec, encoded) = match rec {
            Ok(r) => r,
            Err(e) => {
                self.registry.abort(&sel, &self.running);
                edit::undo(&mut self.running, log);
                return Err(e.into());
            }
        };
        let appended = self.store.append_encoded(&encoded);
        drop(encoded);
        if let Err(e) = appended {
            self.registry.abort(&sel, &self.running);
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        self.registry.apply(&sel, &self.running);
        if changes.iter().any(|c| c.schema_path.starts_with(NACM_TOP)) {
            match self.nacm.reload(&self.running) {
                Ok(n) => self.nacm = n,
                Err(e) => {
                    tracing::error!(error = %e, "NACM rules could not be compiled after commit")
                }
            }
        }
        self.commit_id = rec.id;
        let total = self.history_bytes + rec.bytes();
        self.history.push_back(rec);
        self.history_bytes = trim_history(&mut self.history, &self.cfg, Some(total));
        let _ = self.events.send(Event::ConfigChanged {
            datastore: Datastore::Running,
            commit_id: Some(self.commit_id),
            user: user.name.clone(),
            session: sid,
            changes: Arc::new(changes),
        });
        if self.store.journal_bytes() >= self.cfg.compact_bytes {
            self.compact();
        }
        Ok(EditOutcome {
            commit: Some(self.commit_id),
            errors,
        })
    }

    /// The providers' prepare, and the journal record of the transaction
    /// (its operations printed from running, read-only). For a large
    /// transaction the record is printed on a thread of its own while the
    /// providers prepare: both only read running, whose values the record
    /// reads are made canonical beforehand, so that no lazy write of libyang
    /// happens on a node both read. The record is written to the journal
    /// only after a successful prepare, as for a small transaction.
    pub(super) fn prepare_and_record(
        &mut self,
        sel: &crate::provider::Selection<'_>,
        user: &UserCtx,
        log: &[Touched],
        comment: Option<String>,
    ) -> (
        Result<(), MgmtError>,
        Result<(CommitRecord, Encoded), MgmtError>,
    ) {
        let id = self.commit_id + 1;
        let changes = sel.len();
        let running = &self.running;
        let registry = &mut self.registry;
        let one_after_the_other =
            |registry: &mut Registry, comment| match registry.prepare(sel, running) {
                Ok(()) => (Ok(()), record(running, id, user, log, changes, comment)),
                Err(e) => (Err(e), Err(MgmtError::operation_failed("not recorded"))),
            };
        if changes < PARALLEL_RECORD {
            return one_after_the_other(registry, comment);
        }
        ly::canonical_ancestor_keys(
            running,
            log.iter().filter_map(|t| match t {
                Touched::Created {
                    path,
                    implicit: false,
                }
                | Touched::Modified { path, .. } => Some(path.as_str()),
                _ => None,
            }),
        );
        std::thread::scope(|s| {
            let theirs = comment.clone();
            let printing = std::thread::Builder::new()
                .name("mgmt-record".into())
                .spawn_scoped(s, move || record(running, id, user, log, changes, theirs));
            match printing {
                Ok(h) => {
                    let prepared = registry.prepare(sel, running);
                    let rec = h.join().unwrap_or_else(|_| {
                        Err(MgmtError::operation_failed(
                            "printing the journal record panicked",
                        ))
                    });
                    (prepared, rec)
                }
                // No thread to be had: one after the other.
                Err(_) => one_after_the_other(registry, comment),
            }
        })
    }

    /// Rewrites the snapshot and empties the journal. A failure only logs: the
    /// journal still holds every commit.
    pub fn compact(&mut self) {
        let started = Instant::now();
        let history: Vec<CommitRecord> = self.history.iter().cloned().collect();
        let r = print_json(&self.running)
            .and_then(|data| self.store.compact(data, self.commit_id, &history));
        match r {
            Ok(()) => tracing::info!(
                commit = self.commit_id,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "journal compacted"
            ),
            Err(e) => tracing::error!(error = %e, "journal compaction failed"),
        }
    }
}

pub(super) fn find_leaf(op: &DataNodeRef<'_, 'static>, name: &str) -> Option<String> {
    op.children()
        .find(|c| c.schema().name() == name)
        .and_then(|c| c.value_canonical())
}

pub(super) fn check_nacm(
    nacm: &Nacm,
    ctx: &'static Context,
    user: &UserCtx,
    changes: &[Change],
) -> Result<(), MgmtError> {
    if user.superuser {
        return Ok(());
    }
    let mut list = Vec::with_capacity(changes.len());
    // Many changes share a schema node (every entry of a list): each schema
    // path is resolved once.
    let mut schemas = HashMap::new();
    for c in changes {
        let found = schemas
            .entry(c.schema_path.as_str())
            .or_insert_with(|| ctx.find_path(&c.schema_path).ok());
        let Some(schema) = found.clone() else {
            continue;
        };
        let op = match c.op {
            ChangeOp::Create => nacm::Access::Create,
            ChangeOp::Delete => nacm::Access::Delete,
            ChangeOp::Modify => nacm::Access::Update,
        };
        list.push(nacm::Change {
            op,
            path: c.path.clone(),
            schema,
        });
    }
    nacm.check_changes(user, &list)
        .map_err(|d| MgmtError::access_denied(Some(d.path)))
}

/// The node-level changes a log describes, in the order providers want them
/// (parents before children on creation, children first on deletion), with
/// a deletion and re-creation of the same leaf folded into a modification.
pub fn changes_from_log(tree: &Tree, log: &[Touched]) -> Vec<Change> {
    changes_with_schema(tree, log).0
}

/// [`changes_from_log`], with the schema node of each change (as an opaque
/// identity: equal for changes of the same schema node, whose schema paths
/// are then equal too), for the provider selection.
pub(super) fn changes_with_schema(tree: &Tree, log: &[Touched]) -> (Vec<Change>, Vec<usize>) {
    let mut out: Vec<Change> = Vec::new();
    let mut schemas: Vec<usize> = Vec::new();
    // Deletions folded away (a leaf re-created with the same value).
    let mut gone: Vec<usize> = Vec::new();
    let mut deleted_leaf: HashMap<String, usize> = HashMap::new();
    let leaf_value = |n: &DataNodeRef<'_, 'static>| match n.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => n.value_canonical(),
        _ => None,
    };
    let schema_of = |n: &DataNodeRef<'_, 'static>| n.schema().as_raw() as usize;
    for t in log {
        match t {
            Touched::Created { path, .. } => {
                let Ok(Some(root)) = ly::find(tree, path) else {
                    continue;
                };
                // One change per node: room for them all at once (a subtree may
                // hold most of the datastore).
                let count = root.traverse().count();
                out.reserve(count);
                schemas.reserve(count);
                ly::walk_paths(&root, |n, p, schema_path| {
                    let new = leaf_value(n);
                    if !deleted_leaf.is_empty()
                        && let Some(i) = deleted_leaf.remove(p)
                    {
                        let c = &mut out[i];
                        if c.old != new {
                            c.op = ChangeOp::Modify;
                            c.new = new;
                        } else {
                            gone.push(i);
                        }
                        return;
                    }
                    out.push(Change {
                        op: ChangeOp::Create,
                        schema_path: schema_path.to_string(),
                        path: p.to_string(),
                        old: None,
                        new,
                    });
                    schemas.push(schema_of(n));
                });
            }
            Touched::Deleted { path, backup, .. } => {
                let Ok(Some(root)) = ly::find(backup, path) else {
                    continue;
                };
                let mut nodes = Vec::new();
                ly::walk_paths(&root, |n, p, schema_path| {
                    nodes.push((
                        leaf_value(n),
                        p.to_string(),
                        schema_path.to_string(),
                        schema_of(n),
                    ));
                });
                for (old, p, schema_path, schema) in nodes.into_iter().rev() {
                    if old.is_some() {
                        deleted_leaf.insert(p.clone(), out.len());
                    }
                    out.push(Change {
                        op: ChangeOp::Delete,
                        schema_path,
                        path: p,
                        old,
                        new: None,
                    });
                    schemas.push(schema);
                }
            }
            Touched::Modified { path, old, .. } => {
                let Ok(Some(n)) = ly::find(tree, path) else {
                    continue;
                };
                let new = n.value_canonical();
                if new.as_deref() != Some(old.as_str()) {
                    out.push(Change {
                        op: ChangeOp::Modify,
                        schema_path: ly::schema_path_of(path),
                        path: path.clone(),
                        old: Some(old.clone()),
                        new,
                    });
                    schemas.push(schema_of(&n));
                }
            }
        }
    }
    if !gone.is_empty() {
        gone.sort_unstable();
        let mut keep = vec![true; out.len()];
        for i in gone {
            keep[i] = false;
        }
        let mut k = keep.iter();
        out.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        schemas.retain(|_| *k.next().unwrap_or(&true));
    }
    (out, schemas)
}

/// The journal record of a transaction (commit `id`) on `running`, and its
/// encoding for the journal.
pub(super) fn record(
    running: &Tree,
    id: u64,
    user: &UserCtx,
    log: &[Touched],
    changes: usize,
    comment: Option<String>,
) -> Result<(CommitRecord, Encoded), MgmtError> {
    let rec = CommitRecord {
        id,
        user: user.name.clone(),
        time: now_rfc3339(),
        comment: comment.unwrap_or_default(),
        changes: changes as u32,
        ops: forward_ops(running, log)?,
        undo: undo_ops(log)?,
    };
    let encoded = Encoded::new(&rec)?;
    Ok((rec, encoded))
}

/// The operations that replay a logged transaction onto the content before
/// it (journal).
pub(super) fn forward_ops(tree: &Tree, log: &[Touched]) -> Result<Vec<PrimOp>, MgmtError> {
    let mut ops = Vec::new();
    for t in log {
        match t {
            Touched::Created { implicit: true, .. } => {}
            Touched::Created {
                path,
                implicit: false,
            } => {
                if let Some(json) = edit::subtree_json(tree, path)? {
                    ops.push(PrimOp::Merge(json));
                }
            }
            Touched::Deleted { path, .. } => ops.push(PrimOp::Remove(path.clone())),
            Touched::Modified { path, .. } => {
                if let Some(n) = ly::find(tree, path)?
                    && !n.is_default()
                {
                    ops.push(PrimOp::Set(
                        path.clone(),
                        n.value_canonical().unwrap_or_default(),
                    ));
                }
            }
        }
    }
    Ok(ops)
}

/// The operations that revert a logged transaction (history, rollback).
pub(super) fn undo_ops(log: &[Touched]) -> Result<Vec<PrimOp>, MgmtError> {
    let mut ops = Vec::new();
    for t in log.iter().rev() {
        match t {
            Touched::Created { implicit: true, .. } => {}
            Touched::Created {
                path,
                implicit: false,
            } => ops.push(PrimOp::Remove(path.clone())),
            Touched::Deleted { backup, .. } => {
                let json = print_json(backup)?;
                if json != "{}" {
                    ops.push(PrimOp::Merge(json));
                }
            }
            Touched::Modified {
                path,
                old,
                old_default,
            } => {
                if *old_default {
                    ops.push(PrimOp::Remove(path.clone()));
                } else {
                    ops.push(PrimOp::Set(path.clone(), old.clone()));
                }
            }
        }
    }
    Ok(ops)
}

/// A primitive operation as an edit step.
pub(super) fn step_of(ctx: &'static Context, op: &PrimOp) -> Result<EditStep, MgmtError> {
    Ok(match op {
        PrimOp::Remove(p) => EditStep::at(EditOp::Remove, p.clone(), None),
        PrimOp::Merge(json) => EditStep::merge(parse_json(ctx, json)?),
        PrimOp::Set(p, v) => {
            let mut t = DataTree::new(ctx);
            ly::set_value(&mut t, p, Some(v))?;
            EditStep::merge(t)
        }
    })
}

/// Applies journaled operations to a tree (no validation: the caller
/// validates once at the end).
pub(super) fn replay(
    ctx: &'static Context,
    tree: &mut Tree,
    ops: &[PrimOp],
) -> Result<(), MgmtError> {
    for op in ops {
        match op {
            PrimOp::Remove(p) => {
                ly::remove(tree, p)?;
            }
            PrimOp::Merge(json) => tree.merge(&parse_json(ctx, json)?)?,
            PrimOp::Set(p, v) => ly::set_value(tree, p, Some(v))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ChangeOp, changes_from_log, parse_json};
    use crate::edit::Touched;
    use crate::ly;

    const IF: &str = "/ietf-interfaces:interfaces/interface";

    pub(super) fn iface(name: &str, rest: &str) -> String {
        format!(
            r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"{rest}}}]}}}}"#
        )
    }

    /// A leaf deleted then re-created (validation putting a default back)
    /// becomes one modification, or nothing when its value is the same; the
    /// other changes keep their order around the ones folded away.
    #[test]
    pub(super) fn deleted_then_recreated_leaves_fold() {
        let ctx = ly::test_ctx();
        let before = parse_json(ctx, &iface("a", r#","enabled":true,"description":"x""#)).unwrap();
        let after = parse_json(
            ctx,
            r#"{"ietf-interfaces:interfaces":{"interface":[
                {"name":"a","type":"iana-if-type:ethernetCsmacd","enabled":true,"description":"y"},
                {"name":"b","type":"iana-if-type:ethernetCsmacd"}]}}"#,
        )
        .unwrap();
        let a = format!("{IF}[name='a']");
        let b = format!("{IF}[name='b']");
        let backup = |leaf: &str| {
            let n = ly::find(&before, &format!("{a}/{leaf}")).unwrap().unwrap();
            ly::dup_with_parents(&n).unwrap()
        };
        let log = vec![
            Touched::Deleted {
                path: format!("{a}/enabled"),
                backup: backup("enabled"),
                slot: None,
            },
            Touched::Deleted {
                path: format!("{a}/description"),
                backup: backup("description"),
                slot: None,
            },
            Touched::Created {
                path: b.clone(),
                implicit: false,
            },
            Touched::Created {
                path: format!("{a}/enabled"),
                implicit: true,
            },
            Touched::Created {
                path: format!("{a}/description"),
                implicit: false,
            },
        ];
        let got: Vec<(ChangeOp, String, Option<String>, Option<String>)> =
            changes_from_log(&after, &log)
                .into_iter()
                .map(|c| (c.op, c.path, c.old, c.new))
                .collect();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            got,
            vec![
                (ChangeOp::Modify, format!("{a}/description"), s("x"), s("y")),
                (ChangeOp::Create, b.clone(), None, None),
                (ChangeOp::Create, format!("{b}/name"), None, s("b")),
                (
                    ChangeOp::Create,
                    format!("{b}/type"),
                    None,
                    s("iana-if-type:ethernetCsmacd")
                ),
            ]
        );
    }
}
