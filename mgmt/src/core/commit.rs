//! Commits of the candidate (with confirmed commit, RFC 6241 §8.4), discard-changes, validate, copy-config and delete-config.

use crate::edit::{EditStep, ErrorOption};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::{self};
use crate::types::{ConfirmEvent, Datastore, Event, SessionId};
use std::time::Instant;
use yang2::data::{DataTree, DataValidationFlags};

use super::*;

/// How a pending confirmed commit is named in errors.
fn pending_name(p: &PendingConfirm) -> String {
    match (&p.persist, p.owner) {
        (Some(id), _) => format!("persistent, id {id:?}"),
        (None, Some(sid)) => format!("of NETCONF session {sid}"),
        (None, None) => "unowned".to_string(),
    }
}

impl Core {
    // ===== candidate, commit, confirmed commit =====

    /// RFC 6241 commit of the candidate, with :confirmed-commit:1.1.
    pub fn commit(
        &mut self,
        sid: Option<SessionId>,
        opts: CommitOptions,
    ) -> Result<Option<u64>, Errors> {
        self.check_not_locked(sid, Datastore::Running)?;
        let before = self.commit_id;
        if let Some(pending) = &self.confirm {
            let allowed = match (&pending.persist, &opts.persist_id) {
                (Some(p), Some(given)) => p == given,
                (Some(_), None) => false,
                (None, Some(_)) => false,
                (None, None) => pending.owner == sid,
            };
            if !allowed {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    match &pending.persist {
                        Some(_) => "a persistent confirmed commit is pending: give its persist-id"
                            .to_string(),
                        None => format!(
                            "a confirmed commit of session {} is pending",
                            pending.owner.unwrap_or(0)
                        ),
                    },
                )
                .into());
            }
        } else if opts.persist_id.is_some() {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "no confirmed commit is pending for this persist-id",
            )
            .into());
        }

        let committed = self.commit_candidate(sid, opts.comment.clone())?;
        let user = self.user(sid).name;
        if opts.confirmed {
            let timeout = opts.timeout.unwrap_or(self.cfg.confirm_timeout);
            let event = if self.confirm.is_some() {
                ConfirmEvent::Extend
            } else {
                ConfirmEvent::Start
            };
            let before = self.confirm.as_ref().map(|c| c.before).unwrap_or(before);
            self.confirm = Some(PendingConfirm {
                deadline: Instant::now() + timeout,
                owner: if opts.persist.is_some() { None } else { sid },
                persist: opts.persist.clone(),
                before,
            });
            let _ = self.events.send(Event::ConfirmedCommit {
                event,
                session: sid,
                user,
                timeout_s: Some(timeout.as_secs()),
            });
        } else if self.confirm.take().is_some() {
            let _ = self.events.send(Event::ConfirmedCommit {
                event: ConfirmEvent::Complete,
                session: sid,
                user,
                timeout_s: None,
            });
        }
        Ok(committed)
    }

    pub(super) fn commit_candidate(
        &mut self,
        sid: Option<SessionId>,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        if !self.candidate.is_modified() {
            return Ok(None);
        }
        let tree = self.candidate.tree.take();
        let steps = std::mem::take(&mut self.candidate.steps);
        let result = match &tree {
            // Running has not moved since the candidate's edits: they are the
            // change (a lazy candidate never outlives a move of running).
            _ if self.candidate.base == self.commit_id => self.transaction(
                sid,
                Steps::Borrowed(&steps),
                ErrorOption::RollbackOnError,
                false,
                comment,
            ),
            // Running moved on since the candidate was taken: make running
            // equal to the candidate, touching only what differs.
            Some(tree) => {
                let all = vec![EditStep::replace_all(ly::dup_tree(tree)?)];
                self.transaction(
                    sid,
                    Steps::Owned(all),
                    ErrorOption::RollbackOnError,
                    false,
                    comment,
                )
            }
            None => Err(MgmtError::operation_failed(
                "the candidate's edits were made on a running that has moved on",
            )
            .into()),
        };
        match result {
            Ok(out) => {
                self.candidate = Candidate::empty(self.commit_id);
                Ok(out.commit)
            }
            Err(e) => {
                self.candidate.tree = tree;
                self.candidate.steps = steps;
                Err(e)
            }
        }
    }

    /// RFC 6241 cancel-commit.
    pub fn cancel_commit(
        &mut self,
        sid: Option<SessionId>,
        persist_id: Option<&str>,
    ) -> Result<(), MgmtError> {
        let Some(pending) = &self.confirm else {
            return Err(MgmtError::protocol(
                ErrorTag::OperationFailed,
                "no confirmed commit is pending",
            ));
        };
        let allowed = match (&pending.persist, persist_id) {
            (Some(p), Some(given)) => p == given,
            (None, None) => pending.owner == sid,
            _ => false,
        };
        if !allowed {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "this session cannot cancel the pending confirmed commit",
            ));
        }
        self.expire_confirm(ConfirmEvent::Cancel, sid);
        Ok(())
    }

    /// An edit of running that starts, or an action on, a confirmed commit
    /// (see [`ConfirmAction`]). Confirm, cancel and a new timeout take no
    /// edit steps.
    pub fn confirmed_edit(
        &mut self,
        sid: Option<SessionId>,
        action: ConfirmAction,
        steps: Vec<EditStep>,
    ) -> Result<EditOutcome, Errors> {
        let id = match &action {
            ConfirmAction::Start { id, .. }
            | ConfirmAction::Confirm { id }
            | ConfirmAction::Cancel { id }
            | ConfirmAction::SetTimeout { id, .. } => id.clone(),
        };
        if let ConfirmAction::Start { timeout, .. } = action {
            if let Some(p) = &self.confirm {
                return Err(MgmtError::protocol(
                    ErrorTag::OperationFailed,
                    format!(
                        "a confirmed commit is pending ({}): confirm or cancel it first",
                        pending_name(p)
                    ),
                )
                .into());
            }
            self.check_not_locked(sid, Datastore::Running)?;
            let before = self.commit_id;
            let out = self.transaction(
                sid,
                Steps::Owned(steps),
                ErrorOption::RollbackOnError,
                false,
                None,
            )?;
            let timeout = timeout.unwrap_or(self.cfg.confirm_timeout);
            self.confirm = Some(PendingConfirm {
                deadline: Instant::now() + timeout,
                owner: None,
                persist: Some(id),
                before,
            });
            self.confirm_event(ConfirmEvent::Start, sid, Some(timeout));
            return Ok(out);
        }
        if !steps.is_empty() {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "confirming, cancelling or re-timing a confirmed commit carries no changes",
            )
            .into());
        }
        let Some(pending) = &mut self.confirm else {
            return Err(MgmtError::protocol(
                ErrorTag::OperationFailed,
                "no confirmed commit is pending",
            )
            .into());
        };
        if pending.persist.as_deref() != Some(id.as_str()) {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                format!(
                    "the pending confirmed commit is {}, not {id:?}",
                    pending_name(pending)
                ),
            )
            .into());
        }
        match action {
            ConfirmAction::Start { .. } => unreachable!("handled above"),
            ConfirmAction::Confirm { .. } => {
                self.confirm = None;
                self.confirm_event(ConfirmEvent::Complete, sid, None);
            }
            ConfirmAction::Cancel { .. } => self.expire_confirm(ConfirmEvent::Cancel, sid),
            ConfirmAction::SetTimeout { timeout, .. } => {
                pending.deadline = Instant::now() + timeout;
                self.confirm_event(ConfirmEvent::Extend, sid, Some(timeout));
            }
        }
        Ok(EditOutcome::default())
    }

    /// Whether a confirmed commit waits for its confirmation.
    pub fn confirm_pending(&self) -> bool {
        self.confirm.is_some()
    }

    fn confirm_event(
        &self,
        event: ConfirmEvent,
        sid: Option<SessionId>,
        timeout: Option<std::time::Duration>,
    ) {
        let _ = self.events.send(Event::ConfirmedCommit {
            event,
            session: sid,
            user: self.user(sid).name,
            timeout_s: timeout.map(|t| t.as_secs()),
        });
    }

    /// When the confirmed-commit timer fires, if any.
    pub fn confirm_deadline(&self) -> Option<Instant> {
        self.confirm.as_ref().map(|c| c.deadline)
    }

    /// Rolls back an unconfirmed commit whose deadline passed.
    pub fn tick(&mut self, now: Instant) {
        if self.confirm.as_ref().is_some_and(|c| c.deadline <= now) {
            self.expire_confirm(ConfirmEvent::Timeout, None);
        }
    }

    pub(super) fn expire_confirm(&mut self, event: ConfirmEvent, sid: Option<SessionId>) {
        let Some(pending) = self.confirm.take() else {
            return;
        };
        let comment = format!(
            "confirmed commit {}: rolled back to commit {}",
            if event == ConfirmEvent::Timeout {
                "timed out"
            } else {
                "cancelled"
            },
            pending.before
        );
        if let Err(e) = self.rollback_to(None, pending.before, Some(comment)) {
            tracing::error!(error = %e, "rolling back an unconfirmed commit failed");
        }
        let user = self.user(sid).name;
        let _ = self.events.send(Event::ConfirmedCommit {
            event,
            session: sid,
            user,
            timeout_s: None,
        });
    }

    /// RFC 6241 discard-changes.
    pub fn discard_changes(&mut self, sid: Option<SessionId>) -> Result<(), MgmtError> {
        self.check_not_locked(sid, Datastore::Candidate)?;
        let had_edits = self.candidate.is_modified();
        self.candidate = Candidate::empty(self.commit_id);
        if had_edits {
            self.announce(sid, Datastore::Candidate, Vec::new());
        }
        Ok(())
    }

    /// Tells the event bus that candidate or startup changed (running's
    /// commits say so themselves), for the subscribers of that datastore.
    /// `changes` may be empty when they were not worked out: then anything
    /// in it may have changed.
    pub(super) fn announce(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
        changes: Vec<crate::provider::Change>,
    ) {
        let _ = self.events.send(Event::ConfigChanged {
            datastore: ds,
            commit_id: None,
            user: self.user(sid).name,
            session: sid,
            changes: std::sync::Arc::new(changes),
        });
    }

    /// RFC 6241 validate of a datastore or inline configuration.
    pub fn validate(&self, source: Source) -> Result<(), Errors> {
        let mut tree = match source {
            Source::Inline(t) => t,
            Source::Datastore(Datastore::Candidate) => self.candidate_copy()?,
            Source::Datastore(Datastore::Startup) => ly::dup_tree(&self.startup)?,
            Source::Datastore(Datastore::Running) => return Ok(()),
            Source::Datastore(Datastore::Operational) => {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "the operational datastore cannot be validated",
                )
                .into());
            }
        };
        match ly::validate_all(&mut tree, DataValidationFlags::NO_STATE) {
            (_, Ok(())) => Ok(()),
            (_, Err(errs)) => {
                crate::metrics::validation_failed(crate::metrics::ValidationStage::Yang);
                Err(Errors(errs))
            }
        }
    }

    /// RFC 6241 copy-config.
    pub fn copy_config(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
        source: Source,
    ) -> Result<(), Errors> {
        if matches!(source, Source::Datastore(s) if s == target) {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "source and target are the same datastore",
            )
            .into());
        }
        self.check_not_locked(sid, target)?;
        let tree = match source {
            Source::Inline(t) => t,
            Source::Datastore(Datastore::Running) => ly::dup_tree(&self.running)?,
            Source::Datastore(Datastore::Startup) => ly::dup_tree(&self.startup)?,
            Source::Datastore(Datastore::Candidate) => self.candidate_copy()?,
            Source::Datastore(Datastore::Operational) => {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "the operational datastore cannot be copied",
                )
                .into());
            }
        };
        let step = vec![EditStep::replace_all(tree)];
        match target {
            Datastore::Running => self
                .transaction(
                    sid,
                    Steps::Owned(step),
                    ErrorOption::RollbackOnError,
                    false,
                    None,
                )
                .map(|_| ()),
            Datastore::Candidate => {
                self.candidate = Candidate::empty(self.commit_id);
                self.edit_candidate(sid, step, ErrorOption::RollbackOnError, false)
                    .map(|_| ())
            }
            Datastore::Startup => self
                .edit_startup(sid, &step, ErrorOption::RollbackOnError, false)
                .map(|_| ()),
            Datastore::Operational => Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore is read-only",
            )
            .into()),
        }
    }

    /// RFC 6241 delete-config (startup only; running cannot be deleted).
    pub fn delete_config(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
    ) -> Result<(), Errors> {
        if target != Datastore::Startup {
            return Err(MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                "only the startup datastore can be deleted",
            )
            .into());
        }
        self.check_not_locked(sid, target)?;
        if let Some(sid) = sid {
            self.check_exec(sid, "ietf-netconf", "delete-config")?;
        }
        self.store.clear_startup()?;
        self.startup = DataTree::new(self.ctx);
        self.announce(sid, Datastore::Startup, Vec::new());
        Ok(())
    }
}
