//! The desired configuration as the control side holds it, and how ops change it.
//!
//! [`Config`] is cheap to clone where it can be large (routes are kept per VRF in a
//! persistent map, whose copy shares every node until one changes). Applying a batch clones the config, applies each
//! op, validates references and limits over the result, then compiles it into
//! [`crate::tables::Tables`]; any error leaves the original untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::Error;
use super::ops::*;
use crate::types::{IpNet, Mac};

/// Most interfaces (ports, sub-interfaces, loopbacks, BVIs) a dataplane has; every worker
/// preallocates counters for them (112 bytes per interface and worker).
pub const MAX_INTERFACES: usize = 4096;

/// What an interface is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfKind {
    /// A port: a port of the box or one created on demand. Its port index is its
    /// interface index.
    Port(usize),
    /// The routed interface of a bridge domain.
    Bvi(String),
    /// An 802.1Q sub-interface of a port.
    Sub {
        /// Name of the parent port.
        parent: String,
        /// VLAN id.
        vlan: u16,
    },
    /// A loopback interface (no port).
    Loopback,
}

/// One interface's state in the config.
#[derive(Debug, Clone)]
pub struct IfState {
    /// Stable interface index (counters, tables).
    pub index: u32,
    /// Port or BVI.
    pub kind: IfKind,
    /// Desired configuration.
    pub cfg: InterfaceConfig,
    /// Addresses.
    pub addrs: BTreeSet<IpNet>,
    /// Hardware MAC (the port's, or generated for a BVI).
    pub hw_mac: Mac,
}

impl IfState {
    /// The MAC in use (override or hardware).
    pub fn mac(&self) -> Mac {
        self.cfg.mac.unwrap_or(self.hw_mac)
    }
}

/// One bridge domain's state in the config.
#[derive(Debug, Clone)]
pub struct BdState {
    /// Stable index.
    pub index: u16,
    /// Desired configuration.
    pub cfg: BridgeDomainConfig,
    /// Static MACs: MAC → member interface name.
    pub statics: BTreeMap<Mac, String>,
}

/// Static routes of one VRF: a persistent map, so a configuration with 100,000 routes is
/// copied for a transaction, changed by one route and dropped at the cost of that route.
pub type RouteMap = imbl::OrdMap<IpNet, RouteTarget>;

/// The whole desired configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interfaces by name.
    pub ifs: imbl::OrdMap<String, IfState>,
    /// VRF name → index (the default VRF is 0).
    pub vrfs: BTreeMap<String, u16>,
    /// Bridge domains by name.
    pub bds: BTreeMap<String, BdState>,
    /// Static routes per VRF name.
    pub routes: BTreeMap<String, RouteMap>,
    /// ACLs by name.
    pub acls: BTreeMap<String, AclConfig>,
    /// NAT44 static mappings: local → external.
    pub nat_static: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// Limits and timers.
    pub limits: Limits,
    /// VRFs whose FIB must be rebuilt (names); `None` = all.
    pub dirty_vrfs: Option<BTreeSet<String>>,
    /// Static routes added, changed or removed in VRFs that are not dirty: their FIB is
    /// changed in place, by these prefixes, instead of rebuilt.
    pub route_changes: BTreeMap<String, BTreeSet<IpNet>>,
    /// An interface operation came since the tables were compiled: the next hops of every
    /// route are checked again (an interface they name may be gone or bridged).
    pub ifs_changed: bool,
    /// Ports created on demand ([`Op::AddHostPort`]): name → host resource. Their kind is
    /// [`IfKind::Port`] with their own interface index as port index.
    pub host_ports: BTreeMap<String, HostPort>,
    /// Interface indices to give back to names that had them (a replay after a reset keeps
    /// every interface's index, hence its if-index and counters); empty otherwise.
    pub index_hints: BTreeMap<String, u32>,
    /// Bumped whenever `index_hints` changes (for those who persist them).
    pub hints_version: u64,
}

