//! gNOI on the gNMI listener, with the same TLS and authentication:
//! `gnoi.system.System` (Time, Ping and Traceroute sent by the vswitch (see
//! [`probe`]), Reboot, RebootStatus, CancelReboot), `gnoi.healthz.Healthz`
//! (Get, List, Check) and `gnoi.file.File` (see [`file`]). What only the
//! daemon around the door can provide (its components and their health,
//! restarts, probes, the files it serves) comes through [`Platform`], which
//! the daemon implements: this crate never reaches the dataplane itself.
//!
//! Reboot: `WARM` resets the dataplane, which forgets its configuration, and
//! running is replayed into it (ports, counters and if-indexes stay); `COLD`
//! restarts the daemon, which loads its stored datastores and replays running
//! as at any start. A delay makes the reboot pending (RebootStatus shows it,
//! CancelReboot withdraws it); while one is pending another is refused with
//! FAILED_PRECONDITION. Other methods and sub-component reboots are
//! INVALID_ARGUMENT, as the service definition asks. Reboot and CancelReboot
//! are for NACM's administrators (PERMISSION_DENIED otherwise).
//!
//! Healthz: components are named as in the OpenConfig components model,
//! `/components/component[name=N]`: the doors (`netconf`, `restconf`,
//! `gnmi`), `datastore`, and `dataplane` with its `worker<i>` and
//! `port-<interface>` sub-components. A component is unhealthy when it or
//! one of its sub-components is (a port whose host interface is down); the
//! reasons go to the log, Healthz having no field for them. Healthz keeps no
//! event history: List answers the current status as one event, and
//! Acknowledge and Artifact are UNIMPLEMENTED.

mod file;
mod probe;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::AbortHandle;
use tonic::{Request, Response, Status, Streaming};

use crate::context::CallContext;
use crate::proto::gnoi::healthz::{self as hz, healthz_server::Healthz};
use crate::proto::gnoi::system::{self as sys, system_server::System};
use crate::proto::gnoi::types;

/// For implementing [`Platform`] outside this crate.
pub use tonic::async_trait;

/// A stream of replies.
pub type Replies<T> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

/// One component of the box and its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    /// The component it is part of.
    pub parent: Option<String>,
    pub healthy: bool,
    /// Why it is unhealthy (empty when healthy).
    pub reason: String,
}

/// What the daemon provides to gNOI.
#[tonic::async_trait]
pub trait Platform: Send + Sync + std::fmt::Debug {
    /// Every component, as it is now.
    async fn components(&self) -> Vec<Component>;
    /// Resets the dataplane and replays running into it.
    async fn warm_restart(&self) -> Result<(), String>;
    /// Restarts the daemon (after this call returns).
    fn cold_restart(&self);
    /// The directory gNOI File serves (none: File serves nothing).
    fn files(&self) -> Option<std::path::PathBuf>;
    /// Opens a probe session of the vswitch (Ping, Traceroute).
    fn probe(&self, target: &ProbeTarget) -> Result<Box<dyn Prober>, ProbeError>;
}

/// Where probes go: from which network instance and address, to which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The network instance (OpenConfig name; empty: the default one).
    pub network_instance: String,
    /// The source address (none: the vswitch chooses by the route).
    pub source: Option<std::net::Ipv4Addr>,
    pub destination: std::net::Ipv4Addr,
}

/// What answered a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    Echo,
    TimeExceeded,
    Unreachable(u8),
}

/// One answer to a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    pub seq: u16,
    pub from: std::net::Ipv4Addr,
    pub kind: AnswerKind,
    pub ttl: u8,
    pub bytes: usize,
    pub rtt: Option<Duration>,
}

/// A probe session of the vswitch (blocking calls: used on a thread of its
/// own).
pub trait Prober: Send {
    /// Sends ICMP echo request `seq` with `ttl` and `size` bytes of data.
    fn send(&mut self, seq: u16, ttl: u8, size: usize, df: bool) -> Result<(), ProbeError>;
    /// The next answer within `timeout`.
    fn answer(&mut self, timeout: Duration) -> Option<ProbeAnswer>;
}

/// Why probes cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The request names what does not exist or cannot be used.
    Invalid(String),
    /// No route to choose a source address by.
    NoRoute(String),
    /// A bound of the vswitch is reached.
    Busy(String),
}

