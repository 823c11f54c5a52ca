//! VES 7.2.1 events (ONAP VES Event Listener 7.2.1, schema `CommonEventFormat_30.2.1_ONAP`):
//! the `commonEventHeader` every event carries and the domain blocks nectar sends (fault,
//! heartbeat, measurement, stateChange, thresholdCrossingAlert), built as JSON values.
//!
//! Fault and TCA life cycles follow the listener specification: an alarm's updates and its
//! clear reuse the `eventId` and `startEpochMicrosec` of the event that raised it, with a new
//! `sequence`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// `commonEventHeader.version` (the header version of VES 7.2.1).
pub const HEADER_VERSION: &str = "4.1";
/// `commonEventHeader.vesEventListenerVersion`.
pub const LISTENER_VERSION: &str = "7.2.1";

/// The VES domains nectar sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Fault,
    Heartbeat,
    Measurement,
    StateChange,
    ThresholdCrossingAlert,
}

impl Domain {
    /// The `domain` enumeration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Fault => "fault",
            Domain::Heartbeat => "heartbeat",
            Domain::Measurement => "measurement",
            Domain::StateChange => "stateChange",
            Domain::ThresholdCrossingAlert => "thresholdCrossingAlert",
        }
    }

    /// The domain's field block name.
    fn fields(self) -> &'static str {
        match self {
            Domain::Fault => "faultFields",
            Domain::Heartbeat => "heartbeatFields",
            Domain::Measurement => "measurementFields",
            Domain::StateChange => "stateChangeFields",
            Domain::ThresholdCrossingAlert => "thresholdCrossingAlertFields",
        }
    }

    /// Prefix of the `eventName`s of this domain (ONAP style `Domain_NF_condition`).
    fn name_prefix(self) -> &'static str {
        match self {
            Domain::Fault => "Fault",
            Domain::Heartbeat => "Heartbeat",
            Domain::Measurement => "Measurement",
            Domain::StateChange => "StateChange",
            Domain::ThresholdCrossingAlert => "TCA",
        }
    }
}

/// `commonEventHeader.priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Medium,
    Normal,
    Low,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Priority::High => "High",
            Priority::Medium => "Medium",
            Priority::Normal => "Normal",
            Priority::Low => "Low",
        }
    }
}

/// Fault and TCA severities (`eventSeverity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Major,
    Minor,
    Warning,
    Normal,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::Major => "MAJOR",
            Severity::Minor => "MINOR",
            Severity::Warning => "WARNING",
            Severity::Normal => "NORMAL",
        }
    }
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// RFC 2822 date of `t` in UTC, as the TCA timestamps want it
/// (`Sat, 13 Mar 2010 11:29:05 +0000`).
pub fn rfc2822(t: SystemTime) -> String {
    let s = httpdate::fmt_http_date(t);
    match s.strip_suffix(" GMT") {
        Some(base) => format!("{base} +0000"),
        None => s,
    }
}

/// The identity of a raised condition, for its updates and clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub event_id: String,
    pub start_micros: u64,
}

/// Makes events with a complete header: unique ids, one sequence per source instance.
#[derive(Debug)]
pub struct EventFactory {
    source_name: String,
    reporting_entity: String,
    /// Distinguishes this run's event ids from an earlier run's (buffered events survive
    /// restarts).
    instance: String,
    sequence: AtomicU64,
}

impl EventFactory {
    pub fn new(source_name: &str) -> EventFactory {
        EventFactory {
            source_name: source_name.to_owned(),
            reporting_entity: source_name.to_owned(),
            instance: format!("{:x}", now_micros()),
            sequence: AtomicU64::new(0),
        }
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// A fresh event id and the event's start time, for a new condition.
    pub fn raise(&self, domain: Domain) -> Raised {
        // The id takes its own number; the header's sequence is counted apart.
        static IDS: AtomicU64 = AtomicU64::new(1);
        Raised {
            event_id: format!(
                "{}-{}-{}",
                domain.as_str(),
                self.instance,
                IDS.fetch_add(1, Ordering::Relaxed)
            ),
            start_micros: now_micros(),
        }
    }

    /// An event: the header (with `raised`'s id and start time when given) plus `fields` as
    /// the domain's field block.
    pub fn event(
        &self,
        domain: Domain,
        condition: &str,
        priority: Priority,
        raised: Option<&Raised>,
        fields: Value,
    ) -> Value {
        let now = now_micros();
        let (id, start) = match raised {
            Some(r) => (r.event_id.clone(), r.start_micros.min(now)),
            None => (self.raise(domain).event_id, now),
        };
        let header = json!({
            "domain": domain.as_str(),
            "eventId": id,
            "eventName": format!("{}_nectar_{}", domain.name_prefix(), condition),
            "eventType": "applicationNf",
            "sourceName": self.source_name,
            "reportingEntityName": self.reporting_entity,
            "priority": priority.as_str(),
            "sequence": self.sequence.fetch_add(1, Ordering::Relaxed),
            "startEpochMicrosec": start,
            "lastEpochMicrosec": now,
            "nfVendorName": "nectar",
            "timeZoneOffset": "UTC+00.00",
            "version": HEADER_VERSION,
            "vesEventListenerVersion": LISTENER_VERSION,
        });
        let mut event = Map::new();
        event.insert("commonEventHeader".into(), header);
        event.insert(domain.fields().into(), fields);
        Value::Object(event)
    }
}

/// A string map (`hashMap` in the schema).
pub fn hash_map<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect(),
    )
}

