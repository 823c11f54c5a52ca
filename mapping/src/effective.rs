//! The effective configuration of every dataplane object, combined from the facts of both
//! model families, and the control-API operations that move the dataplane from one
//! effective configuration to the next.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::net::Ipv4Addr;

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use nectar_dataplane::control::{
    AclConfig, BridgeDomainConfig, HostPort, InterfaceConfig, Op, RouteTarget,
};
use nectar_dataplane::types::{IpNet, Mac};

/// One interface's effective configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IfEff {
    pub cfg: InterfaceConfig,
    pub addrs: BTreeSet<IpNet>,
    /// The interface type, when a model configures the interface.
    pub if_type: Option<String>,
    /// Parent port and VLAN id of a sub-interface.
    pub sub: Option<(String, u16)>,
    /// A loopback interface (type softwareLoopback), created on demand.
    pub loopback: bool,
    /// A port created on demand on this host resource (`nectar-interfaces:host-port`).
    pub host_port: Option<HostPort>,
    /// The description, from either model (state of the other).
    pub description: Option<String>,
}

/// One bridge domain's effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BdEff {
    pub cfg: BridgeDomainConfig,
    pub statics: BTreeMap<Mac, String>,
}

/// What the dataplane runs, as the mapping last applied it.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    /// The dataplane's ports, by name (they always exist).
    pub ports: BTreeSet<String>,
    pub ifs: BTreeMap<String, IfEff>,
    pub bds: BTreeMap<String, BdEff>,
    pub vrfs: BTreeSet<String>,
    pub routes: BTreeMap<(String, IpNet), RouteTarget>,
    pub acls: BTreeMap<String, AclConfig>,
    /// The model's names of each ACL's entries, in rule order.
    pub ace_names: BTreeMap<String, Vec<String>>,
    pub nat: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// The name of the OpenConfig DEFAULT_INSTANCE, when one is configured.
    pub default_ni: Option<String>,
}

/// New values for the objects a transaction affects (`None`: the object goes away).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub ifs: BTreeMap<String, Option<IfEff>>,
    pub bds: BTreeMap<String, Option<BdEff>>,
    pub vrfs: BTreeMap<String, bool>,
    pub routes: BTreeMap<(String, IpNet), Option<RouteTarget>>,
    pub acls: BTreeMap<String, Option<AclConfig>>,
    pub ace_names: BTreeMap<String, Vec<String>>,
    pub nat: BTreeMap<Ipv4Addr, Option<Ipv4Addr>>,
    /// A new name of the OpenConfig DEFAULT_INSTANCE (`Some(None)`: none any more).
    pub default_ni: Option<Option<String>>,
}

pub(crate) fn conflict(what: &str, obj: &str, a: &str, pa: &str, b: &str, pb: &str) -> MgmtError {
    MgmtError::invalid_value(format!(
        "{what} of {obj} is {a} at {pa} but {b} at {pb}: where several nodes (in either model) set it, the values must agree"
    ))
    .with_path(pb.to_string())
}

/// The one value a property has over all facts, refusing disagreement.
pub(crate) fn single<T: PartialEq + Clone + Debug>(
    facts: &[&Fact],
    what: &str,
    obj: &str,
    get: impl Fn(&Prop) -> Option<&T>,
) -> Result<Option<T>, MgmtError> {
    let mut found: Option<(&T, &str)> = None;
    for f in facts {
        if let Some(v) = get(&f.prop) {
            match found {
                Some((w, p)) if w != v => {
                    return Err(conflict(
                        what,
                        obj,
                        &format!("{w:?}"),
                        p,
                        &format!("{v:?}"),
                        &f.path,
                    ));
                }
                Some(_) => {}
                None => found = Some((v, &f.path)),
            }
        }
    }
    Ok(found.map(|(v, _)| v.clone()))
}

impl Effective {
    /// A fresh dataplane with these ports, all unconfigured.
    pub fn fresh(ports: impl IntoIterator<Item = String>) -> Effective {
        let ports: BTreeSet<String> = ports.into_iter().collect();
        Effective {
            ifs: ports
                .iter()
                .map(|p| (p.clone(), IfEff::default()))
                .collect(),
            ports,
            ..Default::default()
        }
    }

