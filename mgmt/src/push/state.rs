//! What the subscriptions show and hold in the datastores: `/streams` and
//! `/subscriptions` as operational state, named filters (`/filters`) as
//! configuration. (The selection logic the engines of every door share is in
//! `select`.)

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};

use serde_json::{Map, Value, json};
use yang2::data::{Data, DataNodeRef};

use super::{Policy, SN, Subscriptions, Target, Trigger, YP, rfc3339};
use crate::error::MgmtError;
use crate::ly::{self, Tree};
use crate::notify::Notifications;
use crate::provider::{Callbacks, CbArgs, Provider, StateArgs};

/// The XPath of a named filter entry (`leaf` is its xpath leaf).
pub(super) fn filter_xpath(node: &DataNodeRef<'_, 'static>, leaf: &str) -> Option<String> {
    node.children()
        .find(|c| c.schema().name() == leaf)
        .and_then(|c| c.value_canonical())
}

/// A policy as the members of `subscription-modified` and of a
/// `/subscriptions` entry (the same names in both), RFC 7951 JSON.
pub(crate) fn policy_json(p: &Policy) -> Map<String, Value> {
    let mut m = Map::new();
    let filter =
        |m: &mut Map<String, Value>, stream: bool| match (&p.filter.reference, &p.filter.xpath) {
            (Some(name), _) if stream => {
                m.insert("stream-filter-name".into(), json!(name));
            }
            (Some(name), _) => {
                m.insert(format!("{YP}:selection-filter-ref"), json!(name));
            }
            (None, Some(x)) if stream => {
                m.insert("stream-xpath-filter".into(), json!(x));
            }
            (None, Some(x)) => {
                m.insert(format!("{YP}:datastore-xpath-filter"), json!(x));
            }
            (None, None) => {}
        };
    match &p.target {
        Target::Stream { name, replay_start } => {
            m.insert("stream".into(), json!(name));
            if let Some(t) = replay_start {
                m.insert("replay-start-time".into(), json!(rfc3339(*t)));
            }
            filter(&mut m, true);
        }
        Target::Datastore(ds) => {
            m.insert(
                format!("{YP}:datastore"),
                json!(format!("ietf-datastores:{}", ds.as_str())),
            );
            filter(&mut m, false);
        }
    }
    if let Some(t) = p.stop {
        m.insert("stop-time".into(), json!(rfc3339(t)));
    }
    m.insert(
        "encoding".into(),
        json!(format!("{SN}:{}", p.encoding.identity())),
    );
    match &p.trigger {
        Some(Trigger::Periodic { period, anchor }) => {
            let mut t = Map::new();
            t.insert("period".into(), json!(period));
            if let Some(a) = anchor {
                t.insert("anchor-time".into(), json!(rfc3339(*a)));
            }
            m.insert(format!("{YP}:periodic"), Value::Object(t));
        }
        Some(Trigger::OnChange {
            dampening,
            sync_on_start,
            excluded,
        }) => {
            let mut t = Map::new();
            t.insert("dampening-period".into(), json!(dampening));
            t.insert("sync-on-start".into(), json!(sync_on_start));
            if !excluded.is_empty() {
                t.insert(
                    "excluded-change".into(),
                    json!(excluded.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
                );
            }
            m.insert(format!("{YP}:on-change"), Value::Object(t));
        }
        None => {}
    }
    m
}

/// Where the provider finds the subscriptions, once they exist (they are
/// made after the core, which holds the provider).
pub type Slot = Arc<OnceLock<Weak<Subscriptions>>>;

/// The provider of `/streams`, `/subscriptions` and `/filters`.
pub struct PushProvider {
    log: Arc<Notifications>,
    subs: Slot,
}

impl std::fmt::Debug for PushProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushProvider").finish()
    }
}

impl PushProvider {
    /// The provider, and the slot to put the subscriptions in once made.
    pub fn new(log: Arc<Notifications>) -> (PushProvider, Slot) {
        let slot: Slot = Arc::new(OnceLock::new());
        (
            PushProvider {
                log,
                subs: Arc::clone(&slot),
            },
            slot,
        )
    }
}

const STREAMS: &str = "/ietf-subscribed-notifications:streams";
const SUBSCRIPTIONS: &str = "/ietf-subscribed-notifications:subscriptions";
const FILTERS: &str = "/ietf-subscribed-notifications:filters";

fn streams(p: &PushProvider, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let base = format!("{STREAMS}/stream[name='{}']", super::NETCONF_STREAM);
    let mut set = |leaf: &str, v: Option<&str>| -> Result<(), MgmtError> {
        out.new_path(&format!("{base}/{leaf}"), v, false)?;
        Ok(())
    };
    set(
        "description",
        Some(
            "Every notification of the daemon: RFC 6470 configuration, session and \
             confirmed-commit events and the providers' notifications (link state).",
        ),
    )?;
    set("replay-support", None)?;
    set("replay-log-creation-time", Some(&rfc3339(p.log.created())))?;
    if let Some(aged) = p.log.aged_time() {
        set("replay-log-aged-time", Some(&rfc3339(aged)))?;
    }
    Ok(())
}

