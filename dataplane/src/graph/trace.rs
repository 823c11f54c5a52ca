//! Packet trace: when started for N packets (optionally only those received on one
//! interface, or matching an ACL-style rule), the next N such packets are marked and every node they pass records a line
//! (its name, what it did; for an ACL decision also the rule). Workers buffer lines per
//! dispatch and append them to the shared trace, read by the control side. Bounded: at most
//! [`MAX_TRACE_PACKETS`] packets per start and [`MAX_LINES`] lines kept.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;

use crate::control::{AclConfig, AclRule};
use crate::tables::acl::{Acl, L2Fields};

use crate::headers::parse::{
    ETH_P_ARP, ETH_P_IPV4, ETH_P_IPV6, Ethernet, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
    flow_of,
};

/// The ACL rule behind a line's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The dataplane ACL's name.
    pub acl: String,
    /// Index of the rule that matched (`None`: no rule matched, the implicit deny).
    pub rule: Option<usize>,
}

/// One line of a packet's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Trace id of the packet (1-based, in order of arrival).
    pub packet: u32,
    /// Node name.
    pub node: &'static str,
    /// What happened.
    pub text: String,
    /// For an ACL decision, the rule.
    pub rule: Option<RuleRef>,
}

/// Most lines kept (older ones are discarded first).
pub const MAX_LINES: usize = 100_000;

/// Most packets one start traces.
pub const MAX_TRACE_PACKETS: u32 = 1000;

/// No interface filter.
const ANY_IF: u32 = u32::MAX;

/// What the trace is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStatus {
    /// Packets still to be traced (0: not tracing).
    pub remaining: u32,
    /// Packets traced since the last start.
    pub traced: u32,
    /// The interface index traced packets must be received on, if any.
    pub rx_if: Option<u32>,
    /// Lines held.
    pub lines: usize,
    /// The rule traced packets must match, if any.
    pub rule: Option<AclRule>,
}

/// Runtime trace control and buffer.
#[derive(Debug)]
pub struct TraceCtl {
    remaining: AtomicU32,
    next_id: AtomicU32,
    rx_if: AtomicU32,
    /// The rule as a one-rule ACL (its match is the ACLs' own).
    rule: ArcSwapOption<Acl>,
    lines: Mutex<Vec<TraceLine>>,
}

impl Default for TraceCtl {
    fn default() -> Self {
        TraceCtl {
            remaining: AtomicU32::new(0),
            next_id: AtomicU32::new(0),
            rx_if: AtomicU32::new(ANY_IF),
            rule: ArcSwapOption::empty(),
            lines: Mutex::new(Vec::new()),
        }
    }
}

impl TraceCtl {
    /// Starts tracing the next `n` received packets (at most [`MAX_TRACE_PACKETS`]), only
    /// those received on interface `rx_if` and matching `rule` when given, clearing the
    /// previous trace.
    pub fn start(&self, n: u32, rx_if: Option<u32>, rule: Option<AclRule>) {
        self.remaining.store(0, Ordering::Release);
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.next_id.store(0, Ordering::Relaxed);
        self.rx_if.store(rx_if.unwrap_or(ANY_IF), Ordering::Relaxed);
        self.rule.store(rule.map(|r| {
            Arc::new(Acl::new(AclConfig {
                name: "trace".into(),
                rules: vec![r],
            }))
        }));
        self.remaining
            .store(n.min(MAX_TRACE_PACKETS), Ordering::Release);
    }

    /// Stops tracing; what was recorded stays.
    pub fn stop(&self) {
        self.remaining.store(0, Ordering::Release);
    }

    /// Discards what was recorded (tracing, if on, goes on).
    pub fn clear(&self) {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether tracing is on, how far, and what is held.
    pub fn status(&self) -> TraceStatus {
        let rx_if = self.rx_if.load(Ordering::Relaxed);
        TraceStatus {
            remaining: self.remaining.load(Ordering::Acquire),
            traced: self.next_id.load(Ordering::Relaxed),
            rx_if: (rx_if != ANY_IF).then_some(rx_if),
            lines: self.lines.lock().unwrap_or_else(|e| e.into_inner()).len(),
            rule: self
                .rule
                .load()
                .as_ref()
                .and_then(|a| a.config.rules.first().cloned()),
        }
    }

    /// Claims a trace id for `frame`, received on interface `rx_if`, if tracing is on and
    /// the frame passes the filters (0 = not traced).
    #[inline]
    pub fn claim(&self, rx_if: u32, frame: &[u8]) -> u32 {
        if self.remaining.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let want = self.rx_if.load(Ordering::Relaxed);
        if want != ANY_IF && want != rx_if {
            return 0;
        }
        if let Some(rule) = self.rule.load().as_ref()
            && !matches(rule, frame)
        {
            return 0;
        }
        let took = self
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |r| r.checked_sub(1));
        match took {
            Ok(_) => self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            Err(_) => 0,
        }
    }

    /// Appends a worker's lines.
    pub fn append(&self, lines: &mut Vec<TraceLine>) {
        if lines.is_empty() {
            return;
        }
        let mut g = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        g.append(lines);
        if g.len() > MAX_LINES {
            let excess = g.len() - MAX_LINES;
            g.drain(..excess);
        }
    }

