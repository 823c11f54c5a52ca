//! The daemon's listeners, one function each: the metrics and probes listener, NETCONF,
//! RESTCONF and gNMI, and the VES client, started from the configuration with what they
//! share ([`Common`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use nectar_mgmt::MgmtHandle;

use crate::config;
use crate::credentials::Credentials;

/// What every listener is started with.
pub struct Common<'a> {
    pub cfg: &'a config::Config,
    pub creds: &'a Credentials,
    /// One user database for every door (and the metrics listener), so that the bound on
    /// password checks running at once holds over all of them.
    pub users: Arc<dyn nectar_mgmt::Authenticator>,
    pub document: nectar_yang::encoding::Limits,
    pub health: nectar_telemetry::health::Health,
    pub stop: watch::Receiver<bool>,
}

/// A listener's task: its error, if it ended with one.
pub type Task = JoinHandle<Result<(), String>>;

/// Binds a door's listener; an error names its `<door>.listen` key.
async fn bind(door: &str, addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{door}.listen {addr}"))
}

/// The rustls configuration of an HTTPS door (metrics, RESTCONF) from the daemon's
/// certificate, when `tls` is on.
fn https(
    door: &str,
    tls: bool,
    creds: &Credentials,
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    if !tls {
        return Ok(None);
    }
    nectar_restconf::tls_config(&creds.tls.cert_pem, &creds.tls.key_pem)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{door}: {e}"))
}

/// The metrics listener (`/metrics`, `/healthz`, `/readyz`). It comes first, so the probes
/// answer (not ready, with the reason) while the datastore loads.
pub async fn metrics(
    sh: &Common<'_>,
    metrics: &nectar_telemetry::metrics::Metrics,
) -> anyhow::Result<Task> {
    let cfg = sh.cfg;
    let listener = bind("metrics", cfg.metrics.listen).await?;
    let tls = https("metrics", cfg.metrics.tls, sh.creds)?;
    let auth =
        cfg.metrics
            .scrape_group
            .as_ref()
            .map(|group| nectar_telemetry::metrics::ScrapeAuth {
                passwords: std::sync::Arc::new(nectar_mgmt::PasswordCache::new(
                    sh.users.clone(),
                    Duration::from_secs(60),
                )),
                group: group.clone(),
            });
    info!(
        listen = %listener.local_addr()?,
        tls = cfg.metrics.tls,
        scrape_group = cfg.metrics.scrape_group.as_deref().unwrap_or("(none: no authentication)"),
        "metrics: serving /metrics, /healthz, /readyz"
    );
    let app = nectar_telemetry::metrics::app_with(metrics.clone(), sh.health.clone(), auth);
    let serve = nectar_restconf::serve(
        listener,
        app,
        tls,
        sh.stop.clone(),
        cfg.metrics.max_connections as usize,
    );
    Ok(tokio::spawn(async move {
        serve.await.map_err(|e| e.to_string())
    }))
}

/// NETCONF over SSH (RFC 6241/6242), with notifications (RFC 5277).
pub async fn netconf(
    sh: &Common<'_>,
    handle: &MgmtHandle,
    notifications: &Arc<nectar_mgmt::notify::Notifications>,
    subscriptions: &Arc<nectar_mgmt::push::Subscriptions>,
) -> anyhow::Result<Task> {
    let cfg = sh.cfg;
    let listener = bind("netconf", cfg.netconf.listen).await?;
    info!(listen = %listener.local_addr()?, "netconf: serving NETCONF over SSH");
    sh.health.listener_bound("netconf");
    let n = &cfg.netconf;
    let settings = nectar_netconf::NetconfSettings {
        max_sessions: n.max_sessions,
        max_sessions_per_user: n.max_sessions_per_user,
        max_message_bytes: usize::try_from(n.max_message_bytes).unwrap_or(usize::MAX),
        idle_timeout: (n.idle_timeout_s > 0).then(|| Duration::from_secs(n.idle_timeout_s)),
        hello_timeout: Duration::from_secs(n.hello_timeout_s),
        xml: nectar_netconf::xml::Limits {
            max_depth: n.max_xml_depth as usize,
            max_elements: usize::try_from(n.max_xml_elements).unwrap_or(usize::MAX),
        },
        filter: nectar_netconf::filter::Limits {
            max_nodes: usize::try_from(n.max_filter_nodes).unwrap_or(usize::MAX),
            max_xpath_bytes: usize::try_from(n.max_xpath_bytes).unwrap_or(usize::MAX),
        },
        document: sh.document,
    };
    let host_key = sh
        .creds
        .host_key
        .to_openssh(ssh_key::LineEnding::LF)
        .context("netconf: SSH host key")?;
    let auth = sh.users.clone();
    let server = nectar_netconf::Server::new(settings, handle.clone(), Some(notifications.clone()))
        .await
        .context("netconf")?
        .with_subscriptions(subscriptions.clone());
    let stop = sh.stop.clone();
    Ok(tokio::spawn(async move {
        server
            .serve(listener, &host_key, auth, stop)
            .await
            .map_err(|e| e.to_string())
    }))
}

