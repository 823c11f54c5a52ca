//! The neighbor table (ARP for IPv4, ND for IPv6): (interface, IP) → MAC, learned from
//! replies and requests addressed to the box, aged after `neighbor_timeout`. Incomplete
//! entries remember when a request was last sent so resolution is rate-limited.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::sharded::Sharded;
use crate::types::Mac;

/// Minimum interval between two resolution requests for the same neighbor.
pub const REQUEST_INTERVAL_NS: u64 = 250_000_000;

#[derive(Debug)]
struct Neigh {
    mac: Option<Mac>,
    updated: AtomicU64,
}

/// A neighbor as read out by the control side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Interface index.
    pub ifidx: u32,
    /// IP address.
    pub ip: IpAddr,
    /// MAC (`None` while resolution is pending).
    pub mac: Option<Mac>,
    /// Age in nanoseconds.
    pub age_ns: u64,
}

/// The neighbor table.
#[derive(Debug, Default)]
pub struct NeighborTable {
    map: Sharded<(u32, IpAddr), Neigh>,
}

impl NeighborTable {
    /// The MAC of `ip` on `ifidx`, if resolved and younger than `timeout_ns`.
    #[inline]
    pub fn lookup(&self, ifidx: u32, ip: IpAddr, now: u64, timeout_ns: u64) -> Option<Mac> {
        self.map
            .get(&(ifidx, ip), |n| {
                let fresh = now.saturating_sub(n.updated.load(Ordering::Relaxed)) <= timeout_ns;
                if fresh { n.mac } else { None }
            })
            .flatten()
    }

    /// Records `ip` at `mac` on `ifidx`; returns false if the table is full.
    pub fn learn(&self, ifidx: u32, ip: IpAddr, mac: Mac, now: u64, max: usize) -> bool {
        let same = self.map.get(&(ifidx, ip), |n| {
            if n.mac == Some(mac) {
                n.updated.store(now, Ordering::Relaxed);
                true
            } else {
                false
            }
        });
        if same == Some(true) {
            return true;
        }
        let full = self.map.len() >= max;
        self.map.with_shard(&(ifidx, ip), |m| {
            if let Some(n) = m.get_mut(&(ifidx, ip)) {
                n.mac = Some(mac);
                n.updated.store(now, Ordering::Relaxed);
                (true, 0)
            } else if full {
                (false, 0)
            } else {
                m.insert(
                    (ifidx, ip),
                    Neigh {
                        mac: Some(mac),
                        updated: AtomicU64::new(now),
                    },
                );
                (true, 1)
            }
        })
    }

    /// True if a resolution request for `ip` should be sent now (and records that it was).
    pub fn should_request(&self, ifidx: u32, ip: IpAddr, now: u64, max: usize) -> bool {
        let full = self.map.len() >= max;
        self.map
            .with_shard(&(ifidx, ip), |m| match m.get_mut(&(ifidx, ip)) {
                Some(n) if n.mac.is_none() => {
                    let last = n.updated.load(Ordering::Relaxed);
                    if now.saturating_sub(last) >= REQUEST_INTERVAL_NS {
                        n.updated.store(now, Ordering::Relaxed);
                        (true, 0)
                    } else {
                        (false, 0)
                    }
                }
                Some(n) => {
                    // Stale resolved entry: re-resolve.
                    n.mac = None;
                    n.updated.store(now, Ordering::Relaxed);
                    (true, 0)
                }
                None if full => (false, 0),
                None => {
                    m.insert(
                        (ifidx, ip),
                        Neigh {
                            mac: None,
                            updated: AtomicU64::new(now),
                        },
                    );
                    (true, 1)
                }
            })
    }

    /// Removes entries not refreshed within `timeout_ns`.
    pub fn sweep(&self, now: u64, timeout_ns: u64) -> usize {
        self.map
            .retain(|_, n| now.saturating_sub(n.updated.load(Ordering::Relaxed)) <= timeout_ns)
    }

    /// Removes every entry of one of the interfaces `ifidx` (they went away).
    pub fn flush_interfaces(&self, ifidx: &std::collections::BTreeSet<u32>) -> usize {
        self.map.retain(|(i, _), _| !ifidx.contains(i))
    }

    /// All entries.
    pub fn entries(&self, now: u64) -> Vec<Neighbor> {
        let mut v = Vec::new();
        self.map.for_each(|(ifidx, ip), n| {
            v.push(Neighbor {
                ifidx: *ifidx,
                ip: *ip,
                mac: n.mac,
                age_ns: now.saturating_sub(n.updated.load(Ordering::Relaxed)),
            })
        });
        v.sort_by_key(|n| (n.ifidx, n.ip));
        v
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
