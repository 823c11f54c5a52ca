//! The nectar daemon: command line, configuration file and wiring. Builds the
//! model set and the management core, and starts the listeners; SIGTERM or
//! Ctrl-C stop it cleanly.

mod config;
mod credentials;

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
        .build()
        .context("model set")?;
    let registry = Registry::new();
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
    let listener = tokio::net::TcpListener::bind(cfg.metrics.listen)
        .await
        .with_context(|| format!("metrics.listen {}", cfg.metrics.listen))?;
    info!(listen = %listener.local_addr()?, "metrics: serving /metrics");
    let metrics_task = tokio::spawn(nectar_telemetry::metrics::serve(
        listener,
        metrics,
        stopped(stop_rx.clone()),
    ));

    if !cfg.restconf.tls {
        warn!("restconf.tls = false: RESTCONF will be served over plain HTTP");
    }
    if !cfg.gnmi.tls {
        warn!("gnmi.tls = false: gNMI will be served over plaintext gRPC");
    }

    shutdown_signal().await;
    info!("shutting down");
    let _ = stop_tx.send(true);
    if let Ok(Err(e)) = metrics_task.await {
        warn!(error = %e, "metrics listener ended with an error");
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
