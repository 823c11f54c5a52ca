//! Dynamic subscriptions over RESTCONF (RFC 8650): establish-, modify-,
//! delete-, kill- (RFC 8639) and resync-subscription (RFC 8641) as
//! operations, and each subscription's notifications as a Server-Sent
//! Events stream at `{+restconf}/subscriptions/<id>`.
//!
//! RFC 8650 returns that location in the `uri` leaf of
//! ietf-restconf-subscribed-notifications, which none of the pinned model
//! packages carries: nectar answers it in the `Location` header of the
//! establish-subscription reply instead, and documents the form.
//!
//! A subscription belongs to the user that established it, who alone may
//! open its stream, modify, resync or delete it. It reads the datastores as
//! a management session of its own (so NACM applies as for that user), and
//! ends with its stream: when the client closes the connection, or when
//! nobody opened the stream within [`CONNECT_WITHIN`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::push::{self, Encoding, Mailbox, Owner, Subscriptions};
use nectar_mgmt::{Caller, ErrorTag, MgmtError, SessionId};
use nectar_yang::encoding::Format;
use yang2::schema::SchemaNodeKind;

use crate::error::Error;
use crate::media;
use crate::{AppInner, Req, respond};

/// How long an established subscription waits for its stream to be opened.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(60);

/// Time between SSE comments that keep an idle stream open.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// A subscription established over RESTCONF.
#[derive(Debug)]
pub struct Entry {
    mailbox: Arc<Mailbox>,
    session: SessionId,
    user: String,
    encoding: Encoding,
    /// Its stream is open.
    connected: bool,
}

/// The subscriptions of the RESTCONF door.
#[derive(Debug, Default)]
pub struct Table(Mutex<HashMap<u32, Entry>>);

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn subscriptions(st: &AppInner) -> Result<&Arc<Subscriptions>, Error> {
    st.subscriptions.as_ref().ok_or_else(|| {
        Error::new(
            StatusCode::NOT_IMPLEMENTED,
            MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                "subscriptions are not enabled on this server",
            ),
        )
    })
}

fn no_such(id: u32) -> Error {
    Error::from(push::error(
        ErrorTag::InvalidValue,
        push::SN,
        "no-such-subscription",
        format!("no subscription {id} of this user"),
    ))
}

/// The session of one of the user's subscriptions.
fn own(st: &AppInner, rq: &Req, id: u32) -> Result<SessionId, Error> {
    match st.push.lock().get(&id) {
        Some(e) if e.user == rq.client.user.name => Ok(e.session),
        _ => Err(no_such(id)),
    }
}

/// Ends a subscription's session and forgets it.
fn forget(st: &Arc<AppInner>, id: u32) {
    let entry = st.push.lock().remove(&id);
    if let Some(e) = entry {
        let st = Arc::clone(st);
        tokio::spawn(async move {
            if let Some(subs) = &st.subscriptions {
                let _ = subs.delete(e.session, id).await;
            }
            let _ = st.handle.close_session(e.session).await;
        });
    }
}

/// The ietf-subscribed-notifications and ietf-yang-push operations. Errors
/// carry their reason and hints in the RPC's *-error-info.
pub async fn rpc(
    st: &Arc<AppInner>,
    rq: &Req,
    module: &str,
    name: &str,
    input: Tree,
    in_format: Format,
    out_format: Format,
) -> Result<Response, Error> {
    let datastore = input.traverse().any(|n| {
        n.schema().module().name() == push::YP
            && push::DATASTORE_PARAMS.contains(&n.schema().name())
    });
    operation(st, rq, module, name, input, in_format, out_format)
        .await
        .map_err(|mut e| {
            e.errors = std::mem::take(&mut e.errors)
                .into_iter()
                .map(|m| push::with_error_info(m, name, datastore))
                .collect();
            e
        })
}

