//! RFC 5277 event notifications on the NETCONF stream: create-subscription
//! parameters (stream, filter, startTime, stopTime), replay from the
//! management notification log followed by `replayComplete`, live delivery
//! interleaved with RPCs, `notificationComplete` at the stop time, and NACM
//! (RFC 8341 §3.4.6) per notification.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nectar_mgmt::MgmtHandle;
use nectar_mgmt::error::{ErrorTag, ErrorType, MgmtError};
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::notify::{Notification, Notifications};
use nectar_yang::encoding::{self, Format};
use tokio::sync::broadcast;
use yang2::context::Context;

use crate::filter::{self, Selection};
use crate::reply::{self, BASE_NS};
use crate::server::NOTIF_NS;
use crate::xml::Element;

const NETMOD_NOTIF_NS: &str = "urn:ietf:params:xml:ns:netmod:notification";

/// What the subscription produces next.
#[derive(Debug)]
pub(crate) enum Item {
    /// A framed-to-be notification message.
    Send(String),
    /// The last message of the subscription (notificationComplete).
    SendAndEnd(String),
    /// Nothing to send (filtered out or denied).
    Skip,
    /// The subscriber fell further behind than its queue
    /// (`notifications.subscriber_queue`): this many notifications are
    /// lost. RFC 5277 has no way to say so in the stream, so the session
    /// ends: the client sees it, and a new subscription with a startTime
    /// replays what it missed from the replay buffer.
    Lagged(u64),
}

/// An active subscription of a session.
pub(crate) struct Subscription {
    ctx: &'static Context,
    mgmt: MgmtHandle,
    user: UserCtx,
    replay: VecDeque<Arc<Notification>>,
    /// A replay was asked for: replayComplete is still to be sent.
    replay_pending: bool,
    rx: broadcast::Receiver<Arc<Notification>>,
    selection: Selection,
    stop: Option<SystemTime>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("selection", &self.selection)
            .field("stop", &self.stop)
            .finish()
    }
}

/// Parses an RFC 3339 date-and-time with `Z` or a numeric offset.
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    nectar_mgmt::types::parse_rfc3339(s)
}

fn time_param(op: &Element, name: &str) -> Result<Option<SystemTime>, MgmtError> {
    match op.child(name, NOTIF_NS) {
        None => Ok(None),
        Some(el) => parse_time(&el.text()).map(Some).ok_or_else(|| {
            MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::BadElement,
                format!("{name} is not an RFC 3339 date-and-time"),
            )
            .with_info("bad-element", name)
        }),
    }
}

/// Starts a subscription from a `<create-subscription>`.
pub(crate) fn subscribe(
    ctx: &'static Context,
    mgmt: MgmtHandle,
    user: UserCtx,
    log: Arc<Notifications>,
    op: &Element,
    limits: &filter::Limits,
) -> Result<Subscription, MgmtError> {
    for c in op.elements() {
        // Clients put the filter in either namespace (RFC 5277 reuses
        // the base filter type).
        let ok = (c.ns.as_deref() == Some(NOTIF_NS)
            && matches!(
                c.local.as_str(),
                "stream" | "filter" | "startTime" | "stopTime"
            ))
            || (c.ns.as_deref() == Some(BASE_NS) && c.local == "filter");
        if !ok {
            return Err(reply::unknown_element(ErrorType::Protocol, &c.local));
        }
    }
    if let Some(s) = op.child("stream", NOTIF_NS) {
        let name = s.text();
        if name.trim() != "NETCONF" {
            return Err(MgmtError::new(
                ErrorType::Application,
                ErrorTag::InvalidValue,
                format!(
                    "no stream {:?} (the server has the stream NETCONF)",
                    name.trim()
                ),
            )
            .with_info("bad-element", "stream"));
        }
    }
    let selection = match op
        .child("filter", NOTIF_NS)
        .or_else(|| op.child("filter", BASE_NS))
    {
        None => Selection::All,
        Some(f) => filter::from_filter_with(ctx, f, limits)?,
    };
    let start = time_param(op, "startTime")?;
    let stop = time_param(op, "stopTime")?;
    let now = SystemTime::now();
    if stop.is_some() && start.is_none() {
        return Err(MgmtError::new(
            ErrorType::Protocol,
            ErrorTag::MissingElement,
            "stopTime needs startTime",
        )
        .with_info("bad-element", "startTime"));
    }
    if start.is_some_and(|s| s > now) {
        return Err(MgmtError::new(
            ErrorType::Protocol,
            ErrorTag::BadElement,
            "startTime is in the future",
        )
        .with_info("bad-element", "startTime"));
    }
    if let (Some(s), Some(e)) = (start, stop)
        && e < s
    {
        return Err(MgmtError::new(
            ErrorType::Protocol,
            ErrorTag::BadElement,
            "stopTime is earlier than startTime",
        )
        .with_info("bad-element", "stopTime"));
    }
    let (replay, rx) = log.subscribe(start);
    let replay: VecDeque<Arc<Notification>> = replay
        .into_iter()
        .filter(|n| stop.is_none_or(|s| n.time <= s))
        .collect();
    Ok(Subscription {
        ctx,
        mgmt,
        user,
        replay,
        replay_pending: start.is_some(),
        rx,
        selection,
        stop,
    })
}

