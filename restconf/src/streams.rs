//! Event streams (RFC 8040 §6): the `NETCONF` stream of every notification
//! the daemon raises (RFC 6470 configuration and session events, provider
//! notifications such as link up/down), served as Server-Sent Events at
//! `{+restconf}/streams/NETCONF/json` and `.../xml`, the locations
//! ietf-restconf-monitoring lists. Each event is one notification message
//! (RFC 8040 §6.4) in the stream's encoding, one `data:` line per line.
//!
//! Query parameters: `start-time` replays the kept notifications from that
//! time on before the live ones; `stop-time` ends the stream when reached
//! (replayed or live); `filter` is an XPath evaluated on each notification,
//! which is sent only when it selects something. NACM's notification rules
//! (read access to the notification) apply to every message.
//!
//! Bounds: a user may have `max_streams_per_user` streams open and the
//! server `max_streams` (429 / 503 `resource-denied` beyond); a client that
//! falls more than `notifications.subscriber_queue` notifications behind
//! has its stream ended.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use nectar_mgmt::notify::Notification;
use nectar_mgmt::{ErrorTag, MgmtError};
use nectar_yang::encoding::{self, Format};
use tokio::sync::broadcast::error::RecvError;
use yang2::data::DataTree;

use crate::error::Error;
use crate::query::{Query, Resource};
use crate::{AppInner, Req};

/// A stream the server offers.
#[derive(Debug)]
pub struct StreamDef {
    pub name: &'static str,
    pub description: &'static str,
}

/// The streams of the server.
pub const STREAMS: &[StreamDef] = &[StreamDef {
    name: "NETCONF",
    description: "Every notification of the daemon: RFC 6470 configuration, session and \
                  confirmed-commit events and the providers' notifications (link state).",
}];

/// Time between SSE comments that keep idle connections open.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// `GET {+restconf}/streams/<name>/<json|xml>`.
pub async fn serve_stream(st: &Arc<AppInner>, rq: &Req, rest: &str) -> Result<Response, Error> {
    let (name, enc) = rest
        .split_once('/')
        .ok_or_else(|| Error::not_found(format!("no stream at {rest}")))?;
    let format = match enc {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return Err(Error::not_found(format!("no stream encoding {enc}"))),
    };
    let Some(log) = st.notifications.clone() else {
        return Err(Error::not_found("this server offers no event streams"));
    };
    if !STREAMS.iter().any(|s| s.name == name) {
        return Err(Error::not_found(format!("no stream {name}")));
    }
    if rq.method != Method::GET {
        return Err(Error::method_not_allowed("GET"));
    }
    let q = Query::parse(rq.query(), "GET", Resource::Stream)?;
    if let Some(accept) = rq.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let ok = accept.split(',').any(|r| {
            let e = r
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            matches!(e.as_str(), "text/event-stream" | "text/*" | "*/*")
        });
        if !ok {
            return Err(Error::new(
                StatusCode::NOT_ACCEPTABLE,
                MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "an event stream is text/event-stream",
                ),
            ));
        }
    }
    if let Some(f) = &q.filter {
        check_filter(st, f)?;
    }
    // Held by the stream for as long as it is open.
    let slot = st
        .streams
        .try_acquire(&rq.client.user.name)
        .map_err(|r| Error::refused(&r))?;
    let (replay, mut live) = log.subscribe(q.start_time);
    let st2 = Arc::clone(st);
    let client = Arc::clone(&rq.client);
    let mut stop = st.stop.clone();
    let filter = q.filter.clone();
    let stop_time = q.stop_time;
    let stream = async_stream::stream! {
        let _slot = slot;
        // Replayed notifications first, then live ones never seen before.
        let mut last_seq = 0u64;
        for n in replay {
            if stop_time.is_some_and(|s| n.time > s) {
                return;
            }
            last_seq = n.seq;
            if let Some(ev) = message(&st2, &client, &n, format, filter.as_deref()).await {
                yield Ok::<Bytes, Infallible>(ev);
            }
        }
        // Opening comment: the stream is established.
        yield Ok(Bytes::from_static(b": nectar event stream\n\n"));
        loop {
            let until_stop = stop_time.map(|s| s.duration_since(SystemTime::now()).unwrap_or_default());
            if until_stop == Some(Duration::ZERO) {
                return;
            }
            let wait = until_stop.map_or(KEEPALIVE, |d| d.min(KEEPALIVE));
            let next = tokio::select! {
                r = live.recv() => Some(r),
                _ = tokio::time::sleep(wait) => None,
                _ = stopped(&mut stop) => return,
            };
            match next {
                None => yield Ok(Bytes::from_static(b": keepalive\n\n")),
                Some(Ok(n)) => {
                    if n.seq <= last_seq {
                        continue;
                    }
                    if stop_time.is_some_and(|s| n.time > s) {
                        return;
                    }
                    last_seq = n.seq;
                    if let Some(ev) = message(&st2, &client, &n, format, filter.as_deref()).await {
                        yield Ok(ev);
                    }
                }
                Some(Err(RecvError::Lagged(k))) => {
                    // More notifications waited for this client than its
                    // queue holds: they are lost. SSE cannot say so, so the
                    // stream ends (with a comment saying why); the client
                    // reconnects with start-time and replays what it missed.
                    tracing::warn!(
                        lost = k,
                        user = %client.user.name,
                        "restconf event stream fell behind (notifications.subscriber_queue); \
                         ending it"
                    );
                    yield Ok(Bytes::from(format!(
                        ": {k} notifications lost: this client fell behind by more than the \
                         server queues for it (notifications.subscriber_queue); reconnect with \
                         start-time to replay them\n\n"
                    )));
                    return;
                }
                Some(Err(RecvError::Closed)) => return,
            }
        }
    };
    Ok(sse_response(stream))
}

