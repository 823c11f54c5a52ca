//! Counters. Each worker owns its counters and is their only writer (a relaxed load + store,
//! no read-modify-write); snapshots sum over workers.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::control::MAX_INTERFACES;

/// Adds `n` to a counter that only the calling worker writes.
#[inline]
pub fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Counters of one interface in one worker.
#[derive(Debug, Default)]
pub struct IfCounters {
    /// Received packets.
    pub rx_packets: AtomicU64,
    /// Received bytes.
    pub rx_bytes: AtomicU64,
    /// Received unicast.
    pub rx_unicast: AtomicU64,
    /// Received multicast.
    pub rx_multicast: AtomicU64,
    /// Received broadcast.
    pub rx_broadcast: AtomicU64,
    /// Received packets dropped.
    pub rx_drops: AtomicU64,
    /// Received malformed packets.
    pub rx_errors: AtomicU64,
    /// Transmitted packets.
    pub tx_packets: AtomicU64,
    /// Transmitted bytes.
    pub tx_bytes: AtomicU64,
    /// Transmitted unicast.
    pub tx_unicast: AtomicU64,
    /// Transmitted multicast.
    pub tx_multicast: AtomicU64,
    /// Transmitted broadcast.
    pub tx_broadcast: AtomicU64,
    /// Packets dropped on transmit (interface down, ring full).
    pub tx_drops: AtomicU64,
    /// Transmit errors.
    pub tx_errors: AtomicU64,
}

/// A worker's counters.
#[derive(Debug)]
pub struct WorkerStats {
    /// Per interface index.
    pub ifs: Vec<IfCounters>,
    /// Dispatch loops run.
    pub loops: AtomicU64,
    /// Buffers that could not be allocated.
    pub no_buffers: AtomicU64,
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats {
            ifs: (0..MAX_INTERFACES).map(|_| IfCounters::default()).collect(),
            loops: AtomicU64::new(0),
            no_buffers: AtomicU64::new(0),
        }
    }
}

impl WorkerStats {
    /// Counts a received frame by destination MAC class: `(packets, bytes)` as it stands
    /// on the wire (a super-frame: its segments, see [`crate::offload::wire`]).
    #[inline]
    pub fn rx(&self, ifidx: u32, (pkts, bytes): (u64, u64), dst0: u8, bcast: bool) {
        if let Some(c) = self.ifs.get(ifidx as usize) {
            bump(&c.rx_packets, pkts);
            bump(&c.rx_bytes, bytes);
            if bcast {
                bump(&c.rx_broadcast, pkts)
            } else if dst0 & 1 == 1 {
                bump(&c.rx_multicast, pkts)
            } else {
                bump(&c.rx_unicast, pkts)
            }
        }
    }

    /// Counts a transmitted frame, `(packets, bytes)` as on the wire.
    #[inline]
    pub fn tx(&self, ifidx: u32, (pkts, bytes): (u64, u64), dst0: u8, bcast: bool) {
        if let Some(c) = self.ifs.get(ifidx as usize) {
            bump(&c.tx_packets, pkts);
            bump(&c.tx_bytes, bytes);
            if bcast {
                bump(&c.tx_broadcast, pkts)
            } else if dst0 & 1 == 1 {
                bump(&c.tx_multicast, pkts)
            } else {
                bump(&c.tx_unicast, pkts)
            }
        }
    }
}

/// A snapshot of one interface's counters (summed over workers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Interface name.
    pub name: String,
    /// Admin state.
    pub admin_up: bool,
    /// Oper state (admin up and link up).
    pub oper_up: bool,
    /// Received packets.
    pub rx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Received unicast.
    pub rx_unicast: u64,
    /// Received multicast.
    pub rx_multicast: u64,
    /// Received broadcast.
    pub rx_broadcast: u64,
    /// Received and dropped.
    pub rx_drops: u64,
    /// Malformed received.
    pub rx_errors: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Transmitted unicast.
    pub tx_unicast: u64,
    /// Transmitted multicast.
    pub tx_multicast: u64,
    /// Transmitted broadcast.
    pub tx_broadcast: u64,
    /// Dropped on transmit.
    pub tx_drops: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// When these counters started, for an interface created after the dataplane started
    /// (`None`: they started with the dataplane).
    pub since: Option<std::time::SystemTime>,
}

