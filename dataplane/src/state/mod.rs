//! Stateful tables written on the forwarding path: connection tracking ([`conntrack`]) and
//! NAT44 sessions ([`nat`]). Both are bounded, aged by protocol-specific timeouts (checked on
//! lookup and swept periodically) and readable by the control side.

pub mod conntrack;
pub mod nat;

use crate::headers::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP};
use crate::tables::LimitsNs;

/// TCP session phase shared by conntrack and NAT.
pub const TCP_OPENING: u8 = 0;
/// Both directions seen, handshake done.
pub const TCP_ESTABLISHED: u8 = 1;
/// FIN or RST seen.
pub const TCP_CLOSING: u8 = 2;

/// Timeout of a session of protocol `proto` in TCP phase `phase`.
pub fn timeout_ns(l: &LimitsNs, proto: u8, phase: u8) -> u64 {
    match proto {
        PROTO_TCP if phase == TCP_ESTABLISHED => l.tcp_est_ns,
        PROTO_TCP => l.tcp_trans_ns,
        PROTO_ICMP | PROTO_ICMPV6 => l.icmp_ns,
        _ => l.udp_ns,
    }
}

/// Next TCP phase after a segment with `flags`, `reply` telling its direction.
pub fn tcp_next(phase: u8, flags: u8, reply: bool) -> u8 {
    use crate::headers::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
    if flags & (TCP_FIN | TCP_RST) != 0 {
        return TCP_CLOSING;
    }
    match phase {
        TCP_OPENING if reply && flags & TCP_SYN != 0 && flags & TCP_ACK != 0 => TCP_ESTABLISHED,
        TCP_OPENING if !reply && flags & TCP_SYN == 0 && flags & TCP_ACK != 0 => TCP_ESTABLISHED,
        p => p,
    }
}
