//! Delivery to the VES collector: takes events from the head of the [`Spool`] in batches of
//! one domain, POSTs a single event to `{collector}/eventListener/v7` (`{"event":...}`) and a
//! batch to `{collector}/eventListener/v7/eventBatch` (`{"eventList":[...]}`), with HTTP Basic
//! authentication over HTTP or HTTPS. An event leaves the spool only once the collector
//! accepted it (2xx), so order is kept and nothing is lost while the collector is away:
//! failures are retried with exponential backoff. A batch the collector refuses as invalid
//! (400, 413, 422) is re-sent one event at a time and only the refused events are given up
//! (counted, logged). A `commandList` in the response (`heartbeatIntervalChange`,
//! `measurementIntervalChange`) is applied at once.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::watch;

use super::spool::{Entry, Spool};

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct Target {
    /// Collector base URL (scheme, host, port and optional routing path), without
    /// `/eventListener/v7`.
    pub base: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Extra trusted CA certificates (PEM) for an HTTPS collector.
    pub ca_pem: Option<Vec<u8>>,
    pub batch_max: usize,
    pub retry_max: Duration,
}

impl Target {
    /// The base URL of `collector_url`: accepts the listener root with or without the
    /// `/eventListener/v7` (or `/eventBatch`) suffix.
    pub fn base_of(collector_url: &str) -> String {
        let mut u = collector_url.trim_end_matches('/');
        for suffix in ["/eventBatch", "/eventListener/v7"] {
            if let Some(rest) = u.strip_suffix(suffix) {
                u = rest;
            }
        }
        u.to_owned()
    }

    pub fn single_url(&self) -> String {
        format!("{}/eventListener/v7", self.base)
    }

    pub fn batch_url(&self) -> String {
        format!("{}/eventListener/v7/eventBatch", self.base)
    }
}

/// The intervals a collector may change with a `commandList`.
#[derive(Debug, Clone)]
pub struct Intervals {
    pub heartbeat: watch::Sender<Duration>,
    pub measurement: watch::Sender<Duration>,
}

/// Delivery counters.
#[derive(Debug, Clone)]
pub struct DeliveryMetrics {
    pub sent: IntCounterVec,
    pub failed: IntCounterVec,
    pub attempts_failed: IntCounter,
    pub commands: IntCounterVec,
}

impl DeliveryMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<DeliveryMetrics> {
        let m = DeliveryMetrics {
            sent: IntCounterVec::new(
                Opts::new(
                    "nectar_ves_events_sent_total",
                    "VES events the collector accepted, by domain.",
                ),
                &["domain"],
            )?,
            failed: IntCounterVec::new(
                Opts::new(
                    "nectar_ves_events_failed_total",
                    "VES events never delivered, by reason (rejected: the collector refused \
                     the event; discarded: the buffer was full).",
                ),
                &["reason"],
            )?,
            attempts_failed: IntCounter::new(
                "nectar_ves_delivery_failures_total",
                "POSTs to the VES collector that failed and will be retried.",
            )?,
            commands: IntCounterVec::new(
                Opts::new(
                    "nectar_ves_commands_total",
                    "Commands received from the VES collector, by commandType.",
                ),
                &["command"],
            )?,
        };
        registry.register(Box::new(m.sent.clone()))?;
        registry.register(Box::new(m.failed.clone()))?;
        registry.register(Box::new(m.attempts_failed.clone()))?;
        registry.register(Box::new(m.commands.clone()))?;
        Ok(m)
    }
}

/// What became of one POST.
enum Outcome {
    Accepted(Option<Value>),
    /// The collector refused the content (retrying it unchanged cannot help).
    Refused(StatusCode, String),
    /// Try again later.
    Retry(String),
}

/// An error with its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The delivery task.
#[derive(Debug)]
pub struct Delivery {
    client: reqwest::Client,
    target: Target,
    spool: Arc<Spool>,
    intervals: Intervals,
    metrics: DeliveryMetrics,
    status: Arc<super::Status>,
}