impl From<ProbeError> for Status {
    fn from(e: ProbeError) -> Status {
        match e {
            ProbeError::Invalid(m) => Status::invalid_argument(m),
            ProbeError::NoRoute(m) => Status::failed_precondition(m),
            ProbeError::Busy(m) => Status::resource_exhausted(m),
        }
    }
}

#[derive(Debug, Default)]
struct RebootState {
    pending: Option<Pending>,
    /// Reboots done since the daemon started.
    count: u32,
    last: Option<(sys::RebootMethod, sys::reboot_status::Status, String)>,
}

#[derive(Debug)]
struct Pending {
    method: sys::RebootMethod,
    when: SystemTime,
    reason: String,
    task: AbortHandle,
}

/// The gNOI services, cheap to clone.
#[derive(Debug, Clone)]
pub struct Gnoi {
    shared: Arc<CallContext>,
    platform: Arc<dyn Platform>,
    reboot: Arc<Mutex<RebootState>>,
}

fn epoch_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Gnoi {
    pub fn new(shared: Arc<CallContext>, platform: Arc<dyn Platform>) -> Self {
        Gnoi {
            shared,
            platform,
            reboot: Arc::new(Mutex::new(RebootState::default())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RebootState> {
        self.reboot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Authenticates the caller, who must be one of NACM's administrators
    /// to `what`.
    async fn admin<T>(&self, req: &Request<T>, what: &str) -> Result<(), Status> {
        let user = self.shared.auth.check(req.metadata()).await?;
        if !user.superuser {
            return Err(Status::permission_denied(format!(
                "user {} may not {what}: only NACM's administrators may",
                user.name
            )));
        }
        Ok(())
    }

    /// Runs a reboot now; its outcome is kept for RebootStatus.
    async fn execute(&self, method: sys::RebootMethod, reason: String) -> Result<(), Status> {
        use sys::reboot_status::Status as S;
        match method {
            sys::RebootMethod::Warm => {
                tracing::info!(%reason, "gnoi: warm reboot: the dataplane is reset and running replayed");
                let out = self.platform.warm_restart().await;
                let mut st = self.state();
                st.count += 1;
                match out {
                    Ok(()) => {
                        st.last = Some((method, S::Success, reason));
                        Ok(())
                    }
                    Err(e) => {
                        st.last = Some((method, S::Failure, e.clone()));
                        Err(Status::unavailable(format!("the warm reboot failed: {e}")))
                    }
                }
            }
            _ => {
                tracing::info!(%reason, "gnoi: cold reboot: the daemon restarts");
                self.state().count += 1;
                // The answer leaves before the listeners close.
                let platform = self.platform.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    platform.cold_restart();
                });
                Ok(())
            }
        }
    }
}

#[tonic::async_trait]
impl System for Gnoi {
    type PingStream = Replies<sys::PingResponse>;
    type TracerouteStream = Replies<sys::TracerouteResponse>;

    async fn ping(
        &self,
        req: Request<sys::PingRequest>,
    ) -> Result<Response<Self::PingStream>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let plan = probe::ping_plan(req.get_ref())?;
        let prober = self.platform.probe(&plan.target)?;
        Ok(Response::new(probe::run(move |tx| {
            probe::ping(prober, plan, tx)
        })))
    }

    async fn traceroute(
        &self,
        req: Request<sys::TracerouteRequest>,
    ) -> Result<Response<Self::TracerouteStream>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let plan = probe::trace_plan(req.get_ref())?;
        let prober = self.platform.probe(&plan.target)?;
        Ok(Response::new(probe::run(move |tx| {
            probe::traceroute(prober, plan, tx)
        })))
    }

    async fn time(
        &self,
        req: Request<sys::TimeRequest>,
    ) -> Result<Response<sys::TimeResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Ok(Response::new(sys::TimeResponse {
            time: epoch_ns(SystemTime::now()),
        }))
    }

    async fn set_package(
        &self,
        req: Request<Streaming<sys::SetPackageRequest>>,
    ) -> Result<Response<sys::SetPackageResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "SetPackage is not supported: a container image is replaced by the orchestrator",
        ))
    }

    async fn switch_control_processor(
        &self,
        req: Request<sys::SwitchControlProcessorRequest>,
    ) -> Result<Response<sys::SwitchControlProcessorResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "SwitchControlProcessor is not supported: nectar has one control processor",
        ))
    }

    async fn reboot(
        &self,
        req: Request<sys::RebootRequest>,
    ) -> Result<Response<sys::RebootResponse>, Status> {
        self.admin(&req, "reboot").await?;
        let r = req.into_inner();
        let method = match sys::RebootMethod::try_from(r.method) {
            Ok(m @ (sys::RebootMethod::Cold | sys::RebootMethod::Warm)) => m,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "reboot method {} is not supported: COLD (the daemon restarts) or WARM (the dataplane is reset and running replayed)",
                    r.method
                )));
            }
        };
        if !r.subcomponents.is_empty() {
            return Err(Status::invalid_argument(
                "rebooting sub-components is not supported: the whole target reboots",
            ));
        }
        let reason = if r.message.is_empty() {
            "gNOI Reboot".to_string()
        } else {
            r.message.chars().take(512).collect()
        };
        {
            let st = self.state();
            if let Some(p) = &st.pending {
                return Err(Status::failed_precondition(format!(
                    "a {:?} reboot is pending ({}): cancel it first",
                    p.method, p.reason
                )));
            }
        }
        if r.delay == 0 {
            self.execute(method, reason).await?;
            return Ok(Response::new(sys::RebootResponse {}));
        }
        let delay = Duration::from_nanos(r.delay);
        let when = SystemTime::now()
            .checked_add(delay)
            .ok_or_else(|| Status::invalid_argument("the delay is too long"))?;
        let me = self.clone();
        let task_reason = reason.clone();
        let mut st = self.state();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            me.state().pending = None;
            let _ = me.execute(method, task_reason).await;
        });
        st.pending = Some(Pending {
            method,
            when,
            reason,
            task: task.abort_handle(),
        });
        Ok(Response::new(sys::RebootResponse {}))
    }

    async fn reboot_status(
        &self,
        req: Request<sys::RebootStatusRequest>,
    ) -> Result<Response<sys::RebootStatusResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let st = self.state();
        let mut out = sys::RebootStatusResponse {
            count: st.count,
            ..Default::default()
        };
        if let Some(p) = &st.pending {
            out.active = true;
            out.when = epoch_ns(p.when);
            out.wait = p
                .when
                .duration_since(SystemTime::now())
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0);
            out.reason = p.reason.clone();
            out.method = p.method as i32;
        } else if let Some((method, status, message)) = &st.last {
            out.method = *method as i32;
            out.reason = message.clone();
            out.status = Some(sys::RebootStatus {
                status: *status as i32,
                message: message.clone(),
            });
        }
        Ok(Response::new(out))
    }

    async fn cancel_reboot(
        &self,
        req: Request<sys::CancelRebootRequest>,
    ) -> Result<Response<sys::CancelRebootResponse>, Status> {
        self.admin(&req, "cancel a reboot").await?;
        if let Some(p) = self.state().pending.take() {
            p.task.abort();
            tracing::info!(reason = %req.get_ref().message, "gnoi: the pending reboot is cancelled");
        }
        Ok(Response::new(sys::CancelRebootResponse {}))
    }

    async fn kill_process(
        &self,
        req: Request<sys::KillProcessRequest>,
    ) -> Result<Response<sys::KillProcessResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "KillProcess is not supported: nectar is one process (see Reboot)",
        ))
    }
}