/// A `text/event-stream` response of these events.
pub(crate) fn sse_response(
    events: impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(events))
        .unwrap_or_default();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Resolves when the server stops (never without a stop signal).
pub(crate) async fn stopped(stop: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match stop {
        Some(rx) => {
            let _ = rx.wait_for(|s| *s).await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Rejects a filter libyang cannot evaluate (400).
fn check_filter(st: &AppInner, filter: &str) -> Result<(), Error> {
    if filter.contains('\0') {
        return Err(Error::invalid("filter must not contain NUL"));
    }
    let mut probe = DataTree::new(st.ctx);
    probe
        .new_path(
            "/ietf-netconf-notifications:netconf-session-start/username",
            Some("probe"),
            false,
        )
        .map_err(|e| Error::internal(format!("filter probe: {e}")))?;
    nectar_yang::xpath::find_all(&probe, filter)
        .map(|_| ())
        .map_err(|e| Error::invalid(format!("invalid filter {filter:?}: {e}")))
}

/// One SSE event for a notification, or `None` when NACM or the filter
/// withholds it.
async fn message(
    st: &Arc<AppInner>,
    client: &Arc<nectar_mgmt::SessionSlot>,
    n: &Arc<Notification>,
    format: Format,
    filter: Option<&str>,
) -> Option<Bytes> {
    let name = n.name()?;
    let (module, node) = name.split_once(':')?;
    let permitted = st
        .handle
        .may_receive(client.user.clone(), module.to_string(), node.to_string())
        .await;
    if !permitted {
        return None;
    }
    if let Some(f) = filter {
        let tree = encoding::parse_notification(st.ctx, &n.json, Format::Json).ok()?;
        let hit = nectar_yang::xpath::find_all(&tree, f).is_ok_and(|s| !s.is_empty());
        if !hit {
            return None;
        }
    }
    let content = match n.render(st.ctx, format) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "a notification does not render; skipped");
            return None;
        }
    };
    Some(sse_event(format, &n.event_time(), &content))
}

/// One Server-Sent Event holding a notification message (RFC 8040 §6.4):
/// the content (the notification node, as libyang printed it) in the
/// RESTCONF envelope with its eventTime, one `data:` line per line.
pub(crate) fn sse_event(format: Format, time: &str, content: &str) -> Bytes {
    let msg = match format {
        // The content is one JSON object: its members join eventTime's.
        Format::Json => match content.trim().strip_prefix('{') {
            Some(members) if members.trim_start().starts_with('"') => {
                format!("{{\"ietf-restconf:notification\":{{\"eventTime\":\"{time}\",{members}}}")
            }
            _ => format!("{{\"ietf-restconf:notification\":{{\"eventTime\":\"{time}\"}}}}"),
        },
        Format::Xml => format!(
            "<notification xmlns=\"urn:ietf:params:xml:ns:netconf:notification:1.0\">\
             <eventTime>{time}</eventTime>{content}</notification>"
        ),
    };
    let mut ev = String::with_capacity(msg.len() + 16);
    for line in msg.lines() {
        ev.push_str("data: ");
        ev.push_str(line);
        ev.push('\n');
    }
    ev.push('\n');
    Bytes::from(ev)
}
