//! A hash map split into shards, each behind its own `RwLock`: the dynamic tables that
//! workers both read and write (learned MACs, neighbors, sessions) use it so readers of
//! different shards never contend and a lookup holds one uncontended read lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::FxBuild;

const SHARDS: usize = 64;

/// A sharded, counted hash map.
#[derive(Debug)]
pub struct Sharded<K, V> {
    shards: Vec<RwLock<HashMap<K, V, FxBuild>>>,
    count: AtomicUsize,
}

impl<K: Hash + Eq, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            count: AtomicUsize::new(0),
        }
    }
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    #[inline]
    fn shard(&self, k: &K) -> &RwLock<HashMap<K, V, FxBuild>> {
        let h = FxBuild::default().hash_one(k);
        &self.shards[(h >> 32) as usize % SHARDS]
    }

    /// Runs `f` on the value for `k` under a read lock.
    #[inline]
    pub fn get<R>(&self, k: &K, f: impl FnOnce(&V) -> R) -> Option<R> {
        let g = self.shard(k).read().unwrap_or_else(|e| e.into_inner());
        g.get(k).map(f)
    }

    /// Runs `f` on the shard holding `k` under its write lock; `f` returns how many entries
    /// it added (+) or removed (-) so the total stays counted.
    pub fn with_shard<R>(
        &self,
        k: &K,
        f: impl FnOnce(&mut HashMap<K, V, FxBuild>) -> (R, isize),
    ) -> R {
        let mut g = self.shard(k).write().unwrap_or_else(|e| e.into_inner());
        let (r, delta) = f(&mut g);
        if delta >= 0 {
            self.count.fetch_add(delta as usize, Ordering::Relaxed);
        } else {
            self.count.fetch_sub((-delta) as usize, Ordering::Relaxed);
        }
        r
    }

    /// Removes every entry for which `keep` is false; returns how many were removed.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let mut removed = 0;
        for s in &self.shards {
            let mut g = s.write().unwrap_or_else(|e| e.into_inner());
            let before = g.len();
            g.retain(|k, v| keep(k, v));
            removed += before - g.len();
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
        removed
    }

    /// Calls `f` on every entry (shard by shard, under read locks).
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for s in &self.shards {
            let g = s.read().unwrap_or_else(|e| e.into_inner());
            for (k, v) in g.iter() {
                f(k, v);
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
