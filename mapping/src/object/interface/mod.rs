//! Interfaces: IETF interface entries ([`ietf`]) and OpenConfig interfaces
//! ([`openconfig`]) — ports of the box, ports created on demand, loopbacks, VLAN
//! sub-interfaces and the routed interfaces of bridge domains; their effective
//! configuration and operations; interface state in both models ([`state`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use nectar_mgmt::MgmtError;

use crate::effective::{Effective, IfEff, Plan, conflict, single};
use crate::facts::{Fact, Prop, Target};
use nectar_dataplane::control::{DEFAULT_VRF, HostPort, InterfaceConfig, NatRole, Op, Switchport};
use nectar_dataplane::types::IpNet;

pub(crate) mod ietf;
pub(crate) mod oc_ip;
pub(crate) mod openconfig;
pub(crate) mod state;

/// The interface type of a port.
pub const ETHERNET: &str = "iana-if-type:ethernetCsmacd";
/// Interface types accepted for the routed interface (BVI) of a bridge domain.
pub const BVI_TYPES: [&str; 2] = ["iana-if-type:bridge", "iana-if-type:l3ipvlan"];
/// The interface type of an 802.1Q sub-interface.
pub const L2VLAN: &str = "iana-if-type:l2vlan";
/// The interface type of a loopback interface (created on demand).
pub const LOOPBACK: &str = "iana-if-type:softwareLoopback";

/// What an interface is, as its facts say.
struct IfKind {
    if_type: Option<String>,
    loopback: bool,
    host_port: Option<HostPort>,
    sub: Option<(String, u16)>,
}

impl IfEff {
    /// The operation that creates this interface, for the interfaces the mapping creates
    /// (sub-interfaces, loopbacks, ports on demand); `None` for the box's ports and BVIs.
    fn creation(&self, name: &str) -> Option<Op> {
        if let Some((parent, vlan)) = &self.sub {
            Some(Op::AddSubInterface {
                name: name.to_string(),
                parent: parent.clone(),
                vlan: *vlan,
            })
        } else if let Some(spec) = &self.host_port {
            Some(Op::AddHostPort {
                name: name.to_string(),
                spec: spec.clone(),
            })
        } else if self.loopback {
            Some(Op::AddLoopback {
                name: name.to_string(),
            })
        } else {
            None
        }
    }

    /// The operation that deletes an interface the mapping created.
    fn deletion(&self, name: &str) -> Option<Op> {
        let name = name.to_string();
        if self.sub.is_some() {
            Some(Op::DelSubInterface { name })
        } else if self.host_port.is_some() {
            Some(Op::DelHostPort { name })
        } else if self.loopback {
            Some(Op::DelLoopback { name })
        } else {
            None
        }
    }
}

impl Effective {
    /// The bridge domain whose routed interface is `name`, after `plan`.
    pub(crate) fn bvi_owner<'a>(&'a self, plan: &'a Plan, name: &str) -> Option<&'a str> {
        for (bd, v) in &plan.bds {
            if v.as_ref().and_then(|b| b.cfg.bvi.as_deref()) == Some(name) {
                return Some(bd);
            }
        }
        self.bds
            .iter()
            .filter(|(n, _)| !plan.bds.contains_key(*n))
            .find(|(_, b)| b.cfg.bvi.as_deref() == Some(name))
            .map(|(n, _)| n.as_str())
    }

