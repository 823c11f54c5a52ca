//! The notification log: management events become YANG notifications with
//! their event time, a bounded replay buffer keeps the recent ones, and every
//! subscriber (NETCONF create-subscription, RESTCONF SSE) reads from it.
//!
//! The RFC 6470 base notifications are made here from the core's events:
//! `netconf-config-change`, `netconf-session-start`, `netconf-session-end`
//! and `netconf-confirmed-commit`. Providers raise their own notifications
//! (link up/down, ...) as [`Event::Notification`]; they pass through as is.
//! Each notification is held as RFC 7951 JSON text of the notification node;
//! [`Notification::render`] prints it in either encoding through libyang, so
//! what reaches a client is validated against the models.
//!
//! [`Notifications::subscribe`] hands out the replayed part and a live
//! receiver under one lock, so a subscriber sees every notification once, in
//! order, with no gap between the replay and the live stream.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use yang2::context::Context;

use nectar_yang::encoding::{self, Format, PrintOptions};

use crate::error::MgmtError;
use crate::provider::{Change, ChangeOp};
use crate::types::{ConfirmEvent, Datastore, Event, SessionId, SessionInfo};

/// How many notifications the replay buffer keeps by default.
pub const DEFAULT_REPLAY_CAPACITY: usize = 10_000;

/// How many bytes of notification JSON the replay buffer keeps by default.
pub const DEFAULT_REPLAY_BYTES: usize = 32 << 20;

/// How far a live subscriber may fall behind by default.
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 4096;

/// The bounds of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Notifications kept for replay; the oldest go first (at least 1).
    pub replay_capacity: usize,
    /// Bytes of JSON the kept notifications may hold; the oldest go first,
    /// the newest always stays.
    pub replay_bytes: usize,
    /// Notifications a live subscriber may have waiting (at least 1; tokio's
    /// broadcast rounds it up to a power of two). One that falls further
    /// behind loses the oldest (its receiver reports the lag: the doors end
    /// such a subscription) rather than holding memory without bound.
    pub subscriber_queue: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            replay_bytes: DEFAULT_REPLAY_BYTES,
            subscriber_queue: DEFAULT_SUBSCRIBER_QUEUE,
        }
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Position in the log, from 1; consecutive.
    pub seq: u64,
    /// The eventTime.
    pub time: SystemTime,
    /// The notification node as RFC 7951 JSON, e.g.
    /// `{"ietf-netconf-notifications:netconf-session-start":{...}}`.
    pub json: Arc<str>,
}

impl Notification {
    /// The module-qualified name of the notification node (`module:name`).
    pub fn name(&self) -> Option<String> {
        let v: Value = serde_json::from_str(&self.json).ok()?;
        v.as_object()?.keys().next().cloned()
    }

    /// The notification content in `format` (JSON as RFC 7951, XML with its
    /// namespace), validated against the models; no envelope.
    pub fn render(&self, ctx: &Context, format: Format) -> Result<String, MgmtError> {
        let tree = encoding::parse_notification(ctx, &self.json, Format::Json)
            .map_err(|e| MgmtError::operation_failed(format!("notification: {e}")))?;
        encoding::print_tree(&tree, &PrintOptions::new(format))
            .map_err(|e| MgmtError::operation_failed(format!("notification: {e}")))
    }

    /// The eventTime as RFC 3339 (UTC, with fractional seconds).
    pub fn event_time(&self) -> String {
        humantime::format_rfc3339_micros(self.time).to_string()
    }
}

/// The notification log of the daemon (the NETCONF stream of RFC 5277).
#[derive(Debug)]
pub struct Notifications {
    inner: Mutex<Log>,
    live: broadcast::Sender<Arc<Notification>>,
    created: SystemTime,
}

#[derive(Debug)]
struct Log {
    buffer: VecDeque<Arc<Notification>>,
    capacity: usize,
    /// The JSON bytes of `buffer`, and their bound.
    bytes: usize,
    max_bytes: usize,
    next_seq: u64,
    /// Open sessions, for the source-host of the RFC 6470 notifications.
    sessions: HashMap<SessionId, SessionInfo>,
}

impl Notifications {
    /// An empty log with these bounds.
    pub fn new(limits: LogLimits) -> Arc<Notifications> {
        let (live, _) = broadcast::channel(limits.subscriber_queue.clamp(1, usize::MAX >> 2));
        Arc::new(Notifications {
            inner: Mutex::new(Log {
                buffer: VecDeque::new(),
                capacity: limits.replay_capacity.max(1),
                bytes: 0,
                max_bytes: limits.replay_bytes,
                next_seq: 1,
                sessions: HashMap::new(),
            }),
            live,
            created: SystemTime::now(),
        })
    }

