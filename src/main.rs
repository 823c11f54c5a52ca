//! The nectar daemon: command line, configuration file and wiring. Builds the
//! model set and the management core, and starts the listeners; SIGTERM or
//! Ctrl-C stop it cleanly.

mod config;
mod credentials;
mod dataplane;
mod doors;
mod memory;
mod platform;

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

    /// Check a configuration file (or the one given by --config, or the embedded default),
    /// print it with every default filled in, and exit: 0 if valid, 2 if not. Secret files
    /// it refers to are not read.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    check_config: Option<PathBuf>,

    /// Log format: human-readable `text`, or `json` (one object per line) for log
    /// collectors. Overrides `log.format`.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<config::LogFormat>,

    /// Read a password from standard input (one line), print its argon2id hash for
    /// `password_hash` / `password_hash_file`, and exit.
    #[arg(long)]
    hash_password: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.hash_password {
        return hash_password();
    }
    let path = match &cli.check_config {
        Some(p) if !p.as_os_str().is_empty() => Some(p.as_path()),
        _ => cli.config.as_deref(),
    };
    let mut cfg = match config::Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nectar: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check_config.is_some() {
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
    if let Some(format) = cli.log_format {
        cfg.log.format = format;
    }
    init_logging(&cfg.log.level, cfg.log.format);
    memory::return_large_blocks();
    memory::spawn_trimmer();
    if let Err(e) = cfg.read_secret_files() {
        tracing::error!("{e:#}");
        eprintln!("nectar: {e:#}");
        return ExitCode::from(2);
    }
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
    let exit = runtime.block_on(run(cfg));
    // Work left on blocking threads (a probe loop between two answers) is not
    // waited for past this.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match exit {
        Ok(Exit::Stop) => ExitCode::SUCCESS,
        Ok(Exit::Restart) => restart(),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("nectar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: config::LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        config::LogFormat::Text => builder.init(),
        config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// `--hash-password`: one line of standard input → its argon2id PHC string.
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("nectar: cannot read the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("nectar: empty password");
        return ExitCode::from(2);
    }
    match credentials::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nectar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How the daemon ends.
enum Exit {
    /// Stopped (SIGTERM, Ctrl-C).
    Stop,
    /// A gNOI COLD reboot: the daemon runs itself again.
    Restart,
}

/// Runs this program again in this process (same command line, same PID, so a
/// container or a supervisor sees no exit); the new run loads the stored
/// datastores and replays running, as at any start. Returns only on failure.
fn restart() -> ExitCode {
    use std::os::unix::process::CommandExt;
    info!("restarting");
    let mut args = std::env::args_os();
    let _ = args.next();
    let e = std::process::Command::new("/proc/self/exe")
        .args(args)
        .exec();
    eprintln!("nectar: cannot restart: {e}");
    ExitCode::FAILURE
}

async fn run(cfg: config::Config) -> anyhow::Result<Exit> {
    // First, so that a SIGTERM arriving while the doors open is kept, not fatal.
    let shutdown = shutdown_signal()?;
    // One TLS crypto provider for the whole process (RESTCONF, gNMI, VES):
    // with none installed, rustls cannot choose when more than one is linked.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let creds = load_credentials(&cfg)?;
    // One user database for every door (and the metrics listener), so that the bound on
    // password checks running at once holds over all of them.
    let users: std::sync::Arc<dyn nectar_mgmt::Authenticator> =
        std::sync::Arc::new(nectar_mgmt::BoundedChecks::new(
            std::sync::Arc::new(creds.users.clone()),
            cfg.limits.password_checks as usize,
        ));
    let document = nectar_yang::encoding::Limits {
        max_depth: cfg.limits.document_depth as usize,
    };

    // The management modules; the network models are implemented together
    // with the dataplane northbound providers that serve them.
    let ctx = nectar_yang::ModelSet::management()
        .with(nectar_yang::models::NETWORK)
        .with(nectar_yang::models::DEVIATIONS)
        .with(nectar_yang::models::TELEMETRY)
        .with(nectar_yang::models::SUBSCRIPTIONS)
        .build()
        .context("model set")?;
    let mut registry = Registry::new();
    // nectar-telemetry (VES thresholds): its provider publishes each commit's
    // thresholds to the VES client started below.
    let telemetry = nectar_telemetry::ves::VesState::new();
    registry.register(nectar_telemetry::ves::provider::TelemetryProvider::new(
        telemetry.clone(),
    ));

    // The vswitch: the ports of [dataplane] exist from start-up as system-created
    // interfaces; the northbound provider maps the network models onto it, and
    // Core::open replays running into it. `dataplane` stays available to the
    // rest of main (telemetry reads dataplane.stats() at scrape time).
    let (dataplane, northbound) = start_dataplane(&cfg, &mut registry)?;
    let (events, _) = broadcast::channel(4096);
    // The NETCONF stream (RFC 5277) with its replay buffer, shared by NETCONF
    // notifications, RESTCONF event streams and dynamic subscriptions.
    let notifications = nectar_mgmt::notify::Notifications::spawn(
        events.subscribe(),
        nectar_mgmt::notify::LogLimits {
            replay_capacity: cfg.notifications.replay_capacity as usize,
            replay_bytes: usize::try_from(cfg.notifications.replay_bytes).unwrap_or(usize::MAX),
            subscriber_queue: cfg.notifications.subscriber_queue as usize,
        },
    );
    // /streams and /subscriptions (RFC 8639) as operational state.
    let (push_state, push_slot) =
        nectar_mgmt::push::state::PushProvider::new(notifications.clone());
    registry.register(push_state);
    registry.register(nectar_mgmt::push::state::FilterProvider);
    let core_cfg = core_config(&cfg);
    // Link up/down and table-full events of the dataplane enter the bus.
    nectar_mapping::spawn_event_forwarder(&dataplane, events.clone())
        .context("dataplane event forwarder")?;
    let (stop_tx, stop_rx) = watch::channel(false);

    // The metrics listener comes first, so /healthz and /readyz answer (not ready, with the
    // reason) while the datastore loads and running is replayed into the dataplane.
    let health = nectar_telemetry::health::Health::new(["netconf", "restconf", "gnmi"]);
    let metrics = nectar_telemetry::metrics::Metrics::new(env!("CARGO_PKG_VERSION"));
    metrics
        .add_dataplane(dataplane.clone())
        .context("metrics: dataplane")?;
    let shared = doors::Common {
        cfg: &cfg,
        creds: &creds,
        users: users.clone(),
        document,
        health: health.clone(),
        stop: stop_rx.clone(),
    };
    let metrics_task = doors::metrics(&shared, &metrics).await?;
    let core = tokio::task::block_in_place(|| Core::open(ctx, core_cfg, registry, events.clone()))
        .map_err(|e| anyhow::anyhow!("datastore: {e}"))?;
    let handle = MgmtHandle::spawn(core, events);
    info!(
        commit = handle.commit_id().await?,
        "management core running"
    );
    health.core_running(handle.clone());
    metrics
        .follow_mgmt(handle.clone())
        .context("metrics: management sessions")?;
    // Dynamic subscriptions (RFC 8639, YANG-Push RFC 8641), one registry for
    // NETCONF and RESTCONF.
    let subscriptions = nectar_mgmt::push::Subscriptions::new(
        handle.context(),
        handle.clone(),
        notifications.clone(),
        cfg.subscriptions.limits(),
    );
    let _ = push_slot.set(std::sync::Arc::downgrade(&subscriptions));
    let ves = doors::ves(&cfg, &telemetry, &dataplane, &handle, &metrics)?;
    // NETCONF over SSH (RFC 6241/6242), with notifications (RFC 5277).
    let netconf_task = doors::netconf(&shared, &handle, &notifications, &subscriptions).await?;
    // RESTCONF over HTTPS (RFC 8040, 8072, 8527), HTTP/1.1 and HTTP/2, with
    // event streams from the same notification log as NETCONF.
    let restconf_task = doors::restconf(&shared, &handle, &notifications, &subscriptions).await?;
    // gNMI over gRPC (gNMI 0.10: Capabilities, Get, Set, Subscribe), TLS with
    // the same certificate as RESTCONF unless gnmi.tls = false.
    // gNOI (System, Healthz) on the gNMI listener.
    let (restart_tx, mut restart_rx) = watch::channel(false);
    let platform = std::sync::Arc::new(platform::Platform {
        health: health.clone(),
        handle: handle.clone(),
        dataplane: dataplane.clone(),
        northbound,
        restart: restart_tx,
        captures: cfg.state_dir.join("captures"),
    });
    let gnmi_task = doors::gnmi(&shared, &handle, platform).await?;
    let exit = tokio::select! {
        _ = shutdown => Exit::Stop,
        _ = restart_rx.wait_for(|r| *r) => Exit::Restart,
    };
    info!("shutting down");
    health.stopping();
    let _ = stop_tx.send(true);
    // Everything closes within SHUTDOWN_GRACE (well inside Kubernetes' default 30 s
    // terminationGracePeriodSeconds); what is still open then is dropped.
    let drain = async {
        if let Some(ves) = ves {
            ves.stop().await;
        }
        let report =
            |name: &str, e: String| warn!(error = %e, "{name} listener ended with an error");
        if let Ok(Err(e)) = metrics_task.await {
            report("metrics", e.to_string());
        }
        if let Ok(Err(e)) = netconf_task.await {
            report("netconf", e.to_string());
        }
        if let Ok(Err(e)) = restconf_task.await {
            report("restconf", e.to_string());
        }
        if let Ok(Err(e)) = gnmi_task.await {
            report("gnmi", e.to_string());
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "shutdown: listeners still draining after the grace period; stopping anyway"
        );
    }
    drop(handle);
    info!("stopped");
    Ok(exit)
}

/// The credentials (generated on first run), with a log line saying what they are.
fn load_credentials(cfg: &config::Config) -> anyhow::Result<credentials::Credentials> {
    let creds = credentials::Credentials::load_or_create(cfg).context("credentials")?;
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
    Ok(creds)
}

/// The dataplane of `[dataplane]`, with its northbound provider in `registry`
/// (interfaces keep their if-index across restarts).
fn start_dataplane(
    cfg: &config::Config,
    registry: &mut Registry,
) -> anyhow::Result<(
    std::sync::Arc<nectar_dataplane::Dataplane>,
    nectar_mapping::NorthboundHandle,
)> {
    let dataplane = dataplane::build(&cfg.dataplane)?;
    let (northbound, northbound_handle) = nectar_mapping::Northbound::new(dataplane.clone());
    // Interfaces keep their if-index across restarts.
    let index_file = cfg.state_dir.join("if-index.json");
    if let Err(e) = northbound.persist_indices(index_file.clone()) {
        tracing::error!(
            file = %index_file.display(),
            error = %e,
            "cannot read the saved interface indices: interfaces are numbered afresh"
        );
    }
    // capture-stop writes pcap files here.
    northbound.captures_in(cfg.state_dir.join("captures"));
    registry.register(northbound);
    info!(
        ports = cfg.dataplane.ports.len(),
        workers = cfg.dataplane.workers,
        "dataplane running"
    );
    Ok((dataplane, northbound_handle))
}

/// The management core's settings from `[datastore]`.
fn core_config(cfg: &config::Config) -> CoreConfig {
    CoreConfig {
        state_dir: cfg.state_dir.clone(),
        load: match cfg.datastore.load {
            config::LoadFrom::Startup => nectar_mgmt::LoadFrom::Startup,
            config::LoadFrom::Running => nectar_mgmt::LoadFrom::Running,
        },
        history: cfg.datastore.history as usize,
        history_bytes: usize::try_from(cfg.datastore.history_bytes).unwrap_or(usize::MAX),
        compact_bytes: cfg.datastore.compact_journal_bytes,
        confirm_timeout: Duration::from_secs(cfg.datastore.confirm_timeout_default_s),
        max_pending_commits: cfg.datastore.max_pending_commits as usize,
    }
}

/// How long SIGTERM waits for the listeners and the VES client to drain.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Resolves at SIGTERM (as a container runtime sends it) or SIGINT. The handlers are
/// installed when this is called, so a signal that arrives before the future is awaited
/// (while the daemon starts) is kept rather than killing the process.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