    /// The trace so far, ordered by packet then by the order lines were recorded.
    pub fn read(&self) -> Vec<TraceLine> {
        let mut v = self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.sort_by_key(|l| l.packet);
        v
    }
}

/// Whether `frame` matches the one rule of `acl` (L2 fields, and the IP flow if it has one).
fn matches(acl: &Acl, frame: &[u8]) -> bool {
    let Ok(eth) = Ethernet::parse(frame) else {
        return false;
    };
    let l2 = L2Fields {
        src: eth.src,
        dst: eth.dst,
        ethertype: eth.ethertype,
    };
    let flow = match eth.ethertype {
        ETH_P_IPV4 | ETH_P_IPV6 => flow_of(&frame[eth.header_len..]),
        _ => None,
    };
    acl.eval_frame(&l2, flow.as_ref(), (0, 0)).is_some()
}

/// A one-line summary of a frame's headers for the trace: MACs, VLAN, and the IP and
/// transport headers when there are some (e.g. `02:..:01 > 02:..:02, ipv4 10.0.0.1 >
/// 10.0.0.2 icmp echo-request`).
pub fn headers(frame: &[u8]) -> String {
    let Ok(eth) = Ethernet::parse(frame) else {
        return format!("{} bytes, not an ethernet frame", frame.len());
    };
    let mut s = format!("{} > {}", eth.src, eth.dst);
    if let Some(v) = eth.vlan {
        s += &format!(" vlan {}", v.vid);
    }
    let l3 = &frame[eth.header_len..];
    match eth.ethertype {
        ETH_P_ARP => s += ", arp",
        ETH_P_IPV4 | ETH_P_IPV6 => match flow_of(l3) {
            Some(f) => {
                let v = if f.src.is_ipv4() { "ipv4" } else { "ipv6" };
                s += &format!(", {v} {} > {}", f.src, f.dst);
                let l4 = f.l4;
                match f.proto {
                    PROTO_TCP if l4.valid => {
                        s += &format!(
                            " tcp {} > {} flags {:#04x}",
                            l4.sport, l4.dport, l4.tcp_flags
                        )
                    }
                    PROTO_UDP if l4.valid => s += &format!(" udp {} > {}", l4.sport, l4.dport),
                    PROTO_ICMP | PROTO_ICMPV6 if l4.valid => {
                        s += &format!(" icmp type {} code {}", l4.icmp_type, l4.icmp_code)
                    }
                    p => s += &format!(" proto {p}"),
                }
                if f.src.is_ipv4() {
                    s += &format!(" ttl {}", l3.get(8).copied().unwrap_or(0));
                } else {
                    s += &format!(" hlim {}", l3.get(7).copied().unwrap_or(0));
                }
            }
            None => s += ", malformed ip",
        },
        t => s += &format!(", ethertype {t:#06x}"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a trace for 2 packets filtered on interface 3; packets claimed on interfaces 1,
    // 3, 3, 3. Output: only the first two on interface 3 get ids 1 and 2; then nothing.
    #[test]
    fn an_interface_filter_and_the_count_bound_which_packets_are_traced() {
        let t = TraceCtl::default();
        t.start(2, Some(3), None);
        assert_eq!(t.claim(1, &[]), 0);
        assert_eq!(t.claim(3, &[]), 1);
        assert_eq!(t.claim(3, &[]), 2);
        assert_eq!(t.claim(3, &[]), 0);
        assert_eq!(t.status().traced, 2);
        t.start(u32::MAX, None, None);
        assert_eq!(t.status().remaining, MAX_TRACE_PACKETS);
        t.stop();
        assert_eq!(t.claim(1, &[]), 0);
    }

    // Input: a trace for 5 packets matching UDP to port 9999 within 10.2.0.0/24; an ICMP
    // echo, a UDP packet to port 53, a UDP packet to 10.2.0.2 port 9999, an ARP request.
    // Output: only the UDP packet to port 9999 is traced.
    #[test]
    fn an_acl_style_rule_picks_the_packets_traced() {
        use crate::control::AclAction;
        use crate::headers::Builder;
        use crate::types::{IpNet, Mac};
        use std::net::Ipv4Addr;
        let t = TraceCtl::default();
        let rule = AclRule {
            dst: Some("10.2.0.0/24".parse::<IpNet>().unwrap()),
            proto: Some(PROTO_UDP),
            dst_ports: Some((9999, 9999)),
            ..AclRule::any(AclAction::Permit)
        };
        t.start(5, None, Some(rule.clone()));
        assert_eq!(t.status().rule, Some(rule));
        let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        let (src, dst) = (Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 2, 0, 2));
        let ping = Builder::eth(a, b).ipv4(src, dst).echo_request(1, 1).build();
        let dns = Builder::eth(a, b).ipv4(src, dst).udp(5000, 53).build();
        let hit = Builder::eth(a, b).ipv4(src, dst).udp(5000, 9999).build();
        let arp = Builder::eth(Mac::BROADCAST, a)
            .arp(1, a, src, Mac([0; 6]), dst)
            .build();
        assert_eq!(t.claim(0, &ping), 0);
        assert_eq!(t.claim(0, &dns), 0);
        assert_eq!(t.claim(0, &hit), 1);
        assert_eq!(t.claim(0, &arp), 0);
    }
}