/// The fields of a fault event.
#[derive(Debug, Clone)]
pub struct Fault<'a> {
    /// `alarmCondition`, also the last part of the event name (e.g. `linkDown`).
    pub condition: &'a str,
    pub severity: Severity,
    pub specific_problem: String,
    /// `eventSourceType` (`port`, `virtualNetworkFunction`, ...).
    pub source_type: &'a str,
    /// `eventCategory` (`link`, `resource`, `configuration`).
    pub category: &'a str,
    /// `alarmInterfaceA`: the port, table, or element concerned.
    pub interface: Option<&'a str>,
    pub additional: Vec<(&'a str, String)>,
}

impl EventFactory {
    /// A fault event; `raised` is the raise being updated or cleared (severity NORMAL).
    pub fn fault(&self, f: &Fault<'_>, raised: &Raised) -> Value {
        let mut fields = json!({
            "alarmCondition": f.condition,
            "eventSeverity": f.severity.as_str(),
            "eventSourceType": f.source_type,
            "eventCategory": f.category,
            "faultFieldsVersion": "4.0",
            "specificProblem": f.specific_problem,
            "vfStatus": "Active",
        });
        if let Some(i) = f.interface {
            fields["alarmInterfaceA"] = Value::String(i.to_owned());
        }
        if !f.additional.is_empty() {
            fields["alarmAdditionalInformation"] = hash_map(f.additional.iter().cloned());
        }
        let priority = match f.severity {
            Severity::Critical | Severity::Major => Priority::High,
            Severity::Minor | Severity::Warning => Priority::Medium,
            Severity::Normal => Priority::Normal,
        };
        self.event(Domain::Fault, f.condition, priority, Some(raised), fields)
    }

    /// A heartbeat announcing the current interval.
    pub fn heartbeat(&self, interval_s: u64) -> Value {
        self.event(
            Domain::Heartbeat,
            "heartbeat",
            Priority::Normal,
            None,
            json!({
                "heartbeatFieldsVersion": "3.0",
                "heartbeatInterval": interval_s,
            }),
        )
    }

    /// A state change of an interface.
    pub fn state_change(
        &self,
        interface: &str,
        old: PortState,
        new: PortState,
        additional: Vec<(&str, String)>,
    ) -> Value {
        self.event(
            Domain::StateChange,
            "interfaceStateChange",
            Priority::Medium,
            None,
            json!({
                "stateChangeFieldsVersion": "4.0",
                "stateInterface": interface,
                "oldState": old.as_str(),
                "newState": new.as_str(),
                "additionalFields": hash_map(additional),
            }),
        )
    }
}

/// An interface as stateChange and nicPerformance see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortState {
    /// Enabled and link up.
    InService,
    /// Administratively disabled.
    Maintenance,
    /// Enabled, link down.
    OutOfService,
}

impl PortState {
    pub fn of(admin_up: bool, oper_up: bool) -> PortState {
        match (admin_up, oper_up) {
            (false, _) => PortState::Maintenance,
            (true, true) => PortState::InService,
            (true, false) => PortState::OutOfService,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PortState::InService => "inService",
            PortState::Maintenance => "maintenance",
            PortState::OutOfService => "outOfService",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_complete_and_sequences_increase() {
        let f = EventFactory::new("box1");
        let a = f.heartbeat(60);
        let b = f.heartbeat(60);
        let h = &a["commonEventHeader"];
        for key in [
            "domain",
            "eventId",
            "eventName",
            "sourceName",
            "reportingEntityName",
            "priority",
            "sequence",
            "startEpochMicrosec",
            "lastEpochMicrosec",
            "version",
            "vesEventListenerVersion",
        ] {
            assert!(h.get(key).is_some(), "{key} missing in {h}");
        }
        assert_eq!(h["domain"], "heartbeat");
        assert_eq!(h["vesEventListenerVersion"], "7.2.1");
        assert_eq!(
            b["commonEventHeader"]["sequence"].as_u64().unwrap(),
            h["sequence"].as_u64().unwrap() + 1
        );
        assert_ne!(b["commonEventHeader"]["eventId"], h["eventId"]);
        assert_eq!(a["heartbeatFields"]["heartbeatInterval"], 60);
    }

    #[test]
    fn a_clear_reuses_the_raise_id_and_start() {
        let f = EventFactory::new("box1");
        let r = f.raise(Domain::Fault);
        let fault = Fault {
            condition: "linkDown",
            severity: Severity::Major,
            specific_problem: "down".into(),
            source_type: "port",
            category: "link",
            interface: Some("eth0"),
            additional: vec![],
        };
        let up = f.fault(&fault, &r);
        let clear = f.fault(
            &Fault {
                severity: Severity::Normal,
                ..fault
            },
            &r,
        );
        assert_eq!(
            up["commonEventHeader"]["eventId"],
            clear["commonEventHeader"]["eventId"]
        );
        assert_eq!(
            up["commonEventHeader"]["startEpochMicrosec"],
            clear["commonEventHeader"]["startEpochMicrosec"]
        );
        assert_eq!(clear["faultFields"]["eventSeverity"], "NORMAL");
        assert_eq!(up["faultFields"]["alarmInterfaceA"], "eth0");
    }

    #[test]
    fn rfc2822_dates_have_a_numeric_zone() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_268_479_745);
        assert_eq!(rfc2822(t), "Sat, 13 Mar 2010 11:29:05 +0000");
    }
}
