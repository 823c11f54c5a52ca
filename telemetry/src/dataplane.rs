//! Dataplane metrics, read at scrape time: a `prometheus` collector that takes one
//! [`Dataplane::stats`] and one [`Dataplane::runtime`] snapshot (relaxed loads of per-worker
//! counters, no lock a worker waits on) and the published table snapshot for each scrape. There is no background polling, and
//! a scrape never stalls forwarding.
//!
//! Names follow node_exporter's `node_network_*` where they overlap: per interface
//! `nectar_interface_{receive,transmit}_{packets,bytes,...}_total{interface}`, status gauges
//! `nectar_interface_{admin,oper}_up{interface}`, an info metric
//! `nectar_interface_info{interface,kind,mac}`; per graph node and worker
//! `nectar_dataplane_node_{packets,vectors}_total{node,worker}`, the time spent in it
//! `nectar_dataplane_node_seconds_total{node,worker}` and drops by reason
//! `nectar_dataplane_drops_total{node,reason,worker}` (sum without `worker` for the box);
//! table occupancy and limits
//! `nectar_dataplane_table_entries{table}` / `nectar_dataplane_table_capacity{table}`; ACL rule
//! hits `nectar_acl_rule_hits_total{acl,ace}` and octets `nectar_acl_rule_octets_total{acl,ace}`
//! (`ace` is the rule's position, from 1, in the ACL).

use std::sync::Arc;

use nectar_dataplane::Dataplane;
use nectar_dataplane::tables::Kind;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts};

/// What one family counts, for the per-interface counters.
type IfField = fn(&nectar_dataplane::stats::InterfaceStats) -> u64;

const IF_COUNTERS: &[(&str, &str, IfField)] = &[
    (
        "nectar_interface_receive_packets_total",
        "Packets received on the interface.",
        |s| s.rx_packets,
    ),
    (
        "nectar_interface_receive_bytes_total",
        "Bytes received on the interface (whole frames).",
        |s| s.rx_bytes,
    ),
    (
        "nectar_interface_receive_unicast_packets_total",
        "Unicast frames received.",
        |s| s.rx_unicast,
    ),
    (
        "nectar_interface_receive_multicast_packets_total",
        "Multicast frames received.",
        |s| s.rx_multicast,
    ),
    (
        "nectar_interface_receive_broadcast_packets_total",
        "Broadcast frames received.",
        |s| s.rx_broadcast,
    ),
    (
        "nectar_interface_receive_dropped_packets_total",
        "Received packets dropped by the dataplane.",
        |s| s.rx_drops,
    ),
    (
        "nectar_interface_receive_errors_total",
        "Malformed packets received.",
        |s| s.rx_errors,
    ),
    (
        "nectar_interface_transmit_packets_total",
        "Packets transmitted on the interface.",
        |s| s.tx_packets,
    ),
    (
        "nectar_interface_transmit_bytes_total",
        "Bytes transmitted on the interface (whole frames).",
        |s| s.tx_bytes,
    ),
    (
        "nectar_interface_transmit_unicast_packets_total",
        "Unicast frames transmitted.",
        |s| s.tx_unicast,
    ),
    (
        "nectar_interface_transmit_multicast_packets_total",
        "Multicast frames transmitted.",
        |s| s.tx_multicast,
    ),
    (
        "nectar_interface_transmit_broadcast_packets_total",
        "Broadcast frames transmitted.",
        |s| s.tx_broadcast,
    ),
    (
        "nectar_interface_transmit_dropped_packets_total",
        "Packets dropped on transmit (interface down, ring full).",
        |s| s.tx_drops,
    ),
    (
        "nectar_interface_transmit_errors_total",
        "Transmit errors.",
        |s| s.tx_errors,
    ),
];

