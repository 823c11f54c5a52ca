//! What the daemon gives gNOI (`nectar_gnmi::gnoi::Platform`): its components
//! and their health (the doors, the datastore, the dataplane's workers and
//! ports), the directory gNOI File serves (the packet captures), a warm restart (the dataplane reset, running replayed into it) and
//! a cold one (the daemon stops its doors and runs itself again).

use std::sync::Arc;
use std::time::Duration;

use nectar_gnmi::gnoi::{AnswerKind, Component, ProbeAnswer, ProbeError, ProbeTarget, Prober};
use nectar_mgmt::MgmtHandle;
use tokio::sync::watch;

/// How long a worker has to show progress (it parks at most 100 ms).
const WORKER_PROGRESS: Duration = Duration::from_millis(300);
/// How long a warm restart waits for the replay of running.
const REPLAY_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Platform {
    pub health: nectar_telemetry::health::Health,
    pub handle: MgmtHandle,
    pub dataplane: Arc<nectar_dataplane::Dataplane>,
    pub northbound: nectar_mapping::NorthboundHandle,
    /// Set to true to restart the daemon.
    pub restart: watch::Sender<bool>,
    /// The packet captures (what gNOI File serves).
    pub captures: std::path::PathBuf,
}

fn component(name: impl Into<String>, parent: Option<&str>, problem: Option<String>) -> Component {
    Component {
        name: name.into(),
        parent: parent.map(str::to_string),
        healthy: problem.is_none(),
        reason: problem.unwrap_or_default(),
    }
}

#[nectar_gnmi::gnoi::async_trait]
impl nectar_gnmi::gnoi::Platform for Platform {
    async fn components(&self) -> Vec<Component> {
        let mut out = Vec::new();
        for (name, bound) in self.health.listeners() {
            out.push(component(
                name,
                None,
                (!bound).then(|| "not accepting connections".to_string()),
            ));
        }
        let datastore =
            tokio::time::timeout(nectar_telemetry::health::DEADLINE, self.handle.commit_id()).await;
        out.push(component(
            "datastore",
            None,
            match datastore {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(format!("the datastore failed: {e}")),
                Err(_) => Some("the datastore does not answer".to_string()),
            },
        ));
        out.push(component("dataplane", None, None));
        let before = self.dataplane.worker_loops();
        tokio::time::sleep(WORKER_PROGRESS).await;
        let after = self.dataplane.worker_loops();
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            out.push(component(
                format!("worker{i}"),
                Some("dataplane"),
                (b == a).then(|| format!("no progress in {} ms", WORKER_PROGRESS.as_millis())),
            ));
        }
        for p in self.dataplane.ports() {
            let host = p
                .host_interface
                .clone()
                .unwrap_or_else(|| p.driver.to_string());
            out.push(component(
                format!("port-{}", p.name),
                Some("dataplane"),
                (!p.link_up).then(|| format!("link down (host interface {host})")),
            ));
        }
        out
    }

    async fn warm_restart(&self) -> Result<(), String> {
        let before = self.northbound.replays();
        self.dataplane.reset().map_err(|e| e.to_string())?;
        // The mapping replays running when the dataplane announces the reset.
        let deadline = tokio::time::Instant::now() + REPLAY_WAIT;
        while self.northbound.replays() == before {
            if tokio::time::Instant::now() > deadline {
                return Err("running was not replayed into the dataplane in time".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    fn cold_restart(&self) {
        let _ = self.restart.send(true);
    }

    fn files(&self) -> Option<std::path::PathBuf> {
        Some(self.captures.clone())
    }

    fn probe(&self, target: &ProbeTarget) -> Result<Box<dyn Prober>, ProbeError> {
        use nectar_dataplane::probe::ProbeError as E;
        // OpenConfig's default instance is the dataplane's default VRF.
        let vrf = match target.network_instance.as_str() {
            "" | "DEFAULT" => "default",
            other => other,
        };
        let session = self
            .dataplane
            .probe(vrf, target.source, target.destination)
            .map_err(|e| match e {
                E::UnknownVrf(_) | E::NotOurs(_) | E::TooBig(_) => {
                    ProbeError::Invalid(e.to_string())
                }
                E::NoRoute(_) => ProbeError::NoRoute(e.to_string()),
                E::TooMany | E::Busy => ProbeError::Busy(e.to_string()),
            })?;
        Ok(Box::new(Session(session)))
    }
}

/// A probe session of the vswitch, as gNOI drives it.
struct Session(nectar_dataplane::probe::ProbeSession);

impl Prober for Session {
    fn send(&mut self, seq: u16, ttl: u8, size: usize, df: bool) -> Result<(), ProbeError> {
        use nectar_dataplane::probe::ProbeError as E;
        self.0.send(seq, ttl, size, df).map_err(|e| match e {
            E::TooBig(_) => ProbeError::Invalid(e.to_string()),
            _ => ProbeError::Busy(e.to_string()),
        })
    }

    fn answer(&mut self, timeout: Duration) -> Option<ProbeAnswer> {
        use nectar_dataplane::probe::AnswerKind as K;
        let a = self.0.answer(timeout)?;
        Some(ProbeAnswer {
            seq: a.seq,
            from: a.from,
            kind: match a.kind {
                K::Echo => AnswerKind::Echo,
                K::TimeExceeded => AnswerKind::TimeExceeded,
                K::Unreachable(c) => AnswerKind::Unreachable(c),
            },
            ttl: a.ttl,
            bytes: a.bytes,
            rtt: a.rtt,
        })
    }
}
