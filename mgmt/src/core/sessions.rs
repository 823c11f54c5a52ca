//! Sessions, their users and NACM checks of operations, and datastore locks (RFC 6241 §7.5).

use crate::error::{ErrorTag, MgmtError};
use crate::nacm::UserCtx;
use crate::types::{ConfirmEvent, Datastore, Event, SessionId, SessionInfo, now_rfc3339};

use super::*;

impl Core {
    // ===== sessions and locks =====

    pub fn open_session(
        &mut self,
        user: UserCtx,
        protocol: &str,
        peer: Option<String>,
    ) -> SessionId {
        let id = self.next_session;
        self.next_session = self.next_session.checked_add(1).unwrap_or(1).max(1);
        let info = SessionInfo {
            id,
            user: user.name.clone(),
            protocol: protocol.to_string(),
            peer,
            login_time: now_rfc3339(),
        };
        self.sessions.insert(
            id,
            Session {
                info: info.clone(),
                user,
            },
        );
        let _ = self.events.send(Event::SessionStarted(info));
        id
    }

    /// Whether a session is open (cheap; RESTCONF checks its per-user
    /// session before each request).
    pub fn has_session(&self, id: SessionId) -> bool {
        self.sessions.contains_key(&id)
    }

    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.sessions.values().map(|s| s.info.clone()).collect()
    }

    /// Ends a session: its locks go, a candidate it locked is discarded, and a
    /// non-persistent confirmed commit it made is rolled back (RFC 6241
    /// §7.5, §8.4).
    pub fn close_session(&mut self, id: SessionId, killed_by: Option<SessionId>) {
        let Some(s) = self.sessions.remove(&id) else {
            return;
        };
        if self.locks.get(&Datastore::Candidate) == Some(&id) {
            self.candidate = Candidate::empty(self.commit_id);
        }
        self.locks.retain(|_, holder| *holder != id);
        if self.confirm.as_ref().is_some_and(|c| c.owner == Some(id)) {
            self.expire_confirm(ConfirmEvent::Cancel, Some(id));
        }
        let _ = self.events.send(Event::SessionEnded {
            info: s.info,
            killed_by,
        });
    }

    /// RFC 6241 kill-session.
    pub fn kill_session(&mut self, by: SessionId, target: SessionId) -> Result<(), MgmtError> {
        if by == target {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "a session cannot kill itself; use close-session",
            ));
        }
        if !self.sessions.contains_key(&target) {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                format!("no session {target}"),
            ));
        }
        self.check_exec(by, "ietf-netconf", "kill-session")?;
        self.close_session(target, Some(by));
        Ok(())
    }

    pub(crate) fn user(&self, sid: Option<SessionId>) -> UserCtx {
        match sid.and_then(|s| self.sessions.get(&s)) {
            Some(s) => s.user.clone(),
            None => UserCtx {
                name: SYSTEM.into(),
                groups: Vec::new(),
                superuser: true,
            },
        }
    }

    pub(super) fn check_exec(
        &self,
        sid: SessionId,
        module: &str,
        rpc: &str,
    ) -> Result<(), MgmtError> {
        let user = self.user(Some(sid));
        if self.nacm.check_rpc(&user, module, rpc).is_permit() {
            Ok(())
        } else {
            Err(MgmtError::protocol(
                ErrorTag::AccessDenied,
                format!("{module}:{rpc} is not permitted"),
            ))
        }
    }

    /// NACM (RFC 8341) for a protocol operation, for the protocol crates.
    pub fn check_rpc(&self, sid: SessionId, module: &str, rpc: &str) -> Result<(), MgmtError> {
        self.check_exec(sid, module, rpc)
    }

    pub fn lock(&mut self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        if ds == Datastore::Operational {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore cannot be locked",
            ));
        }
        if let Some(holder) = self.locks.get(&ds) {
            return Err(MgmtError::lock_denied(*holder));
        }
        if ds == Datastore::Candidate && self.candidate.is_modified() {
            // RFC 6241 §7.5: not while the candidate holds uncommitted changes.
            return Err(MgmtError::protocol(
                ErrorTag::LockDenied,
                "the candidate has uncommitted changes",
            )
            .with_info("session-id", "0"));
        }
        self.locks.insert(ds, sid);
        Ok(())
    }

    pub fn unlock(&mut self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        match self.locks.get(&ds) {
            Some(h) if *h == sid => {
                self.locks.remove(&ds);
                Ok(())
            }
            Some(h) => Err(MgmtError::lock_denied(*h)),
            None => Err(MgmtError::protocol(
                ErrorTag::OperationFailed,
                format!("the {} datastore is not locked", ds.as_str()),
            )),
        }
    }

    /// The session holding a lock on `ds`, if any.
    pub fn lock_holder(&self, ds: Datastore) -> Option<SessionId> {
        self.locks.get(&ds).copied()
    }

    pub(super) fn check_not_locked(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
    ) -> Result<(), MgmtError> {
        match self.locks.get(&ds) {
            Some(h) if Some(*h) != sid => Err(MgmtError::in_use(*h)),
            _ => Ok(()),
        }
    }
}