/// RESTCONF over HTTPS (RFC 8040, 8072, 8527), HTTP/1.1 and HTTP/2, with event streams
/// from the same notification log as NETCONF.
pub async fn restconf(
    sh: &Common<'_>,
    handle: &MgmtHandle,
    notifications: &Arc<nectar_mgmt::notify::Notifications>,
    subscriptions: &Arc<nectar_mgmt::push::Subscriptions>,
) -> anyhow::Result<Task> {
    let cfg = sh.cfg;
    let listener = bind("restconf", cfg.restconf.listen).await?;
    let tls = https("restconf", cfg.restconf.tls, sh.creds)?;
    if tls.is_none() {
        warn!("restconf.tls = false: RESTCONF will be served over plain HTTP");
    }
    info!(listen = %listener.local_addr()?, tls = cfg.restconf.tls, "restconf: serving RESTCONF");
    sh.health.listener_bound("restconf");
    let r = &cfg.restconf;
    let app = nectar_restconf::app(nectar_restconf::Options {
        handle: handle.clone(),
        auth: sh.users.clone(),
        notifications: Some(notifications.clone()),
        subscriptions: Some(subscriptions.clone()),
        https: r.tls,
        stop: Some(sh.stop.clone()),
        limits: nectar_restconf::Limits {
            max_body_bytes: usize::try_from(r.max_body_bytes).unwrap_or(usize::MAX),
            max_requests: r.max_requests as usize,
            max_requests_per_user: r.max_requests_per_user as usize,
            max_streams: r.max_streams as usize,
            max_streams_per_user: r.max_streams_per_user as usize,
            document: sh.document,
        },
    });
    let serve = nectar_restconf::serve(
        listener,
        app,
        tls,
        sh.stop.clone(),
        r.max_connections as usize,
    );
    Ok(tokio::spawn(async move {
        serve.await.map_err(|e| e.to_string())
    }))
}

/// gNMI over gRPC (gNMI 0.10: Capabilities, Get, Set, Subscribe) and gNOI (System,
/// Healthz) on the same listener, TLS with the same
/// certificate as RESTCONF unless `gnmi.tls = false`.
pub async fn gnmi(
    sh: &Common<'_>,
    handle: &MgmtHandle,
    platform: Arc<dyn nectar_gnmi::gnoi::Platform>,
) -> anyhow::Result<Task> {
    let cfg = sh.cfg;
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let listener = bind("gnmi", cfg.gnmi.listen).await?;
    let tls = if cfg.gnmi.tls {
        Some(nectar_gnmi::TlsPem {
            cert_pem: sh.creds.tls.cert_pem.clone(),
            key_pem: sh.creds.tls.key_pem.clone(),
        })
    } else {
        warn!("gnmi.tls = false: gNMI will be served over plaintext gRPC");
        None
    };
    let g = &cfg.gnmi;
    let options = nectar_gnmi::Options {
        min_sample_interval: Duration::from_millis(g.min_sample_interval_ms),
        target_defined_interval: Duration::from_millis(g.target_defined_interval_ms),
        state_poll_interval: Duration::from_millis(g.state_poll_interval_ms),
        max_pending: usize::try_from(g.max_pending_updates).unwrap_or(usize::MAX),
        max_message_bytes: usize::try_from(g.max_message_bytes).unwrap_or(usize::MAX),
        max_sessions: g.max_sessions as usize,
        max_sessions_per_user: g.max_sessions_per_user as usize,
        max_subscriptions_per_user: g.max_subscriptions_per_user as usize,
        document: sh.document,
        ..Default::default()
    };
    info!(listen = %listener.local_addr()?, tls = cfg.gnmi.tls, "gnmi: serving gNMI");
    sh.health.listener_bound("gnmi");
    let service = nectar_gnmi::GnmiService::new(handle.clone(), sh.users.clone(), options)
        .with_gnoi(platform);
    let serve = nectar_gnmi::serve(listener, service, tls, stopped(sh.stop.clone()));
    Ok(tokio::spawn(async move {
        serve.await.map_err(|e| e.to_string())
    }))
}

/// The VES client, when a collector is configured.
pub fn ves(
    cfg: &config::Config,
    telemetry: &nectar_telemetry::ves::VesState,
    dataplane: &Arc<nectar_dataplane::Dataplane>,
    handle: &MgmtHandle,
    metrics: &nectar_telemetry::metrics::Metrics,
) -> anyhow::Result<Option<nectar_telemetry::ves::Ves>> {
    Ok(if cfg.ves.enabled() {
        let v = &cfg.ves;
        let ca_pem = match &v.ca_file {
            Some(p) => {
                Some(std::fs::read(p).with_context(|| format!("ves.ca_file {}", p.display()))?)
            }
            None => None,
        };
        let settings = nectar_telemetry::ves::VesSettings {
            collector_url: v.collector_url.clone(),
            username: v.username.clone(),
            password: v.password.as_ref().map(|p| p.expose().to_owned()),
            heartbeat_interval: Duration::from_secs(v.heartbeat_interval_s),
            measurement_interval: Duration::from_secs(v.measurement_interval_s),
            source_name: v
                .source_name
                .clone()
                .unwrap_or_else(nectar_telemetry::sys::hostname),
            ca_pem,
            buffer_dir: cfg.state_dir.join("ves-buffer"),
            buffer_max_bytes: v.buffer_max_bytes,
            batch_max_events: v.batch_max_events as usize,
            retry_max_interval: Duration::from_secs(v.retry_max_interval_s),
        };
        Some(
            nectar_telemetry::ves::Ves::start(
                settings,
                telemetry,
                Some(dataplane.clone()),
                Some(handle),
                metrics.registry(),
            )
            .context("ves")?,
        )
    } else {
        info!("ves: no collector_url, VES events are off");
        None
    })
}
