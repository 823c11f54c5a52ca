//! The gNMI service: authentication of every call, dispatch to Capabilities,
//! Get, Set and Subscribe, and the gRPC server (TLS by default).
//!
//! Sessions: every RPC is one management session of the authenticated user
//! (protocol `gnmi`), so NACM applies to it and it shows in the session list.
//! Get and Set open and close their session inside the same core call;
//! a Subscribe holds its session for as long as the stream lives. gRPC gives a
//! server no connection life cycle to hang a session on, and collectors
//! multiplex many RPCs over one connection, so per-RPC sessions are the
//! natural unit.
//!
//! Bounds: Get, Set and Subscribe RPCs in progress, over all users
//! (`max_sessions`) and per user (`max_sessions_per_user`), Subscribe RPCs
//! per user (`max_subscriptions_per_user`), and the size of a request
//! message (`max_message_bytes`); beyond each the call ends with
//! RESOURCE_EXHAUSTED and a message naming the bound.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nectar_mgmt::limits::{Slot, Slots};
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Authenticator, MgmtHandle};
use tokio::net::TcpListener;
use tokio_stream::Stream;
use tonic::codegen::http;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Auth;
use crate::proto::gnmi as pb;
use crate::proto::gnmi::g_nmi_server::{GNmi, GNmiServer};

/// Settings of the gNMI service (the `[gnmi]` section of the daemon's
/// configuration).
#[derive(Debug, Clone)]
pub struct Options {
    /// The shortest SAMPLE interval accepted; a sample_interval of 0 means
    /// this one, a shorter one is INVALID_ARGUMENT.
    pub min_sample_interval: Duration,
    /// The sample interval of counters under TARGET_DEFINED.
    pub target_defined_interval: Duration,
    /// How often ON_CHANGE subscriptions re-read state that has no change
    /// events of its own (values are still only sent when they change).
    pub state_poll_interval: Duration,
    /// The most updates one subscription may have waiting for a slow
    /// collector (after coalescing to the latest value per path); beyond it
    /// the subscription ends with RESOURCE_EXHAUSTED.
    pub max_pending: usize,
    /// How long a successful password check is remembered.
    pub auth_cache: Duration,
    /// The largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Get, Set and Subscribe RPCs in progress at once, over all users.
    pub max_sessions: usize,
    /// Get, Set and Subscribe RPCs in progress at once for one user.
    pub max_sessions_per_user: usize,
    /// Subscribe RPCs open at once for one user.
    pub max_subscriptions_per_user: usize,
    /// Nesting of a JSON value in a Set.
    pub document: nectar_yang::encoding::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_sample_interval: Duration::from_millis(100),
            target_defined_interval: Duration::from_secs(10),
            state_poll_interval: Duration::from_secs(1),
            max_pending: 1_000_000,
            auth_cache: Duration::from_secs(60),
            max_message_bytes: 64 << 20,
            max_sessions: 256,
            max_sessions_per_user: 64,
            max_subscriptions_per_user: 32,
            document: Default::default(),
        }
    }
}

/// What every call shares.
#[derive(Debug)]
pub struct CallContext {
    pub handle: MgmtHandle,
    pub auth: Auth,
    pub options: Options,
    /// Get, Set and Subscribe RPCs in progress, in all and per user.
    pub sessions: Arc<Slots>,
    /// Subscribe RPCs open, per user.
    pub subscriptions: Arc<Slots>,
}

impl CallContext {
    /// A Get or Set of `user` in progress, or RESOURCE_EXHAUSTED.
    fn session_slot(&self, user: &UserCtx) -> Result<Slot, Status> {
        self.sessions
            .try_acquire(&user.name)
            .map_err(|r| refused(user, r))
    }

    /// A Subscribe of `user` open: one session and one subscription.
    fn subscription_slots(&self, user: &UserCtx) -> Result<(Slot, Slot), Status> {
        let subscription = self
            .subscriptions
            .try_acquire(&user.name)
            .map_err(|r| refused(user, r))?;
        Ok((self.session_slot(user)?, subscription))
    }
}

fn refused(user: &UserCtx, r: nectar_mgmt::limits::Refused) -> Status {
    tracing::debug!(user = %user.name, reason = %r, "gnmi: call refused");
    crate::Error::from(r).into()
}

/// The gNMI service, cheap to clone.
#[derive(Debug, Clone)]
pub struct GnmiService {
    shared: Arc<CallContext>,
}

/// Nanoseconds since the Unix epoch (gNMI §2.2.1).
pub fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

