//! Subscribe (gNMI §3.5): ONCE, POLL and STREAM subscriptions.
//!
//! `start` reads and checks the SubscriptionList, opens the management
//! session and spawns the subscription's engine (`engine`), which reads the
//! data through the core, compares it with what was sent, and queues what is
//! due in a bounded coalescing outbox (`outbox`). The response stream drains
//! the outbox; when it is dropped (the collector went away or cancelled) the
//! engine task is aborted at once and the session closed.
//!
//! Accepted and without effect, by the specification's own terms:
//! `allow_aggregation` (no node of nectar's models is marked eligible for
//! aggregation) and `qos` (a DSCP marking cannot be applied per RPC on an
//! HTTP/2 connection that other RPCs share; the collector's connection keeps
//! the marking of its socket).

mod engine;
mod outbox;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use nectar_mgmt::SessionId;
use nectar_mgmt::limits::Slot;
use nectar_mgmt::nacm::UserCtx;
use nectar_yang::path::{GnmiPath, gnmi_to_xpath};
use tonic::{Status, Streaming};

use crate::context::{CallContext, SubscribeStream};
use crate::data;
use crate::error::{Error, Result};
use crate::path;
use crate::proto::gnmi as pb;
use crate::proto::gnmi::subscription_list::Mode as ListMode;
use crate::value::Encoding;

pub use outbox::{Outbox, Overflow};

/// How a subscription reports (STREAM mode, per subscription).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sample,
    OnChange,
    /// ON_CHANGE for configuration and state with change events (oper-status),
    /// SAMPLE for counters.
    TargetDefined,
}

/// One checked subscription of the list.
#[derive(Debug, Clone)]
pub struct SubSpec {
    pub path: GnmiPath,
    pub xpath: String,
    pub mode: Mode,
    pub interval: Duration,
    pub suppress_redundant: bool,
    pub heartbeat: Option<Duration>,
}

/// The checked SubscriptionList.
#[derive(Debug, Clone)]
pub struct ListSpec {
    pub mode: ListMode,
    pub encoding: Encoding,
    pub updates_only: bool,
    /// The `target` of the request prefix, echoed on every Notification.
    pub target: String,
    pub models: Option<std::collections::HashSet<String>>,
    pub subs: Vec<SubSpec>,
    /// The depth extension: levels of data below each subscribed path.
    pub depth: Option<u32>,
}

fn interval_ns(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}

/// Checks a SubscriptionList against the schema and the options.
pub fn check(shared: &CallContext, list: &pb::SubscriptionList) -> Result<ListSpec> {
    let ctx = shared.handle.context();
    let opts = &shared.options;
    let mode = ListMode::try_from(list.mode)
        .map_err(|_| Error::invalid(format!("unknown subscription list mode {}", list.mode)))?;
    let encoding = Encoding::from_wire(list.encoding)?;
    let models = data::models(ctx, &list.use_models)?;
    let prefix = path::prefix(list.prefix.as_ref())?;
    if list.subscription.is_empty() {
        return Err(Error::invalid("the subscription list is empty"));
    }
    let mut subs = Vec::with_capacity(list.subscription.len());
    for s in &list.subscription {
        let p = match &s.path {
            Some(p) => path::from_proto(p)?,
            None => GnmiPath::default(),
        };
        let full = path::resolve(ctx, prefix.as_ref(), &p)?;
        let xpath = gnmi_to_xpath(ctx, None, &full).map_err(Error::path)?;
        let sub_mode = pb::SubscriptionMode::try_from(s.mode)
            .map_err(|_| Error::invalid(format!("unknown subscription mode {}", s.mode)))?;
        let min = opts.min_sample_interval;
        let (mode, interval) = match sub_mode {
            pb::SubscriptionMode::Sample => {
                let i = interval_ns(s.sample_interval);
                if s.sample_interval == 0 {
                    (Mode::Sample, min)
                } else if i < min {
                    return Err(Error::invalid(format!(
                        "{full}: sample_interval {} ns is below the supported minimum of {} ns",
                        s.sample_interval,
                        min.as_nanos()
                    )));
                } else {
                    (Mode::Sample, i)
                }
            }
            pb::SubscriptionMode::OnChange => (Mode::OnChange, opts.state_poll_interval),
            pb::SubscriptionMode::TargetDefined => {
                let i = interval_ns(s.sample_interval);
                if s.sample_interval == 0 {
                    (Mode::TargetDefined, opts.target_defined_interval)
                } else if i < min {
                    return Err(Error::invalid(format!(
                        "{full}: sample_interval {} ns is below the supported minimum of {} ns",
                        s.sample_interval,
                        min.as_nanos()
                    )));
                } else {
                    (Mode::TargetDefined, i)
                }
            }
        };
        let heartbeat = match s.heartbeat_interval {
            0 => None,
            ns if interval_ns(ns) < min => {
                return Err(Error::invalid(format!(
                    "{full}: heartbeat_interval {ns} ns is below the supported minimum of {} ns",
                    min.as_nanos()
                )));
            }
            ns => Some(interval_ns(ns)),
        };
        subs.push(SubSpec {
            path: full,
            xpath,
            mode,
            interval,
            suppress_redundant: s.suppress_redundant,
            heartbeat,
        });
    }
    Ok(ListSpec {
        mode,
        encoding,
        updates_only: list.updates_only,
        target: list
            .prefix
            .as_ref()
            .map(|p| p.target.clone())
            .unwrap_or_default(),
        models,
        subs,
        depth: None,
    })
}

