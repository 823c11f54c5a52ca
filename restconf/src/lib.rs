//! nectar-restconf: the RESTCONF server (RFC 8040) with YANG Patch
//! (RFC 8072), the NMDA datastores (RFC 8527) and event streams (Server-Sent
//! Events), over native TLS with HTTP/1.1 and HTTP/2.
//!
//! [`app`] builds the axum router (tests drive it with `oneshot`, no socket);
//! [`serve`] runs it on a listener, with TLS when given a rustls
//! configuration ([`tls_config`]). Every request authenticates (HTTP Basic,
//! [`auth`]) and runs in its user's management session, so NACM applies to
//! all of it. Datastore work goes through the `MgmtHandle` of nectar-mgmt;
//! paths and encodings are nectar-yang's; errors are the core's, rendered
//! once in [`error`].
//!
//! Resources (`{+restconf}` is `/restconf`):
//! - `/.well-known/host-meta`: the XRD pointing at `{+restconf}`.
//! - `{+restconf}`, `{+restconf}/yang-library-version`.
//! - `{+restconf}/data[/path]`: the unified datastore ([`data`]).
//! - `{+restconf}/ds/ietf-datastores:<name>[/path]`: NMDA datastores.
//! - `{+restconf}/operations[/module:rpc]`: RPCs ([`ops`]); actions by POST
//!   on their data path.
//! - `{+restconf}/streams/<stream>/<json|xml>`: event streams ([`streams`]).
//! - `/yang/<module>[@<revision>].yang`: the YANG text of every module the
//!   yang library lists (its `location`).
//!
//! Imports nectar-mgmt and nectar-yang only.

pub mod auth;
pub mod conditional;
pub mod data;
pub mod discovery;
pub mod error;
pub mod media;
pub mod ops;
pub mod ordered;
pub mod patch;
pub mod push;
pub mod query;
pub mod resource;
pub mod server;
pub mod streams;
pub mod tree;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use axum::routing::any;
use nectar_mgmt::limits::Slots;
use nectar_mgmt::notify::Notifications;
use nectar_mgmt::{Authenticator, MgmtHandle, SessionSlot};
use nectar_yang::path::DataPath;
use tokio::sync::watch;
use yang2::context::Context;

pub use server::{serve, tls_config};

use crate::auth::Auth;
use crate::error::Error;

/// The default of [`Limits::max_body_bytes`].
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

/// What clients may hold at once and what one request may cost (the
/// `[restconf]` section of the daemon's configuration, and
/// `limits.document_depth`). Beyond a bound a request is refused with
/// `resource-denied`: 429 Too Many Requests when the user's own bound is
/// reached, 503 Service Unavailable when the server's is, both with
/// `Retry-After`; a larger body is 413 `too-big`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests in progress at once, over all users (an event stream counts
    /// until its response starts, then as a stream).
    pub max_requests: usize,
    /// Requests in progress at once for one user.
    pub max_requests_per_user: usize,
    /// Open event streams (SSE), over all users.
    pub max_streams: usize,
    /// Open event streams of one user.
    pub max_streams_per_user: usize,
    /// Nesting of a request body, and of a `fields` expression.
    pub document: nectar_yang::encoding::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY,
            max_requests: 256,
            max_requests_per_user: 64,
            max_streams: 64,
            max_streams_per_user: 8,
            document: Default::default(),
        }
    }
}

/// What the server is built from.
pub struct Options {
    pub handle: MgmtHandle,
    pub auth: Arc<dyn Authenticator>,
    /// The notification log the event streams serve; without it the server
    /// lists no streams.
    pub notifications: Option<Arc<Notifications>>,
    /// Dynamic subscriptions (RFC 8650); without them the subscription
    /// operations answer operation-not-supported.
    pub subscriptions: Option<Arc<nectar_mgmt::push::Subscriptions>>,
    /// Whether the server is reached over HTTPS (for the URLs it writes in
    /// `Location`, stream locations and schema locations).
    pub https: bool,
    /// Set to true to end open event streams (shutdown).
    pub stop: Option<watch::Receiver<bool>>,
    pub limits: Limits,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
}

