//! The ONAP VES 7.2.1 client (VNF Event Stream): builds events ([`event`]) from what the
//! dataplane and the management core report ([`monitor`]), keeps them in an on-disk spool
//! ([`spool`]) and delivers them in order to the collector ([`delivery`]). Thresholds for
//! threshold-crossing alerts are configuration in nectar's own YANG module
//! `nectar-telemetry`, served by [`provider::TelemetryProvider`] ([`thresholds`]).
//!
//! Start-up: create [`VesState`] first (the provider needs it when the management core opens),
//! register the provider, then [`Ves::start`] once the core and the dataplane run.

pub mod delivery;
pub mod event;
pub mod monitor;
pub mod provider;
pub mod spool;
pub mod thresholds;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use nectar_dataplane::Dataplane;
use nectar_mgmt::MgmtHandle;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use delivery::{Delivery, DeliveryMetrics, Intervals, Target};
use event::EventFactory;
use monitor::{Inputs, Monitor};
use spool::Spool;
use thresholds::ThresholdConfig;

/// Everything the VES client needs to know, from the daemon's `[ves]` section.
#[derive(Debug, Clone)]
pub struct VesSettings {
    /// Collector base URL, with or without `/eventListener/v7`.
    pub collector_url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub heartbeat_interval: Duration,
    pub measurement_interval: Duration,
    /// `sourceName` and `reportingEntityName` of every event.
    pub source_name: String,
    /// Extra CA certificates (PEM) trusted for an HTTPS collector.
    pub ca_pem: Option<Vec<u8>>,
    /// The spool directory.
    pub buffer_dir: PathBuf,
    /// The spool's bound, in bytes.
    pub buffer_max_bytes: u64,
    /// Events per batch at most.
    pub batch_max_events: usize,
    /// The longest wait between two delivery attempts.
    pub retry_max_interval: Duration,
}

/// Why the VES client could not start.
#[derive(Debug, thiserror::Error)]
pub enum VesError {
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error("VES HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("VES metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// One evaluated threshold target, for the operational state.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdValue {
    pub interface: Option<String>,
    pub value: f64,
    pub active: bool,
}

/// What the VES client reports about itself (served as `nectar-telemetry` state).
#[derive(Debug, Default)]
pub struct Status {
    collector: OnceLock<String>,
    heartbeat_s: AtomicU64,
    measurement_s: AtomicU64,
    sent: AtomicU64,
    failed_attempts: AtomicU64,
    spool: OnceLock<Arc<Spool>>,
    thresholds: Mutex<BTreeMap<String, Vec<ThresholdValue>>>,
}

impl Status {
    fn set_intervals(&self, hb: Duration, meas: Duration) {
        self.heartbeat_s.store(hb.as_secs(), Ordering::Relaxed);
        self.measurement_s.store(meas.as_secs(), Ordering::Relaxed);
    }

    fn delivered(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
    }

    fn set_threshold_values(&self, v: Vec<(String, Option<String>, f64, bool)>) {
        let mut map: BTreeMap<String, Vec<ThresholdValue>> = BTreeMap::new();
        for (name, interface, value, active) in v {
            map.entry(name).or_default().push(ThresholdValue {
                interface,
                value,
                active,
            });
        }
        *self.thresholds.lock().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// The collector URL, when the client runs.
    pub fn collector(&self) -> Option<&str> {
        self.collector.get().map(String::as_str)
    }

    /// Heartbeat and measurement intervals in effect, in seconds (collector commands change
    /// them).
    pub fn intervals(&self) -> (u64, u64) {
        (
            self.heartbeat_s.load(Ordering::Relaxed),
            self.measurement_s.load(Ordering::Relaxed),
        )
    }

    /// Events delivered, failed delivery attempts, and events buffered now.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.failed_attempts.load(Ordering::Relaxed),
            self.spool.get().map_or(0, |s| s.len() as u64),
        )
    }