/// Closes the management session when the subscription's work ends, however
/// it ends (finished, failed, or aborted because the collector went away).
struct SessionGuard {
    handle: nectar_mgmt::MgmtHandle,
    sid: SessionId,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let sid = self.sid;
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = handle.close_session(sid).await;
            });
        }
    }
}

/// Aborts the engine when the response stream is dropped.
struct EngineGuard(tokio::task::AbortHandle);

impl Drop for EngineGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts a Subscribe RPC: the first request must be a SubscriptionList.
pub async fn start(
    shared: Arc<CallContext>,
    user: UserCtx,
    peer: Option<String>,
    mut requests: Streaming<pb::SubscribeRequest>,
    slots: (Slot, Slot),
) -> Result<SubscribeStream, Status> {
    let first = requests
        .message()
        .await
        .map_err(crate::error::too_large_as_resource_exhausted)?
        .ok_or_else(|| {
            Status::invalid_argument("the request stream ended before a SubscriptionList")
        })?;
    let exts = crate::ext::parse(&first.extension, crate::ext::Rpc::Subscribe)?;
    let list = match first.request {
        Some(pb::subscribe_request::Request::Subscribe(l)) => l,
        Some(pb::subscribe_request::Request::Poll(_)) => {
            return Err(Status::invalid_argument(
                "the first request of a subscription must be a SubscriptionList, not a poll",
            ));
        }
        None => return Err(Status::invalid_argument("an empty SubscribeRequest")),
    };
    let mut spec = check(&shared, &list)?;
    spec.depth = exts.depth;
    // Subscribe to events before the first read, so no change falls between.
    let events = shared.handle.subscribe();
    let sid = shared
        .handle
        .open_session(user, "gnmi", peer)
        .await
        .map_err(Error::from)?;
    let guard = SessionGuard {
        handle: shared.handle.clone(),
        sid,
    };
    let target = list
        .prefix
        .as_ref()
        .map(|p| p.target.clone())
        .unwrap_or_default();
    let outbox = Arc::new(Outbox::new(shared.options.max_pending, target));
    let engine = engine::Engine::new(shared.clone(), sid, spec, outbox.clone());
    // The subscription's session and subscription slots are given back when
    // both its work and its response stream have ended.
    let slots = Arc::new(slots);
    let task_slots = Arc::clone(&slots);
    let task = tokio::spawn(async move {
        let _guard = guard;
        let _slots = task_slots;
        engine.run(requests, events).await;
    });
    let stop = EngineGuard(task.abort_handle());
    let stream = futures::stream::unfold((outbox, stop, slots), |(ob, stop, slots)| async move {
        ob.next().await.map(|item| (item, (ob, stop, slots)))
    });
    Ok(stream.boxed())
}
