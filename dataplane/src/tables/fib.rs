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

/// IPv4 16-8-8 multibit trie. Leaves hold `adj + 1` (0 = no route); beside each leaf, the
/// length of the prefix that put it there, so a route can be added or removed in place
/// without disturbing the more specific routes inside it (VPP's mtrie does the same).
#[derive(Debug, Clone)]
pub struct Fib4 {
    root: Vec<u32>,
    root_len: Vec<u8>,
    plies: Vec<[u32; 256]>,
    plies_len: Vec<[u8; 256]>,
}

impl Default for Fib4 {
    fn default() -> Self {
        Fib4 {
            root: vec![0; 1 << 16],
            root_len: vec![0; 1 << 16],
            plies: Vec::new(),
            plies_len: Vec::new(),
        }
    }
}

/// How [`Fib4::fill`] treats a leaf in the range of a prefix.
#[derive(Clone, Copy)]
enum Fill {
    /// Adding a route: take every leaf no longer prefix holds.
    Add,
    /// Removing the route of this length: give its leaves to the covering route.
    Remove(u8),
}

impl Fib4 {
    /// Adds `a/len → leaf` (replacing the leaf of the same prefix), keeping the leaves of
    /// longer prefixes inside it.
    fn insert(&mut self, a: u32, len: u8, leaf: u32) {
        self.update(a, len, leaf, len, Fill::Add);
    }

    /// Removes the route `a/len`: its leaves go to `cover` (the leaf and length of the
    /// longest remaining route containing it; leaf 0 when none does).
    fn remove(&mut self, a: u32, len: u8, cover: (u32, u8)) {
        self.update(a, len, cover.0, cover.1, Fill::Remove(len));
    }

    fn update(&mut self, a: u32, len: u8, leaf: u32, leaf_len: u8, how: Fill) {
        let l = len as u32;
        if l <= 16 {
            let start = (a >> 16) as usize & !((1usize << (16 - l)) - 1);
            for r in start..start + (1usize << (16 - l)) {
                self.fill(ChildOf::Root(r), leaf, leaf_len, how);
            }
            return;
        }
        let r = (a >> 16) as usize;
        let p1 = self.child(ChildOf::Root(r));
        if l <= 24 {
            let bits = l - 16;
            let start = ((a >> 8) & 0xff) as usize & !((1usize << (8 - bits)) - 1);
            for i in start..start + (1usize << (8 - bits)) {
                self.fill(ChildOf::Ply(p1, i), leaf, leaf_len, how);
            }
            return;
        }
        let b2 = ((a >> 8) & 0xff) as usize;
        let p2 = self.child(ChildOf::Ply(p1, b2));
        let bits = l - 24;
        let start = (a & 0xff) as usize & !((1usize << (8 - bits)) - 1);
        for i in start..start + (1usize << (8 - bits)) {
            self.fill(ChildOf::Ply(p2, i), leaf, leaf_len, how);
        }
    }

    /// One slot in the range of a prefix: a leaf is replaced as `how` says; a ply below it
    /// is filled whole, the same way.
    fn fill(&mut self, at: ChildOf, leaf: u32, leaf_len: u8, how: Fill) {
        let (cur, cur_len) = match at {
            ChildOf::Root(r) => (self.root[r], self.root_len[r]),
            ChildOf::Ply(p, i) => (self.plies[p][i], self.plies_len[p][i]),
        };
        if cur & PLY != 0 {
            let p = (cur & !PLY) as usize;
            for i in 0..256 {
                self.fill(ChildOf::Ply(p, i), leaf, leaf_len, how);
            }
            return;
        }
        let take = match how {
            Fill::Add => cur == 0 || cur_len <= leaf_len,
            Fill::Remove(len) => cur != 0 && cur_len == len,
        };
        if take {
            match at {
                ChildOf::Root(r) => {
                    self.root[r] = leaf;
                    self.root_len[r] = leaf_len;
                }
                ChildOf::Ply(p, i) => {
                    self.plies[p][i] = leaf;
                    self.plies_len[p][i] = leaf_len;
                }
            }
        }
    }