impl Config {
    /// The configuration of a fresh dataplane with the given ports (name, MAC).
    pub fn new(ports: &[(String, Mac)]) -> Config {
        let mut ifs = BTreeMap::new();
        for (i, (name, mac)) in ports.iter().enumerate() {
            ifs.insert(
                name.clone(),
                IfState {
                    index: i as u32,
                    kind: IfKind::Port(i),
                    cfg: InterfaceConfig::default(),
                    addrs: BTreeSet::new(),
                    hw_mac: *mac,
                },
            );
        }
        let mut vrfs = BTreeMap::new();
        vrfs.insert(DEFAULT_VRF.to_string(), 0);
        Config {
            ifs: ifs.into_iter().collect(),
            vrfs,
            bds: BTreeMap::new(),
            routes: BTreeMap::new(),
            acls: BTreeMap::new(),
            nat_static: BTreeMap::new(),
            limits: Limits::default(),
            dirty_vrfs: None,
            route_changes: BTreeMap::new(),
            ifs_changed: true,
            host_ports: BTreeMap::new(),
            index_hints: BTreeMap::new(),
            hints_version: 0,
        }
    }

    /// A free interface index for a new interface `name`: the one it had before a reset if
    /// that is free, else the lowest free one not promised to another name, else the lowest
    /// free one.
    fn alloc_index(&self, name: &str) -> Result<u32, Error> {
        let mut used = vec![false; MAX_INTERFACES];
        for i in self.ifs.values() {
            if let Some(u) = used.get_mut(i.index as usize) {
                *u = true;
            }
        }
        if let Some(&h) = self.index_hints.get(name)
            && used.get(h as usize) == Some(&false)
        {
            return Ok(h);
        }
        if self.index_hints.is_empty() {
            return (0..MAX_INTERFACES)
                .find(|&i| !used[i])
                .map(|i| i as u32)
                .ok_or_else(|| Error::TableFull(format!("interfaces (at most {MAX_INTERFACES})")));
        }
        let mut promised = vec![false; MAX_INTERFACES];
        for (n, &h) in &self.index_hints {
            if n != name
                && let Some(p) = promised.get_mut(h as usize)
            {
                *p = true;
            }
        }
        (0..MAX_INTERFACES)
            .find(|&i| !used[i] && !promised[i])
            .or_else(|| (0..MAX_INTERFACES).find(|&i| !used[i]))
            .map(|i| i as u32)
            .ok_or_else(|| Error::TableFull(format!("interfaces (at most {MAX_INTERFACES})")))
    }

    /// Keeps `index` promised to `name` (RFC 2863 §3.1.5: an interface that comes back
    /// gets the index it had).
    pub fn promise(&mut self, name: &str, index: u32) {
        if self.index_hints.get(name) != Some(&index) {
            self.index_hints.insert(name.to_string(), index);
            self.hints_version += 1;
        }
    }

    /// Adds a new interface of `kind` (unconfigured, without addresses: no FIB changes),
    /// refusing a name in use.
    fn add_iface(&mut self, name: &str, kind: IfKind, hw_mac: Mac) -> Result<u32, Error> {
        if self.ifs.contains_key(name) {
            return Err(Error::Exists(format!("interface {name}")));
        }
        let index = self.alloc_index(name)?;
        self.promise(name, index);
        self.ifs.insert(
            name.to_string(),
            IfState {
                index,
                kind,
                cfg: InterfaceConfig::default(),
                addrs: BTreeSet::new(),
                hw_mac,
            },
        );
        Ok(index)
    }

    fn mark_dirty(&mut self, vrf: &str) {
        if let Some(d) = &mut self.dirty_vrfs {
            d.insert(vrf.to_string());
        }
    }

    fn mark_all_dirty(&mut self) {
        self.dirty_vrfs = None;
    }

    /// A static route of `vrf` changed: its FIB changes by that prefix, unless it is to be
    /// rebuilt anyway.
    fn mark_route(&mut self, vrf: &str, prefix: IpNet) {
        if self.dirty_vrfs.as_ref().is_some_and(|d| !d.contains(vrf)) {
            self.route_changes
                .entry(vrf.to_string())
                .or_default()
                .insert(prefix.network());
        }
    }

