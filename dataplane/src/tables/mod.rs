//! Forwarding tables.
//!
//! [`Tables`] is the compiled, read-only snapshot of the configuration that workers use
//! (interfaces, bridge domains, per-VRF FIBs, ACLs, NAT mappings, feature masks). The control
//! side compiles a new one from [`crate::control::Config`] and publishes it through an
//! `ArcSwap`; workers load it once per dispatch and never lock.
//!
//! The dynamic tables that workers themselves write (learned MACs in [`l2fib`], neighbors in
//! [`neighbor`]) are sharded maps ([`sharded`]) shared by all workers.

pub mod acl;
pub mod fib;
pub mod l2fib;
pub mod neighbor;
pub mod sharded;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::control::{Config, Error, IfKind, NatRole, RouteTarget, Switchport};
use crate::graph::arc::*;
use crate::types::{IpNet, Mac};
use acl::Acl;
use fib::{Adj, Path, VrfFib};

/// A small, fast, non-cryptographic hasher (FxHash) for table keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut c = bytes.chunks_exact(8);
        for w in &mut c {
            self.write_u64(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for b in c.remainder() {
            self.write_u64(*b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(FX_K);
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64)
    }
    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.write_u64(v as u64)
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Mix high bits down so shard and bucket selection both see entropy.
        self.0 ^ (self.0 >> 29)
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

/// What an interface is, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A port (its port index; a sub-interface has its parent's).
    Port(usize),
    /// The BVI of a bridge domain (index).
    Bvi(u16),
    /// A loopback interface: no port, nothing is transmitted on it.
    Loopback,
}

/// L2 role of an interface, compiled to bridge-domain indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L2Mode {
    /// Routed.
    Routed,
    /// Untagged member of a bridge domain.
    Access(u16),
    /// Trunk: VLAN id → bridge domain, and the domain of untagged frames.
    Trunk {
        /// Allowed VLANs that have a bridge domain.
        vlans: Vec<(u16, u16)>,
        /// Native VLAN's bridge domain.
        native: Option<u16>,
    },
}

/// One interface, compiled.
#[derive(Debug, Clone)]
pub struct IfEntry {
    /// Name.
    pub name: String,
    /// Index.
    pub index: u32,
    /// Port or BVI.
    pub kind: Kind,
    /// Administrative state.
    pub admin_up: bool,
    /// MAC in use.
    pub mac: Mac,
    /// IP MTU.
    pub mtu: u16,
    /// VRF index.
    pub vrf: u16,
    /// L2 role.
    pub mode: L2Mode,
    /// IPv4 addresses.
    pub v4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses (including the link-local one of a routed interface).
    pub v6: Vec<(Ipv6Addr, u8)>,
    /// Enabled features per arc (bitmask over [`SortedArcs::order`]).
    pub features: [u32; NUM_ARCS],
    /// Ingress ACL.
    pub acl_in: Option<Arc<Acl>>,
    /// Egress ACL.
    pub acl_out: Option<Arc<Acl>>,
    /// NAT role.
    pub nat: NatRole,
    /// Transit IPv4 received here is routed (else dropped: a host interface).
    pub forward_v4: bool,
    /// Transit IPv6 received here is routed.
    pub forward_v6: bool,
    /// For an 802.1Q sub-interface: its VLAN id (pushed on transmit; its `kind` is the
    /// parent's port).
    pub vlan: Option<u16>,
    /// For a sub-interface: the parent port's interface index.
    pub parent: Option<u32>,
    /// For a port: its sub-interfaces as (VLAN id, interface index).
    pub subs: Vec<(u16, u32)>,
}

impl IfEntry {
    /// True if `a` is one of this interface's IPv4 addresses.
    pub fn has_v4(&self, a: Ipv4Addr) -> bool {
        self.v4.iter().any(|(x, _)| *x == a)
    }

    /// True if `a` is one of this interface's IPv6 addresses.
    pub fn has_v6(&self, a: Ipv6Addr) -> bool {
        self.v6.iter().any(|(x, _)| *x == a)
    }

