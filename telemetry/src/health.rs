//! Liveness and readiness, for Kubernetes probes and load balancers: `GET /healthz` and
//! `GET /readyz` on the metrics listener ([`crate::metrics::app`]).
//!
//! The daemon reports its start-up steps into one shared [`Health`]:
//! - it is created before anything slow happens (the metrics listener is bound first, so a
//!   probe gets an answer while the datastore loads);
//! - [`Health::core_running`] once the datastores are loaded and running has been applied to
//!   the dataplane (`Core::open` does both);
//! - [`Health::listener_bound`] for each configured listener;
//! - [`Health::stopping`] when SIGTERM arrives.
//!
//! `/readyz` answers 200 only when all of that holds and the datastore actor answers within
//! [`DEADLINE`]; otherwise 503 with a JSON body whose `reason` says what is missing.
//! `/healthz` answers 200 while the process serves and, once the datastore actor exists, that
//! actor answers within the deadline; 503 when it does not (a wedged core, which a restart
//! cures). Neither endpoint takes credentials: kubelet probes carry none, and the answers say
//! nothing about the configuration. Imports mgmt (the handle) only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nectar_mgmt::MgmtHandle;
use serde_json::{Value, json};

/// How long the datastore actor may take to answer a probe.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The daemon's start-up progress, shared by the daemon and the probe handlers.
#[derive(Clone, Debug, Default)]
pub struct Health {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Set once the datastores are loaded and running is applied to the dataplane.
    core: Option<MgmtHandle>,
    /// Configured listeners by name (`netconf`, `restconf`, ...): bound yet?
    listeners: BTreeMap<String, bool>,
    stopping: bool,
}

impl Health {
    /// Start-up state: datastore not loaded, each of `listeners` not bound yet.
    pub fn new<'a>(listeners: impl IntoIterator<Item = &'a str>) -> Health {
        let state = State {
            listeners: listeners
                .into_iter()
                .map(|l| (l.to_owned(), false))
                .collect(),
            ..State::default()
        };
        Health {
            inner: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The datastores are loaded and running is applied to the dataplane; `handle` reaches
    /// the datastore actor.
    pub fn core_running(&self, handle: MgmtHandle) {
        self.lock().core = Some(handle);
    }

    /// The listener `name` accepts connections.
    pub fn listener_bound(&self, name: &str) {
        self.lock().listeners.insert(name.to_owned(), true);
    }

    /// Each configured listener and whether it accepts connections.
    pub fn listeners(&self) -> Vec<(String, bool)> {
        self.lock()
            .listeners
            .iter()
            .map(|(n, b)| (n.clone(), *b))
            .collect()
    }

    /// The daemon is shutting down: no longer ready.
    pub fn stopping(&self) {
        self.lock().stopping = true;
    }

    /// Readiness: `Ok(details)` when ready, `Err(details)` with a `reason` otherwise.
    pub async fn readiness(&self) -> Result<Value, Value> {
        let (core, waiting, stopping) = {
            let s = self.lock();
            let waiting: Vec<String> = s
                .listeners
                .iter()
                .filter(|(_, bound)| !**bound)
                .map(|(name, _)| name.clone())
                .collect();
            (s.core.clone(), waiting, s.stopping)
        };
        if stopping {
            return Err(json!({"status": "not-ready", "reason": "shutting down"}));
        }
        let Some(core) = core else {
            return Err(json!({
                "status": "not-ready",
                "reason": "loading the datastore and applying running to the dataplane",
                "datastore": "loading",
            }));
        };
        if !waiting.is_empty() {
            return Err(json!({
                "status": "not-ready",
                "reason": format!("listeners not bound yet: {}", waiting.join(", ")),
                "datastore": "loaded",
                "listeners-waiting": waiting,
            }));
        }
        match actor_answers(&core).await {
            Ok(commit) => Ok(json!({"status": "ready", "commit": commit})),
            Err(why) => Err(json!({"status": "not-ready", "reason": why})),
        }
    }

    /// Liveness: `Ok` while the process serves and the datastore actor (once it exists)
    /// answers within [`DEADLINE`].
    pub async fn liveness(&self) -> Result<Value, Value> {
        let core = self.lock().core.clone();
        match core {
            None => Ok(json!({"status": "ok", "phase": "starting"})),
            Some(core) => match actor_answers(&core).await {
                Ok(_) => Ok(json!({"status": "ok"})),
                Err(why) => Err(json!({"status": "unhealthy", "reason": why})),
            },
        }
    }
}

/// The last commit id, if the datastore actor answers within [`DEADLINE`].
async fn actor_answers(core: &MgmtHandle) -> Result<u64, String> {
    match tokio::time::timeout(DEADLINE, core.commit_id()).await {
        Ok(Ok(commit)) => Ok(commit),
        Ok(Err(e)) => Err(format!("the datastore does not answer: {e}")),
        Err(_) => Err(format!(
            "the datastore did not answer within {} s",
            DEADLINE.as_secs()
        )),
    }
}

fn reply(result: Result<Value, Value>) -> Response {
    match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(body) => (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response(),
    }
}

pub(crate) async fn healthz(health: Health) -> Response {
    reply(health.liveness().await)
}

pub(crate) async fn readyz(health: Health) -> Response {
    reply(health.readiness().await)
}