impl InterfaceStats {
    /// Subtracts `base` (the counters when the interface was created).
    pub fn subtract(&mut self, base: &InterfaceStats) {
        let pairs = [
            (&mut self.rx_packets, base.rx_packets),
            (&mut self.rx_bytes, base.rx_bytes),
            (&mut self.rx_unicast, base.rx_unicast),
            (&mut self.rx_multicast, base.rx_multicast),
            (&mut self.rx_broadcast, base.rx_broadcast),
            (&mut self.rx_drops, base.rx_drops),
            (&mut self.rx_errors, base.rx_errors),
            (&mut self.tx_packets, base.tx_packets),
            (&mut self.tx_bytes, base.tx_bytes),
            (&mut self.tx_unicast, base.tx_unicast),
            (&mut self.tx_multicast, base.tx_multicast),
            (&mut self.tx_broadcast, base.tx_broadcast),
            (&mut self.tx_drops, base.tx_drops),
            (&mut self.tx_errors, base.tx_errors),
        ];
        for (v, b) in pairs {
            *v = v.saturating_sub(b);
        }
    }

    /// Adds one worker's counters.
    pub fn add(&mut self, c: &IfCounters) {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.rx_packets += l(&c.rx_packets);
        self.rx_bytes += l(&c.rx_bytes);
        self.rx_unicast += l(&c.rx_unicast);
        self.rx_multicast += l(&c.rx_multicast);
        self.rx_broadcast += l(&c.rx_broadcast);
        self.rx_drops += l(&c.rx_drops);
        self.rx_errors += l(&c.rx_errors);
        self.tx_packets += l(&c.tx_packets);
        self.tx_bytes += l(&c.tx_bytes);
        self.tx_unicast += l(&c.tx_unicast);
        self.tx_multicast += l(&c.tx_multicast);
        self.tx_broadcast += l(&c.tx_broadcast);
        self.tx_drops += l(&c.tx_drops);
        self.tx_errors += l(&c.tx_errors);
    }
}

/// Drops of one node for one reason (summed over workers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDrop {
    /// Node.
    pub node: &'static str,
    /// Reason.
    pub reason: &'static str,
    /// Count.
    pub count: u64,
}

/// A node's activity (summed over workers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStats {
    /// Node.
    pub node: &'static str,
    /// Vectors processed.
    pub vectors: u64,
    /// Packets processed.
    pub packets: u64,
}

/// A node's activity in one worker (the graph's runtime, VPP's `show runtime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRuntime {
    /// Node.
    pub node: &'static str,
    /// Vectors processed.
    pub vectors: u64,
    /// Packets processed.
    pub packets: u64,
    /// Time spent in the node (ns), measured around each vector.
    pub nanos: u64,
    /// Drops per reason, every reason the node has (zero included), in its order.
    pub drops: Vec<(&'static str, u64)>,
}

/// The graph's activity in one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRuntime {
    /// The worker's number.
    pub worker: usize,
    /// Its nodes, in graph order.
    pub nodes: Vec<NodeRuntime>,
}

/// Everything counted, at one moment.
#[derive(Debug, Clone, Default)]
pub struct StatsSnapshot {
    /// Interfaces by index order.
    pub interfaces: Vec<InterfaceStats>,
    /// Node activity.
    pub nodes: Vec<NodeStats>,
    /// Non-zero drops by node and reason.
    pub drops: Vec<NodeDrop>,
    /// Learned MACs.
    pub l2_entries: usize,
    /// Neighbor entries.
    pub neighbors: usize,
    /// Conntrack sessions.
    pub conntrack_sessions: usize,
    /// NAT44 sessions.
    pub nat_sessions: usize,
    /// Buffer allocation failures.
    pub no_buffers: u64,
}

impl StatsSnapshot {
    /// The interface by name.
    pub fn interface(&self, name: &str) -> Option<&InterfaceStats> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Drops counted for `node` and `reason`.
    pub fn drop_count(&self, node: &str, reason: &str) -> u64 {
        self.drops
            .iter()
            .filter(|d| d.node == node && d.reason == reason)
            .map(|d| d.count)
            .sum()
    }
}
