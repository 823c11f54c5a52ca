//! Threshold-crossing alerts: the thresholds operators configure in `nectar-telemetry`
//! (`/telemetry/ves/thresholds`), and how a metric's value is computed from two samples of
//! the dataplane counters and the host. A threshold on an interface metric without an
//! `interface` watches every interface, each alone.

use std::time::{Duration, Instant};

use nectar_dataplane::stats::{InterfaceStats, StatsSnapshot};
use serde_json::Value;

use super::event::Severity;
use crate::sys::{CpuTimes, CpuUsage, Memory, round2};

/// What a threshold watches (the `metric` enumeration of `nectar-telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    RxPacketsPerSecond,
    TxPacketsPerSecond,
    RxOctetsPerSecond,
    TxOctetsPerSecond,
    RxDropsPerSecond,
    TxDropsPerSecond,
    RxErrorsPerSecond,
    TxErrorsPerSecond,
    RxDropPercent,
    DataplaneDropsPerSecond,
    L2fibUsagePercent,
    NeighborUsagePercent,
    ConntrackUsagePercent,
    Nat44UsagePercent,
    CpuUsagePercent,
    MemoryUsagePercent,
}

const NAMES: &[(Metric, &str)] = &[
    (Metric::RxPacketsPerSecond, "rx-packets-per-second"),
    (Metric::TxPacketsPerSecond, "tx-packets-per-second"),
    (Metric::RxOctetsPerSecond, "rx-octets-per-second"),
    (Metric::TxOctetsPerSecond, "tx-octets-per-second"),
    (Metric::RxDropsPerSecond, "rx-drops-per-second"),
    (Metric::TxDropsPerSecond, "tx-drops-per-second"),
    (Metric::RxErrorsPerSecond, "rx-errors-per-second"),
    (Metric::TxErrorsPerSecond, "tx-errors-per-second"),
    (Metric::RxDropPercent, "rx-drop-percent"),
    (
        Metric::DataplaneDropsPerSecond,
        "dataplane-drops-per-second",
    ),
    (Metric::L2fibUsagePercent, "l2fib-usage-percent"),
    (Metric::NeighborUsagePercent, "neighbor-usage-percent"),
    (Metric::ConntrackUsagePercent, "conntrack-usage-percent"),
    (Metric::Nat44UsagePercent, "nat44-usage-percent"),
    (Metric::CpuUsagePercent, "cpu-usage-percent"),
    (Metric::MemoryUsagePercent, "memory-usage-percent"),
];

impl Metric {
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, n)| *n)
            .expect("every metric is named")
    }

    pub fn parse(s: &str) -> Option<Metric> {
        NAMES.iter().find(|(_, n)| *n == s).map(|(m, _)| *m)
    }

    /// Whether the metric is measured per interface.
    pub fn per_interface(self) -> bool {
        self.name().starts_with("rx-") || self.name().starts_with("tx-")
    }
}

/// One configured threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub name: String,
    pub metric: Metric,
    /// For interface metrics: the interface watched; `None` watches every interface.
    pub interface: Option<String>,
    /// An alert is set when the value reaches this.
    pub rising: f64,
    /// A set alert clears when the value falls to this (hysteresis); defaults to `rising`.
    pub falling: f64,
    pub severity: Severity,
}

/// The whole threshold configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdConfig {
    pub evaluation_interval: Duration,
    pub thresholds: Vec<Threshold>,
}

/// The default evaluation interval (`evaluation-interval` in the module).
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(10);

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
            thresholds: Vec::new(),
        }
    }
}

