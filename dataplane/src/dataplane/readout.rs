//! What a running [`Dataplane`] can be asked: synchronous polling (tests, benchmarks),
//! events, packet trace, statistics and table read-outs.

use crate::control::AclRule;
use crate::events::Event;
use crate::graph::capture::{CaptureSpec, CaptureStatus};
use crate::graph::trace::{TraceLine, TraceStatus};
use crate::state::conntrack::CtSession;
use crate::state::nat::NatSessionInfo;
use crate::stats::{
    InterfaceStats, NodeDrop, NodeRuntime, NodeStats, StatsSnapshot, WorkerRuntime,
};
use crate::tables::Kind;
use crate::tables::Tables;
use crate::tables::fib::Adj;
use crate::tables::l2fib::LearnedMac;
use crate::tables::neighbor::Neighbor;
use crate::types::IpNet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use super::{Dataplane, PortInfo, lock};

impl Dataplane {
    /// Drives forwarding synchronously (only without worker threads): polls every port and
    /// runs the graph until no port has anything to receive. Returns packets received.
    pub fn poll(&self) -> usize {
        let mut m = lock(&self.manual);
        let Some(w) = m.as_mut() else { return 0 };
        let mut total = 0;
        loop {
            let n = w.poll();
            total += n;
            if n == 0 {
                return total;
            }
        }
    }