    /// The address to source packets to `dst` from: one in the same subnet, else the first.
    pub fn v4_source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.v4
            .iter()
            .find(|(a, l)| IpNet::v4(*a, *l).contains(IpAddr::V4(dst)))
            .or(self.v4.first())
            .map(|x| x.0)
    }

    /// IPv6 source for `dst`: same subnet, else a global one, else the link-local.
    pub fn v6_source_for(&self, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        self.v6
            .iter()
            .find(|(a, l)| IpNet::v6(*a, *l).contains(IpAddr::V6(dst)))
            .or(self.v6.iter().find(|(a, _)| !is_link_local(a)))
            .or(self.v6.first())
            .map(|x| x.0)
    }
}

/// True for fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// One bridge domain, compiled.
#[derive(Debug, Clone)]
pub struct BdEntry {
    /// Name.
    pub name: String,
    /// Index.
    pub index: u16,
    /// VLAN on trunks.
    pub vlan: Option<u16>,
    /// Learning on.
    pub learning: bool,
    /// Aging in ns (0 = never).
    pub aging_ns: u64,
    /// Flood unknown unicast.
    pub flood_unknown: bool,
    /// Member ports (interface indices), for flooding.
    pub members: Vec<u32>,
    /// BVI interface index.
    pub bvi: Option<u32>,
    /// BVI MAC (frames for it are routed).
    pub bvi_mac: Option<Mac>,
    /// Static MACs.
    pub statics: HashMap<Mac, u32, FxBuild>,
}

/// Limits and timers in the units workers use.
#[derive(Debug, Clone, Copy)]
pub struct LimitsNs {
    /// Learned MACs.
    pub max_macs: usize,
    /// Neighbors.
    pub max_neighbors: usize,
    /// Conntrack sessions.
    pub max_conntrack: usize,
    /// NAT sessions.
    pub max_nat: usize,
    /// Neighbor lifetime.
    pub neighbor_ns: u64,
    /// TCP established.
    pub tcp_est_ns: u64,
    /// TCP transitory.
    pub tcp_trans_ns: u64,
    /// UDP.
    pub udp_ns: u64,
    /// ICMP.
    pub icmp_ns: u64,
}

/// NAT44 mappings, compiled.
#[derive(Debug, Clone, Default)]
pub struct NatTables {
    /// Static local → external.
    pub l2e: HashMap<Ipv4Addr, Ipv4Addr, FxBuild>,
    /// Static external → local.
    pub e2l: HashMap<Ipv4Addr, Ipv4Addr, FxBuild>,
}

/// The compiled snapshot workers forward with.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Interfaces by index.
    pub ifs: Vec<Option<IfEntry>>,
    /// Bridge domains by index.
    pub bds: Vec<Option<BdEntry>>,
    /// FIBs by VRF index.
    pub vrfs: Vec<Option<Arc<VrfFib>>>,
    /// VRF names → index.
    pub vrf_names: BTreeMap<String, u16>,
    /// ACLs by name.
    pub acls: BTreeMap<String, Arc<Acl>>,
    /// NAT mappings.
    pub nat: NatTables,
    /// Limits.
    pub limits: LimitsNs,
    /// Connection tracking is on (some ACL reflects).
    pub conntrack_on: bool,
    /// Interface name → index.
    pub names: HashMap<String, u32, FxBuild>,
}

impl Tables {
    /// The interface at `ix`.
    #[inline]
    pub fn iface(&self, ix: u32) -> Option<&IfEntry> {
        self.ifs.get(ix as usize).and_then(|x| x.as_ref())
    }

    /// The bridge domain at `ix`.
    #[inline]
    pub fn bd(&self, ix: u16) -> Option<&BdEntry> {
        self.bds.get(ix as usize).and_then(|x| x.as_ref())
    }

    /// The FIB of VRF `ix`.
    #[inline]
    pub fn fib(&self, ix: u16) -> Option<&VrfFib> {
        self.vrfs.get(ix as usize).and_then(|x| x.as_deref())
    }

