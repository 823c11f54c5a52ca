//! The learned part of the L2 FIB: (bridge domain, MAC) → interface, with last-seen times
//! for aging. Written by workers as they learn, read by workers as they forward; static MACs
//! live in the compiled [`super::BdEntry`] instead and always win.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::sharded::Sharded;
use crate::types::Mac;

/// A learned MAC.
#[derive(Debug)]
pub struct L2Entry {
    ifidx: AtomicU32,
    last_seen: AtomicU64,
}

/// Outcome of learning a source MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    /// Already known on this interface (timestamp refreshed).
    Known,
    /// New entry.
    Learned,
    /// Known on another interface: moved.
    Moved,
    /// The table is full: not learned.
    Full,
}

/// A learned MAC as read out by the control side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedMac {
    /// Bridge domain index.
    pub bd: u16,
    /// MAC.
    pub mac: Mac,
    /// Interface index.
    pub ifidx: u32,
    /// Age in nanoseconds at read-out time.
    pub age_ns: u64,
}

/// The learned-MAC table.
#[derive(Debug, Default)]
pub struct L2Fib {
    map: Sharded<(u16, Mac), L2Entry>,
}

impl L2Fib {
    /// Interface behind `mac` in `bd`, if learned and not older than `aging_ns` (0 = no aging).
    #[inline]
    pub fn lookup(&self, bd: u16, mac: Mac, now: u64, aging_ns: u64) -> Option<u32> {
        self.map
            .get(&(bd, mac), |e| {
                let seen = e.last_seen.load(Ordering::Relaxed);
                (aging_ns == 0 || now.saturating_sub(seen) <= aging_ns)
                    .then(|| e.ifidx.load(Ordering::Relaxed))
            })
            .flatten()
    }

    /// Learns `mac` behind `ifidx` in `bd`.
    #[inline]
    pub fn learn(&self, bd: u16, mac: Mac, ifidx: u32, now: u64, max: usize) -> Learn {
        let fast = self.map.get(&(bd, mac), |e| {
            if e.ifidx.load(Ordering::Relaxed) == ifidx {
                // Refresh at most every 10 ms to keep the cache line quiet.
                if now.saturating_sub(e.last_seen.load(Ordering::Relaxed)) > 10_000_000 {
                    e.last_seen.store(now, Ordering::Relaxed);
                }
                true
            } else {
                false
            }
        });
        if fast == Some(true) {
            return Learn::Known;
        }
        let full = self.map.len() >= max;
        self.map
            .with_shard(&(bd, mac), |m| match m.get(&(bd, mac)) {
                Some(e) => {
                    e.ifidx.store(ifidx, Ordering::Relaxed);
                    e.last_seen.store(now, Ordering::Relaxed);
                    (Learn::Moved, 0)
                }
                None if full => (Learn::Full, 0),
                None => {
                    m.insert(
                        (bd, mac),
                        L2Entry {
                            ifidx: AtomicU32::new(ifidx),
                            last_seen: AtomicU64::new(now),
                        },
                    );
                    (Learn::Learned, 1)
                }
            })
    }

    /// Removes entries older than their domain's aging time (`aging_of(bd)`, 0 = never) or
    /// whose domain no longer exists (`None`).
    pub fn sweep(&self, now: u64, aging_of: impl Fn(u16) -> Option<u64>) -> usize {
        self.map.retain(|(bd, _), e| match aging_of(*bd) {
            None => false,
            Some(0) => true,
            Some(a) => now.saturating_sub(e.last_seen.load(Ordering::Relaxed)) <= a,
        })
    }

    /// Removes every entry learned behind `ifidx`.
    pub fn flush_interface(&self, ifidx: u32) -> usize {
        self.map
            .retain(|_, e| e.ifidx.load(Ordering::Relaxed) != ifidx)
    }

    /// Removes every entry learned behind one of `ifidx`.
    pub fn flush_interfaces(&self, ifidx: &std::collections::BTreeSet<u32>) -> usize {
        self.map
            .retain(|_, e| !ifidx.contains(&e.ifidx.load(Ordering::Relaxed)))
    }

    /// All learned MACs.
    pub fn entries(&self, now: u64) -> Vec<LearnedMac> {
        let mut v = Vec::new();
        self.map.for_each(|(bd, mac), e| {
            v.push(LearnedMac {
                bd: *bd,
                mac: *mac,
                ifidx: e.ifidx.load(Ordering::Relaxed),
                age_ns: now.saturating_sub(e.last_seen.load(Ordering::Relaxed)),
            })
        });
        v.sort_by_key(|e| (e.bd, e.mac));
        v
    }

    /// Number of learned MACs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if nothing is learned.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learn_move_age_and_bound() {
        let t = L2Fib::default();
        let m = Mac([2, 0, 0, 0, 0, 1]);
        assert_eq!(t.learn(0, m, 1, 0, 10), Learn::Learned);
        assert_eq!(t.learn(0, m, 1, 5, 10), Learn::Known);
        assert_eq!(t.learn(0, m, 2, 6, 10), Learn::Moved);
        assert_eq!(t.lookup(0, m, 7, 100), Some(2));
        assert_eq!(t.lookup(0, m, 1000, 100), None, "aged out on lookup");
        assert_eq!(t.lookup(1, m, 7, 100), None, "per bridge domain");
        assert_eq!(t.sweep(1000, |_| Some(100)), 1);
        assert!(t.is_empty());
        assert_eq!(t.learn(0, m, 1, 0, 0), Learn::Full);
    }
}
