//! Management-plane metrics that follow the management event bus: open sessions by protocol
//! (`nectar_mgmt_sessions{protocol}`), sessions opened (`nectar_mgmt_sessions_started_total`)
//! and confirmed-commit rollbacks (`nectar_mgmt_confirmed_commit_timeouts_total`). The counters
//! the doors and the core record themselves (RPCs, commits, validation failures,
//! subscriptions) live in `nectar_mgmt::metrics` and are registered next to these.

use std::collections::HashMap;

use nectar_mgmt::types::ConfirmEvent;
use nectar_mgmt::{Event, MgmtHandle, SessionId};
use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};
use tokio::sync::broadcast::error::RecvError;

/// The bus-derived management metrics.
#[derive(Clone, Debug)]
pub struct SessionMetrics {
    open: IntGaugeVec,
    started: IntCounterVec,
    confirm_timeouts: IntCounter,
}

impl SessionMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<SessionMetrics> {
        let m = SessionMetrics {
            open: IntGaugeVec::new(
                Opts::new(
                    "nectar_mgmt_sessions",
                    "Management sessions open now, by protocol.",
                ),
                &["protocol"],
            )?,
            started: IntCounterVec::new(
                Opts::new(
                    "nectar_mgmt_sessions_started_total",
                    "Management sessions opened, by protocol.",
                ),
                &["protocol"],
            )?,
            confirm_timeouts: IntCounter::new(
                "nectar_mgmt_confirmed_commit_timeouts_total",
                "Confirmed commits rolled back because no confirming commit came in time.",
            )?,
        };
        registry.register(Box::new(m.open.clone()))?;
        registry.register(Box::new(m.started.clone()))?;
        registry.register(Box::new(m.confirm_timeouts.clone()))?;
        Ok(m)
    }

    /// Follows `handle`'s event bus until it closes. Starts from the sessions open now, and
    /// re-reads them if the bus ever overtakes this task.
    pub async fn follow(self, handle: MgmtHandle) {
        let mut rx = handle.subscribe();
        // Open sessions by id, so a session both listed and announced counts once.
        let mut open: HashMap<SessionId, String> = HashMap::new();
        self.resync(&handle, &mut open).await;
        loop {
            match rx.recv().await {
                Ok(Event::SessionStarted(info)) => {
                    self.started.with_label_values(&[&info.protocol]).inc();
                    if open.insert(info.id, info.protocol.clone()).is_none() {
                        self.open.with_label_values(&[&info.protocol]).inc();
                    }
                }
                Ok(Event::SessionEnded { info, .. }) => {
                    if open.remove(&info.id).is_some() {
                        self.open.with_label_values(&[&info.protocol]).dec();
                    }
                }
                Ok(Event::ConfirmedCommit {
                    event: ConfirmEvent::Timeout,
                    ..
                }) => self.confirm_timeouts.inc(),
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "session metrics fell behind the event bus");
                    self.resync(&handle, &mut open).await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    async fn resync(&self, handle: &MgmtHandle, open: &mut HashMap<SessionId, String>) {
        let Ok(sessions) = handle.sessions().await else {
            return;
        };
        open.clear();
        self.open.reset();
        for s in sessions {
            self.open.with_label_values(&[&s.protocol]).inc();
            open.insert(s.id, s.protocol);
        }
    }
}
