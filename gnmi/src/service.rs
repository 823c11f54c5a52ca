//! The gNMI service: authentication of every call, dispatch to Capabilities,
//! Get, Set and Subscribe, and the gRPC server (TLS by default), which also
//! serves gNOI (`crate::gnoi`) when the daemon provides its platform.
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
use std::time::Duration;

use nectar_mgmt::limits::Slots;
use nectar_mgmt::{Authenticator, MgmtHandle};
use tokio::net::TcpListener;
use tonic::codegen::http;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Auth;
use crate::context::{CallContext, Options, SubscribeStream};
use crate::proto::gnmi as pb;
use crate::proto::gnmi::g_nmi_server::{GNmi, GNmiServer};

/// The gNMI service (and gNOI's, given a [`crate::gnoi::Platform`]), cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct GnmiService {
    shared: Arc<CallContext>,
    platform: Option<Arc<dyn crate::gnoi::Platform>>,
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
            platform: None,
        }
    }

    /// Serves gNOI too (System, Healthz), on what `platform` provides.
    pub fn with_gnoi(mut self, platform: Arc<dyn crate::gnoi::Platform>) -> Self {
        self.platform = Some(platform);
        self
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

#[tonic::async_trait]
impl GNmi for GnmiService {
    async fn capabilities(
        &self,
        request: Request<pb::CapabilityRequest>,
    ) -> Result<Response<pb::CapabilityResponse>, Status> {
        self.shared.auth.check(request.metadata()).await?;
        crate::ext::parse(&request.get_ref().extension, crate::ext::Rpc::Capabilities)?;
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
    tracing::info!(listen = ?local, tls = tls.is_some(), gnoi = service.platform.is_some(), "gnmi: serving");
    let gnoi = service
        .platform
        .clone()
        .map(|p| crate::gnoi::Gnoi::new(service.shared.clone(), p));
    let max = service.shared.options.max_message_bytes;
    let router = builder
        .layer(TooLargeLayer)
        .add_service(service.into_server());
    let router = match gnoi {
        Some(g) => router
            .add_service(
                crate::proto::gnoi::system::system_server::SystemServer::new(g.clone())
                    .max_decoding_message_size(max),
            )
            .add_service(
                crate::proto::gnoi::healthz::healthz_server::HealthzServer::new(g.clone())
                    .max_decoding_message_size(max),
            )
            .add_service(
                crate::proto::gnoi::file::file_server::FileServer::new(g)
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(usize::MAX),
            ),
        None => router,
    };
    router
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}