    /// One port created on demand per driver and host interface.
    pub(crate) fn check_host_ports<'f>(
        &self,
        plan: &Plan,
        facts_of: &impl Fn(&Target) -> Vec<&'f Fact>,
    ) -> Result<(), MgmtError> {
        if !plan.ifs.values().flatten().any(|i| i.host_port.is_some()) {
            return Ok(());
        }
        let mut users: BTreeMap<&HostPort, &str> = BTreeMap::new();
        let remaining = self
            .ifs
            .iter()
            .filter(|(n, _)| !plan.ifs.contains_key(*n))
            .map(|(n, i)| (n, Some(i)));
        for (name, v) in remaining.chain(plan.ifs.iter().map(|(n, v)| (n, v.as_ref()))) {
            let Some(spec) = v.and_then(|i| i.host_port.as_ref()) else {
                continue;
            };
            if let Some(other) = users.insert(spec, name) {
                // Name the commit's node (one of the two is in the plan).
                let (mine, theirs) = if plan.ifs.contains_key(name) {
                    (name.as_str(), other)
                } else {
                    (other, name.as_str())
                };
                let path = facts_of(&Target::If(mine.to_string()))
                    .iter()
                    .find(|f| matches!(f.prop, Prop::HostPort(_)))
                    .map(|f| f.path.clone())
                    .unwrap_or_default();
                return Err(MgmtError::invalid_value(format!(
                    "interface {mine}: {spec} is port {theirs} already: a host interface takes one port"
                ))
                .with_path(path));
            }
        }
        Ok(())
    }

    /// One sub-interface per parent and VLAN.
    pub(crate) fn check_sub_interfaces<'f>(
        &self,
        plan: &Plan,
        facts_of: &impl Fn(&Target) -> Vec<&'f Fact>,
    ) -> Result<(), MgmtError> {
        let sub_of = |n: &str| match plan.ifs.get(n) {
            Some(v) => v.as_ref().and_then(|i| i.sub.as_ref()),
            None => self.ifs.get(n).and_then(|i| i.sub.as_ref()),
        };
        for (name, v) in &plan.ifs {
            let Some(s) = v.as_ref().and_then(|i| i.sub.as_ref()) else {
                continue;
            };
            let other = plan
                .ifs
                .keys()
                .chain(self.ifs.keys())
                .find(|n| *n != name && sub_of(n) == Some(s));
            if let Some(other) = other {
                let path = facts_of(&Target::If(name.clone()))
                    .iter()
                    .find(|f| matches!(f.prop, Prop::SubIf(_)))
                    .map(|f| f.path.clone())
                    .unwrap_or_default();
                return Err(MgmtError::invalid_value(format!(
                    "VLAN {} of {} is sub-interface {other} already: sub-interface {name} needs another VLAN",
                    s.1, s.0
                ))
                .with_path(path));
            }
        }
        Ok(())
    }

    /// What interface `name` is (a port of the box, a routed interface of a bridge domain,
    /// a sub-interface, a loopback or a port on demand) and whether its type fits; `None`
    /// when it does not exist and nothing configures it.
    fn plan_if_kind(
        &self,
        plan: &Plan,
        name: &str,
        facts: &[&Fact],
    ) -> Result<Option<IfKind>, MgmtError> {
        let is_port = self.ports.contains(name);
        let bvi_of = if is_port {
            None
        } else {
            self.bvi_owner(plan, name)
        };
        let obj = format!("interface {name}");
        let sub = single(facts, "the parent and VLAN", &obj, |p| match p {
            Prop::SubIf(s) => Some(s),
            _ => None,
        })?;
        let sub_path = || {
            facts
                .iter()
                .find(|f| matches!(f.prop, Prop::SubIf(_)))
                .map(|f| f.path.clone())
                .unwrap_or_default()
        };
        let if_type = single(facts, "the type", &obj, |p| match p {
            Prop::IfType(t) => Some(t),
            _ => None,
        })?;
        let loopback = if_type.as_deref() == Some(LOOPBACK);
        let host_port = single(facts, "the host port", &obj, |p| match p {
            Prop::HostPort(h) => Some(h),
            _ => None,
        })?;
        if host_port.is_some() {
            let path = facts
                .iter()
                .find(|f| matches!(f.prop, Prop::HostPort(_)))
                .map(|f| f.path.clone())
                .unwrap_or_default();
            let clash = if is_port {
                Some(format!(
                    "{name} is a port of the box (declared in the configuration file)"
                ))
            } else {
                bvi_of.map(|bd| format!("{name} is the routed interface of bridge domain {bd}"))
            };
            if let Some(c) = clash {
                return Err(MgmtError::invalid_value(format!(
                    "interface {name} cannot be a port created on demand: {c}"
                ))
                .with_path(path));
            }
        }
        if let Some((parent, _)) = &sub {
            if let Some(bd) = bvi_of {
                return Err(MgmtError::invalid_value(format!(
                    "interface {name} is the routed interface of bridge domain {bd}: it cannot be a VLAN sub-interface too"
                ))
                .with_path(sub_path()));
            }
            if !self.ports.contains(parent) {
                let on_demand = match plan.ifs.get(parent) {
                    Some(v) => v.as_ref().is_some_and(|i| i.host_port.is_some()),
                    None => self.ifs.get(parent).is_some_and(|i| i.host_port.is_some()),
                };
                return Err(MgmtError::invalid_value(format!(
                    "the parent of sub-interface {name}, {parent}, is not a port{} (ports: {})",
                    if on_demand {
                        " of the box: sub-interfaces ride on the ports of the configuration file"
                    } else {
                        ""
                    },
                    self.ports.iter().cloned().collect::<Vec<_>>().join(", ")
                ))
                .with_path(sub_path()));
            }
        }
        if !is_port
            && bvi_of.is_none()
            && host_port.is_none()
            && if_type.as_deref() == Some(ETHERNET)
        {
            let path = facts
                .iter()
                .find(|f| matches!(f.prop, Prop::IfType(_)))
                .map(|f| f.path.clone())
                .unwrap_or_default();
            return Err(MgmtError::invalid_value(format!(
                "interface {name} of type {ETHERNET} is not a port of the box (ports: {}): \
                 a port on a host interface is created with nectar-interfaces:host-port",
                self.ports.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
            .with_path(path));
        }
        if !is_port && bvi_of.is_none() && sub.is_none() && host_port.is_none() && !loopback {
            return match facts.first() {
                None => Ok(None),
                Some(f) => Err(MgmtError::invalid_value(format!(
                    "interface {name} does not exist in the vswitch: it is neither a port (ports: {}) \
                     nor the routed interface of a bridge domain; the interfaces created on demand are \
                     VLAN sub-interfaces (type {L2VLAN}), loopbacks (type {LOOPBACK}) and ports on a \
                     host interface (type {ETHERNET} with nectar-interfaces:host-port)",
                    self.ports.iter().cloned().collect::<Vec<_>>().join(", ")
                ))
                .with_path(f.path.clone())),
            };
        }
        if let Some(t) = &if_type {
            let ok = if is_port || host_port.is_some() {
                t == ETHERNET
            } else if sub.is_some() {
                t == L2VLAN
            } else if bvi_of.is_some() {
                BVI_TYPES.contains(&t.as_str())
            } else {
                loopback
            };
            if !ok {
                let path = facts
                    .iter()
                    .find(|f| matches!(f.prop, Prop::IfType(_)))
                    .map(|f| f.path.clone())
                    .unwrap_or_default();
                return Err(MgmtError::invalid_value(format!(
                    "interface {name}: type {t} is not supported here: {}",
                    if is_port {
                        format!("{name} is a port, of type {ETHERNET}")
                    } else if sub.is_some() {
                        format!("{name} is a VLAN sub-interface, of type {L2VLAN}")
                    } else {
                        format!(
                            "{name} is the routed interface of bridge domain {}, of type {} or {}",
                            bvi_of.unwrap_or_default(),
                            BVI_TYPES[0],
                            BVI_TYPES[1]
                        )
                    }
                ))
                .with_path(path));
            }
        }
        Ok(Some(IfKind {
            if_type,
            loopback,
            host_port,
            sub,
        }))
    }

    /// Interface `name`'s effective configuration from the facts that name it (`None`: it
    /// does not exist).
    pub(crate) fn plan_if(
        &self,
        plan: &Plan,
        name: &str,
        facts: &[&Fact],
    ) -> Result<Option<IfEff>, MgmtError> {
        let Some(IfKind {
            if_type,
            loopback,
            host_port,
            sub,
        }) = self.plan_if_kind(plan, name, facts)?
        else {
            return Ok(None);
        };
        let obj = format!("interface {name}");
        let enabled = single(facts, "enabled", &obj, |p| match p {
            Prop::Enabled(b) => Some(b),
            _ => None,
        })?;
        let mtu = single(facts, "the IP MTU", &obj, |p| match p {
            Prop::Mtu(m) => Some(m),
            _ => None,
        })?;
        let forward4 = single(facts, "IPv4 forwarding", &obj, |p| match p {
            Prop::Forwarding(false, f) => Some(f),
            _ => None,
        })?;
        let forward6 = single(facts, "IPv6 forwarding", &obj, |p| match p {
            Prop::Forwarding(true, f) => Some(f),
            _ => None,
        })?;
        let description = single(facts, "the description", &obj, |p| match p {
            Prop::Description(d) => Some(d),
            _ => None,
        })?;
        let mac = single(facts, "the MAC address", &obj, |p| match p {
            Prop::Mac(m) => Some(m),
            _ => None,
        })?;
        let switchport = self.switchport_of(plan, name, facts)?;
        if loopback
            && let Some(f) = facts.iter().find(|f| match &f.prop {
                Prop::Switchport(s) => *s != Switchport::Routed,
                Prop::AccessVlan(_) => true,
                _ => false,
            })
        {
            return Err(MgmtError::invalid_value(format!(
                "interface {name} is a loopback: it routes and cannot be a bridge-domain member"
            ))
            .with_path(f.path.clone()));
        }
        let vrf = single(facts, "the VRF", &obj, |p| match p {
            Prop::Vrf(v) => Some(v),
            _ => None,
        })?;
        let acl_in = single(facts, "the ingress ACL", &obj, |p| match p {
            Prop::AclIn(a) => Some(a),
            _ => None,
        })?;
        let acl_out = single(facts, "the egress ACL", &obj, |p| match p {
            Prop::AclOut(a) => Some(a),
            _ => None,
        })?;
        let nat = single(facts, "the NAT role", &obj, |p| match p {
            Prop::Nat(n) => Some(n),
            _ => None,
        })?;
        let mut by_ip: BTreeMap<IpAddr, (u8, &str)> = BTreeMap::new();
        for f in facts {
            if let Prop::Addr(net) = &f.prop {
                match by_ip.get(&net.addr) {
                    Some((len, p)) if *len != net.len => {
                        return Err(conflict(
                            &format!("the prefix length of address {}", net.addr),
                            &obj,
                            &len.to_string(),
                            p,
                            &net.len.to_string(),
                            &f.path,
                        ));
                    }
                    _ => {
                        by_ip.insert(net.addr, (net.len, &f.path));
                    }
                }
            }
        }
        let cfg = InterfaceConfig {
            // Both models default `enabled` to true: a configured interface is up unless
            // told otherwise; an unconfigured port stays down.
            admin_up: enabled.unwrap_or(if_type.is_some()),
            mtu: mtu.unwrap_or(InterfaceConfig::default().mtu),
            mac,
            vrf: vrf.unwrap_or_else(|| DEFAULT_VRF.to_string()),
            switchport: switchport.unwrap_or(Switchport::Routed),
            acl_in,
            acl_out,
            nat: nat.unwrap_or(NatRole::None),
            forward_v4: forward4.unwrap_or(true),
            forward_v6: forward6.unwrap_or(true),
        };
        Ok(Some(IfEff {
            cfg,
            addrs: by_ip
                .into_iter()
                .map(|(addr, (len, _))| IpNet { addr, len })
                .collect(),
            if_type,
            sub,
            loopback,
            host_port,
            description,
        }))
    }

    pub(crate) fn interface_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        let fresh = IfEff::default();
        for (name, v) in &plan.ifs {
            let Some(new) = v else { continue };
            let had = self.ifs.get(name);
            // A sub-interface, loopback or port on demand is created (again, when what it
            // is changes: another parent or VLAN, another host interface) before it is
            // configured.
            let creation = new.creation(name);
            let create = creation.is_some() && had.and_then(|o| o.creation(name)) != creation;
            if let Some(op) = creation.filter(|_| create) {
                if let Some(del) = had.and_then(|o| o.deletion(name)) {
                    ops.push(del);
                }
                ops.push(op);
            }
            // A routed interface or sub-interface the transaction creates starts
            // unconfigured.
            let old = had.filter(|_| !create).unwrap_or(&fresh);
            if new.cfg != old.cfg {
                ops.push(Op::SetInterface {
                    name: name.clone(),
                    config: new.cfg.clone(),
                });
            }
            for a in old.addrs.difference(&new.addrs) {
                ops.push(Op::DelAddress {
                    interface: name.clone(),
                    prefix: *a,
                });
            }
            for a in new.addrs.difference(&old.addrs) {
                ops.push(Op::AddAddress {
                    interface: name.clone(),
                    prefix: *a,
                });
            }
        }
    }

    /// Sub-interfaces, loopbacks and ports on demand go once nothing (routes, static
    /// MACs) refers to them any more; ports after their sub-interfaces.
    pub(crate) fn interface_deletions(&self, plan: &Plan, ops: &mut Vec<Op>) {
        let mut dels = Vec::new();
        for (name, v) in &plan.ifs {
            if v.is_none()
                && let Some(op) = self.ifs.get(name).and_then(|o| o.deletion(name))
            {
                dels.push(op);
            }
        }
        dels.sort_by_key(|op| matches!(op, Op::DelHostPort { .. }));
        ops.extend(dels);
    }
}
