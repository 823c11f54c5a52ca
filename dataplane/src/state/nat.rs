//! NAT44 sessions for interface SNAT with port allocation (PAT), endpoint-dependent: a
//! session maps (inside address, port) toward one remote endpoint to (outside address, port).
//! Static 1:1 mappings are stateless and live in [`crate::tables::NatTables`].

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{TCP_OPENING, tcp_next, timeout_ns};
use crate::headers::{PROTO_ICMP, PROTO_TCP};
use crate::tables::LimitsNs;
use crate::tables::sharded::Sharded;

/// A directional IPv4 5-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol.
    pub proto: u8,
    /// Source port (ICMP: echo identifier).
    pub sport: u16,
    /// Destination port (ICMP: echo identifier).
    pub dport: u16,
}

/// One translation.
#[derive(Debug)]
pub struct NatSession {
    /// Protocol.
    pub proto: u8,
    /// Inside endpoint.
    pub inside: (Ipv4Addr, u16),
    /// Outside (translated) endpoint.
    pub outside: (Ipv4Addr, u16),
    /// Remote endpoint.
    pub remote: (Ipv4Addr, u16),
    phase: AtomicU8,
    last_seen: AtomicU64,
}

impl NatSession {
    fn in2out_key(&self) -> NatKey {
        NatKey {
            src: self.inside.0,
            dst: self.remote.0,
            proto: self.proto,
            sport: self.inside.1,
            dport: if self.proto == PROTO_ICMP {
                self.inside.1
            } else {
                self.remote.1
            },
        }
    }

    fn out2in_key(&self) -> NatKey {
        NatKey {
            src: self.remote.0,
            dst: self.outside.0,
            proto: self.proto,
            sport: if self.proto == PROTO_ICMP {
                self.outside.1
            } else {
                self.remote.1
            },
            dport: self.outside.1,
        }
    }

    /// Records a packet (TCP phase, timestamp).
    #[inline]
    pub fn touch(&self, tcp_flags: u8, reply: bool, now: u64) {
        if self.proto == PROTO_TCP {
            let p = self.phase.load(Ordering::Relaxed);
            let np = tcp_next(p, tcp_flags, reply);
            if np != p {
                self.phase.store(np, Ordering::Relaxed);
            }
        }
        self.last_seen.store(now, Ordering::Relaxed);
    }

    fn expired(&self, now: u64, l: &LimitsNs) -> bool {
        let idle = now.saturating_sub(self.last_seen.load(Ordering::Relaxed));
        idle > timeout_ns(l, self.proto, self.phase.load(Ordering::Relaxed))
    }
}

/// A session as read out by the control side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatSessionInfo {
    /// Protocol.
    pub proto: u8,
    /// Inside endpoint.
    pub inside: (Ipv4Addr, u16),
    /// Outside endpoint.
    pub outside: (Ipv4Addr, u16),
    /// Remote endpoint.
    pub remote: (Ipv4Addr, u16),
    /// Nanoseconds since the last packet.
    pub idle_ns: u64,
}

struct Ports {
    used: Box<[u64; 1024]>,
    cursor: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            used: Box::new([0; 1024]),
            cursor: 1024,
        }
    }
    fn is_used(&self, p: u16) -> bool {
        self.used[p as usize / 64] & (1 << (p % 64)) != 0
    }
    fn set(&mut self, p: u16, on: bool) {
        if on {
            self.used[p as usize / 64] |= 1 << (p % 64);
        } else {
            self.used[p as usize / 64] &= !(1 << (p % 64));
        }
    }
    fn alloc(&mut self, prefer: u16) -> Option<u16> {
        if prefer >= 1024 && !self.is_used(prefer) {
            self.set(prefer, true);
            return Some(prefer);
        }
        for _ in 0..(65536 - 1024) {
            let p = self.cursor;
            self.cursor = if self.cursor == u16::MAX {
                1024
            } else {
                self.cursor + 1
            };
            if !self.is_used(p) {
                self.set(p, true);
                return Some(p);
            }
        }
        None
    }
}

/// Why a session could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatFull {
    /// The session table is at its limit.
    Sessions,
    /// No free port on the outside address.
    Ports,
}

/// The NAT44 session table.
#[derive(Default)]
pub struct Nat44 {
    in2out: Sharded<NatKey, Arc<NatSession>>,
    out2in: Sharded<NatKey, Arc<NatSession>>,
    ports: Mutex<HashMap<(Ipv4Addr, u8), Ports>>,
}

impl std::fmt::Debug for Nat44 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nat44")
            .field("sessions", &self.len())
            .finish()
    }
}

impl Nat44 {
    /// The live session for an inside-to-outside packet.
    #[inline]
    pub fn lookup_in2out(&self, k: &NatKey, now: u64, l: &LimitsNs) -> Option<Arc<NatSession>> {
        self.in2out
            .get(k, |s| (!s.expired(now, l)).then(|| s.clone()))
            .flatten()
    }

