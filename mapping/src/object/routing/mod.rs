//! VRFs and static routes: ietf-routing protocol instances and static routes
//! ([`ietf`]), OpenConfig network instances, their protocols and static routes
//! ([`oc_ni`]); the effective VRFs and routes and their operations; the RIB as state in
//! both models ([`state`], [`oc_state`]).

use nectar_mgmt::MgmtError;

use crate::effective::{Effective, Plan, single};
use crate::facts::{Fact, Prop};
use nectar_dataplane::control::{DEFAULT_VRF, Op, RouteTarget};
use nectar_dataplane::types::IpNet;

pub(crate) mod ietf;
pub(crate) mod oc_ni;
pub(crate) mod oc_state;
pub(crate) mod state;

impl Effective {
    /// A VRF (an L3VRF network instance) exists while any fact names it; the default VRF
    /// only takes the name of the OpenConfig DEFAULT_INSTANCE.
    pub(crate) fn plan_vrf(
        &self,
        plan: &mut Plan,
        name: &str,
        facts: &[&Fact],
    ) -> Result<(), MgmtError> {
        if name == DEFAULT_VRF {
            if let Some(f) = facts.iter().find(|f| f.prop == Prop::Exists) {
                return Err(MgmtError::invalid_value(format!(
                    "the VRF name {DEFAULT_VRF:?} is reserved for the default instance"
                ))
                .with_path(f.path.clone()));
            }
            let ni = single(facts, "the name", "the default instance", |p| match p {
                Prop::DefaultInstance(n) => Some(n),
                _ => None,
            })?;
            plan.default_ni = Some(ni);
            return Ok(());
        }
        plan.vrfs.insert(name.to_string(), !facts.is_empty());
        Ok(())
    }

    /// A static route's next hops: the same wherever they are set.
    pub(crate) fn plan_route(
        &self,
        plan: &mut Plan,
        vrf: &str,
        prefix: IpNet,
        facts: &[&Fact],
    ) -> Result<(), MgmtError> {
        fn hops(p: &Prop) -> Option<&RouteTarget> {
            match p {
                Prop::Route(r) => Some(r),
                _ => None,
            }
        }
        // The route's name is needed only for an error: made then (a commit
        // may hold many routes).
        let v = match single(facts, "the next hops", "", hops) {
            Ok(v) => v,
            Err(_) => {
                let obj = format!("route {prefix} in VRF {vrf}");
                single(facts, "the next hops", &obj, hops)?
            }
        };
        plan.routes.insert((vrf.to_string(), prefix), v);
        Ok(())
    }

    pub(crate) fn vrf_additions(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, exists) in &plan.vrfs {
            if *exists && !self.vrfs.contains(name) {
                ops.push(Op::AddVrf { name: name.clone() });
            }
        }
    }

    pub(crate) fn route_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for ((vrf, prefix), v) in &plan.routes {
            let old = self.routes.get(&(vrf.clone(), *prefix));
            match (old, v) {
                (Some(_), None) => ops.push(Op::DelRoute {
                    vrf: vrf.clone(),
                    prefix: *prefix,
                }),
                (old, Some(t)) if old != Some(t) => ops.push(Op::AddRoute {
                    vrf: vrf.clone(),
                    prefix: *prefix,
                    target: t.clone(),
                }),
                _ => {}
            }
        }
    }

    pub(crate) fn vrf_deletions(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, exists) in &plan.vrfs {
            if !*exists && self.vrfs.contains(name) {
                ops.push(Op::DelVrf { name: name.clone() });
            }
        }
    }
}
