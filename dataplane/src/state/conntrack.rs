//! Connection tracking for stateful ACLs: a session is created when a `permit-and-reflect`
//! rule lets a packet through; afterwards packets of that session in either direction are
//! recognised (the `conntrack` feature marks them) and ACLs let them pass.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use super::{TCP_ESTABLISHED, TCP_OPENING, tcp_next, timeout_ns};
use crate::headers::{Flow, PROTO_TCP, TCP_SYN};
use crate::tables::LimitsNs;
use crate::tables::sharded::Sharded;

/// A directional 5-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol.
    pub proto: u8,
    /// Source port (ICMP echo: identifier).
    pub sport: u16,
    /// Destination port (ICMP echo: identifier).
    pub dport: u16,
}

impl CtKey {
    /// The key of a flow.
    pub fn of(f: &Flow) -> CtKey {
        CtKey {
            src: f.src,
            dst: f.dst,
            proto: f.proto,
            sport: f.l4.sport,
            dport: f.l4.dport,
        }
    }

    /// The same flow seen from the other end.
    pub fn reverse(&self) -> CtKey {
        CtKey {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

/// One tracked connection.
#[derive(Debug)]
pub struct CtEntry {
    /// The originating direction.
    pub orig: CtKey,
    phase: AtomicU8,
    last_seen: AtomicU64,
}

/// A session as read out by the control side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtSession {
    /// Originating direction.
    pub orig: CtKey,
    /// TCP phase (see [`super::TCP_OPENING`]...).
    pub phase: u8,
    /// Nanoseconds since last packet.
    pub idle_ns: u64,
}

/// The connection table (each session is stored under both directions' keys).
#[derive(Debug, Default)]
pub struct ConnTrack {
    map: Sharded<CtKey, Arc<CtEntry>>,
}

impl ConnTrack {
    /// Finds the live session of `k`; the bool is true when `k` is the reply direction.
    /// Updates the session's TCP phase and timestamp.
    #[inline]
    pub fn track(&self, f: &Flow, now: u64, l: &LimitsNs) -> Option<bool> {
        let k = CtKey::of(f);
        self.map
            .get(&k, |e| {
                let phase = e.phase.load(Ordering::Relaxed);
                let idle = now.saturating_sub(e.last_seen.load(Ordering::Relaxed));
                if idle > timeout_ns(l, k.proto, phase) {
                    return None;
                }
                let reply = e.orig != k;
                if k.proto == PROTO_TCP {
                    let np = tcp_next(phase, f.l4.tcp_flags, reply);
                    if np != phase {
                        e.phase.store(np, Ordering::Relaxed);
                    }
                }
                e.last_seen.store(now, Ordering::Relaxed);
                Some(reply)
            })
            .flatten()
    }

    /// True if `quoted` (the packet an ICMP error quotes) belongs to a live session, in
    /// either direction: the error is related to it (RFC 5927 style "related" traffic, e.g.
    /// fragmentation needed for a tracked TCP flow). Does not refresh the session.
    pub fn related(&self, quoted: &Flow, now: u64, l: &LimitsNs) -> bool {
        let k = CtKey::of(quoted);
        self.map
            .get(&k, |e| {
                let idle = now.saturating_sub(e.last_seen.load(Ordering::Relaxed));
                idle <= timeout_ns(l, k.proto, e.phase.load(Ordering::Relaxed))
            })
            .unwrap_or(false)
    }

    /// Creates a session for `f` (no-op if it exists); false if the table is full.
    pub fn create(&self, f: &Flow, now: u64, max: usize) -> bool {
        let k = CtKey::of(f);
        if self.map.len() / 2 >= max {
            return false;
        }
        let phase = if k.proto == PROTO_TCP && f.l4.tcp_flags & TCP_SYN == 0 {
            TCP_ESTABLISHED
        } else {
            TCP_OPENING
        };
        let e = Arc::new(CtEntry {
            orig: k,
            phase: AtomicU8::new(phase),
            last_seen: AtomicU64::new(now),
        });
        let r = k.reverse();
        // Replace any stale entries under both keys.
        self.map.with_shard(&k, |m| {
            let added = m.insert(k, e.clone()).is_none() as isize;
            ((), added)
        });
        self.map.with_shard(&r, |m| {
            let added = m.insert(r, e.clone()).is_none() as isize;
            ((), added)
        });
        true
    }

    /// Removes expired sessions; returns how many keys were removed.
    pub fn sweep(&self, now: u64, l: &LimitsNs) -> usize {
        self.map.retain(|k, e| {
            let idle = now.saturating_sub(e.last_seen.load(Ordering::Relaxed));
            idle <= timeout_ns(l, k.proto, e.phase.load(Ordering::Relaxed))
        })
    }

    /// All sessions (once each, by originating direction).
    pub fn sessions(&self, now: u64) -> Vec<CtSession> {
        let mut v = Vec::new();
        self.map.for_each(|k, e| {
            if *k == e.orig {
                v.push(CtSession {
                    orig: e.orig,
                    phase: e.phase.load(Ordering::Relaxed),
                    idle_ns: now.saturating_sub(e.last_seen.load(Ordering::Relaxed)),
                });
            }
        });
        v
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.map.len() / 2
    }

    /// True if no sessions.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