    /// The tables were compiled from this configuration: nothing is dirty any more.
    pub fn mark_compiled(&mut self) {
        self.dirty_vrfs = Some(BTreeSet::new());
        self.route_changes.clear();
        self.ifs_changed = false;
    }

    fn iface_mut(&mut self, name: &str) -> Result<&mut IfState, Error> {
        self.ifs
            .get_mut(name)
            .ok_or_else(|| Error::UnknownInterface(name.to_string()))
    }

    /// Applies one op to this config (references are checked later by [`Config::validate`]).
    pub fn apply_op(&mut self, op: &Op) -> Result<(), Error> {
        match op {
            Op::SetInterface { .. }
            | Op::AddAddress { .. }
            | Op::DelAddress { .. }
            | Op::AddSubInterface { .. }
            | Op::DelSubInterface { .. }
            | Op::AddLoopback { .. }
            | Op::DelLoopback { .. }
            | Op::AddHostPort { .. }
            | Op::DelHostPort { .. } => self.apply_interface_op(op),
            Op::SetBridgeDomain(_)
            | Op::DelBridgeDomain { .. }
            | Op::AddStaticMac { .. }
            | Op::DelStaticMac { .. } => self.apply_l2_op(op),
            Op::AddVrf { .. } | Op::DelVrf { .. } | Op::AddRoute { .. } | Op::DelRoute { .. } => {
                self.apply_l3_op(op)
            }
            Op::SetAcl(_)
            | Op::DelAcl { .. }
            | Op::AddNatStatic { .. }
            | Op::DelNatStatic { .. }
            | Op::SetLimits(_) => self.apply_policy_op(op),
        }
    }