    /// Interface index by name.
    pub fn if_index(&self, name: &str) -> Option<u32> {
        self.names.get(name).copied()
    }

    /// Compiles `cfg`, reusing FIBs and ACLs of `prev` that did not change.
    pub fn compile(cfg: &Config, prev: Option<&Tables>) -> Result<Tables, Error> {
        cfg.validate()?;
        let arcs = arcs();
        let acls = compile_acls(cfg, prev);
        let used = |n: &Option<String>| {
            n.as_ref()
                .and_then(|n| acls.get(n))
                .is_some_and(|a| a.reflect)
        };
        let conntrack_on = cfg
            .ifs
            .values()
            .any(|i| used(&i.cfg.acl_in) || used(&i.cfg.acl_out));

        let mut bds = compile_bds(cfg);

        let len = cfg
            .ifs
            .values()
            .map(|i| i.index as usize + 1)
            .max()
            .unwrap_or(0);
        let mut ifs: Vec<Option<IfEntry>> = vec![None; len];
        let mut names = HashMap::with_capacity_and_hasher(cfg.ifs.len(), FxBuild::default());
        for (name, st) in &cfg.ifs {
            let c = &st.cfg;
            let mode = l2_mode(cfg, &c.switchport);
            match &mode {
                L2Mode::Access(b) => push_member(&mut bds, *b, st.index),
                L2Mode::Trunk { vlans, native } => {
                    for b in vlans.iter().map(|x| x.1).chain(*native) {
                        push_member(&mut bds, b, st.index);
                    }
                }
                L2Mode::Routed => {}
            }
            let (kind, vlan, parent, mac) = match &st.kind {
                IfKind::Port(p) => (Kind::Port(*p), None, None, st.mac()),
                IfKind::Bvi(bd) => (Kind::Bvi(cfg.bds[bd].index), None, None, st.mac()),
                IfKind::Loopback => (Kind::Loopback, None, None, st.mac()),
                IfKind::Sub { parent, vlan } => {
                    let p = &cfg.ifs[parent];
                    let IfKind::Port(port) = p.kind else {
                        return Err(Error::Invalid(format!("{name}: parent is not a port")));
                    };
                    // Unless overridden, a sub-interface uses its parent's MAC.
                    let mac = st.cfg.mac.unwrap_or(p.mac());
                    (Kind::Port(port), Some(*vlan), Some(p.index), mac)
                }
            };
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for p in &st.addrs {
                match p.addr {
                    IpAddr::V4(a) => v4.push((a, p.len)),
                    IpAddr::V6(a) => v6.push((a, p.len)),
                }
            }
            // A loopback has no link, hence no link-local address.
            if mode == L2Mode::Routed && kind != Kind::Loopback {
                v6.push((mac.link_local(), 64));
            }
            let features = if_features(arcs, &mode, c, conntrack_on);
            names.insert(name.clone(), st.index);
            ifs[st.index as usize] = Some(IfEntry {
                name: name.clone(),
                index: st.index,
                kind,
                admin_up: c.admin_up,
                mac,
                mtu: c.mtu,
                vrf: cfg.vrfs[&c.vrf],
                mode,
                v4,
                v6,
                features,
                acl_in: c.acl_in.as_ref().map(|n| acls[n].clone()),
                acl_out: c.acl_out.as_ref().map(|n| acls[n].clone()),
                nat: c.nat,
                forward_v4: c.forward_v4,
                forward_v6: c.forward_v6,
                vlan,
                parent,
                subs: Vec::new(),
            });
        }
        for st in cfg.ifs.values() {
            if let IfKind::Sub { parent, vlan } = &st.kind
                && let Some(Some(p)) = ifs.get_mut(cfg.ifs[parent].index as usize)
            {
                p.subs.push((*vlan, st.index));
            }
        }

        let vrfs = compile_vrfs(cfg, prev, &ifs);

        let l = &cfg.limits;
        let mut nat = NatTables::default();
        for (loc, ext) in &cfg.nat_static {
            nat.l2e.insert(*loc, *ext);
            nat.e2l.insert(*ext, *loc);
        }
        Ok(Tables {
            ifs,
            bds,
            vrfs,
            vrf_names: cfg.vrfs.clone(),
            acls,
            nat,
            limits: LimitsNs {
                max_macs: l.max_macs,
                max_neighbors: l.max_neighbors,
                max_conntrack: l.max_conntrack,
                max_nat: l.max_nat_sessions,
                neighbor_ns: l.neighbor_timeout.as_nanos() as u64,
                tcp_est_ns: l.tcp_established_timeout.as_nanos() as u64,
                tcp_trans_ns: l.tcp_transitory_timeout.as_nanos() as u64,
                udp_ns: l.udp_timeout.as_nanos() as u64,
                icmp_ns: l.icmp_timeout.as_nanos() as u64,
            },
            conntrack_on,
            names,
        })
    }
}