    /// The live session for an outside-to-inside packet.
    #[inline]
    pub fn lookup_out2in(&self, k: &NatKey, now: u64, l: &LimitsNs) -> Option<Arc<NatSession>> {
        self.out2in
            .get(k, |s| (!s.expired(now, l)).then(|| s.clone()))
            .flatten()
    }

    /// Creates a session for in2out key `k`, translating to `outside_addr`.
    pub fn create(
        &self,
        k: &NatKey,
        outside_addr: Ipv4Addr,
        now: u64,
        max: usize,
    ) -> Result<Arc<NatSession>, NatFull> {
        if self.in2out.len() >= max {
            return Err(NatFull::Sessions);
        }
        let port = {
            let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
            ports
                .entry((outside_addr, k.proto))
                .or_insert_with(Ports::new)
                .alloc(k.sport)
                .ok_or(NatFull::Ports)?
        };
        let s = Arc::new(NatSession {
            proto: k.proto,
            inside: (k.src, k.sport),
            outside: (outside_addr, port),
            remote: (k.dst, if k.proto == PROTO_ICMP { port } else { k.dport }),
            phase: AtomicU8::new(TCP_OPENING),
            last_seen: AtomicU64::new(now),
        });
        let ik = s.in2out_key();
        let ok = s.out2in_key();
        if let Some(old) = self.in2out.with_shard(&ik, |m| {
            let old = m.insert(ik, s.clone());
            let d = old.is_none() as isize;
            (old, d)
        }) {
            self.release(&old);
        }
        self.out2in.with_shard(&ok, |m| {
            let d = m.insert(ok, s.clone()).is_none() as isize;
            ((), d)
        });
        Ok(s)
    }

    fn release(&self, s: &NatSession) {
        let ok = s.out2in_key();
        self.out2in.with_shard(&ok, |m| match m.get(&ok) {
            Some(x) if std::ptr::eq(x.as_ref(), s) => {
                m.remove(&ok);
                ((), -1)
            }
            _ => ((), 0),
        });
        let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = ports.get_mut(&(s.outside.0, s.proto)) {
            p.set(s.outside.1, false);
        }
    }

    /// Removes expired sessions and frees their ports; returns how many.
    pub fn sweep(&self, now: u64, l: &LimitsNs) -> usize {
        let mut dead = Vec::new();
        self.in2out.retain(|_, s| {
            let keep = !s.expired(now, l);
            if !keep {
                dead.push(s.clone());
            }
            keep
        });
        for s in &dead {
            self.release(s);
        }
        dead.len()
    }

    /// All sessions.
    pub fn sessions(&self, now: u64) -> Vec<NatSessionInfo> {
        let mut v = Vec::new();
        self.in2out.for_each(|_, s| {
            v.push(NatSessionInfo {
                proto: s.proto,
                inside: s.inside,
                outside: s.outside,
                remote: s.remote,
                idle_ns: now.saturating_sub(s.last_seen.load(Ordering::Relaxed)),
            })
        });
        v
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.in2out.len()
    }

    /// True if no sessions.
    pub fn is_empty(&self) -> bool {
        self.in2out.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> LimitsNs {
        LimitsNs {
            max_macs: 10,
            max_neighbors: 10,
            max_conntrack: 10,
            max_nat: 10,
            neighbor_ns: 10,
            tcp_est_ns: 100,
            tcp_trans_ns: 50,
            udp_ns: 30,
            icmp_ns: 20,
        }
    }

    #[test]
    fn pat_allocates_distinct_ports_and_expires() {
        let nat = Nat44::default();
        let out: Ipv4Addr = "198.51.100.1".parse().unwrap();
        let k = |src: &str, sport| NatKey {
            src: src.parse().unwrap(),
            dst: "203.0.113.9".parse().unwrap(),
            proto: 17,
            sport,
            dport: 53,
        };
        let a = nat.create(&k("10.0.0.1", 5000), out, 0, 10).unwrap();
        let b = nat.create(&k("10.0.0.2", 5000), out, 0, 10).unwrap();
        assert_eq!(a.outside.1, 5000, "source port preserved when free");
        assert_ne!(a.outside.1, b.outside.1);
        let back = NatKey {
            src: "203.0.113.9".parse().unwrap(),
            dst: out,
            proto: 17,
            sport: 53,
            dport: b.outside.1,
        };
        assert_eq!(
            nat.lookup_out2in(&back, 1, &lim()).unwrap().inside.0,
            "10.0.0.2".parse::<Ipv4Addr>().unwrap()
        );
        assert!(nat.lookup_out2in(&back, 100, &lim()).is_none(), "expired");
        assert_eq!(nat.sweep(100, &lim()), 2);
        assert!(nat.is_empty());
        // Port 5000 is free again.
        assert_eq!(
            nat.create(&k("10.0.0.3", 5000), out, 0, 10)
                .unwrap()
                .outside
                .1,
            5000
        );
        assert_eq!(
            nat.create(&k("10.0.0.4", 1), out, 0, 1).unwrap_err(),
            NatFull::Sessions
        );
    }
}