    /// [`Config::apply_op`] for interfaces: their configuration and addresses, and the interfaces created on demand.
    fn apply_interface_op(&mut self, op: &Op) -> Result<(), Error> {
        self.ifs_changed = true;
        match op {
            Op::SetInterface { name, config } => {
                let old_vrf = self.iface_mut(name)?.cfg.vrf.clone();
                if !(68..=9000).contains(&config.mtu) {
                    return Err(Error::Invalid(format!(
                        "{name}: MTU {} out of 68..=9000",
                        config.mtu
                    )));
                }
                if let Some(m) = config.mac
                    && m.is_multicast()
                {
                    return Err(Error::Invalid(format!("{name}: MAC {m} is multicast")));
                }
                let st = self.iface_mut(name)?;
                let addr_matter =
                    st.cfg.vrf != config.vrf || st.cfg.switchport != config.switchport;
                st.cfg = config.clone();
                if addr_matter {
                    self.mark_dirty(&old_vrf);
                    self.mark_dirty(&config.vrf);
                }
            }
            Op::AddAddress { interface, prefix } => {
                let st = self.iface_mut(interface)?;
                if prefix.addr.is_unspecified() || prefix.addr.is_multicast() {
                    return Err(Error::Invalid(format!(
                        "{interface}: address {prefix} is not unicast"
                    )));
                }
                st.addrs.insert(*prefix);
                let vrf = st.cfg.vrf.clone();
                self.mark_dirty(&vrf);
            }
            Op::DelAddress { interface, prefix } => {
                let st = self.iface_mut(interface)?;
                if !st.addrs.remove(prefix) {
                    return Err(Error::NotFound(format!("address {prefix} on {interface}")));
                }
                let vrf = st.cfg.vrf.clone();
                self.mark_dirty(&vrf);
            }
            Op::AddSubInterface { name, parent, vlan } => {
                if self.ifs.contains_key(name) {
                    return Err(Error::Exists(format!("interface {name}")));
                }
                let p = self
                    .ifs
                    .get(parent)
                    .ok_or_else(|| Error::UnknownInterface(parent.clone()))?;
                if !matches!(p.kind, IfKind::Port(_)) {
                    return Err(Error::Invalid(format!(
                        "{name}: parent {parent} is not a port"
                    )));
                }
                if !(1..=4094).contains(vlan) {
                    return Err(Error::Invalid(format!(
                        "{name}: VLAN {vlan} out of 1..=4094"
                    )));
                }
                if let Some((other, _)) = self.ifs.iter().find(|(_, s)| {
                    matches!(&s.kind, IfKind::Sub { parent: q, vlan: v } if q == parent && v == vlan)
                }) {
                    return Err(Error::Exists(format!(
                        "VLAN {vlan} on {parent} is already sub-interface {other}"
                    )));
                }
                let hw_mac = p.hw_mac;
                self.add_iface(
                    name,
                    IfKind::Sub {
                        parent: parent.clone(),
                        vlan: *vlan,
                    },
                    hw_mac,
                )?;
            }
            Op::DelSubInterface { name } => {
                match self.ifs.get(name).map(|s| &s.kind) {
                    Some(IfKind::Sub { .. }) => {}
                    Some(_) => {
                        return Err(Error::Invalid(format!("{name} is not a sub-interface")));
                    }
                    None => return Err(Error::UnknownInterface(name.clone())),
                }
                self.ifs.remove(name);
                self.mark_all_dirty();
            }
            Op::AddLoopback { name } => {
                self.add_iface(name, IfKind::Loopback, Mac::ZERO)?;
            }
            Op::DelLoopback { name } => {
                match self.ifs.get(name).map(|s| &s.kind) {
                    Some(IfKind::Loopback) => {}
                    Some(_) => return Err(Error::Invalid(format!("{name} is not a loopback"))),
                    None => return Err(Error::UnknownInterface(name.clone())),
                }
                self.ifs.remove(name);
                self.mark_all_dirty();
            }
            Op::AddHostPort { name, spec } => {
                let host = spec.host_interface();
                if host.is_empty()
                    || host.len() > 15
                    || host == "."
                    || host == ".."
                    || host.contains(['/', ':', '\0'])
                    || host.contains(char::is_whitespace)
                {
                    return Err(Error::Invalid(format!(
                        "{name}: {host:?} is not a Linux interface name"
                    )));
                }
                // The MAC is the port's, known once it is opened (see Dataplane::apply_with).
                let index = self.add_iface(name, IfKind::Port(0), Mac::ZERO)?;
                if let Some(st) = self.ifs.get_mut(name) {
                    st.kind = IfKind::Port(index as usize);
                }
                self.host_ports.insert(name.clone(), spec.clone());
            }
            Op::DelHostPort { name } => {
                if self.host_ports.remove(name).is_none() {
                    return Err(match self.ifs.get(name) {
                        Some(st) if matches!(st.kind, IfKind::Port(_)) => Error::Invalid(format!(
                            "{name} is a port of the box, not a port created on demand"
                        )),
                        Some(_) => Error::Invalid(format!("{name} is not a port")),
                        None => Error::UnknownInterface(name.clone()),
                    });
                }
                self.ifs.remove(name);
                self.mark_all_dirty();
            }
            other => {
                return Err(Error::Invalid(format!(
                    "{other:?} is not among the interface operations"
                )));
            }
        }
        Ok(())
    }