/// The ACLs of `cfg`, reusing those of `prev` that did not change.
fn compile_acls(cfg: &Config, prev: Option<&Tables>) -> BTreeMap<String, Arc<Acl>> {
    let mut acls = BTreeMap::new();
    for (name, a) in &cfg.acls {
        let reuse = prev
            .and_then(|p| p.acls.get(name))
            .filter(|old| old.config == *a)
            .cloned();
        acls.insert(
            name.clone(),
            reuse.unwrap_or_else(|| Arc::new(Acl::new(a.clone()))),
        );
    }
    acls
}

/// The bridge domains of `cfg`, by index (members are added with the interfaces).
fn compile_bds(cfg: &Config) -> Vec<Option<BdEntry>> {
    let mut bds: Vec<Option<BdEntry>> = Vec::new();
    for bd in cfg.bds.values() {
        let ix = bd.index as usize;
        if bds.len() <= ix {
            bds.resize(ix + 1, None);
        }
        let bvi = bd.cfg.bvi.as_ref().and_then(|n| cfg.ifs.get(n));
        bds[ix] = Some(BdEntry {
            name: bd.cfg.name.clone(),
            index: bd.index,
            vlan: bd.cfg.vlan,
            learning: bd.cfg.learning,
            aging_ns: bd.cfg.aging.as_nanos() as u64,
            flood_unknown: bd.cfg.flood_unknown,
            members: Vec::new(),
            bvi: bvi.map(|b| b.index),
            bvi_mac: bvi.map(|b| b.mac()),
            statics: bd
                .statics
                .iter()
                .map(|(m, i)| (*m, cfg.ifs[i].index))
                .collect(),
        });
    }
    bds
}

/// The bridge domain that has VLAN `v`.
fn bd_of_vlan(cfg: &Config, v: u16) -> Option<u16> {
    cfg.bds
        .values()
        .find(|b| b.cfg.vlan == Some(v))
        .map(|b| b.index)
}

/// How an interface with this switchport forwards.
fn l2_mode(cfg: &Config, switchport: &Switchport) -> L2Mode {
    match switchport {
        Switchport::Routed => L2Mode::Routed,
        Switchport::Access { bridge_domain } => L2Mode::Access(cfg.bds[bridge_domain].index),
        Switchport::Trunk {
            allowed_vlans,
            native_vlan,
        } => L2Mode::Trunk {
            vlans: allowed_vlans
                .iter()
                .filter(|v| Some(**v) != *native_vlan)
                .filter_map(|v| bd_of_vlan(cfg, *v).map(|b| (*v, b)))
                .collect(),
            native: native_vlan.and_then(|v| bd_of_vlan(cfg, v)),
        },
    }
}

