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

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nectar_mgmt::{Authenticator, MgmtHandle};
use tokio::net::TcpListener;
use tokio_stream::Stream;
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_sample_interval: Duration::from_millis(100),
            target_defined_interval: Duration::from_secs(10),
            state_poll_interval: Duration::from_secs(1),
            max_pending: 1_000_000,
            auth_cache: Duration::from_secs(60),
        }
    }
}

/// What every call shares.
#[derive(Debug)]
pub struct Shared {
    pub handle: MgmtHandle,
    pub auth: Auth,
    pub options: Options,
}

/// The gNMI service, cheap to clone.
#[derive(Debug, Clone)]
pub struct GnmiService {
    shared: Arc<Shared>,
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
        GnmiService {
            shared: Arc::new(Shared {
                handle,
                auth,
                options,
            }),
        }
    }

    /// The tonic service, with message size limits fit for whole-datastore
    /// Gets and large Sets.
    pub fn into_server(self) -> GNmiServer<GnmiService> {
        GNmiServer::new(self)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(usize::MAX)
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
        let peer = peer(&request);
        let r = crate::get::get(&self.shared, user, peer, request.into_inner()).await?;
        Ok(Response::new(r))
    }

    async fn set(
        &self,
        request: Request<pb::SetRequest>,
    ) -> Result<Response<pb::SetResponse>, Status> {
        let user = self.shared.auth.check(request.metadata()).await?;
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
        let peer = peer(&request);
        let stream =
            crate::subscribe::start(self.shared.clone(), user, peer, request.into_inner()).await?;
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
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}