/// The shared state of the router.
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub handle: MgmtHandle,
    pub ctx: &'static Context,
    pub auth: Auth,
    pub notifications: Option<Arc<Notifications>>,
    /// Dynamic subscriptions (RFC 8639/8641 over RFC 8650), shared with
    /// the other doors.
    pub subscriptions: Option<Arc<nectar_mgmt::push::Subscriptions>>,
    /// The subscriptions established here, with their streams.
    pub push: push::Table,
    pub https: bool,
    pub started: SystemTime,
    pub stop: Option<watch::Receiver<bool>>,
    pub limits: Limits,
    /// Requests in progress, in all and per user.
    pub requests: Arc<Slots>,
    /// Open event streams, in all and per user.
    pub streams: Arc<Slots>,
    /// Schema path → whether the subtree has state nodes.
    has_state: Mutex<HashMap<String, bool>>,
    /// Request path → its parsed data path (the schema never changes, so a
    /// parse stays valid; bounded by [`PATH_CACHE`]).
    paths: Mutex<HashMap<String, DataPath>>,
}

/// Parsed request paths kept at most.
const PATH_CACHE: usize = 4096;

impl AppInner {
    /// A write the core refused because `max_pending_commits` writes are
    /// already waiting for it: a server-wide bound, so 503 with
    /// `Retry-After` (see [`Error::refused`]) rather than RFC 8040's 409.
    pub fn busy(e: Error) -> Error {
        if e.errors
            .first()
            .is_some_and(|f| f.tag == nectar_mgmt::ErrorTag::ResourceDenied)
        {
            let mut r = e;
            r.status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
            r.headers.push((
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            ));
            r
        } else {
            e
        }
    }

    /// Whether the schema subtree a path names holds state data (the root
    /// does).
    pub fn has_state(&self, path: &DataPath) -> bool {
        if path.is_root() {
            return true;
        }
        let key = path.to_schema_path();
        if let Some(v) = self
            .has_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return *v;
        }
        let v = path
            .schema_node(self.ctx)
            .map(|n| tree::has_state(&n))
            .unwrap_or(true);
        self.has_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, v);
        v
    }

    /// Parses a RESTCONF data path (after `{+restconf}/data`), from the
    /// cache when the same path was parsed before.
    pub fn parse_path(&self, uri: &str) -> Result<DataPath, nectar_yang::Error> {
        if let Some(p) = self
            .paths
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(uri)
        {
            return Ok(p.clone());
        }
        let p = DataPath::parse_uri(self.ctx, uri)?;
        let mut cache = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= PATH_CACHE {
            cache.clear();
        }
        cache.insert(uri.to_string(), p.clone());
        Ok(p)
    }

    /// `scheme://host` of a request, for URLs the server writes.
    pub fn base_url(&self, headers: &HeaderMap, uri: &axum::http::Uri) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| uri.authority().map(|a| a.to_string()))
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
            })
            .unwrap_or_else(|| "localhost".to_string());
        format!("{}://{host}", if self.https { "https" } else { "http" })
    }
}

/// One authenticated request, as the handlers receive it.
#[derive(Debug)]
pub struct Req {
    pub method: Method,
    pub uri: axum::http::Uri,
    pub headers: HeaderMap,
    pub client: Arc<SessionSlot>,
    /// The request body, read whole (up to [`Limits::max_body_bytes`]).
    pub body: axum::body::Bytes,
}

impl Req {
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The body as text (400 if not UTF-8).
    pub async fn text(&mut self) -> Result<String, Error> {
        String::from_utf8(self.body.to_vec())
            .map_err(|_| Error::malformed("the request body is not UTF-8"))
    }
}

async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes, Error> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        Error::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            nectar_mgmt::MgmtError::protocol(
                nectar_mgmt::ErrorTag::TooBig,
                format!(
                    "the request body is larger than {max} bytes (restconf.max_body_bytes) \
                     or unreadable"
                ),
            ),
        )
    })
}

