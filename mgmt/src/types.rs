//! Small shared types of the management core.

use std::sync::Arc;

use crate::provider::Change;

/// A NETCONF-style session id; 0 is never used (RFC 6241: the daemon itself).
pub type SessionId = u32;

/// NMDA datastores (RFC 8342).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datastore {
    Startup,
    Running,
    Candidate,
    Operational,
}

impl Datastore {
    /// The `ietf-datastores` identity name.
    pub fn as_str(self) -> &'static str {
        match self {
            Datastore::Startup => "startup",
            Datastore::Running => "running",
            Datastore::Candidate => "candidate",
            Datastore::Operational => "operational",
        }
    }

    pub fn parse(s: &str) -> Option<Datastore> {
        let s = s
            .strip_prefix("ietf-datastores:")
            .or_else(|| s.strip_prefix("ds:"))
            .unwrap_or(s);
        Some(match s {
            "startup" => Datastore::Startup,
            "running" => Datastore::Running,
            "candidate" => Datastore::Candidate,
            "operational" => Datastore::Operational,
            _ => return None,
        })
    }
}

/// An open management session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub user: String,
    /// "netconf", "restconf", "gnmi", ...
    pub protocol: String,
    /// The client's address, if known.
    pub peer: Option<String>,
    /// RFC 3339 login time.
    pub login_time: String,
}

/// What happened in a confirmed commit (RFC 6470 netconf-confirmed-commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmEvent {
    Start,
    Extend,
    Complete,
    Cancel,
    Timeout,
}

/// Events on the management bus, consumed by NETCONF notifications, RESTCONF
/// streams, gNMI ON_CHANGE and VES.
#[derive(Debug, Clone)]
pub enum Event {
    /// A commit changed a datastore.
    ConfigChanged {
        datastore: Datastore,
        commit_id: Option<u64>,
        user: String,
        session: Option<SessionId>,
        changes: Arc<Vec<Change>>,
    },
    SessionStarted(SessionInfo),
    SessionEnded {
        info: SessionInfo,
        /// The session that killed it (kill-session), if any.
        killed_by: Option<SessionId>,
    },
    ConfirmedCommit {
        event: ConfirmEvent,
        session: Option<SessionId>,
        user: String,
        /// Seconds until the rollback, for start and extend.
        timeout_s: Option<u64>,
    },
    /// An operational value changed outside a commit (oper-status, link
    /// state, learned entries): the data path (XPath instance-identifier form,
    /// module-qualified, as `DataPath::to_xpath` prints it) and its new value
    /// in canonical form; `None` when the node went away.
    OperChanged {
        path: String,
        value: Option<String>,
        time: std::time::SystemTime,
    },
    /// A YANG notification (RFC 7950 §7.16) raised by a provider, as RFC
    /// 7951 JSON text of the notification node (for example
    /// `{"nectar-interfaces:link-state-change":{...}}`); consumers parse it
    /// with the shared context. `time` is its eventTime.
    Notification {
        json: Arc<str>,
        time: std::time::SystemTime,
    },
}

/// RFC 3339 UTC timestamp of now, with seconds precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
