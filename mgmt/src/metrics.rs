//! Management-plane metrics: the counters every door (NETCONF, RESTCONF, gNMI) and the core
//! record, in one process-wide set of `prometheus` collectors. The protocol crates call the
//! functions here (they never import the telemetry crate); the telemetry crate registers
//! [`collectors`] in the exporter's registry, so `/metrics` shows them.
//!
//! Recording is cheap (an atomic add and, for latencies, a histogram bucket) and never fails.
//!
//! | call | metric |
//! |---|---|
//! | [`rpc`] | `nectar_mgmt_rpcs_total{protocol,operation,outcome}`, `nectar_mgmt_rpc_duration_seconds{protocol,operation}` |
//! | [`subscription`] | `nectar_mgmt_subscriptions{protocol}` (while the guard lives), `nectar_mgmt_subscriptions_started_total{protocol}` |
//! | [`updates_dropped`], [`updates_coalesced`] | `nectar_mgmt_subscription_updates_dropped_total{protocol}`, `nectar_mgmt_subscription_updates_coalesced_total{protocol}` |
//! | the core itself | `nectar_mgmt_commits_total{outcome}`, `nectar_mgmt_commit_duration_seconds`, `nectar_mgmt_validation_failures_total` |
//!
//! Label values: `protocol` is `netconf`, `restconf` or `gnmi`; `operation` is the operation's
//! name as the protocol spells it (`get-config`, `edit-config`, `GET`, `PATCH`, `Subscribe`).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

/// Latency buckets, in seconds: 100 µs to 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

struct Set {
    rpcs: IntCounterVec,
    rpc_seconds: HistogramVec,
    commits: IntCounterVec,
    commit_seconds: Histogram,
    validation_failures: IntCounterVec,
    subscriptions: IntGaugeVec,
    subscriptions_started: IntCounterVec,
    dropped: IntCounterVec,
    coalesced: IntCounterVec,
}