    fn child(&mut self, at: ChildOf) -> usize {
        let (cur, cur_len) = match at {
            ChildOf::Root(r) => (self.root[r], self.root_len[r]),
            ChildOf::Ply(p, i) => (self.plies[p][i], self.plies_len[p][i]),
        };
        if cur & PLY != 0 {
            return (cur & !PLY) as usize;
        }
        let idx = self.plies.len();
        self.plies.push([cur; 256]);
        self.plies_len.push([cur_len; 256]);
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

    fn remove(&mut self, a: Ipv6Addr, len: u8) {
        let key = u128::from(a) & mask128(len);
        if let Some((_, m)) = self.by_len.iter_mut().find(|(l, _)| *l == len) {
            m.remove(&key);
        }
        self.by_len.retain(|(_, m)| !m.is_empty());
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
    /// Installed routes (prefix → adjacency index), for state read-out, shortest prefixes
    /// first: keyed by (length, address). A persistent map: a FIB changed in place is a
    /// copy of the running one, and a copy of 100,000 routes is then nearly free.
    pub routes: imbl::OrdMap<(u8, IpAddr), u32>,
}

impl VrfFib {
    /// The installed routes, shortest prefixes first, with their adjacency index.
    pub fn installed(&self) -> impl Iterator<Item = (IpNet, u32)> + '_ {
        self.routes.iter().map(|((len, addr), ix)| {
            (
                IpNet {
                    addr: *addr,
                    len: *len,
                },
                *ix,
            )
        })
    }
}

impl VrfFib {
    /// Builds a FIB from (prefix, adjacency) pairs; a later duplicate prefix is ignored, so
    /// callers list higher-preference routes first.
    pub fn build(entries: Vec<(IpNet, Adj)>) -> VrfFib {
        let mut fib = VrfFib::default();
        let mut seen: HashMap<IpNet, (), FxBuild> = HashMap::default();
        let mut adj_ix: HashMap<Adj, u32> = HashMap::new();
        let mut routes: Vec<(IpNet, u32)> = Vec::with_capacity(entries.len());
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
        fib.routes = routes
            .into_iter()
            .map(|(p, ix)| ((p.len, p.addr), ix))
            .collect();
        fib
    }

    /// Installs the route `p → adj` in place (replacing the one for the same prefix).
    pub fn set(&mut self, p: IpNet, adj: Adj) {
        let p = p.network();
        let ix = match self.adjs.iter().position(|a| *a == adj) {
            Some(i) => i as u32,
            None => {
                self.adjs.push(adj);
                (self.adjs.len() - 1) as u32
            }
        };
        self.routes.insert((p.len, p.addr), ix);
        match p.addr {
            IpAddr::V4(a) => self.v4.insert(u32::from(a), p.len, ix + 1),
            IpAddr::V6(a) => self.v6.insert(a, p.len, ix),
        }
    }

    /// Removes the route for `p` in place, if installed: what it covered goes to the
    /// longest remaining route containing it.
    pub fn unset(&mut self, p: IpNet) {
        let p = p.network();
        if self.routes.remove(&(p.len, p.addr)).is_none() {
            return;
        }
        match p.addr {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let cover = (0..p.len)
                    .rev()
                    .find_map(|l| {
                        let net = IpNet::v4(Ipv4Addr::from(a), l).network();
                        self.routes.get(&(net.len, net.addr)).map(|ix| (ix + 1, l))
                    })
                    .unwrap_or((0, 0));
                self.v4.remove(a, p.len, cover);
            }
            IpAddr::V6(a) => self.v6.remove(a, p.len),
        }
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
        #![proptest_config(ProptestConfig::with_cases(40))]
        // Routes added and removed in place, in any order, give the FIB a whole build of
        // the remaining routes gives: same lookups for the routes' own addresses, their
        // neighbours and random ones, both families.
        #[test]
        fn in_place_changes_match_a_whole_build(
            steps in proptest::collection::vec((any::<bool>(), 0u32..64, 0u8..=32, 0u32..4), 1..120),
            probes in proptest::collection::vec(any::<u32>(), 40),
        ) {
            let mut fib = VrfFib::build(Vec::new());
            let mut want: std::collections::BTreeMap<IpNet, Adj> = Default::default();
            for (add, a, len, hop) in steps {
                // Few distinct prefixes, so that they overlap and repeat.
                let addr = Ipv4Addr::from(0x0a00_0000u32 | (a << 20) | (a << 9));
                let p = IpNet::v4(addr, len).network();
                let p6 = IpNet::v6(std::net::Ipv6Addr::from(u128::from(a) << 100), len * 4).network();
                if add {
                    let adj = Adj::Glean { ifidx: hop };
                    fib.set(p, adj.clone());
                    fib.set(p6, adj.clone());
                    want.insert(p, adj.clone());
                    want.insert(p6, adj);
                } else {
                    fib.unset(p);
                    fib.unset(p6);
                    want.remove(&p);
                    want.remove(&p6);
                }
                let whole = VrfFib::build(want.iter().map(|(p, a)| (*p, a.clone())).collect());
                let addrs = probes.iter().copied()
                    .chain(want.keys().filter_map(|p| match p.addr {
                        IpAddr::V4(a) => Some(u32::from(a)),
                        _ => None,
                    }))
                    .flat_map(|a| [a, a.wrapping_add(1), a.wrapping_sub(1), a | 0xff]);
                for a in addrs {
                    let ip = IpAddr::V4(Ipv4Addr::from(a));
                    prop_assert_eq!(fib.lookup(ip), whole.lookup(ip), "{}", ip);
                    let ip6 = IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a) << 96));
                    prop_assert_eq!(fib.lookup(ip6), whole.lookup(ip6), "{}", ip6);
                }
                let installed: Vec<IpNet> = fib.installed().map(|(p, _)| p).collect();
                let expected: Vec<IpNet> = whole.installed().map(|(p, _)| p).collect();
                prop_assert_eq!(installed, expected);
            }
        }
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
