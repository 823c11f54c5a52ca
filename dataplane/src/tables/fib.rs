//! Longest-prefix-match FIBs, one per VRF: a 16-8-8 multibit trie for IPv4 (at most three
//! memory reads per lookup, the VPP "mtrie" layout) and a hash per prefix length for IPv6.
//!
//! A FIB is built whole from its routes (sorted by length, so longer prefixes overwrite the
//! expansion of shorter ones) and never modified afterwards: the control side builds a new one
//! and swaps it in, so workers read it without locks.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FxBuild;
use crate::types::{IpNet, mask128};

/// What a FIB entry does with a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Adj {
    /// Addressed to the box: deliver locally.
    Local,
    /// Directly connected subnet on an interface: the next hop is the destination itself.
    Glean {
        /// Interface index.
        ifidx: u32,
    },
    /// One or more gateways (ECMP when several).
    Via(Vec<Path>),
    /// Discard.
    Drop,
}

/// One resolved path of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    /// Outgoing interface.
    pub ifidx: u32,
    /// Gateway (`None`: the destination itself, as for a connected route).
    pub nh: Option<IpAddr>,
}

const PLY: u32 = 0x8000_0000;

/// IPv4 16-8-8 multibit trie. Leaves hold `adj + 1` (0 = no route).
#[derive(Debug, Clone)]
pub struct Fib4 {
    root: Vec<u32>,
    plies: Vec<[u32; 256]>,
}

impl Default for Fib4 {
    fn default() -> Self {
        Fib4 {
            root: vec![0; 1 << 16],
            plies: Vec::new(),
        }
    }
}

impl Fib4 {
    /// Inserts `a/len → leaf`; routes must be inserted in increasing length order.
    fn insert(&mut self, a: u32, len: u8, leaf: u32) {
        let len = len as u32;
        if len <= 16 {
            let start = (a >> 16) as usize & !((1usize << (16 - len)) - 1);
            let n = 1usize << (16 - len);
            for e in &mut self.root[start..start + n] {
                *e = leaf;
            }
            return;
        }
        let r = (a >> 16) as usize;
        let p1 = self.child(ChildOf::Root(r));
        if len <= 24 {
            let bits = len - 16;
            let start = ((a >> 8) & 0xff) as usize & !((1usize << (8 - bits)) - 1);
            let n = 1usize << (8 - bits);
            for e in &mut self.plies[p1][start..start + n] {
                *e = leaf;
            }
            return;
        }
        let b2 = ((a >> 8) & 0xff) as usize;
        let p2 = self.child(ChildOf::Ply(p1, b2));
        let bits = len - 24;
        let start = (a & 0xff) as usize & !((1usize << (8 - bits)) - 1);
        let n = 1usize << (8 - bits);
        for e in &mut self.plies[p2][start..start + n] {
            *e = leaf;
        }
    }

    fn child(&mut self, at: ChildOf) -> usize {
        let cur = match at {
            ChildOf::Root(r) => self.root[r],
            ChildOf::Ply(p, i) => self.plies[p][i],
        };
        if cur & PLY != 0 {
            return (cur & !PLY) as usize;
        }
        let idx = self.plies.len();
        self.plies.push([cur; 256]);
        let v = PLY | idx as u32;
        match at {
            ChildOf::Root(r) => self.root[r] = v,
            ChildOf::Ply(p, i) => self.plies[p][i] = v,
        }
        idx
    }

    /// Longest-prefix match: the adjacency index, if any route covers `a`.
    #[inline]
    pub fn lookup(&self, a: Ipv4Addr) -> Option<u32> {
        let a = u32::from(a);
        let mut e = self.root[(a >> 16) as usize];
        if e & PLY != 0 {
            e = self.plies[(e & !PLY) as usize][((a >> 8) & 0xff) as usize];
            if e & PLY != 0 {
                e = self.plies[(e & !PLY) as usize][(a & 0xff) as usize];
            }
        }
        e.checked_sub(1)
    }

    /// Number of 256-entry plies (memory use is `1 KiB * plies + 256 KiB`).
    pub fn plies(&self) -> usize {
        self.plies.len()
    }
}

enum ChildOf {
    Root(usize),
    Ply(usize, usize),
}

/// IPv6 LPM: one hash table per prefix length present, probed longest first.
#[derive(Debug, Clone, Default)]
pub struct Fib6 {
    by_len: Vec<(u8, HashMap<u128, u32, FxBuild>)>,
}

impl Fib6 {
    fn insert(&mut self, a: Ipv6Addr, len: u8, adj: u32) {
        let key = u128::from(a) & mask128(len);
        match self.by_len.iter_mut().find(|(l, _)| *l == len) {
            Some((_, m)) => {
                m.insert(key, adj);
            }
            None => {
                let mut m = HashMap::default();
                m.insert(key, adj);
                self.by_len.push((len, m));
                self.by_len.sort_by_key(|e| std::cmp::Reverse(e.0));
            }
        }
    }

    /// Longest-prefix match.
    pub fn lookup(&self, a: Ipv6Addr) -> Option<u32> {
        let a = u128::from(a);
        for (len, m) in &self.by_len {
            if let Some(adj) = m.get(&(a & mask128(*len))) {
                return Some(*adj);
            }
        }
        None
    }
}

