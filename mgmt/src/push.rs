//! Subscribed notifications and YANG-Push (RFC 8639, RFC 8641): dynamic
//! subscriptions to the `NETCONF` stream and to datastores, for every door.
//!
//! A door checks an `establish-subscription` into a [`Policy`] and hands it
//! to [`Subscriptions::establish`], with the [`Mailbox`] of the session that
//! receives it. Each subscription is one task ([`engine`]) that reads the
//! notification log or the datastore *as the subscriber's session* (so NACM
//! read rules filter every push, node by node, when it is made), renders
//! the notification in the subscription's encoding and puts it in its queue
//! of the mailbox; the door drains the mailbox and frames what it takes
//! (RFC 5277 envelope on NETCONF, Server-Sent Events on RESTCONF).
//!
//! Back-pressure: a queue holds at most [`Limits::queue`] notifications. A
//! receiver that lets it fill is sent `subscription-suspended` (reason
//! `insufficient-resources`); while suspended, what the subscription would
//! push is dropped and counted. Once the receiver has taken half of the
//! queue, `subscription-resumed` is sent and an on-change datastore
//! subscription pushes its whole selection again (a `push-update`), so the
//! receiver is in sync.
//!
//! Configured subscriptions (the `configured` feature) are not offered:
//! `/subscriptions` is state only (the deviations of nectar-subscriptions).

mod engine;
pub mod input;
mod patch;
pub mod select;
pub mod state;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};
use yang2::context::Context;

use crate::error::{ErrorTag, ErrorType, MgmtError};
use crate::handle::MgmtHandle;
use crate::nacm::UserCtx;
use crate::notify::Notifications;
use crate::types::{Datastore, SessionId};

pub const SN: &str = "ietf-subscribed-notifications";
pub const YP: &str = "ietf-yang-push";

/// The only event stream of the server.
pub const NETCONF_STREAM: &str = "NETCONF";

/// How a subscription's notifications are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Xml,
    Json,
}

impl Encoding {
    pub fn identity(self) -> &'static str {
        match self {
            Encoding::Xml => "encode-xml",
            Encoding::Json => "encode-json",
        }
    }

    /// From an identity value (`encode-json`, with or without its module).
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.rsplit(':').next()? {
            "encode-xml" => Some(Encoding::Xml),
            "encode-json" => Some(Encoding::Json),
            _ => None,
        }
    }

    pub fn format(self) -> nectar_yang::encoding::Format {
        match self {
            Encoding::Xml => nectar_yang::encoding::Format::Xml,
            Encoding::Json => nectar_yang::encoding::Format::Json,
        }
    }
}

/// YANG-Patch operations an on-change subscription may exclude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeType {
    Create,
    Delete,
    Insert,
    Move,
    Replace,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "create",
            ChangeType::Delete => "delete",
            ChangeType::Insert => "insert",
            ChangeType::Move => "move",
            ChangeType::Replace => "replace",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeType> {
        Some(match s {
            "create" => ChangeType::Create,
            "delete" => ChangeType::Delete,
            "insert" => ChangeType::Insert,
            "move" => ChangeType::Move,
            "replace" => ChangeType::Replace,
            _ => return None,
        })
    }
}

/// What a subscription selects: an XPath over the stream's notifications or
/// the datastore (subtree filters are turned into XPath by the doors), and
/// how the subscriber gave it (echoed in state and notifications).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// `None`: everything.
    pub xpath: Option<String>,
    /// The name of a filter of `/filters`, when given by reference.
    pub reference: Option<String>,
}

/// What is subscribed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stream {
        name: String,
        replay_start: Option<SystemTime>,
    },
    Datastore(Datastore),
}

/// When a datastore subscription pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Periodic {
        /// Centiseconds.
        period: u32,
        anchor: Option<SystemTime>,
    },
    OnChange {
        /// Centiseconds.
        dampening: u32,
        sync_on_start: bool,
        excluded: Vec<ChangeType>,
    },
}

/// A subscription's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub target: Target,
    pub filter: Filter,
    pub stop: Option<SystemTime>,
    pub encoding: Encoding,
    /// Datastore subscriptions only.
    pub trigger: Option<Trigger>,
}