fn subscriptions(p: &PushProvider, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let Some(subs) = p.subs.get().and_then(Weak::upgrade) else {
        return Ok(());
    };
    let entries: Vec<(u32, Map<String, Value>)> = {
        let t = subs.table();
        t.subs
            .iter()
            .map(|(id, e)| {
                let mut m = policy_json(&e.policy);
                m.insert("id".into(), json!(id));
                let state = if e.counters.suspended.load(Ordering::Relaxed) {
                    "suspended"
                } else {
                    "active"
                };
                m.insert(
                    "receivers".into(),
                    json!({"receiver": [{
                        "name": format!("{}-session-{}", e.owner.transport, e.owner.session),
                        "sent-event-records": e.counters.sent.load(Ordering::Relaxed).to_string(),
                        "excluded-event-records":
                            (e.counters.excluded.load(Ordering::Relaxed)
                                + e.counters.dropped.load(Ordering::Relaxed)).to_string(),
                        "state": state,
                    }]}),
                );
                (*id, m)
            })
            .collect()
    };
    if entries.is_empty() {
        return Ok(());
    }
    // One entry at a time: a filter libyang's xpath1.0 type will not store
    // (an expression the schema lookup took) costs that entry its filter,
    // never the read of the whole operational datastore.
    let parse = |m: &Map<String, Value>| {
        let doc = json!({ format!("{SN}:subscriptions"): { "subscription": [m] } }).to_string();
        nectar_yang::encoding::parse(
            out.context(),
            &doc,
            nectar_yang::encoding::Format::Json,
            nectar_yang::encoding::Content::Fragment,
        )
    };
    let mut trees = Vec::with_capacity(entries.len());
    for (id, mut m) in entries {
        match parse(&m) {
            Ok(t) => trees.push(t),
            Err(e) => {
                m.retain(|k, _| !k.ends_with("xpath-filter"));
                match parse(&m) {
                    Ok(t) => trees.push(t),
                    Err(_) => {
                        tracing::warn!(subscription = id, error = %e, "subscription not shown in state");
                    }
                }
            }
        }
    }
    for t in trees {
        ly::merge_owned(out, t)?;
    }
    Ok(())
}

/// Named subtree filters would need a subtree-to-XPath translation of
/// anydata inside the core; the doors translate subtree filters given in
/// the RPC, and named filters are XPath.
fn refuse_named_subtree(_p: &FilterProvider, args: &CbArgs<'_>) -> Result<(), MgmtError> {
    if args.change.op == crate::provider::ChangeOp::Delete {
        return Ok(());
    }
    Err(MgmtError::app(
        crate::error::ErrorTag::OperationNotSupported,
        "named filters are XPath filters (stream-xpath-filter, datastore-xpath-filter); \
         give a subtree filter in establish-subscription itself",
    )
    .with_path(args.change.path.clone()))
}

fn check_xpath(_p: &FilterProvider, args: &CbArgs<'_>) -> Result<(), MgmtError> {
    let Some(x) = args.change.new.as_deref() else {
        return Ok(());
    };
    let ctx = args.tree.context();
    nectar_yang::xpath::count_schema(ctx, x).map_err(|e| {
        MgmtError::invalid_value(format!("the filter is not a valid XPath here: {e}"))
            .with_path(args.change.path.clone())
    })?;
    Ok(())
}

impl Provider for PushProvider {
    fn name(&self) -> &'static str {
        "subscriptions"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .state(STREAMS, streams)
            .state(SUBSCRIPTIONS, subscriptions)
    }
}

/// The named filters of `/filters`: configuration the core keeps and this
/// provider checks (registered, with [`PushProvider`], by a process that
/// implements the subscription modules); subscriptions read them when they
/// start or are modified.
#[derive(Debug)]
pub struct FilterProvider;

impl Provider for FilterProvider {
    fn name(&self) -> &'static str {
        "filters"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree(FILTERS)
            .path(&format!("{FILTERS}/stream-filter/stream-subtree-filter"))
            .validate(refuse_named_subtree)
            .path(&format!(
                "{FILTERS}/{YP}:selection-filter/datastore-subtree-filter"
            ))
            .validate(refuse_named_subtree)
            .path(&format!("{FILTERS}/stream-filter/stream-xpath-filter"))
            .validate(check_xpath)
            .path(&format!(
                "{FILTERS}/{YP}:selection-filter/datastore-xpath-filter"
            ))
            .validate(check_xpath)
    }
}