    /// The last evaluated values of each threshold.
    pub fn threshold_values(&self) -> BTreeMap<String, Vec<ThresholdValue>> {
        self.thresholds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What the provider and the VES client share: the threshold configuration (the provider
/// publishes each commit's) and the client's status.
#[derive(Debug, Clone)]
pub struct VesState {
    thresholds: watch::Sender<Arc<ThresholdConfig>>,
    status: Arc<Status>,
}

impl Default for VesState {
    fn default() -> Self {
        VesState::new()
    }
}

impl VesState {
    pub fn new() -> VesState {
        VesState {
            thresholds: watch::Sender::new(Arc::new(ThresholdConfig::default())),
            status: Arc::new(Status::default()),
        }
    }

    /// The threshold configuration in effect.
    pub fn thresholds(&self) -> Arc<ThresholdConfig> {
        self.thresholds.borrow().clone()
    }

    pub fn status(&self) -> &Arc<Status> {
        &self.status
    }

    fn publish(&self, cfg: ThresholdConfig) {
        self.thresholds.send_if_modified(|have| {
            if **have == cfg {
                false
            } else {
                *have = Arc::new(cfg);
                true
            }
        });
    }
}

/// Spool figures at scrape time.
struct SpoolCollector {
    spool: Arc<Spool>,
    buffered: IntGauge,
    bytes: IntGauge,
    discarded: prometheus::IntCounter,
}

impl Collector for SpoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.buffered.desc();
        d.extend(self.bytes.desc());
        d.extend(self.discarded.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.buffered.set(self.spool.len() as i64);
        self.bytes.set(self.spool.bytes() as i64);
        let discarded = self.spool.discarded();
        let have = self.discarded.get();
        if discarded > have {
            self.discarded.inc_by(discarded - have);
        }
        let mut m = self.buffered.collect();
        m.extend(self.bytes.collect());
        m.extend(self.discarded.collect());
        m
    }
}

/// The running VES client.
#[derive(Debug)]
pub struct Ves {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    spool: Arc<Spool>,
}

impl Ves {
    /// Opens the spool, registers the VES metrics in `registry`, and starts the monitor and
    /// the delivery tasks on the current tokio runtime.
    pub fn start(
        settings: VesSettings,
        shared: &VesState,
        dp: Option<Arc<Dataplane>>,
        mgmt: Option<&MgmtHandle>,
        registry: &Registry,
    ) -> Result<Ves, VesError> {
        let spool = Arc::new(Spool::open(
            &settings.buffer_dir,
            settings.buffer_max_bytes,
        )?);
        let delivery_metrics = DeliveryMetrics::register(registry)?;
        registry.register(Box::new(SpoolCollector {
            spool: spool.clone(),
            buffered: IntGauge::new(
                "nectar_ves_events_buffered",
                "VES events waiting for delivery (in the on-disk buffer).",
            )?,
            bytes: IntGauge::new(
                "nectar_ves_buffer_bytes",
                "Size of the VES on-disk buffer, in bytes.",
            )?,
            discarded: prometheus::IntCounter::new(
                "nectar_ves_events_discarded_total",
                "VES events dropped because the on-disk buffer was full.",
            )?,
        }))?;
        let status = shared.status.clone();
        let _ = status.collector.set(settings.collector_url.clone());
        let _ = status.spool.set(spool.clone());
        let heartbeat = watch::Sender::new(settings.heartbeat_interval);
        let measurement = watch::Sender::new(settings.measurement_interval);
        let delivery = Delivery::new(
            Target {
                base: Target::base_of(&settings.collector_url),
                username: settings.username.clone(),
                password: settings.password.clone(),
                ca_pem: settings.ca_pem.clone(),
                batch_max: settings.batch_max_events.max(1),
                retry_max: settings.retry_max_interval,
            },
            spool.clone(),
            Intervals {
                heartbeat: heartbeat.clone(),
                measurement: measurement.clone(),
            },
            delivery_metrics,
            status.clone(),
        )?;
        let factory = Arc::new(EventFactory::new(&settings.source_name));
        let monitor = Monitor::new(factory, spool.clone(), status, dp.clone());
        let inputs = Inputs {
            dp,
            mgmt: mgmt.map(MgmtHandle::subscribe),
            heartbeat: heartbeat.subscribe(),
            measurement: measurement.subscribe(),
            thresholds: shared.thresholds.subscribe(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(monitor.run(inputs, stop_rx.clone())),
            tokio::spawn(delivery.run(stop_rx)),
        ];
        tracing::info!(collector = %settings.collector_url, "VES client started");
        Ok(Ves { stop, tasks, spool })
    }

    /// Events waiting for delivery.
    pub fn buffered(&self) -> usize {
        self.spool.len()
    }

    /// Stops the tasks (buffered events stay on disk for the next start).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
