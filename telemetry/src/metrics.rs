//! The Prometheus exporter: `GET /metrics` in the text exposition format on
//! the `[metrics]` listener. Values are gathered at scrape time: build info, the
//! process (RSS, CPU, open fds), the management plane (`nectar_mgmt::metrics` and
//! the bus-derived [`crate::mgmt::SessionMetrics`]), the dataplane
//! ([`crate::dataplane::DataplaneCollector`]) and the VES client.
//!
//! The same listener serves the probes of [`crate::health`] (`/healthz`, `/readyz`). Scrapes
//! may require HTTP Basic authentication ([`ScrapeAuth`]): the user must be in the scrape
//! group (or be a superuser); wrong credentials get 401, a user outside the group 403. TLS is
//! the daemon's business (it serves [`app_with`] with the RESTCONF certificate handling).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use std::sync::Arc;

use nectar_dataplane::Dataplane;
use nectar_mgmt::{MgmtHandle, PasswordCache};
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::dataplane::DataplaneCollector;
use crate::health::{self, Health};
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

fn exposition(m: &Metrics) -> Response {
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

async fn scrape(State(m): State<Metrics>) -> Response {
    exposition(&m)
}

/// Who may scrape `/metrics`: users that authenticate with HTTP Basic and are in `group`
/// (superusers too).
#[derive(Clone, Debug)]
pub struct ScrapeAuth {
    pub passwords: Arc<PasswordCache>,
    pub group: String,
}

impl ScrapeAuth {
    /// 401 with a Basic challenge, 403 for a user outside the group, `None` when allowed.
    async fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let challenge = || {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"nectar metrics\"")],
                "authentication required\n",
            )
                .into_response()
        };
        let Some((user, password)) = basic_credentials(headers) else {
            return Some(challenge());
        };
        let Some(ctx) = self.passwords.check_password(&user, &password).await else {
            tracing::info!(user = %user, "metrics: authentication failed");
            return Some(challenge());
        };
        if ctx.superuser || ctx.groups.contains(&self.group) {
            None
        } else {
            tracing::info!(user = %user, group = %self.group, "metrics: user not in the scrape group");
            Some((StatusCode::FORBIDDEN, "not in the scrape group\n").into_response())
        }
    }
}

/// The user and password of an `Authorization: Basic` header (RFC 7617).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The exporter's routes, without probes or authentication.
pub fn app(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

/// The metrics listener's routes: `/metrics` (behind `auth` when given), `/healthz` and
/// `/readyz` (never behind authentication: probes carry no credentials).
pub fn app_with(metrics: Metrics, health: Health, auth: Option<ScrapeAuth>) -> Router {
    let (h1, h2) = (health.clone(), health);
    Router::new()
        .route(
            "/metrics",
            get(move |headers: HeaderMap| async move {
                if let Some(auth) = &auth
                    && let Some(refusal) = auth.refuse(&headers).await
                {
                    return refusal;
                }
                exposition(&metrics)
            }),
        )
        .route("/healthz", get(move || health::healthz(h1.clone())))
        .route("/readyz", get(move || health::readyz(h2.clone())))
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
