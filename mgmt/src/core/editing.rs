//! Reading the datastores, and edits (RFC 6241 §7.2) to running, candidate and startup.

use crate::edit::{self, EditOp, EditStep, ErrorOption, Touched};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::{self, Tree};
use crate::types::{Datastore, SessionId};
use nectar_yang::encoding::{self, PrintOptions};
use yang2::data::{DataTree, DataValidationFlags};

use super::*;

impl Core {
    // ===== reads =====

    /// The one node a data path names (every list with all its keys, as
    /// `DataPath::to_xpath` prints it), with its parents, filtered by NACM
    /// for the session's user: what `get` with that path as XPath returns,
    /// found by libyang's path lookup instead of an XPath evaluation (the
    /// RESTCONF GET of one resource). Operational falls back to `get`.
    pub fn get_node(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
        path: &str,
    ) -> Result<Tree, MgmtError> {
        let Some(tree) = self.conventional(ds)? else {
            return self.get(sid, ds, Some(path));
        };
        let mut out = match ly::find(&tree, path)? {
            Some(node) => ly::dup_with_parents(&node)?,
            None => DataTree::new(self.ctx),
        };
        let user = self.user(sid);
        self.nacm.filter_read(&user, &mut out);
        Ok(out)
    }

    /// The content of a datastore (optionally only the nodes an XPath
    /// selects, with their parents), filtered by NACM for the session's user.
    pub fn get(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
        xpath: Option<&str>,
    ) -> Result<Tree, MgmtError> {
        let mut out = match self.conventional(ds)? {
            Some(tree) => ly::select(&tree, xpath)?,
            None => {
                let mut state = DataTree::new(self.ctx);
                self.registry.state(xpath, &mut state)?;
                if xpath.is_none_or(|x| x.contains("nectar-mgmt:")) {
                    self.history_state(&mut state, &self.user(sid))?;
                }
                if xpath.is_none_or(|x| x.contains("ietf-yang-library:")) {
                    state.merge(&self.yang_library)?;
                }
                let mut tree = ly::dup_tree(&self.running)?;
                tree.merge(&state)?;
                match xpath {
                    Some(x) => ly::select(&tree, Some(x))?,
                    None => tree,
                }
            }
        };
        let user = self.user(sid);
        self.nacm.filter_read(&user, &mut out);
        Ok(out)
    }

    /// A whole conventional datastore printed straight from the datastore
    /// (no copy; no NACM filtering: for callers NACM lets read everything).
    pub fn print_datastore(&self, ds: Datastore, opts: &PrintOptions) -> Result<String, MgmtError> {
        let tree = self.conventional(ds)?.ok_or_else(|| {
            MgmtError::operation_failed(
                "the operational datastore is not printed whole from the core",
            )
        })?;
        Ok(encoding::print_tree(&tree, opts)?)
    }

