//! OpenConfig sources: openconfig-interfaces with if-ethernet, if-ip and vlan (the VLAN
//! parts are in [`super::oc_vlan`]).

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::object::interface::oc_ip::ip_facts;
use crate::read::{Node, bad, child, children, explicit, leaf, mtu};

/// `/openconfig-interfaces:interfaces/interface`: type, enabled, MTU, MAC, the addresses of
/// subinterface 0 (the interface itself), its VLAN subinterfaces, switched-vlan membership
/// and routed-vlan.
pub(crate) fn interface(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let name = leaf(n, "name").unwrap_or_default();
    let t = Target::If(name.clone());
    let mut out = Vec::new();
    if let Some(c) = child(n, "config") {
        let cp = format!("{path}/config");
        if let Some(ty) = leaf(&c, "type") {
            out.push(Fact::new(t.clone(), Prop::IfType(ty), format!("{cp}/type")));
        }
        if let Some(e) = explicit(&c, "enabled") {
            out.push(Fact::new(
                t.clone(),
                Prop::Enabled(e == "true"),
                format!("{cp}/enabled"),
            ));
        }
        if let Some(m) = leaf(&c, "mtu") {
            let p = format!("{cp}/mtu");
            out.push(Fact::new(t.clone(), Prop::Mtu(mtu(&p, &m)?), p));
        }
        if let Some(d) = leaf(&c, "description") {
            out.push(Fact::new(
                t.clone(),
                Prop::Description(d),
                format!("{cp}/description"),
            ));
        }
    }
    if let Some(mac) = child(n, "ethernet")
        .and_then(|e| child(&e, "config"))
        .and_then(|c| leaf(&c, "mac-address"))
    {
        let p = format!("{path}/openconfig-if-ethernet:ethernet/config/mac-address");
        let m = mac
            .parse()
            .map_err(|_| bad(&p, format!("{mac} is not a MAC address")))?;
        out.push(Fact::new(t.clone(), Prop::Mac(m), p));
    }
    out.extend(crate::object::bridge::oc_vlan::switched_vlan(
        n, path, &name,
    )?);
    out.extend(crate::object::bridge::oc_vlan::routed_vlan(n, path, &name)?);
    let Some(subs) = child(n, "subinterfaces") else {
        return Ok(out);
    };
    for sub in children(&subs, "subinterface") {
        let index = leaf(&sub, "index").unwrap_or_default();
        let sp = format!("{path}/subinterfaces/subinterface[index={}]", quote(&index));
        if index != "0" {
            out.extend(crate::object::bridge::oc_vlan::subinterface(
                &name, &index, &sub, &sp,
            )?);
            continue;
        }
        let sub_on = child(&sub, "config")
            .and_then(|c| leaf(&c, "enabled"))
            .as_deref()
            != Some("false");
        ip_facts(&t, &sub, &sp, sub_on, &mut out)?;
    }
    Ok(out)
}