    /// A log fed from the management event bus by a task on the current
    /// tokio runtime; the task ends when the bus closes.
    pub fn spawn(mut events: broadcast::Receiver<Event>, limits: LogLimits) -> Arc<Notifications> {
        let log = Notifications::new(limits);
        let feed = Arc::clone(&log);
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => feed.record(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(lost = n, "notification log fell behind the event bus");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        log
    }

    /// When the log began (RFC 5277 `replayLogCreationTime`).
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// The time of the oldest notification still kept, if any were dropped
    /// (RFC 5277 `replayLogAgedTime`).
    pub fn aged_time(&self) -> Option<SystemTime> {
        let log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if log.buffer.front().is_some_and(|n| n.seq > 1) {
            log.buffer.front().map(|n| n.time)
        } else {
            None
        }
    }

    /// Turns a management event into notifications and logs them.
    pub fn record(&self, event: &Event) {
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::SessionStarted(info) => {
                log.sessions.insert(info.id, info.clone());
            }
            Event::SessionEnded { info, .. } => {
                log.sessions.insert(info.id, info.clone());
            }
            _ => {}
        }
        let made = from_event(event, &log.sessions);
        if let Event::SessionEnded { info, .. } = event {
            log.sessions.remove(&info.id);
        }
        if let Some((time, json)) = made {
            push(&mut log, &self.live, time, json);
        }
    }

    /// Logs a notification given as RFC 7951 JSON text.
    pub fn publish(&self, time: SystemTime, json: Arc<str>) {
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        push(&mut log, &self.live, time, json);
    }

    /// The kept notifications from `start` on (none without a start time),
    /// and a receiver of every later one.
    pub fn subscribe(
        &self,
        start: Option<SystemTime>,
    ) -> (
        Vec<Arc<Notification>>,
        broadcast::Receiver<Arc<Notification>>,
    ) {
        let log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let replay = match start {
            Some(start) => log
                .buffer
                .iter()
                .filter(|n| n.time >= start)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (replay, self.live.subscribe())
    }
}

fn push(
    log: &mut Log,
    live: &broadcast::Sender<Arc<Notification>>,
    time: SystemTime,
    json: Arc<str>,
) {
    let n = Arc::new(Notification {
        seq: log.next_seq,
        time,
        json,
    });
    log.next_seq += 1;
    log.bytes += n.json.len();
    log.buffer.push_back(Arc::clone(&n));
    while log.buffer.len() > log.capacity || (log.bytes > log.max_bytes && log.buffer.len() > 1) {
        if let Some(old) = log.buffer.pop_front() {
            log.bytes -= old.json.len();
        }
    }
    // No live subscriber is not an error.
    let _ = live.send(n);
}

const NCN: &str = "ietf-netconf-notifications";

/// The notification an event stands for, if any, as (eventTime, JSON).
fn from_event(
    event: &Event,
    sessions: &HashMap<SessionId, SessionInfo>,
) -> Option<(SystemTime, Arc<str>)> {
    let now = SystemTime::now();
    let (name, body) = match event {
        Event::ConfigChanged {
            datastore,
            user,
            session,
            changes,
            ..
        } => {
            let ds = match datastore {
                Datastore::Running => "running",
                Datastore::Startup => "startup",
                // RFC 6470 reports changes of the conventional
                // configuration datastores that are shared: not candidate.
                _ => return None,
            };
            let mut body = Map::new();
            match session.and_then(|s| sessions.get(&s)) {
                Some(info) => {
                    body.insert("changed-by".into(), Value::Object(by_user(info)));
                }
                None if session.is_some() || !user.is_empty() => {
                    let mut by = Map::new();
                    by.insert("username".into(), json!(user));
                    by.insert("session-id".into(), json!(session.unwrap_or(0)));
                    body.insert("changed-by".into(), Value::Object(by));
                }
                None => {
                    body.insert("changed-by".into(), json!({ "server": [null] }));
                }
            }
            body.insert("datastore".into(), json!(ds));
            let edits = edits(changes);
            if !edits.is_empty() {
                body.insert("edit".into(), Value::Array(edits));
            }
            ("netconf-config-change", body)
        }
        Event::SessionStarted(info) => ("netconf-session-start", by_user(info)),
        Event::SessionEnded { info, killed_by } => {
            let mut body = by_user(info);
            match killed_by {
                Some(k) => {
                    body.insert("killed-by".into(), json!(k));
                    body.insert("termination-reason".into(), json!("killed"));
                }
                None => {
                    body.insert("termination-reason".into(), json!("closed"));
                }
            }
            ("netconf-session-end", body)
        }
        Event::ConfirmedCommit {
            event,
            session,
            user,
            timeout_s,
        } => {
            let mut body = match session.and_then(|s| sessions.get(&s)) {
                Some(info) => by_user(info),
                None => {
                    let mut m = Map::new();
                    m.insert("username".into(), json!(user));
                    m.insert("session-id".into(), json!(session.unwrap_or(0)));
                    m
                }
            };
            let ev = match event {
                ConfirmEvent::Start => "start",
                ConfirmEvent::Extend => "extend",
                ConfirmEvent::Complete => "complete",
                ConfirmEvent::Cancel => "cancel",
                ConfirmEvent::Timeout => "timeout",
            };
            body.insert("confirm-event".into(), json!(ev));
            if let (Some(t), ConfirmEvent::Start | ConfirmEvent::Extend) = (timeout_s, event) {
                body.insert("timeout".into(), json!(t));
            }
            ("netconf-confirmed-commit", body)
        }
        Event::Notification { json, time } => return Some((*time, Arc::clone(json))),
        Event::OperChanged { .. } => return None,
    };
    let mut top = Map::new();
    top.insert(format!("{NCN}:{name}"), Value::Object(body));
    Some((now, Arc::from(Value::Object(top).to_string())))
}

/// RFC 6470 `common-session-parms` of a session.
fn by_user(info: &SessionInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("username".into(), json!(info.user));
    m.insert("session-id".into(), json!(info.id));
    if let Some(host) = info.peer.as_deref().and_then(source_host) {
        m.insert("source-host".into(), json!(host.to_string()));
    }
    m
}

/// The IP address of a peer given as `addr:port` or a bare address.
fn source_host(peer: &str) -> Option<IpAddr> {
    peer.parse::<SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| peer.parse::<IpAddr>())
        .ok()
}

