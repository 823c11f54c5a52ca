//! The event sources of the VES client: one task that watches the dataplane (link events,
//! table overflows, counters), the management bus (confirmed-commit rollbacks, commits) and
//! the clock, and appends events to the spool:
//!
//! - `heartbeat` every heartbeat interval (and at once when the interval changes);
//! - `measurement` every measurement interval: per-interface counters (`nicPerformanceArray`,
//!   accumulated and delta), host CPU and memory, dataplane tables and drops;
//! - `stateChange` when an interface's state (inService, maintenance = disabled,
//!   outOfService = enabled but link down) changes;
//! - `fault` `linkDown` raised while an enabled interface's link is down and cleared when it
//!   comes back or is disabled; `tableFull` raised on a dataplane table overflow and cleared
//!   once the table is below 90 % of its limit; `configurationRolledBack` raised when a
//!   confirmed commit times out and cleared by the next commit of an operator;
//! - `thresholdCrossingAlert` SET when a configured threshold's value reaches its rising
//!   threshold and CLEAR when it falls back to its falling threshold (or the threshold is
//!   removed), evaluated every `evaluation-interval`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nectar_dataplane::Dataplane;
use nectar_mgmt::types::ConfirmEvent;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::sleep_until;

use super::Status;
use super::event::{Domain, EventFactory, Fault, PortState, Raised, Severity, hash_map, rfc2822};
use super::spool::Spool;
use super::thresholds::{Sample, ThresholdConfig, values};
use crate::sys::{CpuUsage, round2};

/// How often interface states and table alarms are re-checked besides on events.
const RECHECK: Duration = Duration::from_secs(1);
/// A table alarm clears when occupancy is below this share of the limit...
const TABLE_CLEAR_RATIO: f64 = 0.9;
/// ...and no overflow was reported for this long.
const TABLE_QUIET: Duration = Duration::from_secs(5);

/// Inputs of the monitor.
#[derive(Debug)]
pub struct Inputs {
    pub dp: Option<Arc<Dataplane>>,
    pub mgmt: Option<broadcast::Receiver<nectar_mgmt::Event>>,
    pub heartbeat: watch::Receiver<Duration>,
    pub measurement: watch::Receiver<Duration>,
    pub thresholds: watch::Receiver<Arc<ThresholdConfig>>,
}

struct TableAlarm {
    raised: Raised,
    last_seen: Instant,
    limit: usize,
}

/// An active threshold crossing.
struct Crossing {
    raised: Raised,
    started: SystemTime,
}

/// The monitor task's state.
pub struct Monitor {
    factory: Arc<EventFactory>,
    spool: Arc<Spool>,
    status: Arc<Status>,
    dp: Option<Arc<Dataplane>>,
    ports: BTreeMap<String, PortState>,
    link_alarms: HashMap<String, Raised>,
    table_alarms: HashMap<&'static str, TableAlarm>,
    rollback_alarm: Option<Raised>,
    crossings: HashMap<(String, Option<String>), Crossing>,
    last_measurement: Sample,
    last_evaluation: Sample,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish()
    }
}