    /// [`Config::apply_op`] for bridge domains and their static MACs.
    fn apply_l2_op(&mut self, op: &Op) -> Result<(), Error> {
        match op {
            Op::SetBridgeDomain(cfg) => {
                if let Some(v) = cfg.vlan
                    && !(1..=4094).contains(&v)
                {
                    return Err(Error::Invalid(format!(
                        "bridge domain {}: VLAN {v}",
                        cfg.name
                    )));
                }
                let old_bvi = self.bds.get(&cfg.name).and_then(|b| b.cfg.bvi.clone());
                if old_bvi != cfg.bvi {
                    if let Some(old) = old_bvi {
                        self.ifs.remove(&old);
                    }
                    if let Some(bvi) = &cfg.bvi {
                        if self.ifs.contains_key(bvi) {
                            return Err(Error::Exists(format!("interface {bvi}")));
                        }
                        let index = self.alloc_index(bvi)?;
                        self.promise(bvi, index);
                        let hw_mac = Mac([0x02, 0xfe, 0, 0, (index >> 8) as u8, index as u8]);
                        self.ifs.insert(
                            bvi.clone(),
                            IfState {
                                index,
                                kind: IfKind::Bvi(cfg.name.clone()),
                                cfg: InterfaceConfig::default(),
                                addrs: BTreeSet::new(),
                                hw_mac,
                            },
                        );
                    }
                    self.mark_all_dirty();
                }
                if let Some(bd) = self.bds.get_mut(&cfg.name) {
                    bd.cfg = cfg.clone();
                } else {
                    let used: BTreeSet<u16> = self.bds.values().map(|b| b.index).collect();
                    let index = (0..u16::MAX - 1)
                        .find(|i| !used.contains(i))
                        .ok_or_else(|| Error::TableFull("bridge-domain".into()))?;
                    self.bds.insert(
                        cfg.name.clone(),
                        BdState {
                            index,
                            cfg: cfg.clone(),
                            statics: BTreeMap::new(),
                        },
                    );
                }
            }
            Op::DelBridgeDomain { name } => {
                let bd = self
                    .bds
                    .remove(name)
                    .ok_or_else(|| Error::NotFound(format!("bridge domain {name}")))?;
                if let Some(bvi) = bd.cfg.bvi {
                    self.ifs.remove(&bvi);
                    self.mark_all_dirty();
                }
            }
            Op::AddStaticMac {
                bridge_domain,
                mac,
                interface,
            } => {
                if mac.is_multicast() {
                    return Err(Error::Invalid(format!("static MAC {mac} is multicast")));
                }
                let bd = self
                    .bds
                    .get_mut(bridge_domain)
                    .ok_or_else(|| Error::UnknownBridgeDomain(bridge_domain.clone()))?;
                bd.statics.insert(*mac, interface.clone());
            }
            Op::DelStaticMac { bridge_domain, mac } => {
                let bd = self
                    .bds
                    .get_mut(bridge_domain)
                    .ok_or_else(|| Error::UnknownBridgeDomain(bridge_domain.clone()))?;
                if bd.statics.remove(mac).is_none() {
                    return Err(Error::NotFound(format!(
                        "static MAC {mac} in {bridge_domain}"
                    )));
                }
            }
            other => {
                return Err(Error::Invalid(format!(
                    "{other:?} is not among the l2 operations"
                )));
            }
        }
        Ok(())
    }

    /// [`Config::apply_op`] for vRFs and routes.
    fn apply_l3_op(&mut self, op: &Op) -> Result<(), Error> {
        match op {
            Op::AddVrf { name } => {
                if !self.vrfs.contains_key(name) {
                    let used: BTreeSet<u16> = self.vrfs.values().copied().collect();
                    let id = (0..=u16::MAX)
                        .find(|i| !used.contains(i))
                        .ok_or_else(|| Error::TableFull("vrf".into()))?;
                    self.vrfs.insert(name.clone(), id);
                    self.mark_dirty(name);
                }
            }
            Op::DelVrf { name } => {
                if name == DEFAULT_VRF {
                    return Err(Error::Invalid("the default VRF cannot be deleted".into()));
                }
                if self.vrfs.remove(name).is_none() {
                    return Err(Error::NotFound(format!("vrf {name}")));
                }
                self.routes.remove(name);
                self.mark_all_dirty();
            }
            Op::AddRoute {
                vrf,
                prefix,
                target,
            } => {
                if !self.vrfs.contains_key(vrf) {
                    return Err(Error::UnknownVrf(vrf.clone()));
                }
                if let RouteTarget::NextHops(nhs) = target {
                    if nhs.is_empty() {
                        return Err(Error::Invalid(format!("route {prefix}: no next hop")));
                    }
                    for nh in nhs {
                        if nh.via.is_none() && nh.interface.is_none() {
                            return Err(Error::Invalid(format!("route {prefix}: empty next hop")));
                        }
                        if let Some(v) = nh.via
                            && v.is_ipv4() != prefix.is_ipv4()
                        {
                            return Err(Error::Invalid(format!(
                                "route {prefix}: next hop {v} family"
                            )));
                        }
                    }
                }
                let map = self.routes.entry(vrf.clone()).or_default();
                map.insert(prefix.network(), target.clone());
                self.mark_route(vrf, *prefix);
            }
            Op::DelRoute { vrf, prefix } => {
                let removed = self
                    .routes
                    .get_mut(vrf)
                    .and_then(|m| m.remove(&prefix.network()));
                if removed.is_none() {
                    return Err(Error::NotFound(format!("route {prefix} in vrf {vrf}")));
                }
                self.mark_route(vrf, *prefix);
            }
            other => {
                return Err(Error::Invalid(format!(
                    "{other:?} is not among the l3 operations"
                )));
            }
        }
        Ok(())
    }

