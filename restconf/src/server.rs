//! The listener: accepts TCP connections, does TLS (rustls, ALPN `h2` and
//! `http/1.1`) when configured, and serves the router with hyper-util's
//! automatic HTTP/1.1 / HTTP/2 connection builder, up to a number of open
//! connections (RESTCONF's `max_connections`). On stop it stops
//! accepting and lets open connections finish their requests (event streams
//! end on the same signal), up to a grace period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How long open connections may take to finish after stop.
const GRACE: Duration = Duration::from_secs(5);

/// How long a TLS handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A rustls server configuration from a PEM certificate chain and key,
/// offering HTTP/2 and HTTP/1.1 by ALPN.
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("TLS certificate: {e}"))?;
    if certs.is_empty() {
        return Err("TLS certificate: no certificate in the PEM".into());
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("TLS key: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// One open connection, counted until dropped.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Counted(Arc::clone(open))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard wait_for returns is dropped here, not held across awaits.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Serves `app` on `listener` until `stop` becomes true, with at most
/// `max_connections` connections open at once: a connection beyond is
/// closed as soon as it is accepted (before TLS), with a log line, so that
/// a flood of idle connections cannot exhaust the process's descriptors.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    mut stop: watch::Receiver<bool>,
    max_connections: usize,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "restconf: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        if open.load(Ordering::SeqCst) >= max_connections {
            tracing::warn!(
                %peer,
                max_connections,
                "connection refused: too many connections open"
            );
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let counted = Counted::new(&open);
        tokio::spawn(async move {
            let _counted = counted;
            let builder = auto::Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "restconf: TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "restconf: TLS handshake timed out");
                            return;
                        }
                    };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    watcher.watch(conn.into_owned()).await
                }
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "restconf: connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(GRACE) => {
            tracing::info!("restconf: connections still open after the grace period; closing");
        }
    }
    Ok(())
}