/// The features enabled on an interface's arcs.
fn if_features(
    arcs: &SortedArcs,
    mode: &L2Mode,
    c: &crate::control::InterfaceConfig,
    conntrack_on: bool,
) -> [u32; NUM_ARCS] {
    let mut features = [0u32; NUM_ARCS];
    if *mode != L2Mode::Routed {
        if conntrack_on {
            features[ARC_L2_INPUT] |= arcs.bit(ARC_L2_INPUT, "conntrack-l2");
        }
        if c.acl_in.is_some() {
            features[ARC_L2_INPUT] |= arcs.bit(ARC_L2_INPUT, "acl-in-l2");
        }
        if c.acl_out.is_some() {
            features[ARC_L2_OUTPUT] |= arcs.bit(ARC_L2_OUTPUT, "acl-out-l2");
        }
    }
    if *mode == L2Mode::Routed {
        if c.nat == NatRole::Outside {
            features[ARC_IP4_UNICAST] |= arcs.bit(ARC_IP4_UNICAST, "nat44-out2in");
            features[ARC_IP4_OUTPUT] |= arcs.bit(ARC_IP4_OUTPUT, "nat44-in2out");
        }
        if conntrack_on {
            features[ARC_IP4_UNICAST] |= arcs.bit(ARC_IP4_UNICAST, "conntrack-ip4");
            features[ARC_IP6_UNICAST] |= arcs.bit(ARC_IP6_UNICAST, "conntrack-ip6");
        }
        if c.acl_in.is_some() {
            features[ARC_IP4_UNICAST] |= arcs.bit(ARC_IP4_UNICAST, "acl-in-ip4");
            features[ARC_IP6_UNICAST] |= arcs.bit(ARC_IP6_UNICAST, "acl-in-ip6");
        }
        if c.acl_out.is_some() {
            features[ARC_IP4_OUTPUT] |= arcs.bit(ARC_IP4_OUTPUT, "acl-out-ip4");
            features[ARC_IP6_OUTPUT] |= arcs.bit(ARC_IP6_OUTPUT, "acl-out-ip6");
        }
    }
    features
}

/// The FIBs of `cfg`'s VRFs, reusing those of `prev` whose VRF did not change.
fn compile_vrfs(
    cfg: &Config,
    prev: Option<&Tables>,
    ifs: &[Option<IfEntry>],
) -> Vec<Option<Arc<VrfFib>>> {
    let max_vrf = cfg.vrfs.values().copied().max().unwrap_or(0) as usize;
    let mut vrfs: Vec<Option<Arc<VrfFib>>> = vec![None; max_vrf + 1];
    for (name, &ix) in &cfg.vrfs {
        let dirty = cfg.dirty_vrfs.as_ref().is_none_or(|d| d.contains(name));
        let reuse = prev
            .filter(|_| !dirty)
            .and_then(|p| p.vrf_names.get(name).and_then(|&o| p.vrfs.get(o as usize)))
            .cloned()
            .flatten();
        let changed = cfg.route_changes.get(name).filter(|c| !c.is_empty());
        vrfs[ix as usize] = Some(match (reuse, changed) {
            (Some(f), None) => f,
            (Some(f), Some(changed)) => match update_vrf(&f, cfg, name, ifs, changed) {
                Some(f) => Arc::new(f),
                None => Arc::new(build_vrf(cfg, name, ifs)),
            },
            (None, _) => Arc::new(build_vrf(cfg, name, ifs)),
        });
    }

    vrfs
}

fn push_member(bds: &mut [Option<BdEntry>], bd: u16, ifidx: u32) {
    if let Some(Some(b)) = bds.get_mut(bd as usize)
        && !b.members.contains(&ifidx)
    {
        b.members.push(ifidx);
    }
}

/// What a VRF's FIB holds besides its static routes: local addresses, connected subnets
/// and a loopback's discards, and the connected subnets next hops resolve through.
struct VrfBase {
    entries: Vec<(IpNet, Adj)>,
    connected: Vec<(IpNet, u32)>,
}