/// The component a Healthz path names: `/components/component[name=N]`.
fn component_name(path: Option<&types::Path>) -> Result<String, Status> {
    let bad = || {
        Status::invalid_argument(
            "a Healthz path is /components/component[name=NAME] (OpenConfig components)",
        )
    };
    let p = path.ok_or_else(bad)?;
    match &p.elem[..] {
        [c, e] if c.name == "components" && e.name == "component" && c.key.is_empty() => e
            .key
            .get("name")
            .filter(|n| !n.is_empty())
            .cloned()
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn component_path(name: &str) -> types::Path {
    types::Path {
        origin: String::new(),
        elem: vec![
            types::PathElem {
                name: "components".into(),
                key: Default::default(),
            },
            types::PathElem {
                name: "component".into(),
                key: [("name".to_string(), name.to_string())]
                    .into_iter()
                    .collect(),
            },
        ],
    }
}

/// The status of `name` with its sub-components (unhealthy when any is).
fn status_of(all: &[Component], name: &str, now: SystemTime) -> Option<hz::ComponentStatus> {
    let c = all.iter().find(|c| c.name == name)?;
    let subs: Vec<hz::ComponentStatus> = all
        .iter()
        .filter(|s| s.parent.as_deref() == Some(name))
        .filter_map(|s| status_of(all, &s.name, now))
        .collect();
    let healthy = c.healthy && subs.iter().all(|s| s.status == hz::Status::Healthy as i32);
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Some(hz::ComponentStatus {
        path: Some(component_path(name)),
        subcomponents: subs,
        status: if healthy {
            hz::Status::Healthy
        } else {
            hz::Status::Unhealthy
        } as i32,
        id: format!("{name}@{}", d.as_nanos()),
        created: Some(prost_types::Timestamp {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }),
        ..Default::default()
    })
}

impl Gnoi {
    async fn health(&self, path: Option<&types::Path>) -> Result<hz::ComponentStatus, Status> {
        let name = component_name(path)?;
        let all = self.platform.components().await;
        for c in all.iter().filter(|c| !c.healthy) {
            tracing::info!(component = %c.name, reason = %c.reason, "gnoi: healthz: unhealthy");
        }
        status_of(&all, &name, SystemTime::now())
            .ok_or_else(|| Status::not_found(format!("no component {name:?}")))
    }
}

#[tonic::async_trait]
impl Healthz for Gnoi {
    type ArtifactStream = Replies<hz::ArtifactResponse>;

    async fn get(&self, req: Request<hz::GetRequest>) -> Result<Response<hz::GetResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let component = self.health(req.get_ref().path.as_ref()).await?;
        Ok(Response::new(hz::GetResponse {
            component: Some(component),
        }))
    }

    async fn list(
        &self,
        req: Request<hz::ListRequest>,
    ) -> Result<Response<hz::ListResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let status = self.health(req.get_ref().path.as_ref()).await?;
        Ok(Response::new(hz::ListResponse {
            statuses: vec![status],
        }))
    }

    async fn acknowledge(
        &self,
        req: Request<hz::AcknowledgeRequest>,
    ) -> Result<Response<hz::AcknowledgeResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "Acknowledge is not supported: nectar keeps no health events, only the current status",
        ))
    }

    async fn artifact(
        &self,
        req: Request<hz::ArtifactRequest>,
    ) -> Result<Response<Self::ArtifactStream>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        Err(Status::unimplemented(
            "nectar's health statuses carry no artifacts",
        ))
    }

    async fn check(
        &self,
        req: Request<hz::CheckRequest>,
    ) -> Result<Response<hz::CheckResponse>, Status> {
        self.shared.auth.check(req.metadata()).await?;
        let status = self.health(req.get_ref().path.as_ref()).await?;
        Ok(Response::new(hz::CheckResponse {
            status: Some(status),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(name: &str, parent: Option<&str>, healthy: bool) -> Component {
        Component {
            name: name.into(),
            parent: parent.map(str::to_string),
            healthy,
            reason: String::new(),
        }
    }

    #[test]
    fn a_component_is_unhealthy_when_a_part_is() {
        let all = vec![
            comp("dataplane", None, true),
            comp("worker0", Some("dataplane"), true),
            comp("port-eth0", Some("dataplane"), false),
            comp("gnmi", None, true),
        ];
        let now = SystemTime::now();
        let dp = status_of(&all, "dataplane", now).unwrap();
        assert_eq!(dp.status, hz::Status::Unhealthy as i32);
        assert_eq!(dp.subcomponents.len(), 2);
        assert_eq!(
            status_of(&all, "gnmi", now).unwrap().status,
            hz::Status::Healthy as i32
        );
        assert!(status_of(&all, "nope", now).is_none());
        let p = component_path("gnmi");
        assert_eq!(component_name(Some(&p)).unwrap(), "gnmi");
        assert_eq!(
            component_name(None).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