    /// [`Config::apply_op`] for aCLs, NAT static mappings and table limits.
    fn apply_policy_op(&mut self, op: &Op) -> Result<(), Error> {
        match op {
            Op::SetAcl(acl) => {
                self.acls.insert(acl.name.clone(), acl.clone());
            }
            Op::DelAcl { name } => {
                if self.acls.remove(name).is_none() {
                    return Err(Error::NotFound(format!("acl {name}")));
                }
            }
            Op::AddNatStatic { local, external } => {
                self.nat_static.insert(*local, *external);
            }
            Op::DelNatStatic { local } => {
                if self.nat_static.remove(local).is_none() {
                    return Err(Error::NotFound(format!("nat static mapping for {local}")));
                }
            }
            Op::SetLimits(l) => self.limits = l.clone(),
            other => {
                return Err(Error::Invalid(format!(
                    "{other:?} is not among the policy operations"
                )));
            }
        }
        Ok(())
    }

    /// Checks references and limits over the whole config.
    pub fn validate(&self) -> Result<(), Error> {
        let mut vlans = BTreeMap::new();
        for bd in self.bds.values() {
            if let Some(v) = bd.cfg.vlan
                && let Some(other) = vlans.insert(v, &bd.cfg.name)
            {
                return Err(Error::Invalid(format!(
                    "VLAN {v} used by bridge domains {other} and {}",
                    bd.cfg.name
                )));
            }
            for (mac, ifname) in &bd.statics {
                let i = self
                    .ifs
                    .get(ifname)
                    .ok_or_else(|| Error::UnknownInterface(ifname.clone()))?;
                if !self.is_member(i, &bd.cfg) {
                    return Err(Error::Invalid(format!(
                        "static MAC {mac}: {ifname} is not a member of {}",
                        bd.cfg.name
                    )));
                }
            }
        }
        let mut specs: BTreeMap<&HostPort, &String> = BTreeMap::new();
        for (name, spec) in &self.host_ports {
            if let Some(other) = specs.insert(spec, name) {
                return Err(Error::Invalid(format!(
                    "ports {other} and {name} are both {spec}"
                )));
            }
        }
        for (name, st) in &self.ifs {
            if !self.vrfs.contains_key(&st.cfg.vrf) {
                return Err(Error::UnknownVrf(st.cfg.vrf.clone()));
            }
            for acl in [&st.cfg.acl_in, &st.cfg.acl_out].into_iter().flatten() {
                if !self.acls.contains_key(acl) {
                    return Err(Error::UnknownAcl(acl.clone()));
                }
            }
            if matches!(st.kind, IfKind::Loopback) && st.cfg.switchport != Switchport::Routed {
                return Err(Error::Invalid(format!(
                    "{name}: a loopback cannot be a switchport"
                )));
            }
            if let IfKind::Sub { parent, vlan } = &st.kind {
                if !matches!(self.ifs.get(parent).map(|p| &p.kind), Some(IfKind::Port(_))) {
                    return Err(Error::Invalid(format!(
                        "sub-interface {name}: its parent port {parent} does not exist"
                    )));
                }
                if matches!(st.cfg.switchport, Switchport::Trunk { .. }) {
                    return Err(Error::Invalid(format!(
                        "{name}: a sub-interface cannot be a trunk"
                    )));
                }
                if let Some(Switchport::Trunk { allowed_vlans, .. }) =
                    self.ifs.get(parent).map(|p| &p.cfg.switchport)
                    && allowed_vlans.contains(vlan)
                {
                    return Err(Error::Invalid(format!(
                        "VLAN {vlan} on {parent} is both a trunk VLAN and sub-interface {name}"
                    )));
                }
            }
            match &st.cfg.switchport {
                Switchport::Routed => {}
                sp => {
                    if matches!(st.kind, IfKind::Bvi(_)) {
                        return Err(Error::Invalid(format!(
                            "{name}: a BVI cannot be a switchport"
                        )));
                    }
                    if !st.addrs.is_empty() {
                        return Err(Error::Invalid(format!(
                            "{name}: a switchport has no IP addresses"
                        )));
                    }
                    if let Switchport::Access { bridge_domain } = sp
                        && !self.bds.contains_key(bridge_domain)
                    {
                        return Err(Error::UnknownBridgeDomain(bridge_domain.clone()));
                    }
                    if let Switchport::Trunk {
                        allowed_vlans,
                        native_vlan,
                    } = sp
                    {
                        for v in allowed_vlans.iter().chain(native_vlan.iter()) {
                            if !(1..=4094).contains(v) {
                                return Err(Error::Invalid(format!("{name}: VLAN {v}")));
                            }
                        }
                    }
                }
            }
        }
        // Routes are checked whole only where something besides them changed.
        let only_routes = match &self.dirty_vrfs {
            Some(dirty) if !self.ifs_changed => Some(dirty),
            _ => None,
        };
        for (vrf, routes) in &self.routes {
            let connected = self
                .ifs
                .values()
                .filter(|i| &i.cfg.vrf == vrf)
                .map(|i| i.addrs.len() * 2)
                .sum::<usize>();
            if routes.len() + connected > self.limits.max_routes {
                return Err(Error::TableFull(format!(
                    "routes in vrf {vrf} ({} > {})",
                    routes.len() + connected,
                    self.limits.max_routes
                )));
            }
            match only_routes {
                Some(dirty) if !dirty.contains(vrf) => {
                    for p in self.route_changes.get(vrf).into_iter().flatten() {
                        if let Some(t) = routes.get(p) {
                            self.check_next_hops(p, t)?;
                        }
                    }
                }
                _ => {
                    for (p, t) in routes.iter() {
                        self.check_next_hops(p, t)?;
                    }
                }
            }
        }
        let mut ext = BTreeSet::new();
        for e in self.nat_static.values() {
            if !ext.insert(*e) {
                return Err(Error::Invalid(format!(
                    "NAT external address {e} mapped twice"
                )));
            }
        }
        Ok(())
    }