async fn operation(
    st: &Arc<AppInner>,
    rq: &Req,
    module: &str,
    name: &str,
    input: Tree,
    in_format: Format,
    out_format: Format,
) -> Result<Response, Error> {
    let subs = subscriptions(st)?;
    let module: &'static str = if module == push::YP {
        push::YP
    } else {
        push::SN
    };
    st.handle
        .authorize(Caller::slot(&rq.client).authorizing(module, name))
        .await?;
    let op = input
        .traverse()
        .find(|n| n.schema().kind() == SchemaNodeKind::Rpc)
        .ok_or_else(|| Error::malformed("no operation in the request"))?;
    match name {
        "establish-subscription" => {}
        "modify-subscription" => {
            let (id, m) = push::input::modify(&op, &None)?;
            let sid = own(st, rq, id)?;
            subs.modify(sid, id, m).await?;
            return Ok(no_content());
        }
        "delete-subscription" => {
            let id = push::input::subscription_id(&op)?;
            let sid = own(st, rq, id)?;
            subs.delete(sid, id).await?;
            forget(st, id);
            return Ok(no_content());
        }
        "kill-subscription" => {
            let id = push::input::subscription_id(&op)?;
            subs.kill(id).await?;
            return Ok(no_content());
        }
        "resync-subscription" => {
            let id = push::input::subscription_id(&op)?;
            let sid = own(st, rq, id).map_err(|_| {
                Error::from(push::error(
                    ErrorTag::InvalidValue,
                    push::YP,
                    "no-such-subscription-resync",
                    format!("no on-change subscription {id} of this user"),
                ))
            })?;
            subs.resync(sid, id).await?;
            return Ok(no_content());
        }
        other => {
            return Err(Error::from(MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                format!("{module}:{other} is not an operation of subscriptions"),
            )));
        }
    }
    // RFC 8650 §3.2: without an encoding, the notifications are in the
    // request's.
    let order = match in_format {
        Format::Json => [Encoding::Json, Encoding::Xml],
        Format::Xml => [Encoding::Xml, Encoding::Json],
    };
    let policy = push::input::establish(&op, &order, &None)?;
    let encoding = policy.encoding;
    let user = rq.client.user.clone();
    // Each RESTCONF subscription has a session of its own: the bound per
    // session is kept per user here.
    let max = subs.limits().per_session;
    let held = st
        .push
        .lock()
        .values()
        .filter(|e| e.user == user.name)
        .count();
    if held >= max {
        return Err(Error::from(push::too_many(
            "this user",
            max,
            "subscriptions.max_per_session",
        )));
    }
    let session = st
        .handle
        .open_session(user.clone(), "restconf", None)
        .await?;
    let mailbox = Mailbox::new(subs.limits());
    let owner = Owner {
        session,
        user: user.clone(),
        transport: "restconf",
    };
    let (id, revision) = match subs.establish(owner, policy, &mailbox).await {
        Ok(r) => r,
        Err(e) => {
            let _ = st.handle.close_session(session).await;
            return Err(e.into());
        }
    };
    st.push.lock().insert(
        id,
        Entry {
            mailbox,
            session,
            user: user.name.clone(),
            encoding,
            connected: false,
        },
    );
    // A subscription whose stream is never opened does not stay.
    let watch = Arc::clone(st);
    tokio::spawn(async move {
        tokio::time::sleep(CONNECT_WITHIN).await;
        let idle = watch.push.lock().get(&id).is_some_and(|e| !e.connected);
        if idle {
            tracing::info!(
                subscription = id,
                "restconf: subscription stream never opened; deleted"
            );
            forget(&watch, id);
        }
    });
    let location = format!(
        "{}/restconf/subscriptions/{id}",
        st.base_url(&rq.headers, &rq.uri)
    );
    let body = match out_format {
        Format::Json => {
            let mut out = serde_json::Map::new();
            out.insert("id".into(), id.into());
            if let Some(r) = revision {
                out.insert("replay-start-time-revision".into(), push::rfc3339(r).into());
            }
            serde_json::json!({ "ietf-subscribed-notifications:output": out }).to_string()
        }
        Format::Xml => {
            let mut s = format!(
                "<output xmlns=\"urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications\"><id>{id}</id>"
            );
            if let Some(r) = revision {
                s.push_str(&format!(
                    "<replay-start-time-revision>{}</replay-start-time-revision>",
                    push::rfc3339(r)
                ));
            }
            s.push_str("</output>");
            s
        }
    };
    let mut r = respond(StatusCode::OK, media::data_type(out_format), body, false);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

/// Forgets the subscription when its stream goes (the client closed the
/// connection, or the subscription ended).
struct StreamGuard {
    st: Arc<AppInner>,
    id: u32,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        forget(&self.st, self.id);
    }
}

/// `GET {+restconf}/subscriptions/<id>`: the subscription's notifications
/// as Server-Sent Events.
pub async fn serve(st: &Arc<AppInner>, rq: &Req, rest: &str) -> Result<Response, Error> {
    if rq.method != Method::GET {
        return Err(Error::method_not_allowed("GET"));
    }
    let id: u32 = rest
        .parse()
        .map_err(|_| Error::not_found(format!("no subscription {rest:?}")))?;
    let slot = st
        .streams
        .try_acquire(&rq.client.user.name)
        .map_err(|r| Error::refused(&r))?;
    let (mailbox, encoding) = {
        let mut t = st.push.lock();
        match t.get_mut(&id) {
            Some(e) if e.user == rq.client.user.name => {
                if e.connected {
                    return Err(Error::new(
                        StatusCode::CONFLICT,
                        MgmtError::protocol(
                            ErrorTag::InUse,
                            format!("the stream of subscription {id} is already open"),
                        ),
                    ));
                }
                e.connected = true;
                (Arc::clone(&e.mailbox), e.encoding)
            }
            _ => {
                return Err(Error::not_found(format!(
                    "no subscription {id} of this user"
                )));
            }
        }
    };
    let format = encoding.format();
    let guard = StreamGuard {
        st: Arc::clone(st),
        id,
    };
    let mut stop = st.stop.clone();
    let stream = async_stream::stream! {
        let _slot = slot;
        let _guard = guard;
        yield Ok::<Bytes, Infallible>(Bytes::from_static(b": nectar subscription\n\n"));
        loop {
            let next = tokio::select! {
                o = mailbox.next_or_end() => Some(o),
                _ = tokio::time::sleep(KEEPALIVE) => None,
                _ = crate::streams::stopped(&mut stop) => return,
            };
            match next {
                None => yield Ok(Bytes::from_static(b": keepalive\n\n")),
                Some(None) => return,
                Some(Some(out)) => {
                    yield Ok(crate::streams::sse_event(format, &out.event_time(), &out.content));
                }
            }
        }
    };
    Ok(crate::streams::sse_response(stream))
}
