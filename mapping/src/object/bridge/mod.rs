//! Bridge domains in the effective configuration: a domain combined from the facts of
//! nectar-bridge, the OpenConfig VLANs of the DEFAULT instance and OpenConfig L2VSI
//! instances (property by property, values set in several places must agree), and the
//! references to a domain by its 802.1Q VLAN id (OpenConfig `access-vlan`, `routed-vlan`),
//! which mean the domain that has that VLAN, whichever model defined it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use nectar_mgmt::MgmtError;

use crate::effective::{BdEff, Effective, Plan, conflict, single};
use crate::facts::{Fact, Prop, Target};
use nectar_dataplane::control::Op;
use nectar_dataplane::control::{BridgeDomainConfig, Switchport};
use nectar_dataplane::types::Mac;

pub(crate) mod ietf;
pub(crate) mod oc_l2ni;
pub(crate) mod oc_vlan;
pub(crate) mod state;

/// Default MAC aging of a bridge domain, in seconds (nectar-bridge's default).
const AGING: u64 = 300;

fn path_of(facts: &[&Fact], pick: impl Fn(&Prop) -> bool) -> String {
    facts
        .iter()
        .find(|f| pick(&f.prop))
        .map(|f| f.path.clone())
        .unwrap_or_default()
}

impl Effective {
    /// The bridge domain that has VLAN `v` after `plan`.
    pub(crate) fn vlan_owner<'a>(&'a self, plan: &'a Plan, v: u16) -> Option<&'a str> {
        for (name, b) in &plan.bds {
            if b.as_ref().and_then(|b| b.cfg.vlan) == Some(v) {
                return Some(name);
            }
        }
        self.bds
            .iter()
            .filter(|(n, _)| !plan.bds.contains_key(*n))
            .find(|(_, b)| b.cfg.vlan == Some(v))
            .map(|(n, _)| n.as_str())
    }

    /// The new value of bridge domain `name` from the facts naming it, and the facts that
    /// refer to its VLAN ([`Target::Vlan`]).
    pub(crate) fn plan_bd<'f>(
        &self,
        name: &str,
        facts: &[&'f Fact],
        facts_of: &impl Fn(&Target) -> Vec<&'f Fact>,
    ) -> Result<Option<BdEff>, MgmtError> {
        if !facts.iter().any(|f| f.prop == Prop::BdDefined) {
            return match facts.first() {
                None => Ok(None),
                Some(f) => Err(MgmtError::invalid_value(format!(
                    "bridge domain {name} does not exist: define it as a nectar-bridge bridge-domain, \
                     an OpenConfig VLAN of the DEFAULT instance or an L2VSI network instance"
                ))
                .with_path(f.path.clone())),
            };
        }
        let obj = format!("bridge domain {name}");
        let vlan = single(facts, "the VLAN", &obj, |p| match p {
            Prop::BdVlan(v) => Some(v),
            _ => None,
        })?;
        let learning = single(facts, "mac-learning", &obj, |p| match p {
            Prop::BdLearning(b) => Some(b),
            _ => None,
        })?;
        let aging = single(facts, "the MAC aging time", &obj, |p| match p {
            Prop::BdAging(a) => Some(a),
            _ => None,
        })?;
        let flood = single(facts, "unknown-unicast flooding", &obj, |p| match p {
            Prop::BdFlood(b) => Some(b),
            _ => None,
        })?;
        let mut bvi_facts: Vec<&Fact> = facts.to_vec();
        if let Some(v) = vlan {
            bvi_facts.extend(facts_of(&Target::Vlan(v)));
        }
        let bvi = single(&bvi_facts, "the routed interface", &obj, |p| match p {
            Prop::BdBvi(b) => Some(b),
            _ => None,
        })?;
        let mut statics: BTreeMap<Mac, (String, &str)> = BTreeMap::new();
        for f in facts {
            if let Prop::StaticMac(mac, ifname) = &f.prop {
                match statics.get(mac) {
                    Some((other, p)) if other != ifname => {
                        return Err(conflict(
                            &format!("the interface of static MAC {mac}"),
                            &obj,
                            other,
                            p,
                            ifname,
                            &f.path,
                        ));
                    }
                    _ => {
                        statics.insert(*mac, (ifname.clone(), &f.path));
                    }
                }
            }
        }
        Ok(Some(BdEff {
            cfg: BridgeDomainConfig {
                name: name.to_string(),
                vlan,
                learning: learning.unwrap_or(true),
                aging: Duration::from_secs(aging.unwrap_or(AGING)),
                flood_unknown: flood.unwrap_or(true),
                bvi,
            },
            statics: statics.into_iter().map(|(m, (i, _))| (m, i)).collect(),
        }))
    }