    /// The interfaces a route's next hops name exist and are routed.
    fn check_next_hops(&self, p: &IpNet, t: &RouteTarget) -> Result<(), Error> {
        if let RouteTarget::NextHops(nhs) = t {
            for i in nhs.iter().filter_map(|nh| nh.interface.as_ref()) {
                let st = self
                    .ifs
                    .get(i)
                    .ok_or_else(|| Error::UnknownInterface(i.clone()))?;
                if st.cfg.switchport != Switchport::Routed {
                    return Err(Error::Invalid(format!("route {p}: {i} is not routed")));
                }
            }
        }
        Ok(())
    }

    fn is_member(&self, i: &IfState, bd: &BridgeDomainConfig) -> bool {
        match &i.cfg.switchport {
            Switchport::Access { bridge_domain } => bridge_domain == &bd.name,
            Switchport::Trunk {
                allowed_vlans,
                native_vlan,
            } => bd
                .vlan
                .is_some_and(|v| allowed_vlans.contains(&v) || *native_vlan == Some(v)),
            Switchport::Routed => bd.bvi.as_deref() == self.name_of(i),
        }
    }

    fn name_of(&self, i: &IfState) -> Option<&str> {
        self.ifs
            .iter()
            .find(|(_, s)| s.index == i.index)
            .map(|(n, _)| n.as_str())
    }

    /// The first IPv4 address of an interface, if any.
    pub fn first_v4(st: &IfState) -> Option<Ipv4Addr> {
        st.addrs.iter().find_map(|p| match p.addr {
            IpAddr::V4(a) => Some(a),
            _ => None,
        })
    }
}
