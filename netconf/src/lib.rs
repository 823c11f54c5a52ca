//! nectar-netconf: NETCONF over SSH (RFC 6241, 6242) on the management
//! core, with monitoring (RFC 6022), with-defaults (RFC 6243), NMDA (RFC
//! 8526), notifications (RFC 5277, 6470) and NACM (RFC 8341, evaluated by
//! mgmt). Imports `nectar-yang` and `nectar-mgmt` only (DESIGN.md).
//!
//! Layout: [`framing`] (RFC 6242 codec) and [`xml`] (envelope tree) are pure;
//! `session` runs one session over any byte stream; `ops` maps operations
//! onto [`nectar_mgmt::MgmtHandle`]; `filter`, `nmda`, `notif` serve their
//! RFCs; `reply` is the one place errors become `<rpc-error>`; `ssh` is the
//! russh transport; [`serve`] accepts connections.

pub mod client;
pub mod filter;
pub mod framing;
mod nmda;
mod notif;
mod ops;
pub mod reply;
mod server;
mod session;
mod ssh;
pub mod xml;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::notify::Notifications;
use nectar_mgmt::{Authenticator, MgmtHandle};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use server::{NetconfSettings, capabilities};

/// Errors that stop the server (never a client's doing).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("SSH host key: {0}")]
    HostKey(String),
    #[error("management core: {0}")]
    Mgmt(#[from] nectar_mgmt::MgmtError),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A NETCONF server bound to the management core, before it serves.
#[derive(Clone)]
pub struct Server {
    shared: Arc<server::ServerState>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("netconf::Server")
    }
}

impl Server {
    /// Prepares the shared state (capabilities, statistics).
    pub async fn new(
        settings: NetconfSettings,
        mgmt: MgmtHandle,
        notifications: Option<Arc<Notifications>>,
    ) -> Result<Server, Error> {
        let ctx = mgmt.context();
        let content_id = mgmt.yang_library_content_id().await?;
        let caps = capabilities(ctx, &content_id, notifications.is_some());
        Ok(Server {
            shared: Arc::new(server::ServerState {
                ctx,
                mgmt,
                notifications,
                subscriptions: None,
                capabilities: caps,
                start_time: nectar_mgmt::types::now_rfc3339(),
                stats: Default::default(),
                sessions: Mutex::new(BTreeMap::new()),
                lock_times: Mutex::new(HashMap::new()),
                slots: nectar_mgmt::limits::Slots::new(
                    "NETCONF sessions",
                    ("netconf.max_sessions", "netconf.max_sessions_per_user"),
                    settings.max_sessions as usize,
                    settings.max_sessions_per_user as usize,
                ),
                settings,
            }),
        })
    }

    /// Serves dynamic subscriptions (RFC 8639, 8641 over RFC 8640) from
    /// `subs`, the subscriptions of the whole daemon.
    pub fn with_subscriptions(mut self, subs: Arc<nectar_mgmt::push::Subscriptions>) -> Self {
        match Arc::get_mut(&mut self.shared) {
            Some(s) => s.subscriptions = Some(subs),
            None => tracing::error!("netconf: subscriptions given to a server already serving"),
        }
        self
    }

    /// The capabilities the server's hello advertises.
    pub fn capabilities(&self) -> &[String] {
        &self.shared.capabilities
    }

    /// Runs one NETCONF session for an already authenticated user over any
    /// byte stream (the SSH channel in the daemon; a pipe in tests and
    /// benchmarks). Returns when the session ends, or at once when the
    /// session limits refuse it (what the SSH transport refuses).
    pub async fn run_session<S>(
        &self,
        stream: S,
        user: UserCtx,
    ) -> Result<(), nectar_mgmt::limits::Refused>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let _slot = self.shared.slots.try_acquire(&user.name)?;
        session::run(Arc::clone(&self.shared), stream, user, None).await;
        Ok(())
    }

    /// Serves NETCONF over SSH on `listener` until `stop` turns true.
    /// `host_key` is the server's private key in OpenSSH format.
    pub async fn serve(
        self,
        listener: TcpListener,
        host_key: &str,
        auth: Arc<dyn Authenticator>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let key = russh::keys::PrivateKey::from_openssh(host_key)
            .map_err(|e| Error::HostKey(e.to_string()))?;
        let mut methods = russh::MethodSet::empty();
        methods.push(russh::MethodKind::Password);
        methods.push(russh::MethodKind::PublicKey);
        let config = Arc::new(russh::server::Config {
            server_id: russh::SshId::Standard("SSH-2.0-nectar".into()),
            methods,
            auth_rejection_time: Duration::from_millis(500),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![key],
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(60)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        });
        // Connections still authenticating or running, bounded so that a
        // flood of TCP connections cannot exhaust the process.
        let max_conns = (self.shared.settings.max_sessions as usize)
            .saturating_mul(2)
            .max(16);
        let conns = Arc::new(AtomicU32::new(0));
        loop {
            let (tcp, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "NETCONF accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped(&mut stop) => break,
            };
            if conns.load(Ordering::SeqCst) as usize >= max_conns {
                tracing::warn!(%peer, "NETCONF connection refused: too many connections");
                drop(tcp);
                continue;
            }
            let _ = tcp.set_nodelay(true);
            conns.fetch_add(1, Ordering::SeqCst);
            let handler = ssh::Conn {
                shared: Arc::clone(&self.shared),
                auth: Arc::clone(&auth),
                peer: Some(peer),
                user: None,
                channels: HashMap::new(),
            };
            let config = Arc::clone(&config);
            let conns = Arc::clone(&conns);
            tokio::spawn(async move {
                match russh::server::run_stream(config, tcp, handler).await {
                    Ok(running) => {
                        if let Err(e) = running.await {
                            tracing::debug!(%peer, error = %e, "SSH connection ended");
                        }
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "SSH handshake failed"),
                }
                conns.fetch_sub(1, Ordering::SeqCst);
            });
        }
        Ok(())
    }
}

/// Resolves once the stop signal is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves NETCONF over SSH on `listener` until `stop` turns true (see
/// [`Server::serve`]).
pub async fn serve(
    listener: TcpListener,
    settings: NetconfSettings,
    host_key: &str,
    auth: Arc<dyn Authenticator>,
    mgmt: MgmtHandle,
    notifications: Option<Arc<Notifications>>,
    stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    Server::new(settings, mgmt, notifications)
        .await?
        .serve(listener, host_key, auth, stop)
        .await
}
