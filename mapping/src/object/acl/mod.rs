//! ACLs: ietf-access-control-list ACLs and attachments ([`ietf`]), openconfig-acl sets and
//! interface bindings ([`oc_acl`]); the effective ACLs and their operations; matched
//! packets as state in both models ([`state`], [`oc_state`]).

use nectar_mgmt::MgmtError;

use crate::effective::{Effective, Plan, single};
use crate::facts::{Fact, Prop};
use nectar_dataplane::control::Op;

pub(crate) mod ietf;
pub(crate) mod oc_acl;
pub(crate) mod oc_state;
pub(crate) mod state;

impl Effective {
    /// An ACL's rules (the same wherever they are set) and its entries' names.
    pub(crate) fn plan_acl(
        &self,
        plan: &mut Plan,
        name: &str,
        facts: &[&Fact],
    ) -> Result<(), MgmtError> {
        let v = single(facts, "the rules", &format!("ACL {name}"), |p| match p {
            Prop::Acl(a) => Some(a),
            _ => None,
        })?;
        let names = facts.iter().find_map(|f| match &f.prop {
            Prop::AceNames(n) => Some(n.clone()),
            _ => None,
        });
        plan.ace_names
            .insert(name.to_string(), names.unwrap_or_default());
        plan.acls.insert(name.to_string(), v);
        Ok(())
    }

    pub(crate) fn acl_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, v) in &plan.acls {
            if let Some(acl) = v
                && self.acls.get(name) != Some(acl)
            {
                ops.push(Op::SetAcl(acl.clone()));
            }
        }
    }

    pub(crate) fn acl_deletions(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (name, v) in &plan.acls {
            if v.is_none() && self.acls.contains_key(name) {
                ops.push(Op::DelAcl { name: name.clone() });
            }
        }
    }
}