fn vrf_base(cfg: &Config, vrf: &str, ifs: &[Option<IfEntry>]) -> VrfBase {
    let vrf_ix = cfg.vrfs[vrf];
    let mut entries = Vec::new();
    let mut connected: Vec<(IpNet, u32)> = Vec::new();
    let mut discard: Vec<IpNet> = Vec::new();
    for i in ifs
        .iter()
        .flatten()
        .filter(|i| i.vrf == vrf_ix && i.mode == L2Mode::Routed)
    {
        let lo = i.kind == Kind::Loopback;
        for (a, l) in &i.v4 {
            entries.push((IpNet::v4(*a, 32), Adj::Local));
            if *l < 32 && lo {
                discard.push(IpNet::v4(*a, *l).network());
            } else if *l < 32 {
                connected.push((IpNet::v4(*a, *l).network(), i.index));
            }
        }
        for (a, l) in &i.v6 {
            entries.push((IpNet::v6(*a, 128), Adj::Local));
            if *l < 128 && lo {
                discard.push(IpNet::v6(*a, *l).network());
            } else if *l < 128 && !is_link_local(a) {
                connected.push((IpNet::v6(*a, *l).network(), i.index));
            }
        }
    }
    for (p, ifidx) in &connected {
        entries.push((*p, Adj::Glean { ifidx: *ifidx }));
    }
    // (A prefix another interface connects stays connected: the first entry wins.)
    entries.extend(discard.into_iter().map(|p| (p, Adj::Drop)));
    VrfBase { entries, connected }
}

/// The adjacency of a static route, its next hops resolved through the connected subnets;
/// `None` while none resolves (the route stays configured, not installed).
fn static_adj(cfg: &Config, target: &RouteTarget, connected: &[(IpNet, u32)]) -> Option<Adj> {
    let resolve = |via: IpAddr| {
        connected
            .iter()
            .filter(|(p, _)| p.contains(via))
            .max_by_key(|(p, _)| p.len)
            .map(|(_, i)| *i)
    };
    match target {
        RouteTarget::Blackhole => Some(Adj::Drop),
        RouteTarget::NextHops(nhs) => {
            let paths: Vec<Path> = nhs
                .iter()
                .filter_map(|nh| {
                    let ifidx = match &nh.interface {
                        Some(n) => cfg.ifs.get(n).map(|s| s.index),
                        None => nh.via.and_then(resolve),
                    }?;
                    Some(Path { ifidx, nh: nh.via })
                })
                .collect();
            (!paths.is_empty()).then_some(Adj::Via(paths))
        }
    }
}

/// Builds one VRF's FIB: local and connected routes first (they win over a static route to
/// the same prefix), then static routes with next hops resolved through connected subnets.
/// A loopback's prefixes are local addresses and a discard for the rest (nothing is behind
/// a loopback, so no next hop resolves through them).
fn build_vrf(cfg: &Config, vrf: &str, ifs: &[Option<IfEntry>]) -> VrfFib {
    let VrfBase {
        mut entries,
        connected,
    } = vrf_base(cfg, vrf, ifs);
    if let Some(routes) = cfg.routes.get(vrf) {
        for (prefix, target) in routes.iter() {
            if let Some(adj) = static_adj(cfg, target, &connected) {
                entries.push((*prefix, adj));
            }
        }
    }
    VrfFib::build(entries)
}

/// The FIB `prev` of a VRF whose interfaces did not change, with the static routes for the
/// prefixes `changed` put in or taken out in place: the cost of the change, not of the
/// routes. `None` (build it whole) when a changed prefix is also a local, connected or
/// discard prefix (which win over a static route) or when replaced adjacencies pile up.
fn update_vrf(
    prev: &VrfFib,
    cfg: &Config,
    vrf: &str,
    ifs: &[Option<IfEntry>],
    changed: &BTreeSet<IpNet>,
) -> Option<VrfFib> {
    let base = vrf_base(cfg, vrf, ifs);
    if base.entries.iter().any(|(p, _)| changed.contains(p)) {
        return None;
    }
    let mut fib = prev.clone();
    let routes = cfg.routes.get(vrf);
    for p in changed {
        match routes
            .and_then(|r| r.get(p))
            .and_then(|t| static_adj(cfg, t, &base.connected))
        {
            Some(adj) => fib.set(*p, adj),
            None => fib.unset(*p),
        }
    }
    // Adjacencies no route uses stay until the next whole build.
    (fib.adjs.len() <= fib.routes.len() + 64).then_some(fib)
}