/// Forwards the dataplane's (blocking) event stream into the task.
fn bridge(dp: &Dataplane) -> mpsc::UnboundedReceiver<nectar_dataplane::Event> {
    let rx = dp.subscribe();
    let (tx, out) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("ves-dp-events".into())
        .spawn(move || {
            loop {
                match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(e) => {
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) if tx.is_closed() => return,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "VES: cannot follow dataplane events");
    }
    out
}

impl Monitor {
    pub fn new(
        factory: Arc<EventFactory>,
        spool: Arc<Spool>,
        status: Arc<Status>,
        dp: Option<Arc<Dataplane>>,
    ) -> Monitor {
        let sample = Sample::take(dp.as_deref());
        Monitor {
            factory,
            spool,
            status,
            dp,
            ports: BTreeMap::new(),
            link_alarms: HashMap::new(),
            table_alarms: HashMap::new(),
            rollback_alarm: None,
            crossings: HashMap::new(),
            last_measurement: sample.clone(),
            last_evaluation: sample,
        }
    }

    fn emit(&self, domain: Domain, event: Value) {
        if let Err(e) = self.spool.push(domain.as_str(), &event) {
            tracing::error!(error = %e, domain = domain.as_str(), "VES event lost");
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(mut self, mut inputs: Inputs, mut stop: watch::Receiver<bool>) {
        let mut dp_events = self.dp.as_deref().map(bridge);
        let now = tokio::time::Instant::now();
        let mut hb_every = *inputs.heartbeat.borrow_and_update();
        let mut meas_every = *inputs.measurement.borrow_and_update();
        let mut eval_every = inputs.thresholds.borrow_and_update().evaluation_interval;
        self.status.set_intervals(hb_every, meas_every);
        let mut next_hb = now;
        let mut next_meas = now + meas_every;
        let mut next_eval = now + eval_every;
        let mut next_check = now;
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    if *stop.borrow() { return; }
                }
                _ = sleep_until(next_hb) => {
                    self.emit(Domain::Heartbeat, self.factory.heartbeat(hb_every.as_secs()));
                    next_hb += hb_every;
                }
                _ = sleep_until(next_meas) => {
                    self.measurement(meas_every);
                    next_meas += meas_every;
                }
                _ = sleep_until(next_eval) => {
                    let cfg = inputs.thresholds.borrow().clone();
                    self.evaluate(&cfg);
                    next_eval += eval_every;
                }
                _ = sleep_until(next_check) => {
                    self.check_ports();
                    self.check_tables();
                    next_check = tokio::time::Instant::now() + RECHECK;
                }
                Ok(()) = inputs.heartbeat.changed() => {
                    hb_every = *inputs.heartbeat.borrow_and_update();
                    self.status.set_intervals(hb_every, meas_every);
                    // Announce the new interval at once, then keep its cadence.
                    next_hb = tokio::time::Instant::now();
                }
                Ok(()) = inputs.measurement.changed() => {
                    meas_every = *inputs.measurement.borrow_and_update();
                    self.status.set_intervals(hb_every, meas_every);
                    next_meas = tokio::time::Instant::now() + meas_every;
                }
                Ok(()) = inputs.thresholds.changed() => {
                    let cfg = inputs.thresholds.borrow_and_update().clone();
                    eval_every = cfg.evaluation_interval;
                    next_eval = tokio::time::Instant::now() + eval_every;
                    self.forget_removed(&cfg);
                }
                Some(e) = recv_dp(&mut dp_events) => self.dataplane_event(e),
                e = recv_mgmt(&mut inputs.mgmt) => match e {
                    Some(e) => self.mgmt_event(e),
                    None => inputs.mgmt = None,
                },
            }
        }
    }

    fn dataplane_event(&mut self, e: nectar_dataplane::Event) {
        match e {
            nectar_dataplane::Event::LinkUp { .. } | nectar_dataplane::Event::LinkDown { .. } => {
                self.check_ports()
            }
            nectar_dataplane::Event::TableFull { table, limit } => self.table_full(table, limit),
            // The northbound replays the configuration; link changes follow as their own events.
            nectar_dataplane::Event::Reset { .. } => {}
        }
    }

    fn mgmt_event(&mut self, e: nectar_mgmt::Event) {
        match e {
            nectar_mgmt::Event::ConfirmedCommit {
                event: ConfirmEvent::Timeout,
                user,
                ..
            } if self.rollback_alarm.is_none() => {
                let raised = self.factory.raise(Domain::Fault);
                let ev = self.factory.fault(
                    &rollback_fault(
                        Severity::Major,
                        format!(
                            "the confirmed commit of user {user} was not confirmed in time: \
                                 running was rolled back"
                        ),
                    ),
                    &raised,
                );
                self.emit(Domain::Fault, ev);
                self.rollback_alarm = Some(raised);
            }
            nectar_mgmt::Event::ConfigChanged {
                datastore: nectar_mgmt::Datastore::Running,
                session,
                user,
                ..
            } => {
                if session.is_some()
                    && let Some(raised) = self.rollback_alarm.take()
                {
                    let ev = self.factory.fault(
                        &rollback_fault(
                            Severity::Normal,
                            format!("user {user} committed a new configuration"),
                        ),
                        &raised,
                    );
                    self.emit(Domain::Fault, ev);
                }
                // An admin state may have changed.
                self.check_ports();
            }
            _ => {}
        }
    }

    /// Emits stateChange events and raises or clears link alarms.
    fn check_ports(&mut self) {
        let Some(dp) = &self.dp else { return };
        let stats = dp.stats();
        let mut seen = Vec::new();
        for i in &stats.interfaces {
            seen.push(i.name.clone());
            let new = PortState::of(i.admin_up, i.oper_up);
            match self.ports.insert(i.name.clone(), new) {
                Some(old) if old != new => {
                    let ev = self.factory.state_change(
                        &i.name,
                        old,
                        new,
                        vec![
                            ("adminStatus", updown(i.admin_up)),
                            ("operStatus", updown(i.oper_up)),
                        ],
                    );
                    self.emit(Domain::StateChange, ev);
                }
                _ => {}
            }
            self.link_alarm(&i.name, new == PortState::OutOfService);
        }
        let gone: Vec<String> = self
            .ports
            .keys()
            .filter(|n| !seen.contains(n))
            .cloned()
            .collect();
        for name in gone {
            self.ports.remove(&name);
            self.link_alarm(&name, false);
        }
    }

    fn link_alarm(&mut self, interface: &str, down: bool) {
        let active = self.link_alarms.contains_key(interface);
        if down == active {
            return;
        }
        let (severity, problem, raised) = if down {
            (
                Severity::Major,
                format!("interface {interface} is enabled but its link is down"),
                self.factory.raise(Domain::Fault),
            )
        } else {
            (
                Severity::Normal,
                format!("interface {interface}: link down cleared"),
                self.link_alarms.remove(interface).expect("active"),
            )
        };
        let ev = self.factory.fault(
            &Fault {
                condition: "linkDown",
                severity,
                specific_problem: problem,
                source_type: "port",
                category: "link",
                interface: Some(interface),
                additional: Vec::new(),
            },
            &raised,
        );
        self.emit(Domain::Fault, ev);
        if down {
            self.link_alarms.insert(interface.to_owned(), raised);
        }
    }

    fn table_full(&mut self, table: &'static str, limit: usize) {
        if let Some(a) = self.table_alarms.get_mut(table) {
            a.last_seen = Instant::now();
            return;
        }
        let raised = self.factory.raise(Domain::Fault);
        let ev = self
            .factory
            .fault(&table_fault(table, limit, Severity::Major), &raised);
        self.emit(Domain::Fault, ev);
        self.table_alarms.insert(
            table,
            TableAlarm {
                raised,
                last_seen: Instant::now(),
                limit,
            },
        );
    }

    fn check_tables(&mut self) {
        if self.table_alarms.is_empty() {
            return;
        }
        let Some(dp) = &self.dp else { return };
        let stats = dp.stats();
        let cleared: Vec<&'static str> = self
            .table_alarms
            .iter()
            .filter(|(table, a)| {
                let entries = match **table {
                    "l2fib" => Some(stats.l2_entries),
                    "neighbor" => Some(stats.neighbors),
                    "conntrack" => Some(stats.conntrack_sessions),
                    "nat44" => Some(stats.nat_sessions),
                    _ => None,
                };
                a.last_seen.elapsed() >= TABLE_QUIET
                    && entries.is_none_or(|n| (n as f64) < TABLE_CLEAR_RATIO * a.limit as f64)
            })
            .map(|(t, _)| *t)
            .collect();
        for table in cleared {
            let a = self.table_alarms.remove(table).expect("listed");
            let ev = self
                .factory
                .fault(&table_fault(table, a.limit, Severity::Normal), &a.raised);
            self.emit(Domain::Fault, ev);
        }
    }

    fn measurement(&mut self, interval: Duration) {
        let cur = Sample::take(self.dp.as_deref());
        let prev = std::mem::replace(&mut self.last_measurement, cur);
        let cur = &self.last_measurement;
        let mut nics = Vec::new();
        for b in &cur.stats.interfaces {
            let a = prev.stats.interface(&b.name);
            let suspect =
                a.is_none_or(|a| a.rx_packets > b.rx_packets || a.tx_packets > b.tx_packets);
            let d = |f: fn(&nectar_dataplane::stats::InterfaceStats) -> u64| {
                a.map_or(f(b), |a| f(b).saturating_sub(f(a)))
            };
            let state = |up: bool| if up { "inService" } else { "outOfService" };
            nics.push(json!({
                "nicIdentifier": b.name,
                "valuesAreSuspect": if suspect { "true" } else { "false" },
                "administrativeState": state(b.admin_up),
                "operationalState": state(b.oper_up),
                "receivedTotalPacketsAccumulated": b.rx_packets,
                "receivedTotalPacketsDelta": d(|s| s.rx_packets),
                "receivedOctetsAccumulated": b.rx_bytes,
                "receivedOctetsDelta": d(|s| s.rx_bytes),
                "receivedUnicastPacketsAccumulated": b.rx_unicast,
                "receivedUnicastPacketsDelta": d(|s| s.rx_unicast),
                "receivedMulticastPacketsAccumulated": b.rx_multicast,
                "receivedMulticastPacketsDelta": d(|s| s.rx_multicast),
                "receivedBroadcastPacketsAccumulated": b.rx_broadcast,
                "receivedBroadcastPacketsDelta": d(|s| s.rx_broadcast),
                "receivedDiscardedPacketsAccumulated": b.rx_drops,
                "receivedDiscardedPacketsDelta": d(|s| s.rx_drops),
                "receivedErrorPacketsAccumulated": b.rx_errors,
                "receivedErrorPacketsDelta": d(|s| s.rx_errors),
                "transmittedTotalPacketsAccumulated": b.tx_packets,
                "transmittedTotalPacketsDelta": d(|s| s.tx_packets),
                "transmittedOctetsAccumulated": b.tx_bytes,
                "transmittedOctetsDelta": d(|s| s.tx_bytes),
                "transmittedUnicastPacketsAccumulated": b.tx_unicast,
                "transmittedUnicastPacketsDelta": d(|s| s.tx_unicast),
                "transmittedMulticastPacketsAccumulated": b.tx_multicast,
                "transmittedMulticastPacketsDelta": d(|s| s.tx_multicast),
                "transmittedBroadcastPacketsAccumulated": b.tx_broadcast,
                "transmittedBroadcastPacketsDelta": d(|s| s.tx_broadcast),
                "transmittedDiscardedPacketsAccumulated": b.tx_drops,
                "transmittedDiscardedPacketsDelta": d(|s| s.tx_drops),
                "transmittedErrorPacketsAccumulated": b.tx_errors,
                "transmittedErrorPacketsDelta": d(|s| s.tx_errors),
            }));
        }
        let mut fields = json!({
            "measurementFieldsVersion": "4.0",
            "measurementInterval": interval.as_secs_f64(),
            "nicPerformanceArray": nics,
        });
        if let (Some(a), Some(b)) = (&prev.cpu, &cur.cpu) {
            let u = CpuUsage::between(a, b);
            fields["cpuUsageArray"] = json!([{
                "cpuIdentifier": "all",
                "percentUsage": u.busy,
                "cpuUsageUser": u.user,
                "cpuUsageNice": u.nice,
                "cpuUsageSystem": u.system,
                "cpuIdle": u.idle,
                "cpuWait": u.wait,
                "cpuUsageInterrupt": u.irq,
                "cpuUsageSoftIrq": u.softirq,
                "cpuUsageSteal": u.steal,
            }]);
        }
        if let Some(m) = &cur.memory {
            fields["memoryUsageArray"] = json!([{
                "vmIdentifier": self.factory.source_name(),
                "memoryConfigured": m.total,
                "memoryFree": m.free,
                "memoryUsed": m.used(),
                "memoryBuffered": m.buffered,
                "memoryCached": m.cached,
                "memorySlabRecl": m.slab_reclaimable,
                "memorySlabUnrecl": m.slab_unreclaimable,
                "percentMemoryUsage": m.percent_used(),
            }]);
        }
        if self.dp.is_some() {
            let s = &cur.stats;
            let tables = hash_map([
                ("l2fib", s.l2_entries.to_string()),
                ("neighbor", s.neighbors.to_string()),
                ("conntrack", s.conntrack_sessions.to_string()),
                ("nat44", s.nat_sessions.to_string()),
            ]);
            let drops: serde_json::Map<String, Value> = s
                .drops
                .iter()
                .map(|d| {
                    (
                        format!("{}/{}", d.node, d.reason),
                        Value::String(d.count.to_string()),
                    )
                })
                .collect();
            fields["additionalMeasurements"] = json!([
                {"name": "dataplaneTableEntries", "hashMap": tables},
                {"name": "dataplaneDrops", "hashMap": Value::Object(drops)},
            ]);
        }
        let ev = self.factory.event(
            Domain::Measurement,
            "interfaceCounters",
            super::event::Priority::Normal,
            None,
            fields,
        );
        self.emit(Domain::Measurement, ev);
    }

    fn evaluate(&mut self, cfg: &ThresholdConfig) {
        let cur = Sample::take(self.dp.as_deref());
        let prev = std::mem::replace(&mut self.last_evaluation, cur);
        let cur = &self.last_evaluation;
        let mut current = Vec::new();
        for t in &cfg.thresholds {
            for (interface, value) in values(t, &prev, cur) {
                let key = (t.name.clone(), interface.clone());
                current.push((key.clone(), value, self.crossings.contains_key(&key)));
                match self.crossings.get(&key) {
                    None if value >= t.rising => {
                        let raised = self.factory.raise(Domain::ThresholdCrossingAlert);
                        let started = SystemTime::now();
                        let ev = self.tca(t, interface.as_deref(), value, true, &raised, started);
                        self.emit(Domain::ThresholdCrossingAlert, ev);
                        self.crossings.insert(key, Crossing { raised, started });
                    }
                    Some(c) if value <= t.falling => {
                        let ev =
                            self.tca(t, interface.as_deref(), value, false, &c.raised, c.started);
                        self.emit(Domain::ThresholdCrossingAlert, ev);
                        self.crossings.remove(&key);
                    }
                    _ => {}
                }
            }
        }
        self.status.set_threshold_values(
            current
                .into_iter()
                .map(|((name, interface), value, _)| {
                    let active = self
                        .crossings
                        .contains_key(&(name.clone(), interface.clone()));
                    (name, interface, value, active)
                })
                .collect(),
        );
    }

    /// Clears the alerts of thresholds that were removed or changed.
    fn forget_removed(&mut self, cfg: &ThresholdConfig) {
        let stale: Vec<(String, Option<String>)> = self
            .crossings
            .keys()
            .filter(|(name, interface)| {
                !cfg.thresholds.iter().any(|t| {
                    &t.name == name && (t.interface.is_none() || t.interface == *interface)
                })
            })
            .cloned()
            .collect();
        for key in stale {
            let c = self.crossings.remove(&key).expect("listed");
            let ev = self.factory.event(
                Domain::ThresholdCrossingAlert,
                "thresholdRemoved",
                super::event::Priority::Normal,
                Some(&c.raised),
                json!({
                    "thresholdCrossingFieldsVersion": "4.0",
                    "alertAction": "CLEAR",
                    "alertDescription": key.0,
                    "alertType": if key.1.is_some() { "INTERFACE-ANOMALY" } else { "ELEMENT-ANOMALY" },
                    "eventSeverity": "NORMAL",
                    "collectionTimestamp": rfc2822(SystemTime::now()),
                    "eventStartTimestamp": rfc2822(c.started),
                    "additionalParameters": [],
                    "additionalFields": {"reason": "threshold removed from the configuration"},
                    "associatedAlertIdList": [c.raised.event_id],
                }),
            );
            self.emit(Domain::ThresholdCrossingAlert, ev);
        }
    }

    fn tca(
        &self,
        t: &super::thresholds::Threshold,
        interface: Option<&str>,
        value: f64,
        set: bool,
        raised: &Raised,
        started: SystemTime,
    ) -> Value {
        let op = if set { ">=" } else { "<=" };
        let limit = if set { t.rising } else { t.falling };
        let mut fields = json!({
            "thresholdCrossingFieldsVersion": "4.0",
            "alertAction": if set { "SET" } else { "CLEAR" },
            "alertDescription": t.name,
            "alertType": if t.metric.per_interface() { "INTERFACE-ANOMALY" } else { "ELEMENT-ANOMALY" },
            "alertValue": round2(value).to_string(),
            "eventSeverity": if set { t.severity.as_str() } else { "NORMAL" },
            "collectionTimestamp": rfc2822(SystemTime::now()),
            "eventStartTimestamp": rfc2822(started),
            "dataCollector": "nectar",
            "additionalParameters": [{
                "criticality": if t.severity == Severity::Critical { "CRIT" } else { "MAJ" },
                "thresholdCrossed": format!("{} {op} {limit}", t.metric.name()),
                "hashMap": hash_map([
                    ("metric", t.metric.name().to_owned()),
                    ("value", round2(value).to_string()),
                    ("risingThreshold", t.rising.to_string()),
                    ("fallingThreshold", t.falling.to_string()),
                ]),
            }],
        });
        if let Some(i) = interface {
            fields["interfaceName"] = Value::String(i.to_owned());
        }
        if !set {
            fields["associatedAlertIdList"] = json!([raised.event_id]);
        }
        let priority = if set {
            super::event::Priority::High
        } else {
            super::event::Priority::Normal
        };
        self.factory.event(
            Domain::ThresholdCrossingAlert,
            t.metric.name(),
            priority,
            Some(raised),
            fields,
        )
    }
}