/// The RESTCONF router.
pub fn app(options: Options) -> Router {
    let ctx = options.handle.context();
    let limits = options.limits;
    let shared = AppInner {
        ctx,
        auth: Auth::new(options.auth),
        handle: options.handle,
        notifications: options.notifications,
        subscriptions: options.subscriptions,
        push: push::Table::default(),
        https: options.https,
        started: SystemTime::now(),
        stop: options.stop,
        limits,
        requests: Slots::new(
            "RESTCONF requests in progress",
            ("restconf.max_requests", "restconf.max_requests_per_user"),
            limits.max_requests,
            limits.max_requests_per_user,
        ),
        streams: Slots::new(
            "RESTCONF event streams",
            ("restconf.max_streams", "restconf.max_streams_per_user"),
            limits.max_streams,
            limits.max_streams_per_user,
        ),
        has_state: Mutex::new(HashMap::new()),
        paths: Mutex::new(HashMap::new()),
    };
    Router::new()
        .route("/.well-known/host-meta", any(discovery::host_meta))
        .fallback(dispatch)
        .with_state(AppState(Arc::new(shared)))
}

async fn dispatch(State(AppState(st)): State<AppState>, req: Request) -> Response {
    let format = media::error_format(req.headers());
    match route(&st, req).await {
        Ok(r) => r,
        Err(e) => e.response(st.ctx, format),
    }
}

async fn route(st: &Arc<AppInner>, req: Request) -> Result<Response, Error> {
    let (parts, body) = req.into_parts();
    let client = st.auth.authenticate(&parts.headers).await?;
    // Counted from here until the response is made (the body is read under
    // it, so a slow upload holds its user's slot, not everyone's).
    let _slot = st
        .requests
        .try_acquire(&client.user.name)
        .map_err(|r| Error::refused(&r))?;
    let path = parts.uri.path().to_string();
    let mut rq = Req {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        client,
        body: read_body(body, st.limits.max_body_bytes).await?,
    };
    let read_only_resource = path.starts_with("/yang/")
        || matches!(
            path.as_str(),
            "/restconf" | "/restconf/" | "/restconf/yang-library-version" | "/restconf/operations"
        );
    if read_only_resource && rq.method == Method::OPTIONS {
        return Ok(Response::builder()
            .status(axum::http::StatusCode::OK)
            .header(header::ALLOW, "GET, HEAD, OPTIONS")
            .body(Body::empty())
            .unwrap_or_default());
    }
    if let Some(file) = path.strip_prefix("/yang/") {
        return discovery::schema(st, &rq, file);
    }
    let Some(rest) = path.strip_prefix("/restconf") else {
        return Err(Error::not_found(format!("no resource at {path}")));
    };
    match rest {
        "" | "/" => return discovery::root(st, &rq),
        "/yang-library-version" => return discovery::yang_library_version(st, &rq),
        "/operations" | "/operations/" => return ops::list(st, &rq).await,
        _ => {}
    }
    if let Some(op) = rest.strip_prefix("/operations/") {
        return ops::invoke_rpc(st, &mut rq, op).await;
    }
    if let Some(id) = rest.strip_prefix("/subscriptions/") {
        return push::serve(st, &rq, id).await;
    }
    if let Some(stream) = rest.strip_prefix("/streams/") {
        return streams::serve_stream(st, &rq, stream).await;
    }
    if rest == "/data" || rest.starts_with("/data/") {
        let sub = &rest["/data".len()..];
        return data::handle(st, &mut rq, resource::DsSel::Unified, "/restconf/data", sub).await;
    }
    if let Some(ds_rest) = rest.strip_prefix("/ds/") {
        let (ident, sub) = match ds_rest.find('/') {
            Some(i) => (&ds_rest[..i], &ds_rest[i..]),
            None => (ds_rest, ""),
        };
        let ds = ident
            .strip_prefix("ietf-datastores:")
            .and_then(nectar_mgmt::Datastore::parse)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "unknown datastore {ident:?} (running, candidate, startup and operational \
                     are served as ietf-datastores:<name>)"
                ))
            })?;
        let prefix = format!("/restconf/ds/{ident}");
        return data::handle(st, &mut rq, resource::DsSel::Nmda(ds), &prefix, sub).await;
    }
    Err(Error::not_found(format!("no resource at {path}")))
}

/// A response with a body and a content type.
pub(crate) fn respond(
    status: axum::http::StatusCode,
    content_type: &str,
    body: String,
    head: bool,
) -> Response {
    let len = body.len();
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type);
    if head {
        r = r.header(header::CONTENT_LENGTH, len);
    }
    r.body(if head {
        Body::empty()
    } else {
        Body::from(body)
    })
    .unwrap_or_default()
}