/// The RFC 6470 `edit` list of a commit: one entry per created or deleted
/// subtree (its descendants are implied) and per modified leaf. Linear in
/// the number of changes (times the path depth): a commit of many thousand
/// nodes must not cost quadratic time on the event path.
fn edits(changes: &[Change]) -> Vec<Value> {
    let mut created: HashSet<&str> = HashSet::new();
    let mut deleted: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for c in changes {
        let roots = match c.op {
            ChangeOp::Create => Some(&mut created),
            ChangeOp::Delete => Some(&mut deleted),
            ChangeOp::Modify => None,
        };
        if let Some(roots) = roots {
            let steps = crate::ly::steps(&c.path);
            let inside = (1..steps.len()).any(|k| {
                let ancestor = format!("/{}", steps[..k].join("/"));
                roots.contains(ancestor.as_str())
            });
            if inside {
                continue;
            }
            roots.insert(&c.path);
        }
        let op = match c.op {
            ChangeOp::Create => "create",
            ChangeOp::Delete => "delete",
            ChangeOp::Modify => "replace",
        };
        out.push(json!({ "target": c.path, "operation": op }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: SessionId) -> SessionInfo {
        SessionInfo {
            id,
            user: "alice".into(),
            protocol: "netconf".into(),
            peer: Some("192.0.2.7:50000".into()),
            login_time: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn change(op: ChangeOp, path: &str) -> Change {
        Change {
            op,
            path: path.into(),
            schema_path: String::new(),
            old: None,
            new: None,
        }
    }

    #[test]
    fn subtree_edits_are_reported_once_at_their_root() {
        let changes = vec![
            change(ChangeOp::Create, "/m:a/b[k='1']"),
            change(ChangeOp::Create, "/m:a/b[k='1']/k"),
            change(ChangeOp::Create, "/m:a/b[k='1']/c"),
            change(ChangeOp::Modify, "/m:a/x"),
            change(ChangeOp::Create, "/m:a/b[k='10']"),
        ];
        let e = edits(&changes);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0]["target"], "/m:a/b[k='1']");
        assert_eq!(e[1]["operation"], "replace");
        assert_eq!(e[2]["target"], "/m:a/b[k='10']");
    }

    #[test]
    fn replay_and_live_stream_have_no_gap_and_no_duplicate() {
        let log = Notifications::new(LogLimits {
            replay_capacity: 3,
            ..Default::default()
        });
        let t0 = SystemTime::now();
        for i in 0..5 {
            log.record(&Event::SessionStarted(info(i + 1)));
        }
        let (replay, mut rx) = log.subscribe(Some(t0));
        // Capacity 3: the two oldest aged out.
        assert_eq!(
            replay.iter().map(|n| n.seq).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert!(log.aged_time().is_some());
        log.record(&Event::SessionEnded {
            info: info(2),
            killed_by: Some(1),
        });
        let next = rx.try_recv().unwrap();
        assert_eq!(next.seq, 6);
        let v: Value = serde_json::from_str(&next.json).unwrap();
        let end = &v["ietf-netconf-notifications:netconf-session-end"];
        assert_eq!(end["killed-by"], 1);
        assert_eq!(end["termination-reason"], "killed");
        assert_eq!(end["source-host"], "192.0.2.7");
        // Without a start time nothing is replayed.
        assert!(log.subscribe(None).0.is_empty());
    }

    #[test]
    fn the_replay_buffer_keeps_to_its_bytes_and_always_the_newest() {
        let log = Notifications::new(LogLimits {
            replay_bytes: 1000,
            ..Default::default()
        });
        let t0 = SystemTime::now();
        let sized = |n: usize| Arc::from(format!("{{\"m:n\":\"{}\"}}", "x".repeat(n)));
        for _ in 0..10 {
            log.publish(SystemTime::now(), sized(290));
        }
        // 300 bytes each: three fit in 1000.
        let (replay, _) = log.subscribe(Some(t0));
        assert_eq!(
            replay.iter().map(|n| n.seq).collect::<Vec<_>>(),
            vec![8, 9, 10]
        );
        // One larger than the bound stays alone.
        log.publish(SystemTime::now(), sized(5000));
        let (replay, _) = log.subscribe(Some(t0));
        assert_eq!(replay.iter().map(|n| n.seq).collect::<Vec<_>>(), vec![11]);
        log.publish(SystemTime::now(), sized(90));
        let (replay, _) = log.subscribe(Some(t0));
        assert_eq!(replay.iter().map(|n| n.seq).collect::<Vec<_>>(), vec![12]);
        assert!(log.aged_time().is_some());
    }

    #[test]
    fn a_subscriber_further_behind_than_its_queue_lags() {
        let log = Notifications::new(LogLimits {
            replay_capacity: 100,
            subscriber_queue: 4,
            ..Default::default()
        });
        let (_, mut rx) = log.subscribe(None);
        for i in 0..6 {
            log.record(&Event::SessionStarted(info(i + 1)));
        }
        assert_eq!(
            rx.try_recv().unwrap_err(),
            broadcast::error::TryRecvError::Lagged(2)
        );
        assert_eq!(rx.try_recv().unwrap().seq, 3);
    }

    #[test]
    fn notifications_render_through_the_models() {
        let ctx = nectar_yang::ModelSet::management().build().unwrap();
        let log = Notifications::new(LogLimits {
            replay_capacity: 10,
            ..Default::default()
        });
        log.record(&Event::SessionStarted(info(4)));
        log.record(&Event::ConfigChanged {
            datastore: Datastore::Running,
            commit_id: Some(1),
            user: "alice".into(),
            session: Some(4),
            changes: Arc::new(vec![change(
                ChangeOp::Create,
                "/ietf-netconf-acm:nacm/groups/group[name='ops']",
            )]),
        });
        log.record(&Event::ConfirmedCommit {
            event: ConfirmEvent::Start,
            session: Some(4),
            user: "alice".into(),
            timeout_s: Some(600),
        });
        log.record(&Event::ConfigChanged {
            datastore: Datastore::Candidate,
            commit_id: None,
            user: "alice".into(),
            session: Some(4),
            changes: Arc::new(vec![]),
        });
        let (all, _) = log.subscribe(Some(SystemTime::UNIX_EPOCH));
        assert_eq!(all.len(), 3, "candidate changes are not notified");
        let xml = all[1].render(ctx, Format::Xml).unwrap();
        assert!(xml.contains("<netconf-config-change"), "{xml}");
        assert!(xml.contains("<username>alice</username>"), "{xml}");
        assert!(xml.contains("<operation>create</operation>"), "{xml}");
        assert!(
            xml.contains("<source-host>192.0.2.7</source-host>"),
            "{xml}"
        );
        let json: Value = serde_json::from_str(&all[2].render(ctx, Format::Json).unwrap()).unwrap();
        let cc = &json["ietf-netconf-notifications:netconf-confirmed-commit"];
        assert_eq!(cc["confirm-event"], "start", "{json}");
        assert_eq!(cc["timeout"], 600, "{json}");
        assert_eq!(
            all[0].name().as_deref(),
            Some("ietf-netconf-notifications:netconf-session-start")
        );
    }
}