static SET: LazyLock<Set> = LazyLock::new(|| {
    let counter = |name: &str, help: &str, labels: &[&str]| {
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
    };
    Set {
        rpcs: counter(
            "nectar_mgmt_rpcs_total",
            "Management operations served, by protocol, operation and outcome (ok or error).",
            &["protocol", "operation", "outcome"],
        ),
        rpc_seconds: HistogramVec::new(
            HistogramOpts::new(
                "nectar_mgmt_rpc_duration_seconds",
                "Time to serve a management operation, by protocol and operation.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["protocol", "operation"],
        )
        .expect("valid metric"),
        commits: counter(
            "nectar_mgmt_commits_total",
            "Transactions on the running datastore, by outcome (ok or failed).",
            &["outcome"],
        ),
        commit_seconds: Histogram::with_opts(
            HistogramOpts::new(
                "nectar_mgmt_commit_duration_seconds",
                "Time from the start of a transaction on running to its acknowledgement \
                 (validate, prepare, journal fsync, apply).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid metric"),
        validation_failures: counter(
            "nectar_mgmt_validation_failures_total",
            "Configurations refused by validation (YANG constraints or a provider's checks), \
             by stage (yang or provider).",
            &["stage"],
        ),
        subscriptions: IntGaugeVec::new(
            Opts::new(
                "nectar_mgmt_subscriptions",
                "Subscriptions open now (NETCONF notifications, RESTCONF event streams, gNMI \
                 Subscribe), by protocol.",
            ),
            &["protocol"],
        )
        .expect("valid metric"),
        subscriptions_started: counter(
            "nectar_mgmt_subscriptions_started_total",
            "Subscriptions opened, by protocol.",
            &["protocol"],
        ),
        dropped: counter(
            "nectar_mgmt_subscription_updates_dropped_total",
            "Updates a subscriber never received because it fell behind, by protocol.",
            &["protocol"],
        ),
        coalesced: counter(
            "nectar_mgmt_subscription_updates_coalesced_total",
            "Updates merged into a later one for a slow subscriber, by protocol.",
            &["protocol"],
        ),
    }
});

/// Records one management operation served by a door: its name as the protocol spells it,
/// how long it took, and whether it succeeded.
pub fn rpc(protocol: &str, operation: &str, elapsed: Duration, ok: bool) {
    let s = &*SET;
    s.rpcs
        .with_label_values(&[protocol, operation, if ok { "ok" } else { "error" }])
        .inc();
    s.rpc_seconds
        .with_label_values(&[protocol, operation])
        .observe(elapsed.as_secs_f64());
}

/// Counts an open subscription until the returned guard is dropped.
pub fn subscription(protocol: &str) -> SubscriptionGuard {
    let s = &*SET;
    s.subscriptions_started.with_label_values(&[protocol]).inc();
    let gauge = s.subscriptions.with_label_values(&[protocol]);
    gauge.inc();
    SubscriptionGuard { gauge }
}

/// Keeps `nectar_mgmt_subscriptions{protocol}` counted while it lives.
#[derive(Debug)]
pub struct SubscriptionGuard {
    gauge: prometheus::IntGauge,
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Records `n` updates a subscriber lost because it fell behind.
pub fn updates_dropped(protocol: &str, n: u64) {
    SET.dropped.with_label_values(&[protocol]).inc_by(n);
}

/// Records `n` updates merged into later ones for a slow subscriber.
pub fn updates_coalesced(protocol: &str, n: u64) {
    SET.coalesced.with_label_values(&[protocol]).inc_by(n);
}

/// Which validation refused a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStage {
    /// The YANG constraints (libyang: must, when, mandatory, leafref, unique, ...).
    Yang,
    /// A provider's validate or prepare callback.
    Provider,
}

/// Records a configuration refused by validation.
pub fn validation_failed(stage: ValidationStage) {
    SET.validation_failures
        .with_label_values(&[match stage {
            ValidationStage::Yang => "yang",
            ValidationStage::Provider => "provider",
        }])
        .inc();
}

/// Records one transaction on running.
pub fn commit(elapsed: Duration, ok: bool) {
    let s = &*SET;
    s.commits
        .with_label_values(&[if ok { "ok" } else { "failed" }])
        .inc();
    if ok {
        s.commit_seconds.observe(elapsed.as_secs_f64());
    }
}

/// Every collector of this module, for the exporter's registry. Each call returns handles on
/// the same process-wide metrics.
pub fn collectors() -> Vec<Box<dyn Collector>> {
    let s = &*SET;
    vec![
        Box::new(s.rpcs.clone()),
        Box::new(s.rpc_seconds.clone()),
        Box::new(s.commits.clone()),
        Box::new(s.commit_seconds.clone()),
        Box::new(s.validation_failures.clone()),
        Box::new(s.subscriptions.clone()),
        Box::new(s.subscriptions_started.clone()),
        Box::new(s.dropped.clone()),
        Box::new(s.coalesced.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str, labels: &[(&str, &str)]) -> f64 {
        let r = prometheus::Registry::new();
        for c in collectors() {
            r.register(c).unwrap();
        }
        for mf in r.gather() {
            if mf.name() != name {
                continue;
            }
            for m in mf.get_metric() {
                let have: Vec<(&str, &str)> = m
                    .get_label()
                    .iter()
                    .map(|l| (l.name(), l.value()))
                    .collect();
                if labels.iter().all(|l| have.contains(l)) {
                    return match mf.get_field_type() {
                        prometheus::proto::MetricType::COUNTER => m.get_counter().get_value(),
                        prometheus::proto::MetricType::GAUGE => m.get_gauge().get_value(),
                        _ => m.get_histogram().get_sample_count() as f64,
                    };
                }
            }
        }
        0.0
    }

    #[test]
    fn rpc_and_subscription_counts_show_in_a_registry() {
        let before = value(
            "nectar_mgmt_rpcs_total",
            &[("protocol", "test-proto"), ("operation", "get")],
        );
        rpc("test-proto", "get", Duration::from_millis(3), true);
        assert_eq!(
            value(
                "nectar_mgmt_rpcs_total",
                &[("protocol", "test-proto"), ("operation", "get")]
            ),
            before + 1.0
        );
        assert_eq!(
            value(
                "nectar_mgmt_rpc_duration_seconds",
                &[("protocol", "test-proto"), ("operation", "get")]
            ),
            before + 1.0
        );
        let g = subscription("test-sub");
        assert_eq!(
            value("nectar_mgmt_subscriptions", &[("protocol", "test-sub")]),
            1.0
        );
        drop(g);
        assert_eq!(
            value("nectar_mgmt_subscriptions", &[("protocol", "test-sub")]),
            0.0
        );
    }
}