    /// Completes the plan's bridge domains after the domains named by the transaction were
    /// planned: the domain of each VLAN whose references changed (`vlans`) is planned too,
    /// a VLAN belongs to one domain, and the interfaces that are access members of a domain
    /// whose VLAN changed are planned again (`ifs`), so that an `access-vlan` follows its
    /// VLAN.
    pub(crate) fn plan_vlans<'f>(
        &self,
        plan: &mut Plan,
        mut vlans: BTreeSet<u16>,
        ifs: &mut BTreeSet<String>,
        facts_of: &impl Fn(&Target) -> Vec<&'f Fact>,
    ) -> Result<(), MgmtError> {
        let mut moved: BTreeSet<String> = BTreeSet::new();
        for (name, new) in &plan.bds {
            let old = self.bds.get(name).map(|b| b.cfg.vlan);
            let new = new.as_ref().map(|b| b.cfg.vlan);
            if old != new {
                vlans.extend(old.flatten());
                vlans.extend(new.flatten());
                moved.insert(name.clone());
            }
        }
        for v in vlans {
            let refs = facts_of(&Target::Vlan(v));
            let owner = self.vlan_owner(plan, v).map(str::to_string);
            match owner {
                None => {
                    if let Some(f) = refs.iter().find(|f| matches!(f.prop, Prop::BdBvi(_))) {
                        return Err(MgmtError::invalid_value(format!(
                            "VLAN {v} does not exist: no bridge domain has it (define it in the \
                             vlans of the DEFAULT_INSTANCE network instance)"
                        ))
                        .with_path(f.path.clone()));
                    }
                }
                Some(d) if !plan.bds.contains_key(&d) => {
                    let v = self.plan_bd(&d, &facts_of(&Target::Bd(d.clone())), facts_of)?;
                    if let Some(b) = self.bds.get(&d).and_then(|b| b.cfg.bvi.clone()) {
                        ifs.insert(b);
                    }
                    if let Some(b) = v.as_ref().and_then(|b| b.cfg.bvi.clone()) {
                        ifs.insert(b);
                    }
                    plan.bds.insert(d, v);
                }
                Some(_) => {}
            }
        }
        // One domain per VLAN.
        if !plan.bds.is_empty() {
            let mut by_vlan: HashMap<u16, Vec<&String>> = HashMap::new();
            let planned = plan
                .bds
                .iter()
                .filter_map(|(n, b)| b.as_ref().map(|b| (n, b)));
            let kept = self.bds.iter().filter(|(n, _)| !plan.bds.contains_key(*n));
            for (n, b) in planned.chain(kept) {
                if let Some(v) = b.cfg.vlan {
                    by_vlan.entry(v).or_default().push(n);
                }
            }
            for (name, new) in &plan.bds {
                let Some(v) = new.as_ref().and_then(|b| b.cfg.vlan) else {
                    continue;
                };
                let Some(other) = by_vlan[&v].iter().find(|n| **n != name) else {
                    continue;
                };
                let vlan_path = |d: &str| {
                    path_of(&facts_of(&Target::Bd(d.to_string())), |p| {
                        matches!(p, Prop::BdVlan(_))
                    })
                };
                let (a, b) = (name.min(*other), name.max(*other));
                return Err(MgmtError::invalid_value(format!(
                    "VLAN {v} is claimed by bridge domain {a} (at {}) and by bridge domain {b} (at {}): \
                     a VLAN belongs to one bridge domain (OpenConfig VLAN {v} of the DEFAULT instance is \
                     the bridge domain named vlan{v}; a nectar-bridge domain of that name is the same domain)",
                    vlan_path(a),
                    vlan_path(b)
                ))
                .with_path(vlan_path(b)));
            }
        }
        if moved.is_empty() {
            return Ok(());
        }
        // Access members of a domain whose VLAN changed follow their access VLAN.
        for (ifname, i) in &self.ifs {
            if let Switchport::Access { bridge_domain } = &i.cfg.switchport
                && moved.contains(bridge_domain)
            {
                ifs.insert(ifname.clone());
            }
        }
        Ok(())
    }

    /// An interface's switchport mode from its facts: nectar-bridge `switchport`, an
    /// OpenConfig `switched-vlan` (an access VLAN is the domain that has it) or an L2VSI
    /// instance binding. Where several set it, they must agree.
    pub(crate) fn switchport_of(
        &self,
        plan: &Plan,
        name: &str,
        facts: &[&Fact],
    ) -> Result<Option<Switchport>, MgmtError> {
        let mut found: Option<(Switchport, &str)> = None;
        for f in facts {
            let sp = match &f.prop {
                Prop::Switchport(s) => s.clone(),
                Prop::AccessVlan(v) => match self.vlan_owner(plan, *v) {
                    Some(bd) => Switchport::Access {
                        bridge_domain: bd.to_string(),
                    },
                    None => {
                        return Err(MgmtError::invalid_value(format!(
                            "interface {name}: access VLAN {v} does not exist: no bridge domain has it \
                             (define it in the vlans of the DEFAULT_INSTANCE network instance)"
                        ))
                        .with_path(f.path.clone()));
                    }
                },
                _ => continue,
            };
            match &found {
                Some((w, p)) if *w != sp => {
                    return Err(conflict(
                        "the switchport mode",
                        &format!("interface {name}"),
                        &format!("{w:?}"),
                        p,
                        &format!("{sp:?}"),
                        &f.path,
                    ));
                }
                Some(_) => {}
                None => found = Some((sp, &f.path)),
            }
        }
        Ok(found.map(|(s, _)| s))
    }

    pub(crate) fn bridge_domain_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, v) in &plan.bds {
            if let Some(bd) = v
                && self.bds.get(name).map(|b| &b.cfg) != Some(&bd.cfg)
            {
                ops.push(Op::SetBridgeDomain(bd.cfg.clone()));
            }
        }
    }

    pub(crate) fn static_mac_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        let none = BTreeMap::new();
        for (name, v) in &plan.bds {
            let Some(new) = v else { continue };
            let old = self.bds.get(name).map(|b| &b.statics).unwrap_or(&none);
            for (mac, ifname) in old {
                if new.statics.get(mac) != Some(ifname) {
                    ops.push(Op::DelStaticMac {
                        bridge_domain: name.clone(),
                        mac: *mac,
                    });
                }
            }
            for (mac, ifname) in &new.statics {
                if old.get(mac) != Some(ifname) {
                    ops.push(Op::AddStaticMac {
                        bridge_domain: name.clone(),
                        mac: *mac,
                        interface: ifname.clone(),
                    });
                }
            }
        }
    }

    pub(crate) fn bridge_domain_deletions(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, v) in &plan.bds {
            if v.is_none() && self.bds.contains_key(name) {
                ops.push(Op::DelBridgeDomain { name: name.clone() });
            }
        }
    }
}