fn updown(up: bool) -> String {
    if up { "up" } else { "down" }.to_owned()
}

fn rollback_fault(severity: Severity, problem: String) -> Fault<'static> {
    Fault {
        condition: "configurationRolledBack",
        severity,
        specific_problem: problem,
        source_type: "virtualNetworkFunction",
        category: "configuration",
        interface: None,
        additional: vec![("datastore", "running".to_owned())],
    }
}

fn table_fault(table: &'static str, limit: usize, severity: Severity) -> Fault<'static> {
    Fault {
        condition: "tableFull",
        severity,
        specific_problem: if severity == Severity::Normal {
            format!("the {table} table is below its limit of {limit} entries again")
        } else {
            format!("the {table} table is full ({limit} entries): new entries are refused")
        },
        source_type: "virtualNetworkFunction",
        category: "resource",
        interface: Some(table),
        additional: vec![("limit", limit.to_string())],
    }
}

async fn recv_dp(
    rx: &mut Option<mpsc::UnboundedReceiver<nectar_dataplane::Event>>,
) -> Option<nectar_dataplane::Event> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next management event; `None` when the bus closed. Lagging only logs: the events
/// that matter here are re-derived from state on the next check.
async fn recv_mgmt(
    rx: &mut Option<broadcast::Receiver<nectar_mgmt::Event>>,
) -> Option<nectar_mgmt::Event> {
    let Some(r) = rx else {
        return std::future::pending().await;
    };
    loop {
        match r.recv().await {
            Ok(e) => return Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "VES fell behind the management bus");
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