pub fn to_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl GnmiService {
    pub fn new(handle: MgmtHandle, users: Arc<dyn Authenticator>, options: Options) -> Self {
        let auth = Auth::new(users, options.auth_cache);
        let sessions = Slots::new(
            "gNMI RPCs in progress",
            ("gnmi.max_sessions", "gnmi.max_sessions_per_user"),
            options.max_sessions,
            options.max_sessions_per_user,
        );
        let subscriptions = Slots::new(
            "gNMI subscriptions",
            ("gnmi.max_sessions", "gnmi.max_subscriptions_per_user"),
            options.max_sessions,
            options.max_subscriptions_per_user,
        );
        GnmiService {
            shared: Arc::new(CallContext {
                handle,
                auth,
                options,
                sessions,
                subscriptions,
            }),
        }
    }

    /// The tonic service: requests up to `max_message_bytes`, responses of
    /// any size (a whole-datastore Get).
    pub fn into_server(self) -> GNmiServer<GnmiService> {
        let max = self.shared.options.max_message_bytes;
        GNmiServer::new(self)
            .max_decoding_message_size(max)
            .max_encoding_message_size(usize::MAX)
    }
}

/// Rewrites tonic's OUT_OF_RANGE for a request message above the decoding
/// limit into RESOURCE_EXHAUSTED, the code gRPC's status code table gives
/// it (see [`crate::error::too_large_as_resource_exhausted`]). tonic
/// refuses such a unary request before the handler runs, as a trailers-only
/// response: the status is in its headers.
#[derive(Debug, Clone, Copy)]
struct TooLargeLayer;

impl<S> tower::Layer<S> for TooLargeLayer {
    type Service = TooLarge<S>;
    fn layer(&self, inner: S) -> TooLarge<S> {
        TooLarge(inner)
    }
}

#[derive(Debug, Clone)]
struct TooLarge<S>(S);

impl<S, B, R> tower::Service<http::Request<B>> for TooLarge<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let fut = self.0.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            if let Some(status) = Status::from_header_map(resp.headers())
                && crate::error::is_too_large(&status)
            {
                let fixed = crate::error::too_large_as_resource_exhausted(status);
                let _ = fixed.add_header(resp.headers_mut());
            }
            Ok(resp)
        })
    }
}

fn peer<T>(req: &Request<T>) -> Option<String> {
    req.remote_addr().map(|a| a.to_string())
}

pub type SubscribeStream =
    Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl GNmi for GnmiService {
    async fn capabilities(
        &self,
        request: Request<pb::CapabilityRequest>,
    ) -> Result<Response<pb::CapabilityResponse>, Status> {
        self.shared.auth.check(request.metadata()).await?;
        crate::get::refuse_extensions(&request.get_ref().extension)?;
        Ok(Response::new(crate::get::capabilities(&self.shared)))
    }

    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::GetResponse>, Status> {
        let user = self.shared.auth.check(request.metadata()).await?;
        let _slot = self.shared.session_slot(&user)?;
        let peer = peer(&request);
        let r = crate::get::get(&self.shared, user, peer, request.into_inner()).await?;
        Ok(Response::new(r))
    }

    async fn set(
        &self,
        request: Request<pb::SetRequest>,
    ) -> Result<Response<pb::SetResponse>, Status> {
        let user = self.shared.auth.check(request.metadata()).await?;
        let _slot = self.shared.session_slot(&user)?;
        let peer = peer(&request);
        let r = crate::set::set(&self.shared, user, peer, request.into_inner()).await?;
        Ok(Response::new(r))
    }

    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        request: Request<Streaming<pb::SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let user = self.shared.auth.check(request.metadata()).await?;
        let slots = self.shared.subscription_slots(&user)?;
        let peer = peer(&request);
        let stream =
            crate::subscribe::start(self.shared.clone(), user, peer, request.into_inner(), slots)
                .await?;
        Ok(Response::new(stream))
    }
}

/// TLS material: PEM certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsPem {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Serves gNMI on `listener` until `shutdown` completes: over TLS when `tls`
/// is given (the daemon's default), plaintext gRPC otherwise.
pub async fn serve(
    listener: TcpListener,
    service: GnmiService,
    tls: Option<TlsPem>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let local: Option<SocketAddr> = listener.local_addr().ok();
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .tcp_nodelay(true);
    if let Some(t) = &tls {
        builder = builder.tls_config(
            ServerTlsConfig::new().identity(Identity::from_pem(&t.cert_pem, &t.key_pem)),
        )?;
    }
    tracing::info!(listen = ?local, tls = tls.is_some(), "gnmi: serving");
    builder
        .layer(TooLargeLayer)
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}
