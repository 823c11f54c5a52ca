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

/// Parses an RFC 3339 date-and-time with `Z` or a numeric offset.
pub fn parse_rfc3339(s: &str) -> Option<std::time::SystemTime> {
    let s = s.trim();
    if let Some(z) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return humantime::parse_rfc3339_weak(z).ok();
    }
    if s.len() < 6 {
        return None;
    }
    let (base, off) = s.split_at(s.len() - 6);
    let sign = match off.as_bytes()[0] {
        b'+' => 1i64,
        b'-' => -1i64,
        _ => return None,
    };
    let (h, m) = off[1..].split_once(':')?;
    let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
    let t = humantime::parse_rfc3339_weak(base).ok()?;
    let d = std::time::Duration::from_secs(secs.unsigned_abs());
    // Local time = UTC + offset.
    if sign * secs >= 0 {
        t.checked_sub(d)
    } else {
        t.checked_add(d)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339 as parse_time;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_with_offsets() {
        let z = parse_time("2024-01-01T10:00:00Z").unwrap();
        assert_eq!(parse_time("2024-01-01T12:00:00+02:00").unwrap(), z);
        assert_eq!(parse_time("2024-01-01T08:30:00-01:30").unwrap(), z);
        assert_eq!(
            parse_time("1970-01-01T00:00:01.5Z").unwrap(),
            UNIX_EPOCH + Duration::from_millis(1500)
        );
        assert!(parse_time("yesterday").is_none());
    }
}
