//! The Prometheus exporter: `GET /metrics` in the text exposition format on
//! the `[metrics]` listener. Values are gathered at scrape time: build info, the
//! process (RSS, CPU, open fds), the management plane (`nectar_mgmt::metrics` and
//! the bus-derived [`crate::mgmt::SessionMetrics`]), the dataplane
//! ([`crate::dataplane::DataplaneCollector`]) and the VES client.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

use nectar_dataplane::Dataplane;
use nectar_mgmt::MgmtHandle;
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::dataplane::DataplaneCollector;
use crate::mgmt::SessionMetrics;

/// The metrics of the process, registered once.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// Build info, the process collector (RSS, CPU, open fds) and the
    /// management-plane counters of `nectar_mgmt::metrics`.
    pub fn new(version: &str) -> Metrics {
        let registry = Registry::new();
        let info = IntGaugeVec::new(
            Opts::new("nectar_build_info", "nectar build information; always 1"),
            &["version"],
        )
        .expect("valid metric");
        info.with_label_values(&[version]).set(1);
        registry.register(Box::new(info)).expect("registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        for c in nectar_mgmt::metrics::collectors() {
            registry.register(c).expect("registered once");
        }
        Metrics { registry }
    }

    /// Adds the dataplane's counters, read from a stats snapshot at each scrape.
    pub fn add_dataplane(&self, dp: Arc<Dataplane>) -> prometheus::Result<()> {
        self.registry
            .register(Box::new(DataplaneCollector::new(dp)))
    }

    /// Adds the session metrics and starts following `handle`'s event bus (on the current
    /// tokio runtime) until the core stops.
    pub fn follow_mgmt(
        &self,
        handle: MgmtHandle,
    ) -> prometheus::Result<tokio::task::JoinHandle<()>> {
        let sessions = SessionMetrics::register(&self.registry)?;
        Ok(tokio::spawn(sessions.follow(handle)))
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

async fn scrape(State(m): State<Metrics>) -> impl IntoResponse {
    match m.render() {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The exporter's routes.
pub fn app(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

/// Serves `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(metrics))
        .with_graceful_shutdown(shutdown)
        .await
}