/// A configuration the module's constraints should have refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl ThresholdConfig {
    /// Reads the `nectar-telemetry:telemetry` container as RFC 7951 JSON (the container's
    /// own object, or the object that holds it).
    pub fn from_json(v: &Value) -> Result<ThresholdConfig, ConfigError> {
        let top = v.get("nectar-telemetry:telemetry").unwrap_or(v);
        let mut cfg = ThresholdConfig::default();
        let Some(th) = top.get("ves").and_then(|v| v.get("thresholds")) else {
            return Ok(cfg);
        };
        let base = "/nectar-telemetry:telemetry/ves/thresholds";
        if let Some(s) = th.get("evaluation-interval") {
            let secs = num(s).filter(|s| *s >= 1.0).ok_or_else(|| ConfigError {
                path: format!("{base}/evaluation-interval"),
                message: format!("not a number of seconds: {s}"),
            })?;
            cfg.evaluation_interval = Duration::from_secs(secs as u64);
        }
        for t in th
            .get("threshold")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let path = format!("{base}/threshold[name='{name}']");
            let err = |leaf: &str, message: String| ConfigError {
                path: format!("{path}/{leaf}"),
                message,
            };
            let metric_name = t.get("metric").and_then(Value::as_str).unwrap_or_default();
            let metric = Metric::parse(metric_name)
                .ok_or_else(|| err("metric", format!("unknown metric `{metric_name}`")))?;
            let interface = t
                .get("interface")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if interface.is_some() && !metric.per_interface() {
                return Err(err(
                    "interface",
                    format!("{} is not an interface metric", metric.name()),
                ));
            }
            let rising = t
                .get("rising-threshold")
                .and_then(num)
                .ok_or_else(|| err("rising-threshold", "missing or not a number".into()))?;
            let falling = match t.get("falling-threshold") {
                Some(f) => num(f).ok_or_else(|| err("falling-threshold", "not a number".into()))?,
                None => rising,
            };
            if falling > rising {
                return Err(err(
                    "falling-threshold",
                    "falling-threshold must not exceed rising-threshold".into(),
                ));
            }
            let severity = match t.get("severity").and_then(Value::as_str) {
                None | Some("major") => Severity::Major,
                Some("critical") => Severity::Critical,
                Some("minor") => Severity::Minor,
                Some("warning") => Severity::Warning,
                Some(other) => return Err(err("severity", format!("unknown severity `{other}`"))),
            };
            cfg.thresholds.push(Threshold {
                name,
                metric,
                interface,
                rising,
                falling,
                severity,
            });
        }
        Ok(cfg)
    }
}

/// What a threshold is computed from, at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub stats: StatsSnapshot,
    /// Table limits: l2fib, neighbor, conntrack, nat44.
    pub limits: [usize; 4],
    pub cpu: Option<CpuTimes>,
    pub memory: Option<Memory>,
}

impl Sample {
    /// Samples the dataplane (if any) and the host now.
    pub fn take(dp: Option<&nectar_dataplane::Dataplane>) -> Sample {
        let (stats, limits) = match dp {
            Some(dp) => {
                let t = dp.tables();
                let l = &t.limits;
                (
                    dp.stats(),
                    [l.max_macs, l.max_neighbors, l.max_conntrack, l.max_nat],
                )
            }
            None => (StatsSnapshot::default(), [0; 4]),
        };
        Sample {
            at: Instant::now(),
            stats,
            limits,
            cpu: CpuTimes::read(),
            memory: Memory::read(),
        }
    }
}

fn rate(prev: u64, cur: u64, secs: f64) -> f64 {
    round2(cur.saturating_sub(prev) as f64 / secs)
}

fn if_value(metric: Metric, a: &InterfaceStats, b: &InterfaceStats, secs: f64) -> f64 {
    match metric {
        Metric::RxPacketsPerSecond => rate(a.rx_packets, b.rx_packets, secs),
        Metric::TxPacketsPerSecond => rate(a.tx_packets, b.tx_packets, secs),
        Metric::RxOctetsPerSecond => rate(a.rx_bytes, b.rx_bytes, secs),
        Metric::TxOctetsPerSecond => rate(a.tx_bytes, b.tx_bytes, secs),
        Metric::RxDropsPerSecond => rate(a.rx_drops, b.rx_drops, secs),
        Metric::TxDropsPerSecond => rate(a.tx_drops, b.tx_drops, secs),
        Metric::RxErrorsPerSecond => rate(a.rx_errors, b.rx_errors, secs),
        Metric::TxErrorsPerSecond => rate(a.tx_errors, b.tx_errors, secs),
        Metric::RxDropPercent => {
            let rx = b.rx_packets.saturating_sub(a.rx_packets);
            let drops = b.rx_drops.saturating_sub(a.rx_drops);
            if rx == 0 {
                0.0
            } else {
                round2(100.0 * drops as f64 / rx as f64)
            }
        }
        _ => 0.0,
    }
}