/// The FIB of one VRF: both families and the adjacencies they point at.
#[derive(Debug, Clone, Default)]
pub struct VrfFib {
    /// IPv4 trie.
    pub v4: Fib4,
    /// IPv6 table.
    pub v6: Fib6,
    /// Adjacencies (leaves hold indices into this).
    pub adjs: Vec<Adj>,
    /// Installed routes (prefix → adjacency index), for state read-out.
    pub routes: Vec<(IpNet, u32)>,
}

impl VrfFib {
    /// Builds a FIB from (prefix, adjacency) pairs; a later duplicate prefix is ignored, so
    /// callers list higher-preference routes first.
    pub fn build(entries: Vec<(IpNet, Adj)>) -> VrfFib {
        let mut fib = VrfFib::default();
        let mut seen: HashMap<IpNet, (), FxBuild> = HashMap::default();
        let mut adj_ix: HashMap<Adj, u32> = HashMap::new();
        let mut routes = Vec::with_capacity(entries.len());
        for (p, adj) in entries {
            let p = p.network();
            if seen.insert(p, ()).is_some() {
                continue;
            }
            let ix = *adj_ix.entry(adj.clone()).or_insert_with(|| {
                fib.adjs.push(adj);
                (fib.adjs.len() - 1) as u32
            });
            routes.push((p, ix));
        }
        routes.sort_by_key(|(p, _)| (p.len, p.addr));
        for (p, ix) in &routes {
            match p.addr {
                IpAddr::V4(a) => fib.v4.insert(u32::from(a), p.len, ix + 1),
                IpAddr::V6(a) => fib.v6.insert(a, p.len, *ix),
            }
        }
        fib.routes = routes;
        fib
    }

    /// Looks up the adjacency for `dst`.
    #[inline]
    pub fn lookup(&self, dst: IpAddr) -> Option<&Adj> {
        let ix = match dst {
            IpAddr::V4(a) => self.v4.lookup(a)?,
            IpAddr::V6(a) => self.v6.lookup(a)?,
        };
        self.adjs.get(ix as usize)
    }

    /// IPv4 lookup.
    #[inline]
    pub fn lookup4(&self, dst: Ipv4Addr) -> Option<&Adj> {
        self.adjs.get(self.v4.lookup(dst)? as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_v4() {
        let f = VrfFib::build(vec![
            (p("0.0.0.0/0"), Adj::Drop),
            (p("10.0.0.0/8"), Adj::Glean { ifidx: 1 }),
            (p("10.1.0.0/16"), Adj::Glean { ifidx: 2 }),
            (p("10.1.2.0/24"), Adj::Glean { ifidx: 3 }),
            (p("10.1.2.128/25"), Adj::Glean { ifidx: 4 }),
            (p("10.1.2.130/32"), Adj::Local),
        ]);
        let l = |s: &str| f.lookup(s.parse().unwrap()).cloned();
        assert_eq!(l("11.0.0.1"), Some(Adj::Drop));
        assert_eq!(l("10.2.0.1"), Some(Adj::Glean { ifidx: 1 }));
        assert_eq!(l("10.1.3.1"), Some(Adj::Glean { ifidx: 2 }));
        assert_eq!(l("10.1.2.1"), Some(Adj::Glean { ifidx: 3 }));
        assert_eq!(l("10.1.2.200"), Some(Adj::Glean { ifidx: 4 }));
        assert_eq!(l("10.1.2.130"), Some(Adj::Local));
        let e = VrfFib::build(vec![(p("192.168.0.0/16"), Adj::Drop)]);
        assert_eq!(e.lookup("10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn longest_prefix_wins_v6() {
        let f = VrfFib::build(vec![
            (p("::/0"), Adj::Drop),
            (p("2001:db8::/32"), Adj::Glean { ifidx: 1 }),
            (p("2001:db8:1::/48"), Adj::Glean { ifidx: 2 }),
            (p("2001:db8:1::1/128"), Adj::Local),
        ]);
        let l = |s: &str| f.lookup(s.parse().unwrap()).cloned();
        assert_eq!(l("2001:db9::1"), Some(Adj::Drop));
        assert_eq!(l("2001:db8:2::1"), Some(Adj::Glean { ifidx: 1 }));
        assert_eq!(l("2001:db8:1::2"), Some(Adj::Glean { ifidx: 2 }));
        assert_eq!(l("2001:db8:1::1"), Some(Adj::Local));
    }

    proptest! {
        #[test]
        fn trie_matches_brute_force(routes in proptest::collection::vec((any::<u32>(), 0u8..=32), 1..60),
                                    probes in proptest::collection::vec(any::<u32>(), 50)) {
            let entries: Vec<_> = routes.iter().enumerate()
                .map(|(i, (a, l))| (IpNet::v4(Ipv4Addr::from(*a), *l), Adj::Glean { ifidx: i as u32 }))
                .collect();
            let f = VrfFib::build(entries.clone());
            // Probe both random addresses and the route addresses themselves.
            for a in probes.iter().copied().chain(routes.iter().map(|r| r.0)) {
                let ip = IpAddr::V4(Ipv4Addr::from(a));
                let mut best: Option<(u8, &Adj)> = None;
                let mut seen = std::collections::HashSet::new();
                for (p, adj) in &entries {
                    if !seen.insert(p.network()) { continue; }
                    if p.contains(ip) && best.is_none_or(|(l, _)| p.len > l) {
                        best = Some((p.len, adj));
                    }
                }
                prop_assert_eq!(f.lookup(ip), best.map(|b| b.1));
            }
        }
    }
}