/// The families this collector produces, kept as templates: `desc` lends their
/// descriptors, `collect` fills fresh copies from one snapshot.
#[derive(Clone)]
struct Families {
    if_counters: Vec<IntCounterVec>,
    admin_up: IntGaugeVec,
    oper_up: IntGaugeVec,
    info: IntGaugeVec,
    node_packets: IntCounterVec,
    node_vectors: IntCounterVec,
    node_seconds: CounterVec,
    drops: IntCounterVec,
    no_buffers: IntCounterVec,
    table_entries: IntGaugeVec,
    table_capacity: IntGaugeVec,
    acl_hits: IntCounterVec,
    acl_octets: IntCounterVec,
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl Families {
    fn new() -> Families {
        Families {
            if_counters: IF_COUNTERS
                .iter()
                .map(|(n, h, _)| counter(n, h, &["interface"]))
                .collect(),
            admin_up: gauge(
                "nectar_interface_admin_up",
                "1 if the interface is administratively up (enabled), else 0.",
                &["interface"],
            ),
            oper_up: gauge(
                "nectar_interface_oper_up",
                "1 if the interface is operationally up (enabled and link up), else 0.",
                &["interface"],
            ),
            info: gauge(
                "nectar_interface_info",
                "Interface facts as labels (kind: port or bvi); always 1.",
                &["interface", "kind", "mac"],
            ),
            node_packets: counter(
                "nectar_dataplane_node_packets_total",
                "Packets processed by a graph node in a worker.",
                &["node", "worker"],
            ),
            node_vectors: counter(
                "nectar_dataplane_node_vectors_total",
                "Vectors (batches of up to 256 packets) processed by a graph node in a worker.",
                &["node", "worker"],
            ),
            node_seconds: CounterVec::new(
                Opts::new(
                    "nectar_dataplane_node_seconds_total",
                    "Time a worker spent in a graph node (measured around each vector).",
                ),
                &["node", "worker"],
            )
            .expect("valid metric"),
            drops: counter(
                "nectar_dataplane_drops_total",
                "Packets dropped by a graph node in a worker, by reason.",
                &["node", "reason", "worker"],
            ),
            no_buffers: counter(
                "nectar_dataplane_buffer_allocation_failures_total",
                "Packet buffers that could not be allocated.",
                &[],
            ),
            table_entries: gauge(
                "nectar_dataplane_table_entries",
                "Entries in a dynamic table (l2fib, neighbor, conntrack, nat44).",
                &["table"],
            ),
            table_capacity: gauge(
                "nectar_dataplane_table_capacity",
                "Configured limit of a dynamic table.",
                &["table"],
            ),
            acl_hits: counter(
                "nectar_acl_rule_hits_total",
                "Packets matched by an ACL rule (ace: the rule's position in the ACL, from 1).",
                &["acl", "ace"],
            ),
            acl_octets: counter(
                "nectar_acl_rule_octets_total",
                "Octets matched by an ACL rule: the IP packets' lengths, or the frames' for non-IP \
                 (ace: the rule's position in the ACL, from 1).",
                &["acl", "ace"],
            ),
        }
    }

    fn all(&self) -> Vec<&dyn Collector> {
        let mut v: Vec<&dyn Collector> = self
            .if_counters
            .iter()
            .map(|c| c as &dyn Collector)
            .collect();
        v.extend([
            &self.admin_up as &dyn Collector,
            &self.oper_up,
            &self.info,
            &self.node_packets,
            &self.node_vectors,
            &self.node_seconds,
            &self.drops,
            &self.no_buffers,
            &self.table_entries,
            &self.table_capacity,
            &self.acl_hits,
            &self.acl_octets,
        ]);
        v
    }
}

/// Collects the dataplane's counters at scrape time.
pub struct DataplaneCollector {
    dp: Arc<Dataplane>,
    templates: Families,
}

impl std::fmt::Debug for DataplaneCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataplaneCollector").finish()
    }
}

impl DataplaneCollector {
    pub fn new(dp: Arc<Dataplane>) -> DataplaneCollector {
        DataplaneCollector {
            dp,
            templates: Families::new(),
        }
    }
}

fn set_counter(c: &IntCounterVec, labels: &[&str], v: u64) {
    c.with_label_values(labels).inc_by(v);
}

impl Collector for DataplaneCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.templates
            .all()
            .into_iter()
            .flat_map(|c| c.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let f = Families::new();
        let stats = self.dp.stats();
        let tables = self.dp.tables();
        for s in &stats.interfaces {
            let l = [s.name.as_str()];
            for ((_, _, field), c) in IF_COUNTERS.iter().zip(&f.if_counters) {
                set_counter(c, &l, field(s));
            }
            f.admin_up.with_label_values(&l).set(s.admin_up as i64);
            f.oper_up.with_label_values(&l).set(s.oper_up as i64);
        }
        for i in tables.ifs.iter().flatten() {
            let kind = match i.kind {
                Kind::Port(_) => "port",
                Kind::Bvi(_) => "bvi",
                Kind::Loopback => "loopback",
            };
            f.info
                .with_label_values(&[i.name.as_str(), kind, &i.mac.to_string()])
                .set(1);
        }
        for w in self.dp.runtime() {
            let worker = w.worker.to_string();
            for n in &w.nodes {
                let l = [n.node, worker.as_str()];
                set_counter(&f.node_packets, &l, n.packets);
                set_counter(&f.node_vectors, &l, n.vectors);
                f.node_seconds
                    .with_label_values(&l)
                    .inc_by(n.nanos as f64 / 1e9);
                for (reason, count) in &n.drops {
                    if *count > 0 {
                        set_counter(&f.drops, &[n.node, reason, worker.as_str()], *count);
                    }
                }
            }
        }
        set_counter(&f.no_buffers, &[], stats.no_buffers);
        let limits = &tables.limits;
        for (table, entries, cap) in [
            ("l2fib", stats.l2_entries, limits.max_macs),
            ("neighbor", stats.neighbors, limits.max_neighbors),
            ("conntrack", stats.conntrack_sessions, limits.max_conntrack),
            ("nat44", stats.nat_sessions, limits.max_nat),
        ] {
            f.table_entries
                .with_label_values(&[table])
                .set(entries as i64);
            f.table_capacity.with_label_values(&[table]).set(cap as i64);
        }
        for (name, acl) in &tables.acls {
            for (i, (hits, octets)) in acl.hits().into_iter().zip(acl.octets()).enumerate() {
                let ace = (i + 1).to_string();
                set_counter(&f.acl_hits, &[name.as_str(), &ace], hits);
                set_counter(&f.acl_octets, &[name.as_str(), &ace], octets);
            }
        }
        f.all().into_iter().flat_map(|c| c.collect()).collect()
    }
}