/// What `modify-subscription` may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modify {
    /// A new filter, and whether it was given as a stream filter (else as
    /// a datastore selection filter): it must suit the subscription.
    pub filter: Option<(Filter, bool)>,
    /// `Some(None)`: remove the stop time.
    pub stop: Option<Option<SystemTime>>,
    pub period: Option<(u32, Option<SystemTime>)>,
    pub dampening: Option<u32>,
}

/// The bounds of the subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Subscriptions one session may hold.
    pub per_session: usize,
    /// Subscriptions of the whole server.
    pub total: usize,
    /// Notifications a subscription's receiver may leave waiting before the
    /// subscription is suspended.
    pub queue: usize,
    /// The shortest period of a periodic subscription.
    pub min_period: Duration,
    /// How often an on-change subscription of the operational datastore
    /// re-reads state that changes without an event (counters).
    pub state_poll: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_session: 16,
            total: 256,
            queue: 1024,
            min_period: Duration::from_millis(100),
            state_poll: Duration::from_secs(1),
        }
    }
}

/// Per-subscription counters (`/subscriptions/subscription/receivers`).
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub excluded: AtomicU64,
    pub dropped: AtomicU64,
    pub suspended: AtomicBool,
}

/// Who owns a subscription.
#[derive(Debug, Clone)]
pub struct Owner {
    pub session: SessionId,
    pub user: UserCtx,
    /// `netconf` or `restconf`: the receiver's name in `/subscriptions`.
    pub transport: &'static str,
}

