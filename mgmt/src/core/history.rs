//! The commit history and rollback to an earlier commit.

use crate::edit::ErrorOption;
use crate::error::{Errors, MgmtError};
use crate::ly::Tree;
use crate::nacm::UserCtx;
use crate::store::{CommitRecord, PrimOp};
use crate::types::{Datastore, SessionId};
use yang2::data::DataTree;

use super::*;

impl Core {
    // ===== history and rollback =====

    /// The newest commit still in the history, if any (cheap: no copy of
    /// the history; RESTCONF's Last-Modified reads its time).
    pub fn last_commit(&self) -> Option<&CommitRecord> {
        self.history.back()
    }

    /// The commit history, newest first.
    pub fn history(&self) -> Vec<CommitRecord> {
        self.history.iter().rev().cloned().collect()
    }

    /// Restores running to what it was right after commit `id`, as a new
    /// commit. `id` may be any commit still in the history, or the one just
    /// before the oldest.
    pub fn rollback_to(
        &mut self,
        sid: Option<SessionId>,
        id: u64,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        self.check_not_locked(sid, Datastore::Running)?;
        if id > self.commit_id {
            return Err(MgmtError::invalid_value(format!(
                "commit {id} does not exist (the last is {})",
                self.commit_id
            ))
            .into());
        }
        if id == self.commit_id {
            return Ok(None);
        }
        let oldest = self
            .history
            .front()
            .map(|r| r.id)
            .unwrap_or(self.commit_id + 1);
        if id + 1 < oldest {
            return Err(MgmtError::invalid_value(format!(
                "commit {id} is no longer in the history (the oldest kept is {oldest})"
            ))
            .into());
        }
        let mut steps = Vec::new();
        for rec in self.history.iter().rev().take_while(|r| r.id > id) {
            for op in &rec.undo {
                steps.push(step_of(self.ctx, op)?);
            }
        }
        let comment = comment.or_else(|| Some(format!("rollback to commit {id}")));
        self.transaction(
            sid,
            Steps::Owned(steps),
            ErrorOption::RollbackOnError,
            false,
            comment,
        )
        .map(|o| o.commit)
    }

    /// Fills nectar-mgmt's commit-history state into `out`.
    /// The commit history as `nectar-mgmt:commit-history` state, as `user`
    /// may see it: the `diff` of a commit is shown only to a user allowed to
    /// read every node the commit changed, before and after (RFC 8341 read
    /// access), since it quotes their values.
    pub fn history_state(&self, out: &mut Tree, user: &UserCtx) -> Result<(), MgmtError> {
        for rec in self.history.iter().rev() {
            let base = format!("/nectar-mgmt:commit-history/commit[id='{}']", rec.id);
            out.new_path(&format!("{base}/user"), Some(&rec.user), false)?;
            out.new_path(&format!("{base}/timestamp"), Some(&rec.time), false)?;
            if !rec.comment.is_empty() {
                out.new_path(&format!("{base}/comment"), Some(&rec.comment), false)?;
            }
            out.new_path(
                &format!("{base}/changes"),
                Some(&rec.changes.to_string()),
                false,
            )?;
            if self.diff_readable(rec, user) {
                let diff = serde_json::to_string(&rec.ops).unwrap_or_default();
                out.new_path(&format!("{base}/diff"), Some(&diff), false)?;
            }
        }
        Ok(())
    }

    /// Whether `user` may read all the data a commit's diff quotes: the
    /// content it wrote and the content its undo restores. The nodes are
    /// rebuilt in a scratch tree and put through the read filter; a node the
    /// filter removes (or one that cannot be rebuilt) hides the diff.
    pub(super) fn diff_readable(&self, rec: &CommitRecord, user: &UserCtx) -> bool {
        if self.nacm.bypass(user) {
            return true;
        }
        let mut scratch = DataTree::new(self.ctx);
        for op in rec.ops.iter().chain(rec.undo.iter()) {
            let built = match op {
                PrimOp::Merge(json) => {
                    parse_json(self.ctx, json).and_then(|t| Ok(scratch.merge(&t)?))
                }
                PrimOp::Set(path, value) => scratch
                    .new_path(path, Some(value), false)
                    .map(|_| ())
                    .map_err(MgmtError::from),
                PrimOp::Remove(path) => scratch
                    .new_path(path, None, false)
                    .map(|_| ())
                    .map_err(MgmtError::from),
            };
            if built.is_err() {
                return false;
            }
        }
        let count = |t: &Tree| t.traverse().count();
        let before = count(&scratch);
        self.nacm.filter_read(user, &mut scratch);
        count(&scratch) == before
    }
}