    /// A subscription to the event stream.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.sh.events.subscribe()
    }

    /// Starts tracing the next `n` received packets (clearing the previous trace), at most
    /// [`crate::graph::trace::MAX_TRACE_PACKETS`].
    pub fn trace_start(&self, n: u32) {
        self.sh.trace.start(n, None, None);
    }

    /// Starts tracing the next `n` packets (at most
    /// [`crate::graph::trace::MAX_TRACE_PACKETS`]) received on interface `rx_if` and
    /// matching `rule` (its action is ignored), each when given, clearing the previous
    /// trace. Fails if there is no such interface or it is not a port.
    pub fn trace_start_with(
        &self,
        n: u32,
        rx_if: Option<&str>,
        rule: Option<AclRule>,
    ) -> Result<(), String> {
        let ix = match rx_if {
            Some(name) => Some(self.port_index(name)?),
            None => None,
        };
        self.sh.trace.start(n, ix, rule);
        Ok(())
    }

    /// The port index of interface `name`: packets are traced and captured where they
    /// enter and leave the graph, on ports.
    fn port_index(&self, name: &str) -> Result<u32, String> {
        let t = self.sh.tables.load();
        let ix = t
            .if_index(name)
            .ok_or_else(|| format!("no interface {name}"))?;
        match t.iface(ix).map(|i| i.kind) {
            Some(Kind::Port(port)) => Ok(port as u32),
            _ => Err(format!(
                "{name} is not a port: packets are traced and captured on ports"
            )),
        }
    }

    /// Stops tracing (what was recorded stays).
    pub fn trace_stop(&self) {
        self.sh.trace.stop();
    }

    /// Discards the recorded trace.
    pub fn trace_clear(&self) {
        self.sh.trace.clear();
    }

    /// Whether tracing is on and what is held.
    pub fn trace_status(&self) -> TraceStatus {
        self.sh.trace.status()
    }

    /// The recorded trace.
    pub fn trace(&self) -> Vec<TraceLine> {
        self.sh.trace.read()
    }

    /// Starts capturing on interface `name` (a port: what it receives and sends),
    /// discarding the previous capture. Fails if there is no such port.
    pub fn capture_start(&self, name: &str, mut spec: CaptureSpec) -> Result<(), String> {
        spec.ifidx = self.port_index(name)?;
        self.sh.capture.start(spec);
        Ok(())
    }

    /// Stops the capture (what was captured stays).
    pub fn capture_stop(&self) {
        self.sh.capture.stop();
    }

    /// The capture's state.
    pub fn capture_status(&self) -> CaptureStatus {
        self.sh.capture.status()
    }

    /// The capture so far as a pcap file.
    pub fn capture_pcap(&self) -> Vec<u8> {
        self.sh.capture.pcap()
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> StatsSnapshot {
        let t = self.sh.tables.load();
        let mut interfaces = Vec::new();
        for i in t.ifs.iter().flatten() {
            let mut s = self.sh.counters(i.index, &i.name);
            s.name = i.name.clone();
            s.admin_up = i.admin_up;
            s.oper_up = self.sh.oper_up(i.index, &i.name);
            interfaces.push(s);
        }
        let no_buffers = lock(&self.sh.workers)
            .iter()
            .map(|w| w.stats.no_buffers.load(Ordering::Relaxed))
            .sum();
        // The workers' runtime, summed over workers.
        let mut nodes: Vec<NodeStats> = Vec::new();
        let mut drops: Vec<NodeDrop> = Vec::new();
        for n in self.runtime().into_iter().flat_map(|w| w.nodes) {
            match nodes.iter_mut().find(|x| x.node == n.node) {
                Some(x) => {
                    x.vectors += n.vectors;
                    x.packets += n.packets;
                }
                None => nodes.push(NodeStats {
                    node: n.node,
                    vectors: n.vectors,
                    packets: n.packets,
                }),
            }
            for (reason, count) in n.drops.into_iter().filter(|d| d.1 > 0) {
                match drops
                    .iter_mut()
                    .find(|d| d.node == n.node && d.reason == reason)
                {
                    Some(d) => d.count += count,
                    None => drops.push(NodeDrop {
                        node: n.node,
                        reason,
                        count,
                    }),
                }
            }
        }
        StatsSnapshot {
            interfaces,
            nodes,
            drops,
            l2_entries: self.sh.l2.len(),
            neighbors: self.sh.neigh.len(),
            conntrack_sessions: self.sh.ct.len(),
            nat_sessions: self.sh.nat.len(),
            no_buffers,
        }
    }

    /// The graph's activity per worker and node, from the dataplane's start (a worker
    /// restarted after a crash goes on counting from where its predecessor stopped).
    pub fn runtime(&self) -> Vec<WorkerRuntime> {
        let workers = lock(&self.sh.workers).clone();
        let mut out: Vec<WorkerRuntime> = Vec::new();
        for w in &workers {
            let at = match out.iter().position(|x| x.worker == w.id) {
                Some(at) => at,
                None => {
                    out.push(WorkerRuntime {
                        worker: w.id,
                        nodes: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let nodes = &mut out[at].nodes;
            for n in &w.nodes {
                let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
                let x = match nodes.iter().position(|x| x.node == n.name) {
                    Some(x) => x,
                    None => {
                        nodes.push(NodeRuntime {
                            node: n.name,
                            vectors: 0,
                            packets: 0,
                            nanos: 0,
                            drops: n.reasons.iter().map(|r| (*r, 0)).collect(),
                        });
                        nodes.len() - 1
                    }
                };
                let x = &mut nodes[x];
                x.vectors += l(&n.vectors);
                x.packets += l(&n.packets);
                x.nanos += l(&n.nanos);
                for ((_, sum), c) in x.drops.iter_mut().zip(&n.drops) {
                    *sum += l(c);
                }
            }
        }
        out.sort_by_key(|w| w.worker);
        out
    }

    /// Learned MACs.
    pub fn l2_entries(&self) -> Vec<LearnedMac> {
        self.sh.l2.entries(self.sh.clock.now_ns())
    }

    /// Neighbor table.
    pub fn neighbors(&self) -> Vec<Neighbor> {
        self.sh.neigh.entries(self.sh.clock.now_ns())
    }

    /// Connection-tracking sessions.
    pub fn conntrack_sessions(&self) -> Vec<CtSession> {
        self.sh.ct.sessions(self.sh.clock.now_ns())
    }

    /// NAT44 sessions.
    pub fn nat_sessions(&self) -> Vec<NatSessionInfo> {
        self.sh.nat.sessions(self.sh.clock.now_ns())
    }

    /// Installed routes of a VRF (prefix and what it resolves to).
    pub fn routes(&self, vrf: &str) -> Vec<(IpNet, Adj)> {
        let t = self.sh.tables.load();
        let Some(fib) = t.vrf_names.get(vrf).and_then(|&i| t.fib(i)) else {
            return Vec::new();
        };
        fib.installed()
            .map(|(p, a)| (p, fib.adjs[a as usize].clone()))
            .collect()
    }

    /// FIB lookup as the dataplane would do it.
    pub fn lookup(&self, vrf: &str, dst: IpAddr) -> Option<Adj> {
        let t = self.sh.tables.load();
        t.vrf_names
            .get(vrf)
            .and_then(|&i| t.fib(i))
            .and_then(|f| f.lookup(dst).cloned())
    }

    /// Interface index by name.
    pub fn interface_index(&self, name: &str) -> Option<u32> {
        self.sh.tables.load().if_index(name)
    }

    /// Interface names, by index.
    pub fn interfaces(&self) -> Vec<String> {
        self.sh
            .tables
            .load()
            .ifs
            .iter()
            .flatten()
            .map(|i| i.name.clone())
            .collect()
    }

    /// The ports of the box (given at construction; they always exist), in index order.
    pub fn ports(&self) -> Vec<PortInfo> {
        (0..self.fixed.len())
            .filter_map(|ix| self.port(ix))
            .collect()
    }

    /// The port at index `ix` (a port of the box or one created on demand).
    pub fn port(&self, ix: usize) -> Option<PortInfo> {
        let ports = self.sh.ports.load();
        let p = ports.get(ix)?;
        let name = match self.fixed.get(ix) {
            Some((n, _)) => n.clone(),
            None => self.sh.tables.load().iface(ix as u32)?.name.clone(),
        };
        Some(PortInfo {
            name,
            index: ix,
            driver: p.driver,
            mac: p.mac(),
            link_up: p.link_up.load(Ordering::Relaxed),
            host_interface: p.host_interface.clone(),
            host: p.host.clone(),
        })
    }

    /// The counters of one interface (summed over workers, from its creation), without
    /// walking the others.
    pub fn interface_stats(&self, name: &str) -> Option<InterfaceStats> {
        let t = self.sh.tables.load();
        let i = t.iface(t.if_index(name)?)?;
        let mut s = self.sh.counters(i.index, &i.name);
        s.name = i.name.clone();
        s.admin_up = i.admin_up;
        s.oper_up = self.sh.oper_up(i.index, &i.name);
        Some(s)
    }

    /// The current compiled tables (for inspection).
    pub fn tables(&self) -> Arc<Tables> {
        self.sh.tables.load_full()
    }
}