/// Requests to a running subscription.
#[derive(Debug)]
enum Control {
    Modify(Policy),
    Resync,
    /// Ends it; with a reason, `subscription-terminated` is sent first.
    End(Option<&'static str>),
}

#[derive(Debug)]
struct Entry {
    owner: Owner,
    policy: Policy,
    counters: Arc<Counters>,
    control: mpsc::Sender<Control>,
}

/// Every dynamic subscription of the server.
pub struct Subscriptions {
    ctx: &'static Context,
    mgmt: MgmtHandle,
    log: Arc<Notifications>,
    limits: Limits,
    table: Mutex<Table>,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions")
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Table {
    next_id: u32,
    subs: BTreeMap<u32, Entry>,
}

/// An RFC 8639 error: `error-app-tag` is the identity, as RFC 8640 §2.4
/// and RFC 8650 §3.3 ask.
pub fn error(tag: ErrorTag, module: &str, identity: &str, message: impl Into<String>) -> MgmtError {
    MgmtError::new(ErrorType::Application, tag, message)
        .with_app_tag(format!("{module}:{identity}"))
}

/// The ietf-yang-push input parameters that make an RPC one of a datastore
/// subscription (for the `*-error-info` structure of its errors).
pub const DATASTORE_PARAMS: &[&str] = &[
    "datastore",
    "selection-filter-ref",
    "datastore-subtree-filter",
    "datastore-xpath-filter",
    "periodic",
    "on-change",
];

/// `insufficient-resources`: a bound on subscriptions is reached.
pub fn too_many(holder: &str, max: usize, key: &str) -> MgmtError {
    error(
        ErrorTag::ResourceDenied,
        SN,
        "insufficient-resources",
        format!("{holder} holds its maximum of {max} subscriptions ({key})"),
    )
}

/// Hints an RPC error may carry in its `*-error-info` (RFC 8639 §2.4.6, RFC
/// 8641 §4.4.1).
const HINTS: &[&str] = &[
    "period-hint",
    "filter-failure-hint",
    "object-count-estimate",
    "object-count-limit",
    "kilobytes-estimate",
    "kilobytes-limit",
];

/// An error of a subscription RPC with its reason and hints in the
/// yang-data structure RFC 8639/8641 define for that RPC (e.g.
/// `ietf-yang-push:establish-subscription-datastore-error-info`), as
/// error-info entries named `module:structure/leaf`, which the doors print
/// nested. Errors without a subscription identity are left as they are.
pub fn with_error_info(mut e: MgmtError, rpc: &str, datastore: bool) -> MgmtError {
    let Some(reason) = e.app_tag.clone().filter(|t| {
        t.starts_with("ietf-subscribed-notifications:") || t.starts_with("ietf-yang-push:")
    }) else {
        return e;
    };
    let structure = match (rpc, datastore) {
        ("establish-subscription", false) => {
            format!("{SN}:establish-subscription-stream-error-info")
        }
        ("establish-subscription", true) => {
            format!("{YP}:establish-subscription-datastore-error-info")
        }
        ("modify-subscription", false) => format!("{SN}:modify-subscription-stream-error-info"),
        ("modify-subscription", true) => format!("{YP}:modify-subscription-datastore-error-info"),
        ("delete-subscription" | "kill-subscription", _) => {
            format!("{SN}:delete-subscription-error-info")
        }
        ("resync-subscription", _) => format!("{YP}:resync-subscription-error-info"),
        _ => return e,
    };
    let (hints, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut e.info)
        .into_iter()
        .partition(|(k, _)| HINTS.contains(&k.as_str()));
    e.info = rest;
    e.info.push((format!("{structure}/reason"), reason));
    // Only the delete structure has no hints.
    if !structure.ends_with("delete-subscription-error-info") {
        e.info.extend(
            hints
                .into_iter()
                .map(|(k, v)| (format!("{structure}/{k}"), v)),
        );
    }
    e
}

fn no_such(id: u32) -> MgmtError {
    error(
        ErrorTag::InvalidValue,
        SN,
        "no-such-subscription",
        format!("no subscription {id} of this session"),
    )
}

impl Subscriptions {
    pub fn new(
        ctx: &'static Context,
        mgmt: MgmtHandle,
        log: Arc<Notifications>,
        limits: Limits,
    ) -> Arc<Subscriptions> {
        Arc::new(Subscriptions {
            ctx,
            mgmt,
            log,
            limits: Limits {
                queue: limits.queue.max(2),
                ..limits
            },
            table: Mutex::new(Table {
                next_id: 1,
                subs: BTreeMap::new(),
            }),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn log(&self) -> &Arc<Notifications> {
        &self.log
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a policy against what the server offers.
    fn check(&self, p: &Policy) -> Result<(), MgmtError> {
        let now = SystemTime::now();
        if p.stop.is_some_and(|s| s <= now) {
            return Err(MgmtError::invalid_value("stop-time is not in the future")
                .with_info("bad-element", "stop-time"));
        }
        match (&p.target, &p.trigger) {
            (Target::Stream { name, replay_start }, trigger) => {
                if name != NETCONF_STREAM {
                    return Err(MgmtError::invalid_value(format!(
                        "no stream {name:?}: the server has the stream NETCONF"
                    ))
                    .with_info("bad-element", "stream"));
                }
                if trigger.is_some() {
                    return Err(MgmtError::invalid_value(
                        "periodic and on-change apply to datastore subscriptions, not to a stream",
                    ));
                }
                if replay_start.is_some_and(|s| s > now) {
                    return Err(
                        MgmtError::invalid_value("replay-start-time is in the future")
                            .with_info("bad-element", "replay-start-time"),
                    );
                }
                if let (Some(r), Some(s)) = (replay_start, p.stop)
                    && s < *r
                {
                    return Err(MgmtError::invalid_value(
                        "stop-time is earlier than replay-start-time",
                    )
                    .with_info("bad-element", "stop-time"));
                }
            }
            (Target::Datastore(ds), trigger) => {
                // Every datastore nectar has (running, candidate, startup,
                // operational) can be subscribed to.
                let _ = ds;
                match trigger {
                    None => {
                        return Err(MgmtError::new(
                            ErrorType::Application,
                            ErrorTag::MissingElement,
                            "a datastore subscription needs periodic or on-change",
                        )
                        .with_info("bad-element", "periodic"));
                    }
                    Some(Trigger::Periodic { period, .. }) => self.check_period(*period)?,
                    Some(Trigger::OnChange { excluded, .. }) => {
                        // nectar's lists of user-ordered entries are not
                        // subscribed to with positions: insert and move are
                        // never produced, so excluding them is allowed.
                        let _ = excluded;
                    }
                }
            }
        }
        Ok(())
    }

    fn check_period(&self, period: u32) -> Result<(), MgmtError> {
        let min_cs = (self.limits.min_period.as_millis() as u64)
            .div_ceil(10)
            .max(1);
        if u64::from(period) < min_cs {
            return Err(error(
                ErrorTag::InvalidValue,
                YP,
                "period-unsupported",
                format!(
                    "a period of {period} centiseconds is below the supported minimum of \
                     {min_cs}"
                ),
            )
            .with_info("period-hint", min_cs.to_string()));
        }
        Ok(())
    }

    /// Resolves a filter given by reference (`/filters`) into its XPath.
    async fn resolve(&self, owner: &Owner, f: &mut Filter, stream: bool) -> Result<(), MgmtError> {
        let Some(name) = f.reference.clone() else {
            return Ok(());
        };
        let (list, key, leaf) = if stream {
            ("stream-filter", "name", "stream-xpath-filter")
        } else {
            (
                "ietf-yang-push:selection-filter",
                "filter-id",
                "datastore-xpath-filter",
            )
        };
        let path = format!(
            "/{SN}:filters/{list}[{key}={}]",
            nectar_yang::path::quote_literal(&name)
        );
        let tree = self
            .mgmt
            .get(owner.session, Datastore::Running, Some(path.clone()))
            .await?;
        let node = crate::ly::find(&tree, &path)?;
        let Some(node) = node else {
            return Err(error(
                ErrorTag::InvalidValue,
                SN,
                "filter-unavailable",
                format!("no filter {name:?} in /filters"),
            ));
        };
        f.xpath = state::filter_xpath(&node, leaf);
        Ok(())
    }

    /// Starts a subscription for `owner`, delivered to `mailbox`; its id,
    /// and the replay start time when the one asked for was older than the
    /// oldest notification kept (RFC 8639 `replay-start-time-revision`).
    pub async fn establish(
        self: &Arc<Self>,
        owner: Owner,
        mut policy: Policy,
        mailbox: &Arc<Mailbox>,
    ) -> Result<(u32, Option<SystemTime>), MgmtError> {
        self.check(&policy)?;
        let stream = matches!(policy.target, Target::Stream { .. });
        self.resolve(&owner, &mut policy.filter, stream).await?;
        // A replay from before the log's oldest kept notification starts
        // there (RFC 8639 §2.4.2.1).
        let mut revision = None;
        if let Target::Stream {
            replay_start: Some(start),
            ..
        } = &mut policy.target
            && let Some(aged) = self.log.aged_time()
            && *start < aged
        {
            *start = aged;
            revision = Some(aged);
        }
        let counters = Arc::new(Counters::default());
        let (tx, rx) = mpsc::channel(8);
        let id = {
            let mut t = self.table();
            if t.subs.len() >= self.limits.total {
                return Err(too_many(
                    "the server",
                    self.limits.total,
                    "subscriptions.max_total",
                ));
            }
            let mine = t
                .subs
                .values()
                .filter(|e| e.owner.session == owner.session)
                .count();
            if mine >= self.limits.per_session {
                return Err(too_many(
                    "this session",
                    self.limits.per_session,
                    "subscriptions.max_per_session",
                ));
            }
            let id = t.next_id;
            t.next_id = t.next_id.checked_add(1).unwrap_or(1);
            t.subs.insert(
                id,
                Entry {
                    owner: owner.clone(),
                    policy: policy.clone(),
                    counters: Arc::clone(&counters),
                    control: tx,
                },
            );
            id
        };
        mailbox.open(id);
        let task = engine::Engine {
            id,
            subs: Arc::clone(self),
            owner,
            policy,
            counters,
            mailbox: Arc::clone(mailbox),
            resynced: Default::default(),
        };
        tokio::spawn(task.run(rx));
        Ok((id, revision))
    }

    fn entry_of(&self, session: SessionId, id: u32) -> Result<mpsc::Sender<Control>, MgmtError> {
        let t = self.table();
        match t.subs.get(&id) {
            Some(e) if e.owner.session == session => Ok(e.control.clone()),
            _ => Err(no_such(id)),
        }
    }

    /// `modify-subscription` of one of the session's subscriptions.
    pub async fn modify(&self, session: SessionId, id: u32, m: Modify) -> Result<(), MgmtError> {
        let (control, mut policy, owner) = {
            let t = self.table();
            match t.subs.get(&id) {
                Some(e) if e.owner.session == session => {
                    (e.control.clone(), e.policy.clone(), e.owner.clone())
                }
                _ => return Err(no_such(id)),
            }
        };
        let stream = matches!(policy.target, Target::Stream { .. });
        if let Some((mut f, for_stream)) = m.filter {
            if for_stream != stream {
                return Err(MgmtError::invalid_value(
                    if stream {
                        "subscription {id} is to a stream: give a stream filter"
                    } else {
                        "subscription {id} is to a datastore: give a selection filter"
                    }
                    .replace("{id}", &id.to_string()),
                ));
            }
            self.resolve(&owner, &mut f, stream).await?;
            policy.filter = f;
        }
        if let Some(stop) = m.stop {
            policy.stop = stop;
        }
        match (&mut policy.trigger, m.period, m.dampening) {
            (_, None, None) => {}
            (Some(Trigger::Periodic { period, anchor }), Some((p, a)), None) => {
                self.check_period(p)?;
                *period = p;
                *anchor = a;
            }
            (Some(Trigger::OnChange { dampening, .. }), None, Some(d)) => *dampening = d,
            _ => {
                return Err(MgmtError::invalid_value(
                    "modify-subscription cannot change a subscription's update trigger \
                     (periodic or on-change) or give one to a stream subscription",
                ));
            }
        }
        if policy.stop.is_some_and(|s| s <= SystemTime::now()) {
            return Err(MgmtError::invalid_value("stop-time is not in the future")
                .with_info("bad-element", "stop-time"));
        }
        if let Some(e) = self.table().subs.get_mut(&id) {
            e.policy = policy.clone();
        }
        control
            .send(Control::Modify(policy))
            .await
            .map_err(|_| no_such(id))
    }

    /// `delete-subscription`: one of the session's own.
    pub async fn delete(&self, session: SessionId, id: u32) -> Result<(), MgmtError> {
        let control = self.entry_of(session, id)?;
        self.remove(id);
        let _ = control.send(Control::End(None)).await;
        Ok(())
    }

    /// `kill-subscription`: any session's (NACM decides who may). The
    /// receiver is told with `subscription-terminated`.
    pub async fn kill(&self, id: u32) -> Result<(), MgmtError> {
        let control = {
            let t = self.table();
            t.subs.get(&id).map(|e| e.control.clone())
        }
        .ok_or_else(|| no_such(id))?;
        self.remove(id);
        let _ = control
            .send(Control::End(Some("no-such-subscription")))
            .await;
        Ok(())
    }

    /// `resync-subscription` of an on-change datastore subscription.
    pub async fn resync(&self, session: SessionId, id: u32) -> Result<(), MgmtError> {
        let no_such = || {
            error(
                ErrorTag::InvalidValue,
                YP,
                "no-such-subscription-resync",
                format!("no on-change subscription {id} of this session"),
            )
        };
        let control = {
            let t = self.table();
            match t.subs.get(&id) {
                Some(e)
                    if e.owner.session == session
                        && matches!(e.policy.trigger, Some(Trigger::OnChange { .. })) =>
                {
                    e.control.clone()
                }
                _ => return Err(no_such()),
            }
        };
        control.send(Control::Resync).await.map_err(|_| no_such())
    }

    /// The session is gone: its subscriptions end.
    pub fn end_session(&self, session: SessionId) {
        let ended: Vec<mpsc::Sender<Control>> = {
            let mut t = self.table();
            let ids: Vec<u32> = t
                .subs
                .iter()
                .filter(|(_, e)| e.owner.session == session)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| t.subs.remove(id))
                .map(|e| e.control)
                .collect()
        };
        for c in ended {
            let _ = c.try_send(Control::End(None));
        }
    }

    fn remove(&self, id: u32) {
        self.table().subs.remove(&id);
    }

    /// Who owns a subscription.
    pub fn owner(&self, id: u32) -> Option<Owner> {
        self.table().subs.get(&id).map(|e| e.owner.clone())
    }

    /// How many subscriptions are active.
    pub fn count(&self) -> usize {
        self.table().subs.len()
    }
}

/// One notification of a subscription, rendered in its encoding.
#[derive(Debug, Clone)]
pub struct Out {
    pub id: u32,
    pub time: SystemTime,
    pub encoding: Encoding,
    /// The notification node in `encoding`: XML with its namespace, or RFC
    /// 7951 JSON (an object with one member).
    pub content: String,
}

impl Out {
    /// The eventTime as RFC 3339 (UTC, fractional seconds).
    pub fn event_time(&self) -> String {
        humantime::format_rfc3339_micros(self.time).to_string()
    }
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Out>,
    /// The subscription ended: its queue goes once drained.
    ended: bool,
}

/// The notifications on their way to one session: a queue per
/// subscription, drained by the session in turn.
#[derive(Debug)]
pub struct Mailbox {
    inner: Mutex<MailboxInner>,
    /// Something to take.
    ready: Notify,
    /// Something was taken (a suspended subscription may resume).
    taken: Notify,
    cap: usize,
}

#[derive(Debug, Default)]
struct MailboxInner {
    queues: BTreeMap<u32, Queue>,
    /// Where the next round-robin take starts.
    next: u32,
}

impl Mailbox {
    pub fn new(limits: &Limits) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            inner: Mutex::new(MailboxInner::default()),
            ready: Notify::new(),
            taken: Notify::new(),
            cap: limits.queue.max(2),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MailboxInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self, id: u32) {
        self.lock().queues.insert(id, Queue::default());
    }

    /// How many notifications wait for `id`.
    fn waiting(&self, id: u32) -> usize {
        self.lock().queues.get(&id).map_or(0, |q| q.items.len())
    }

    /// Queues a notification; false when the queue is full (`force` queues
    /// it anyway: the suspension notice itself).
    fn put(&self, out: Out, force: bool) -> bool {
        let mut m = self.lock();
        let Some(q) = m.queues.get_mut(&out.id) else {
            return false;
        };
        if !force && q.items.len() >= self.cap {
            return false;
        }
        q.items.push_back(out);
        drop(m);
        self.ready.notify_one();
        true
    }

    /// The subscription will put nothing more.
    fn close(&self, id: u32) {
        let mut m = self.lock();
        let empty = match m.queues.get_mut(&id) {
            Some(q) => {
                q.ended = true;
                q.items.is_empty()
            }
            None => false,
        };
        if empty {
            m.queues.remove(&id);
        }
        drop(m);
        // A receiver waiting for the end learns of it.
        self.ready.notify_one();
    }

    /// Whether any subscription delivers to this mailbox.
    pub fn is_active(&self) -> bool {
        !self.lock().queues.is_empty()
    }

    /// Whether this subscription still delivers here.
    pub fn holds(&self, id: u32) -> bool {
        self.lock().queues.contains_key(&id)
    }

    fn try_take(&self) -> Option<Out> {
        let mut m = self.lock();
        let start = m.next;
        let id = m
            .queues
            .range(start..)
            .chain(m.queues.range(..start))
            .find(|(_, q)| !q.items.is_empty())
            .map(|(id, _)| *id)?;
        let q = m.queues.get_mut(&id)?;
        let out = q.items.pop_front();
        if q.ended && q.items.is_empty() {
            m.queues.remove(&id);
        }
        m.next = id.wrapping_add(1);
        out
    }

    /// The next notification of any subscription; waits for one (for ever
    /// while none is established).
    pub async fn next(&self) -> Out {
        match self.next_or_end().await {
            Some(out) => out,
            None => std::future::pending().await,
        }
    }

    /// The next notification, or `None` once every subscription of the
    /// mailbox has ended and its last notification was taken.
    pub async fn next_or_end(&self) -> Option<Out> {
        loop {
            let ready = self.ready.notified();
            if let Some(out) = self.try_take() {
                self.taken.notify_waiters();
                return Some(out);
            }
            if !self.is_active() {
                return None;
            }
            ready.await;
        }
    }
}

/// The JSON text of a notification of `module`.
fn notification(module: &str, name: &str, body: Map<String, Value>) -> String {
    json!({ format!("{module}:{name}"): Value::Object(body) }).to_string()
}

/// RFC 3339 of a time.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}