    /// The tree of a conventional datastore (the candidate's view of its own
    /// or of running with its pending edits); `None` for operational.
    fn conventional(&self, ds: Datastore) -> Result<Option<Snapshot<'_>>, MgmtError> {
        Ok(Some(match ds {
            Datastore::Running => Snapshot::Borrowed(&self.running),
            Datastore::Startup => Snapshot::Borrowed(&self.startup),
            Datastore::Candidate => self.candidate_view()?,
            Datastore::Operational => return Ok(None),
        }))
    }

    // ===== edits and transactions =====

    /// Edits a datastore (RFC 6241 edit-config semantics). On running this is
    /// a transaction through the providers; on candidate it changes only the
    /// candidate; `test_only` validates without changing anything.
    pub fn edit(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        self.check_not_locked(sid, target)?;
        match target {
            Datastore::Running => {
                self.transaction(sid, Steps::Owned(steps), error_option, test_only, None)
            }
            Datastore::Candidate => self.edit_candidate(sid, steps, error_option, test_only),
            Datastore::Startup => self.edit_startup(sid, &steps, error_option, test_only),
            Datastore::Operational => Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore is read-only",
            )
            .into()),
        }
    }

    pub(super) fn apply_steps(
        tree: &mut Tree,
        steps: Steps<'_>,
        error_option: ErrorOption,
        log: &mut Vec<Touched>,
    ) -> Result<(Vec<MgmtError>, Vec<bool>), Errors> {
        let mut errors = Vec::new();
        let mut ok = Vec::with_capacity(steps.len());
        let (mut owned, borrowed) = match steps {
            Steps::Owned(v) => (v.into_iter(), &[][..]),
            Steps::Borrowed(v) => (Vec::new().into_iter(), v),
        };
        let mut borrowed = borrowed.iter();
        loop {
            let mut slog = Vec::new();
            let applied = if let Some(step) = owned.next() {
                edit::apply_step_owned(tree, step, &mut slog)
            } else if let Some(step) = borrowed.next() {
                edit::apply_step(tree, step, &mut slog)
            } else {
                break;
            };
            match applied {
                Ok(()) => {
                    log.extend(slog);
                    ok.push(true);
                }
                Err(e) => match error_option {
                    ErrorOption::RollbackOnError => {
                        edit::undo(tree, std::mem::take(log));
                        return Err(e.into());
                    }
                    ErrorOption::StopOnError => {
                        errors.push(e);
                        break;
                    }
                    ErrorOption::ContinueOnError => {
                        errors.push(e);
                        ok.push(false);
                    }
                },
            }
        }
        Ok((errors, ok))
    }

    pub(super) fn edit_candidate(
        &mut self,
        sid: Option<SessionId>,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        if self.candidate.tree.is_none() {
            if !test_only && self.stays_lazy(&steps) {
                let out = self.edit_lazy_candidate(&user, steps, error_option)?;
                self.announce(sid, Datastore::Candidate, Vec::new());
                return Ok(out);
            }
            self.materialise_candidate()?;
        }
        let tree = self.candidate.tree.as_mut().expect("materialised");
        let mut log = Vec::new();
        let (errors, ok) =
            Self::apply_steps(tree, Steps::Borrowed(&steps), error_option, &mut log)?;
        if !user.superuser {
            let changes = changes_from_log(tree, &log);
            if let Err(e) = check_nacm(&self.nacm, self.ctx, &user, &changes) {
                edit::undo(tree, log);
                return Err(e.into());
            }
        }
        if test_only {
            let mut probe = ly::dup_tree(tree)?;
            edit::undo(tree, log);
            if let (_, Err(errs)) = ly::validate_all(&mut probe, DataValidationFlags::NO_STATE) {
                return Err(Errors(errs));
            }
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        self.candidate.keep(steps, ok);
        self.announce(sid, Datastore::Candidate, Vec::new());
        Ok(EditOutcome {
            commit: None,
            errors,
        })
    }

    /// Whether the candidate can stay running plus its pending edits after
    /// `new`: while they are few, and none replaces the whole datastore.
    fn stays_lazy(&self, new: &[EditStep]) -> bool {
        let whole = |s: &EditStep| s.op == EditOp::Replace && s.path.is_none();
        self.candidate.steps.len() + new.len() <= LAZY_CANDIDATE_STEPS && !new.iter().any(whole)
    }

    /// An edit of a candidate that is running plus its pending edits, at the
    /// cost of the edits instead of a copy of the datastore: the pending and
    /// new edits are applied to running (the outcome of each, and NACM, are
    /// exactly what a copy would give, since running has not moved since the
    /// pending ones were made) and undone before anything else sees running.
    fn edit_lazy_candidate(
        &mut self,
        user: &UserCtx,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
    ) -> Result<EditOutcome, Errors> {
        if self.candidate.steps.is_empty() {
            self.candidate.base = self.commit_id;
        }
        let mut pending = Vec::new();
        Self::apply_steps(
            &mut self.running,
            Steps::Borrowed(&self.candidate.steps),
            ErrorOption::RollbackOnError,
            &mut pending,
        )?;
        let mut log = Vec::new();
        let applied = Self::apply_steps(
            &mut self.running,
            Steps::Borrowed(&steps),
            error_option,
            &mut log,
        );
        let denied = match &applied {
            Ok(_) if !user.superuser => {
                let changes = changes_from_log(&self.running, &log);
                check_nacm(&self.nacm, self.ctx, user, &changes).err()
            }
            _ => None,
        };
        edit::undo(&mut self.running, log);
        edit::undo(&mut self.running, pending);
        let (errors, ok) = applied?;
        if let Some(e) = denied {
            return Err(e.into());
        }
        self.candidate.keep(steps, ok);
        Ok(EditOutcome {
            commit: None,
            errors,
        })
    }

    /// Gives the candidate a tree of its own (running plus its pending
    /// edits): before running moves under pending edits, and for edits the
    /// lazy candidate does not take.
    pub(super) fn materialise_candidate(&mut self) -> Result<(), Errors> {
        if self.candidate.tree.is_none() {
            let tree = self.candidate_copy()?;
            if self.candidate.steps.is_empty() {
                self.candidate.base = self.commit_id;
            }
            self.candidate.tree = Some(tree);
        }
        Ok(())
    }

    /// The candidate as a tree of its own.
    pub(super) fn candidate_copy(&self) -> Result<Tree, Errors> {
        if let Some(t) = &self.candidate.tree {
            return Ok(ly::dup_tree(t)?);
        }
        let mut tree = ly::dup_tree(&self.running)?;
        let mut log = Vec::new();
        Self::apply_steps(
            &mut tree,
            Steps::Borrowed(&self.candidate.steps),
            ErrorOption::RollbackOnError,
            &mut log,
        )?;
        Ok(tree)
    }

    /// The candidate to read: its own tree, running when no edit is
    /// pending, or else running plus the pending edits, made for the read.
    pub(super) fn candidate_view(&self) -> Result<Snapshot<'_>, MgmtError> {
        match &self.candidate.tree {
            Some(t) => Ok(Snapshot::Borrowed(t)),
            None if self.candidate.steps.is_empty() => Ok(Snapshot::Borrowed(&self.running)),
            None => self
                .candidate_copy()
                .map(Snapshot::Owned)
                .map_err(|e| e.first().clone()),
        }
    }

    pub(super) fn edit_startup(
        &mut self,
        sid: Option<SessionId>,
        steps: &[EditStep],
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        let mut tree = ly::dup_tree(&self.startup)?;
        let mut log = Vec::new();
        let (errors, _) =
            Self::apply_steps(&mut tree, Steps::Borrowed(steps), error_option, &mut log)?;
        let changes = changes_from_log(&tree, &log);
        check_nacm(&self.nacm, self.ctx, &user, &changes)?;
        if let (_, Err(errs)) = ly::validate_all(&mut tree, DataValidationFlags::NO_STATE) {
            return Err(Errors(errs));
        }
        if !test_only {
            self.store.write_startup(&print_json(&tree)?)?;
            self.startup = tree;
            self.announce(sid, Datastore::Startup, changes);
        }
        Ok(EditOutcome {
            commit: None,
            errors,
        })
    }
}

/// A datastore's tree to read: the live one, or one made for the read.
pub(super) enum Snapshot<'a> {
    Borrowed(&'a Tree),
    Owned(Tree),
}

impl std::ops::Deref for Snapshot<'_> {
    type Target = Tree;

    fn deref(&self) -> &Tree {
        match self {
            Snapshot::Borrowed(t) => t,
            Snapshot::Owned(t) => t,
        }
    }
}