pub(crate) fn envelope(time: &str, content: &str) -> String {
    format!(
        "<notification xmlns=\"{NOTIF_NS}\"><eventTime>{time}</eventTime>{content}</notification>"
    )
}

fn now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

impl Subscription {
    /// The next message of the subscription; waits for live notifications.
    pub(crate) async fn next(&mut self) -> Item {
        if let Some(n) = self.replay.pop_front() {
            return self.render(&n).await;
        }
        if self.replay_pending {
            self.replay_pending = false;
            return Item::Send(envelope(
                &now(),
                &format!("<replayComplete xmlns=\"{NETMOD_NOTIF_NS}\"/>"),
            ));
        }
        let complete = || {
            Item::SendAndEnd(envelope(
                &now(),
                &format!("<notificationComplete xmlns=\"{NETMOD_NOTIF_NS}\"/>"),
            ))
        };
        let until_stop = self.stop.map(|s| {
            s.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        if until_stop == Some(Duration::ZERO) {
            return complete();
        }
        let recv = self.rx.recv();
        let n = match until_stop {
            Some(d) => match tokio::time::timeout(d, recv).await {
                Ok(r) => r,
                Err(_) => return complete(),
            },
            None => recv.await,
        };
        match n {
            Ok(n) => {
                if self.stop.is_some_and(|s| n.time > s) {
                    return complete();
                }
                self.render(&n).await
            }
            Err(broadcast::error::RecvError::Lagged(k)) => Item::Lagged(k),
            Err(broadcast::error::RecvError::Closed) => {
                // The log is gone (shutdown): wait forever, the session ends
                // another way.
                std::future::pending().await
            }
        }
    }

    async fn render(&self, n: &Notification) -> Item {
        // NACM: the notification must be readable by the user.
        if let Some(name) = n.name()
            && let Some((module, local)) = name.split_once(':')
            && !self.user.superuser
        {
            let permit = self
                .mgmt
                .may_receive(self.user.clone(), module.to_string(), local.to_string())
                .await;
            if !permit {
                return Item::Skip;
            }
        }
        let content = match &self.selection {
            Selection::All => n.render(self.ctx, Format::Xml),
            Selection::Nothing => return Item::Skip,
            Selection::XPath(x) => {
                let tree = match encoding::parse_notification(self.ctx, &n.json, Format::Json) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable notification skipped");
                        return Item::Skip;
                    }
                };
                let matched =
                    nectar_yang::xpath::find_all(&tree, x).is_ok_and(|set| !set.is_empty());
                if !matched {
                    return Item::Skip;
                }
                n.render(self.ctx, Format::Xml)
            }
        };
        match content {
            Ok(c) => Item::Send(envelope(&n.event_time(), &c)),
            Err(e) => {
                tracing::warn!(error = %e, "notification could not be printed");
                Item::Skip
            }
        }
    }
}