/// The values of `t` between two samples: one per watched interface (named), or one global
/// value (`None`). An interface absent from either sample has no value.
pub fn values(t: &Threshold, prev: &Sample, cur: &Sample) -> Vec<(Option<String>, f64)> {
    let secs = cur.at.duration_since(prev.at).as_secs_f64().max(0.001);
    if t.metric.per_interface() {
        return cur
            .stats
            .interfaces
            .iter()
            .filter(|i| t.interface.as_deref().is_none_or(|n| n == i.name))
            .filter_map(|b| {
                let a = prev.stats.interface(&b.name)?;
                Some((Some(b.name.clone()), if_value(t.metric, a, b, secs)))
            })
            .collect();
    }
    let pct = |n: usize, limit: usize| round2(100.0 * n as f64 / limit.max(1) as f64);
    let s = &cur.stats;
    let v = match t.metric {
        Metric::DataplaneDropsPerSecond => {
            let sum = |x: &StatsSnapshot| x.drops.iter().map(|d| d.count).sum::<u64>();
            rate(sum(&prev.stats), sum(s), secs)
        }
        Metric::L2fibUsagePercent => pct(s.l2_entries, cur.limits[0]),
        Metric::NeighborUsagePercent => pct(s.neighbors, cur.limits[1]),
        Metric::ConntrackUsagePercent => pct(s.conntrack_sessions, cur.limits[2]),
        Metric::Nat44UsagePercent => pct(s.nat_sessions, cur.limits[3]),
        Metric::CpuUsagePercent => match (&prev.cpu, &cur.cpu) {
            (Some(a), Some(b)) => CpuUsage::between(a, b).busy,
            _ => return Vec::new(),
        },
        Metric::MemoryUsagePercent => match &cur.memory {
            Some(m) => m.percent_used(),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    vec![(None, v)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_from_rfc7951_json() {
        let cfg = ThresholdConfig::from_json(
            &json!({"nectar-telemetry:telemetry": {"ves": {"thresholds": {
            "evaluation-interval": 2,
            "threshold": [
                {"name": "drops", "metric": "rx-drops-per-second", "interface": "eth0",
                 "rising-threshold": "100.0", "falling-threshold": "10.5", "severity": "critical"},
                {"name": "ct", "metric": "conntrack-usage-percent", "rising-threshold": "90.0"}
            ]}}}}),
        )
        .unwrap();
        assert_eq!(cfg.evaluation_interval, Duration::from_secs(2));
        assert_eq!(cfg.thresholds.len(), 2);
        let t = &cfg.thresholds[0];
        assert_eq!(
            (
                t.metric,
                t.interface.as_deref(),
                t.rising,
                t.falling,
                t.severity
            ),
            (
                Metric::RxDropsPerSecond,
                Some("eth0"),
                100.0,
                10.5,
                Severity::Critical
            )
        );
        assert_eq!(cfg.thresholds[1].falling, 90.0);
        assert_eq!(cfg.thresholds[1].severity, Severity::Major);
        let bad = ThresholdConfig::from_json(&json!({"ves": {"thresholds": {"threshold": [
            {"name": "x", "metric": "cpu-usage-percent", "interface": "eth0", "rising-threshold": "1"}]}}}));
        assert!(bad.unwrap_err().path.ends_with("/interface"));
    }

    #[test]
    fn interface_rates_between_samples() {
        let mk = |rx: u64, drops: u64, secs: u64, at: Instant| Sample {
            at: at + Duration::from_secs(secs),
            stats: StatsSnapshot {
                interfaces: vec![InterfaceStats {
                    name: "eth0".into(),
                    rx_packets: rx,
                    rx_drops: drops,
                    ..Default::default()
                }],
                ..Default::default()
            },
            limits: [0; 4],
            cpu: None,
            memory: None,
        };
        let t0 = Instant::now();
        let a = mk(100, 0, 0, t0);
        let b = mk(300, 50, 2, t0);
        let th = Threshold {
            name: "d".into(),
            metric: Metric::RxDropsPerSecond,
            interface: None,
            rising: 1.0,
            falling: 1.0,
            severity: Severity::Major,
        };
        assert_eq!(values(&th, &a, &b), vec![(Some("eth0".into()), 25.0)]);
        let pct = Threshold {
            metric: Metric::RxDropPercent,
            ..th.clone()
        };
        assert_eq!(values(&pct, &a, &b), vec![(Some("eth0".into()), 25.0)]);
        let other = Threshold {
            interface: Some("eth9".into()),
            ..th
        };
        assert!(values(&other, &a, &b).is_empty());
    }
}
