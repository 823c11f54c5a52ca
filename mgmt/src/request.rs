//! What a door may ask of the core, as types: who is asking ([`Caller`]),
//! what to read ([`Read`]), and the read-only look at the datastores
//! ([`View`]) from which a door computes a conditional edit (RESTCONF's
//! entity-tag checks, YANG Patch, gNMI deletes of everything a path matches)
//! before the core applies it as an [`Edit`] in the same turn.
//!
//! Every change to a datastore goes through a typed request of
//! [`MgmtHandle`](crate::MgmtHandle) (edit, commit, copy, delete, lock, rpc,
//! rollback …); a door never holds the core mutably.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::core::Core;
use crate::edit::{EditStep, ErrorOption};
use crate::error::MgmtError;
use crate::ly::Tree;
use crate::nacm::UserCtx;
use crate::types::{Datastore, SessionId};
use nectar_yang::encoding::PrintOptions;

/// Who a request runs for, and the protocol operation NACM must permit
/// first (RFC 8341 §3.4.4), checked on the core in the same turn.
#[derive(Debug, Clone)]
pub struct Caller {
    who: Who,
    authorize: Option<(&'static str, String)>,
}

#[derive(Debug, Clone)]
enum Who {
    /// A session the door opened and keeps (NETCONF).
    Session(SessionId),
    /// A user's session, opened on first use and again after it was killed
    /// (RESTCONF).
    Slot(Arc<SessionSlot>),
    /// A session for this one request (gNMI).
    Once {
        user: UserCtx,
        protocol: &'static str,
        peer: Option<String>,
    },
    /// The daemon itself: no session, no NACM.
    System,
}

impl Caller {
    pub fn session(sid: SessionId) -> Caller {
        Caller {
            who: Who::Session(sid),
            authorize: None,
        }
    }

    pub fn slot(slot: &Arc<SessionSlot>) -> Caller {
        Caller {
            who: Who::Slot(Arc::clone(slot)),
            authorize: None,
        }
    }

    /// A session opened for this request and closed after it.
    pub fn once(user: UserCtx, protocol: &'static str, peer: Option<String>) -> Caller {
        Caller {
            who: Who::Once {
                user,
                protocol,
                peer,
            },
            authorize: None,
        }
    }

    pub fn system() -> Caller {
        Caller {
            who: Who::System,
            authorize: None,
        }
    }

    /// The request also needs NACM's permission to execute `module:rpc`.
    pub fn authorizing(mut self, module: &'static str, rpc: impl Into<String>) -> Caller {
        self.authorize = Some((module, rpc.into()));
        self
    }

    /// On the core: the session the request runs in (opened if need be) and
    /// the NACM check of its operation.
    pub(crate) fn enter(&self, core: &mut Core) -> Result<Entered, MgmtError> {
        let (sid, once) = match &self.who {
            Who::Session(sid) => (Some(*sid), false),
            Who::Slot(slot) => (Some(slot.enter(core)), false),
            Who::Once {
                user,
                protocol,
                peer,
            } => (
                Some(core.open_session(user.clone(), protocol, peer.clone())),
                true,
            ),
            Who::System => (None, false),
        };
        let entered = Entered { sid, once };
        if let (Some((module, rpc)), Some(sid)) = (&self.authorize, sid)
            && let Err(e) = core.check_rpc(sid, module, rpc)
        {
            entered.leave(core);
            return Err(e);
        }
        Ok(entered)
    }
}

impl From<SessionId> for Caller {
    fn from(sid: SessionId) -> Caller {
        Caller::session(sid)
    }
}

/// A request's session on the core, between [`Caller::enter`] and
/// [`Entered::leave`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entered {
    pub(crate) sid: Option<SessionId>,
    once: bool,
}

impl Entered {
    pub(crate) fn leave(self, core: &mut Core) {
        if let (true, Some(sid)) = (self.once, self.sid) {
            core.close_session(sid, None);
        }
    }
}

/// One user's management session for a stateless protocol: opened on the
/// first request, shared by every request of the user, and opened anew when
/// it has gone (a NETCONF `kill-session`), in the same core turn that runs
/// the request, so no request runs without it.
#[derive(Debug)]
pub struct SessionSlot {
    pub user: UserCtx,
    protocol: &'static str,
    sid: AtomicU32,
}

impl SessionSlot {
    pub fn new(user: UserCtx, protocol: &'static str) -> SessionSlot {
        SessionSlot {
            user,
            protocol,
            sid: AtomicU32::new(0),
        }
    }

    /// The session last used (0 before the first request).
    pub fn current(&self) -> SessionId {
        self.sid.load(Ordering::Acquire)
    }

