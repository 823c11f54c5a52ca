//! NAT44: ietf-nat instances ([`ietf`]) with nectar-nat's internal side; the effective
//! static mappings and interface roles and their operations; mappings and sessions as
//! state ([`state`]).

use std::net::Ipv4Addr;

use nectar_mgmt::MgmtError;

use crate::effective::{Effective, Plan, single};
use crate::facts::{Fact, Prop};
use nectar_dataplane::control::Op;

pub(crate) mod ietf;
pub(crate) mod state;

impl Effective {
    /// A static mapping's external address: the same wherever it is set.
    pub(crate) fn plan_nat(
        &self,
        plan: &mut Plan,
        local: Ipv4Addr,
        facts: &[&Fact],
    ) -> Result<(), MgmtError> {
        let v = single(
            facts,
            "the external address",
            &format!("the NAT static mapping of {local}"),
            |p| match p {
                Prop::NatExternal(a) => Some(a),
                _ => None,
            },
        )?;
        plan.nat.insert(local, v);
        Ok(())
    }

    pub(crate) fn nat_changes(&self, plan: &Plan, ops: &mut Vec<Op>) {
        for (local, v) in &plan.nat {
            if v.is_none() && self.nat.contains_key(local) {
                ops.push(Op::DelNatStatic { local: *local });
            }
        }
        for (local, v) in &plan.nat {
            if let Some(ext) = v
                && self.nat.get(local) != Some(ext)
            {
                ops.push(Op::AddNatStatic {
                    local: *local,
                    external: *ext,
                });
            }
        }
    }
}
