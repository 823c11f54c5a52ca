//! The nectar daemon: command line, configuration file and wiring. Builds the
//! model set and the management core, and starts the listeners; SIGTERM or
//! Ctrl-C stop it cleanly.

mod config;
mod credentials;
mod dataplane;
mod memory;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use nectar_mgmt::{Core, CoreConfig, MgmtHandle, Registry};

/// nectar: a YANG management plane (NETCONF, RESTCONF, gNMI, Prometheus, VES)
/// for a stateful userspace vswitch.
#[derive(Debug, Parser)]
#[command(name = "nectar", version, about)]
struct Cli {
    /// Configuration file (TOML). Without it nectar runs its embedded default:
    /// loopback listeners, ./nectar-state, credentials generated on first run.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Check the configuration, print it with every default filled in, and
    /// exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nectar: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check_config {
        match toml::to_string_pretty(&cfg) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("nectar: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    init_logging(&cfg.log.level);
    memory::return_large_blocks();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nectar: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("nectar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn run(cfg: config::Config) -> anyhow::Result<()> {
    // One TLS crypto provider for the whole process (RESTCONF, gNMI, VES):
    // with none installed, rustls cannot choose when more than one is linked.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let creds = credentials::Credentials::load_or_create(&cfg).context("credentials")?;
    info!(
        state_dir = %cfg.state_dir.display(),
        users = creds.users.len(),
        host_key = %creds.host_key.public_key().fingerprint(Default::default()),
        "credentials ready"
    );
    if cfg.uses_generated_admin() {
        info!(
            file = %cfg.state_dir.join("initial-admin-password").display(),
            "user admin: the password generated on first run is in this file"
        );
    }

    // The management modules; the network models are implemented together
    // with the dataplane northbound providers that serve them.
    let ctx = nectar_yang::ModelSet::management()
        .with(nectar_yang::models::NETWORK)
        .with(nectar_yang::models::DEVIATIONS)
        .with(nectar_yang::models::TELEMETRY)
        .build()
        .context("model set")?;
    let mut registry = Registry::new();
    // nectar-telemetry (VES thresholds): its provider publishes each commit's
    // thresholds to the VES client started below.
    let telemetry = nectar_telemetry::ves::Shared::new();
    registry.register(nectar_telemetry::ves::provider::TelemetryProvider::new(
        telemetry.clone(),
    ));

    // The vswitch: the ports of [dataplane] exist from start-up as system-created
    // interfaces; the northbound provider maps the network models onto it, and
    // Core::open replays running into it. `dataplane` stays available to the
    // rest of main (telemetry reads dataplane.stats() at scrape time).
    let dataplane = dataplane::build(&cfg.dataplane)?;
    let (northbound, _northbound_handle) =
        nectar_dataplane::northbound::Northbound::new(dataplane.clone());
    // Interfaces keep their if-index across restarts.
    let index_file = cfg.state_dir.join("if-index.json");
    if let Err(e) = northbound.persist_indices(index_file.clone()) {
        tracing::error!(
            file = %index_file.display(),
            error = %e,
            "cannot read the saved interface indices: interfaces are numbered afresh"
        );
    }
    registry.register(northbound);
    info!(
        ports = cfg.dataplane.ports.len(),
        workers = cfg.dataplane.workers,
        "dataplane running"
    );
    let core_cfg = CoreConfig {
        state_dir: cfg.state_dir.clone(),
        load: match cfg.datastore.load {
            config::LoadFrom::Startup => nectar_mgmt::LoadFrom::Startup,
            config::LoadFrom::Running => nectar_mgmt::LoadFrom::Running,
        },
        history: cfg.datastore.history as usize,
        compact_bytes: cfg.datastore.compact_journal_bytes,
        confirm_timeout: Duration::from_secs(cfg.datastore.confirm_timeout_default_s),
    };
    let (events, _) = broadcast::channel(4096);
    // Link up/down and table-full events of the dataplane enter the bus.
    nectar_dataplane::northbound::spawn_event_forwarder(&dataplane, events.clone())
        .context("dataplane event forwarder")?;
    // The NETCONF stream (RFC 5277) with its replay buffer, shared by NETCONF
    // notifications and RESTCONF event streams.
    let notifications = nectar_mgmt::notify::Notifications::spawn(
        events.subscribe(),
        nectar_mgmt::notify::DEFAULT_REPLAY_CAPACITY,
    );
    let core = tokio::task::block_in_place(|| Core::open(ctx, core_cfg, registry, events.clone()))
        .map_err(|e| anyhow::anyhow!("datastore: {e}"))?;
    let handle = MgmtHandle::spawn(core, events);
    info!(
        commit = handle.call(|c| c.commit_id()).await?,
        "management core running"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let metrics = nectar_telemetry::metrics::Metrics::new(env!("CARGO_PKG_VERSION"));
    metrics
        .add_dataplane(dataplane.clone())
        .context("metrics: dataplane")?;
    metrics
        .follow_mgmt(handle.clone())
        .context("metrics: management sessions")?;
    let ves = if cfg.ves.enabled() {
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
                &telemetry,
                Some(dataplane.clone()),
                Some(&handle),
                metrics.registry(),
            )
            .context("ves")?,
        )
    } else {
        info!("ves: no collector_url, VES events are off");
        None
    };
    let listener = tokio::net::TcpListener::bind(cfg.metrics.listen)
        .await
        .with_context(|| format!("metrics.listen {}", cfg.metrics.listen))?;
    info!(listen = %listener.local_addr()?, "metrics: serving /metrics");
    let metrics_task = tokio::spawn(nectar_telemetry::metrics::serve(
        listener,
        metrics,
        stopped(stop_rx.clone()),
    ));

    // NETCONF over SSH (RFC 6241/6242), with notifications (RFC 5277).
    let netconf_task = {
        let listener = tokio::net::TcpListener::bind(cfg.netconf.listen)
            .await
            .with_context(|| format!("netconf.listen {}", cfg.netconf.listen))?;
        info!(listen = %listener.local_addr()?, "netconf: serving NETCONF over SSH");
        let settings = nectar_netconf::NetconfSettings {
            max_sessions: cfg.netconf.max_sessions,
            max_message_bytes: usize::try_from(cfg.netconf.max_message_bytes).unwrap_or(usize::MAX),
            idle_timeout: (cfg.netconf.idle_timeout_s > 0)
                .then(|| Duration::from_secs(cfg.netconf.idle_timeout_s)),
            ..Default::default()
        };
        let host_key = creds
            .host_key
            .to_openssh(ssh_key::LineEnding::LF)
            .context("netconf: SSH host key")?;
        let auth: std::sync::Arc<dyn nectar_mgmt::Authenticator> =
            std::sync::Arc::new(creds.users.clone());
        let server =
            nectar_netconf::Server::new(settings, handle.clone(), Some(notifications.clone()))
                .await
                .context("netconf")?;
        let stop = stop_rx.clone();
        tokio::spawn(async move { server.serve(listener, &host_key, auth, stop).await })
    };

    // RESTCONF over HTTPS (RFC 8040, 8072, 8527), HTTP/1.1 and HTTP/2, with
    // event streams from the same notification log as NETCONF.
    let restconf_task = {
        let listener = tokio::net::TcpListener::bind(cfg.restconf.listen)
            .await
            .with_context(|| format!("restconf.listen {}", cfg.restconf.listen))?;
        let tls = if cfg.restconf.tls {
            Some(
                nectar_restconf::tls_config(&creds.tls.cert_pem, &creds.tls.key_pem)
                    .map_err(|e| anyhow::anyhow!("restconf: {e}"))?,
            )
        } else {
            warn!("restconf.tls = false: RESTCONF will be served over plain HTTP");
            None
        };
        info!(listen = %listener.local_addr()?, tls = cfg.restconf.tls, "restconf: serving RESTCONF");
        let app = nectar_restconf::app(nectar_restconf::Options {
            handle: handle.clone(),
            auth: std::sync::Arc::new(creds.users.clone()),
            notifications: Some(notifications.clone()),
            https: cfg.restconf.tls,
            stop: Some(stop_rx.clone()),
        });
        tokio::spawn(nectar_restconf::serve(listener, app, tls, stop_rx.clone()))
    };
    // gNMI over gRPC (gNMI 0.10: Capabilities, Get, Set, Subscribe), TLS with
    // the same certificate as RESTCONF unless gnmi.tls = false.
    let gnmi_task = {
        let listener = tokio::net::TcpListener::bind(cfg.gnmi.listen)
            .await
            .with_context(|| format!("gnmi.listen {}", cfg.gnmi.listen))?;
        let tls = if cfg.gnmi.tls {
            Some(nectar_gnmi::TlsPem {
                cert_pem: creds.tls.cert_pem.clone(),
                key_pem: creds.tls.key_pem.clone(),
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
            ..Default::default()
        };
        info!(listen = %listener.local_addr()?, tls = cfg.gnmi.tls, "gnmi: serving gNMI");
        let service = nectar_gnmi::GnmiService::new(
            handle.clone(),
            std::sync::Arc::new(creds.users.clone()),
            options,
        );
        tokio::spawn(nectar_gnmi::serve(
            listener,
            service,
            tls,
            stopped(stop_rx.clone()),
        ))
    };

    shutdown_signal().await;
    info!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(ves) = ves {
        ves.stop().await;
    }
    if let Ok(Err(e)) = metrics_task.await {
        warn!(error = %e, "metrics listener ended with an error");
    }
    if let Ok(Err(e)) = netconf_task.await {
        warn!(error = %e, "netconf listener ended with an error");
    }
    if let Ok(Err(e)) = restconf_task.await {
        warn!(error = %e, "restconf listener ended with an error");
    }
    if let Ok(Err(e)) = gnmi_task.await {
        warn!(error = %e, "gnmi listener ended with an error");
    }
    drop(handle);
    info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