    fn enter(&self, core: &mut Core) -> SessionId {
        let sid = self.current();
        if sid != 0 && core.has_session(sid) {
            return sid;
        }
        let new = core.open_session(self.user.clone(), self.protocol, None);
        self.sid.store(new, Ordering::Release);
        new
    }
}

/// A read of one datastore, as the doors' GET operations need it.
#[derive(Debug)]
pub struct Read {
    pub ds: Datastore,
    /// Only the nodes it selects, with their parents.
    pub xpath: Option<String>,
    /// `xpath` names exactly one instance: a path lookup, not an XPath
    /// evaluation.
    pub single: bool,
    /// State the door itself holds (NETCONF monitoring, RESTCONF discovery),
    /// merged in after the caller's NACM read rules have filtered it.
    pub extra: Option<Tree>,
    /// Also return running's configuration under `xpath` (what a RESTCONF
    /// entity-tag of operational data is computed over).
    pub with_running: bool,
    /// Annotate operational data with its origin (RFC 8342 §5.3.4).
    pub origin: bool,
    /// The door will print the answer this way: when the read is a whole
    /// conventional datastore and NACM cannot hide anything from the caller
    /// (NACM off, or a user of the administrators' group), the core prints
    /// it straight from the datastore, without copying it first, and the
    /// reply carries the text ([`ReadReply::text`]) and an empty tree.
    pub print: Option<PrintOptions>,
}

impl Read {
    pub fn new(ds: Datastore, xpath: Option<String>) -> Read {
        Read {
            ds,
            xpath,
            single: false,
            extra: None,
            with_running: false,
            origin: false,
            print: None,
        }
    }
}

/// What a [`Read`] found.
#[derive(Debug)]
pub struct ReadReply {
    pub tree: Tree,
    /// The answer printed as [`Read::print`] asked, when the core could print
    /// it from the datastore itself (`tree` is then empty).
    pub text: Option<String>,
    /// Running under the read's XPath, when asked for.
    pub running: Option<Tree>,
    /// The commit running was at.
    pub commit_id: u64,
    /// RFC 3339 time of that commit, if there has been one.
    pub last_commit: Option<String>,
}

/// An edit of one datastore (RFC 6241 edit-config semantics).
#[derive(Debug)]
pub struct Edit {
    pub target: Datastore,
    pub steps: Vec<EditStep>,
    pub error_option: ErrorOption,
    pub test_only: bool,
    /// A confirmed-commit action the edit carries (running only).
    pub confirm: Option<crate::core::ConfirmAction>,
}

impl Edit {
    /// All steps or none (the RESTCONF and gNMI semantics).
    pub fn atomic(target: Datastore, steps: Vec<EditStep>) -> Edit {
        Edit {
            target,
            steps,
            error_option: ErrorOption::RollbackOnError,
            test_only: false,
            confirm: None,
        }
    }

    /// The edit of running carrying a confirmed-commit action.
    pub fn confirmed(mut self, action: crate::core::ConfirmAction) -> Edit {
        self.confirm = Some(action);
        self
    }
}

/// A read-only look at the datastores within one request, for the session
/// the request runs in.
pub struct View<'a> {
    core: &'a Core,
    sid: Option<SessionId>,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View").field("sid", &self.sid).finish()
    }
}

impl<'a> View<'a> {
    pub(crate) fn new(core: &'a Core, sid: Option<SessionId>) -> View<'a> {
        View { core, sid }
    }

    /// The session the request runs in (none for the system).
    pub fn session(&self) -> Option<SessionId> {
        self.sid
    }

    /// What the caller may read of a datastore (NACM applied).
    pub fn get(&self, ds: Datastore, xpath: Option<&str>) -> Result<Tree, MgmtError> {
        self.core.get(self.sid, ds, xpath)
    }

    /// The datastore as it is, whatever the caller may read: for checks
    /// whose answer does not disclose the data (does an entry exist, where
    /// does an ordered entry go).
    pub fn get_all(&self, ds: Datastore, xpath: Option<&str>) -> Result<Tree, MgmtError> {
        self.core.get(None, ds, xpath)
    }

    /// The running configuration, unfiltered.
    pub fn running(&self) -> &Tree {
        self.core.running()
    }

    pub fn commit_id(&self) -> u64 {
        self.core.commit_id()
    }

    /// Whether a confirmed commit waits for its confirmation.
    pub fn confirm_pending(&self) -> bool {
        self.core.confirm_pending()
    }

    /// RFC 3339 time of the last commit to running.
    pub fn last_commit_time(&self) -> Option<&str> {
        self.core.last_commit().map(|r| r.time.as_str())
    }
}