    /// New values of the `affected` objects, from the facts that now name each of them.
    pub fn plan<'f>(
        &self,
        affected: &BTreeSet<Target>,
        facts_of: impl Fn(&Target) -> Vec<&'f Fact>,
    ) -> Result<Plan, MgmtError> {
        let mut plan = Plan::default();
        let mut ifs: BTreeSet<String> = BTreeSet::new();
        let mut vlans: BTreeSet<u16> = BTreeSet::new();
        for t in affected {
            let facts = facts_of(t);
            match t {
                Target::Vrf(name) => self.plan_vrf(&mut plan, name, &facts)?,
                Target::Route(vrf, prefix) => self.plan_route(&mut plan, vrf, *prefix, &facts)?,
                Target::Acl(name) => self.plan_acl(&mut plan, name, &facts)?,
                Target::NatStatic(local) => self.plan_nat(&mut plan, *local, &facts)?,
                Target::Bd(name) => {
                    let v = self.plan_bd(name, &facts, &facts_of)?;
                    // The routed interfaces the domain had and will have change too.
                    if let Some(b) = self.bds.get(name).and_then(|b| b.cfg.bvi.clone()) {
                        ifs.insert(b);
                    }
                    if let Some(b) = v.as_ref().and_then(|b| b.cfg.bvi.clone()) {
                        ifs.insert(b);
                    }
                    plan.bds.insert(name.clone(), v);
                }
                Target::If(name) => {
                    ifs.insert(name.clone());
                }
                Target::Vlan(v) => {
                    vlans.insert(*v);
                }
            }
        }
        self.plan_vlans(&mut plan, vlans, &mut ifs, &facts_of)?;
        for name in ifs {
            let facts = facts_of(&Target::If(name.clone()));
            let v = self.plan_if(&plan, &name, &facts)?;
            plan.ifs.insert(name, v);
        }
        self.check_sub_interfaces(&plan, &facts_of)?;
        self.check_host_ports(&plan, &facts_of)?;
        Ok(plan)
    }

    /// The operations that take the dataplane from `self` to `self` + `plan`, in an order
    /// the control API accepts (objects are created before they are referred to and deleted
    /// after the last reference goes).
    pub fn ops(&self, plan: &Plan) -> Vec<Op> {
        let mut ops = Vec::new();
        // Created and changed, referred-to objects first.
        self.vrf_additions(plan, &mut ops);
        self.bridge_domain_changes(plan, &mut ops);
        self.acl_changes(plan, &mut ops);
        self.interface_changes(plan, &mut ops);
        self.static_mac_changes(plan, &mut ops);
        self.route_changes(plan, &mut ops);
        self.nat_changes(plan, &mut ops);
        // Then what goes away, referring objects first.
        self.interface_deletions(plan, &mut ops);
        self.acl_deletions(plan, &mut ops);
        self.bridge_domain_deletions(plan, &mut ops);
        self.vrf_deletions(plan, &mut ops);
        ops
    }

    /// Makes `plan` part of `self`.
    pub fn commit(&mut self, plan: Plan) {
        for (k, v) in plan.vrfs {
            if v {
                self.vrfs.insert(k);
            } else {
                self.vrfs.remove(&k);
            }
        }
        for (k, v) in plan.bds {
            match v {
                Some(b) => self.bds.insert(k, b),
                None => self.bds.remove(&k),
            };
        }
        for (k, v) in plan.ifs {
            match v {
                Some(i) => self.ifs.insert(k, i),
                None => self.ifs.remove(&k),
            };
        }
        for (k, v) in plan.routes {
            match v {
                Some(r) => self.routes.insert(k, r),
                None => self.routes.remove(&k),
            };
        }
        for (k, v) in plan.acls {
            match v {
                Some(a) => {
                    self.acls.insert(k.clone(), a);
                }
                None => {
                    self.acls.remove(&k);
                    self.ace_names.remove(&k);
                }
            };
        }
        for (k, v) in plan.ace_names {
            if self.acls.contains_key(&k) {
                self.ace_names.insert(k, v);
            }
        }
        for (k, v) in plan.nat {
            match v {
                Some(a) => self.nat.insert(k, a),
                None => self.nat.remove(&k),
            };
        }
        if let Some(d) = plan.default_ni {
            self.default_ni = d;
        }
    }

    /// Everything `self` holds, as a plan over a fresh dataplane (for a replay).
    pub fn whole(&self) -> Plan {
        Plan {
            ifs: self
                .ifs
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            bds: self
                .bds
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            vrfs: self.vrfs.iter().map(|k| (k.clone(), true)).collect(),
            routes: self
                .routes
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            acls: self
                .acls
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            ace_names: self.ace_names.clone(),
            nat: self.nat.iter().map(|(k, v)| (*k, Some(*v))).collect(),
            default_ni: Some(self.default_ni.clone()),
        }
    }
}