impl Delivery {
    pub fn new(
        target: Target,
        spool: Arc<Spool>,
        intervals: Intervals,
        metrics: DeliveryMetrics,
        status: Arc<super::Status>,
    ) -> Result<Delivery, reqwest::Error> {
        // reqwest takes the process-wide rustls provider: aws-lc, as every TLS door of
        // nectar uses (a no-op when it is already installed).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("nectar/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &target.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                b = b.add_root_certificate(cert);
            }
        }
        Ok(Delivery {
            client: b.build()?,
            target,
            spool,
            intervals,
            metrics,
            status,
        })
    }

    /// Delivers until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::ZERO;
        // After a refused batch: send one at a time up to this spool sequence.
        let mut one_by_one: Option<u64> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let max = match one_by_one {
                Some(until) if self.spool.peek(1).first().is_some_and(|e| e.seq <= until) => 1,
                _ => {
                    one_by_one = None;
                    self.target.batch_max
                }
            };
            let batch = self.spool.peek(max);
            if batch.is_empty() {
                tokio::select! {
                    _ = self.spool.wait() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            match self.post(&batch).await {
                Outcome::Accepted(body) => {
                    backoff = Duration::ZERO;
                    let last = batch.last().expect("not empty").seq;
                    if let Err(e) = self.spool.ack(last) {
                        tracing::error!(error = %e, "VES buffer: cannot record delivery");
                    }
                    self.metrics
                        .sent
                        .with_label_values(&[&batch[0].domain])
                        .inc_by(batch.len() as u64);
                    self.status.delivered(batch.len() as u64);
                    if let Some(body) = body {
                        self.commands(&body);
                    }
                }
                Outcome::Refused(code, text) if batch.len() > 1 => {
                    tracing::warn!(%code, body = %text, events = batch.len(),
                        "VES collector refused a batch; sending its events one by one");
                    one_by_one = batch.last().map(|e| e.seq);
                }
                Outcome::Refused(code, text) => {
                    tracing::error!(%code, body = %text, event = %batch[0].event,
                        "VES collector refused an event; it is dropped");
                    if let Err(e) = self.spool.ack(batch[0].seq) {
                        tracing::error!(error = %e, "VES buffer: cannot record delivery");
                    }
                    self.metrics.failed.with_label_values(&["rejected"]).inc();
                }
                Outcome::Retry(why) => {
                    self.metrics.attempts_failed.inc();
                    self.status.failed();
                    backoff = if backoff.is_zero() {
                        Duration::from_millis(250)
                    } else {
                        (backoff * 2).min(self.target.retry_max)
                    };
                    tracing::warn!(error = %why, retry_in = ?backoff, buffered = self.spool.len(),
                        "VES collector unreachable; events stay buffered");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn post(&self, batch: &[Entry]) -> Outcome {
        let (url, body) = if batch.len() == 1 {
            (
                self.target.single_url(),
                format!("{{\"event\":{}}}", batch[0].event),
            )
        } else {
            let list: Vec<&str> = batch.iter().map(|e| e.event.as_str()).collect();
            (
                self.target.batch_url(),
                format!("{{\"eventList\":[{}]}}", list.join(",")),
            )
        };
        let mut req = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(user) = &self.target.username {
            req = req.basic_auth(user, self.target.password.as_deref());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("{url}: {}", chain(&e))),
        };
        let code = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if code.is_success() {
            let body = if text.trim().is_empty() {
                None
            } else {
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(error = %e, "VES collector answered with a body that is not JSON");
                        None
                    }
                }
            };
            return Outcome::Accepted(body);
        }
        match code {
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNPROCESSABLE_ENTITY => Outcome::Refused(code, text),
            _ => Outcome::Retry(format!("{url}: HTTP {code}: {}", text.trim())),
        }
    }

    /// Applies a response's `commandList`. Each entry is a command object, either bare
    /// (`{"commandType":...}`) or wrapped (`{"command":{"commandType":...}}`).
    fn commands(&self, body: &Value) {
        let Some(list) = body.get("commandList").and_then(Value::as_array) else {
            return;
        };
        for item in list {
            let cmd = item.get("command").unwrap_or(item);
            let Some(kind) = cmd.get("commandType").and_then(Value::as_str) else {
                tracing::warn!(command = %cmd, "VES command without commandType ignored");
                continue;
            };
            let secs = |key: &str| {
                cmd.get(key)
                    .and_then(Value::as_u64)
                    .filter(|s| (1..=86_400).contains(s))
            };
            let applied = match kind {
                "heartbeatIntervalChange" => secs("heartbeatInterval").inspect(|&s| {
                    self.intervals
                        .heartbeat
                        .send_replace(Duration::from_secs(s));
                }),
                "measurementIntervalChange" => secs("measurementInterval").inspect(|&s| {
                    self.intervals
                        .measurement
                        .send_replace(Duration::from_secs(s));
                }),
                other => {
                    tracing::warn!(
                        command = other,
                        "VES command not supported by nectar; ignored"
                    );
                    continue;
                }
            };
            match applied {
                Some(s) => {
                    self.metrics.commands.with_label_values(&[kind]).inc();
                    tracing::info!(command = kind, seconds = s, "VES collector command applied");
                }
                None => tracing::warn!(command = %cmd,
                    "VES command with a missing or out-of-range interval (1..86400 s) ignored"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn collector_urls_with_or_without_the_listener_path() {
        for u in [
            "https://ves.example:8443",
            "https://ves.example:8443/",
            "https://ves.example:8443/eventListener/v7",
            "https://ves.example:8443/eventListener/v7/eventBatch",
        ] {
            assert_eq!(Target::base_of(u), "https://ves.example:8443", "{u}");
        }
        assert_eq!(
            Target::base_of("http://c/route/eventListener/v7"),
            "http://c/route"
        );
    }
}
