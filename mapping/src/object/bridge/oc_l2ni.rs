//! The L2 parts of openconfig-network-instance. Each VLAN N of the DEFAULT instance is the
//! bridge domain named `vlanN`, with the instance's fdb settings and the static MAC entries
//! of that VLAN. An L2VSI instance is the bridge domain of its name: at most one VLAN (the
//! domain's 802.1Q VLAN on trunks), its fdb settings and static MACs, and its interfaces
//! (with subinterface) as access members.

use nectar_mgmt::MgmtError;
use nectar_yang::print::NodePath;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::object::bridge::ietf::static_mac;
use crate::object::network_instance::{bindings, if_ref};
use crate::read::{Node, bad, child, children, explicit, leaf};
use nectar_dataplane::control::Switchport;

/// The bridge domain of VLAN `v` of the DEFAULT instance.
pub(crate) fn vlan_bd(v: u16) -> String {
    format!("vlan{v}")
}

/// The instance's `vlans/vlan` entries: VLAN id, data path and `config/name`.
fn vlans_of(n: &Node<'_>, path: &str) -> Result<Vec<(u16, String, Option<String>)>, MgmtError> {
    let mut out = Vec::new();
    let Some(vlans) = child(n, "vlans") else {
        return Ok(out);
    };
    for v in children(&vlans, "vlan") {
        let id = leaf(&v, "vlan-id").unwrap_or_default();
        let vp = format!("{path}/vlans/vlan[vlan-id={}]", quote(&id));
        let id = id
            .parse::<u16>()
            .map_err(|_| bad(&vp, format!("{id} is not a VLAN id")))?;
        let name = child(&v, "config").and_then(|c| leaf(&c, "name"));
        out.push((id, vp, name));
    }
    Ok(out)
}

/// `fdb/config`: MAC learning and aging of the bridge domain `t`. `maximum-entries` is
/// deviated away (the vswitch limits learned MACs over all domains together).
fn fdb_settings(
    n: &Node<'_>,
    path: &str,
    t: &Target,
    out: &mut Vec<Fact>,
) -> Result<(), MgmtError> {
    let Some(c) = child(n, "fdb").and_then(|f| child(&f, "config")) else {
        return Ok(());
    };
    let cp = format!("{path}/fdb/config");
    if let Some(l) = explicit(&c, "mac-learning") {
        out.push(Fact::new(
            t.clone(),
            Prop::BdLearning(l == "true"),
            format!("{cp}/mac-learning"),
        ));
    }
    if let Some(a) = explicit(&c, "mac-aging-time") {
        let p = format!("{cp}/mac-aging-time");
        let secs = a
            .parse::<u64>()
            .map_err(|_| bad(&p, format!("{a} is not a number of seconds")))?;
        out.push(Fact::new(t.clone(), Prop::BdAging(secs), p));
    }
    Ok(())
}

/// `fdb/mac-table/entries/entry`: static MAC entries, each in the bridge domain of its VLAN
/// (`bd_of`).
fn mac_table(
    n: &Node<'_>,
    bd_of: impl Fn(u16) -> String,
    out: &mut Vec<Fact>,
) -> Result<(), MgmtError> {
    let Some(entries) = child(n, "fdb")
        .and_then(|f| child(&f, "mac-table"))
        .and_then(|m| child(&m, "entries"))
    else {
        return Ok(());
    };
    for e in children(&entries, "entry") {
        let ep = e.data_path();
        let mac = leaf(&e, "mac-address").unwrap_or_default();
        let m = static_mac(&ep, &mac)?;
        let vlan = leaf(&e, "vlan").unwrap_or_default();
        let vlan = vlan
            .parse::<u16>()
            .map_err(|_| bad(&ep, format!("{vlan} is not a VLAN id")))?;
        let Some(ifname) = child(&e, "interface")
            .and_then(|i| child(&i, "interface-ref"))
            .and_then(|r| child(&r, "config"))
            .and_then(|c| leaf(&c, "interface").map(|i| if_ref(&c, &i)))
        else {
            return Err(bad(
                &ep,
                format!(
                    "static MAC {mac} names no interface (interface/interface-ref/config/interface)"
                ),
            ));
        };
        out.push(Fact::new(
            Target::Bd(bd_of(vlan)),
            Prop::StaticMac(m, ifname),
            ep,
        ));
    }
    Ok(())
}

/// The L2 parts of the DEFAULT instance: its VLANs (bridge domains `vlanN`), the fdb
/// settings that apply to each of them, and static MAC entries.
pub(crate) fn default_l2(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let mut out = Vec::new();
    for (v, vp, name) in vlans_of(n, path)? {
        let t = Target::Bd(vlan_bd(v));
        out.push(Fact::new(t.clone(), Prop::BdDefined, vp.clone()));
        out.push(Fact::new(
            t.clone(),
            Prop::BdVlan(v),
            format!("{vp}/config/vlan-id"),
        ));
        if let Some(name) = name {
            out.push(Fact::new(
                t.clone(),
                Prop::VlanName(name),
                format!("{vp}/config/name"),
            ));
        }
        fdb_settings(n, path, &t, &mut out)?;
    }
    mac_table(n, vlan_bd, &mut out)?;
    Ok(out)
}

/// An L2VSI instance: one bridge domain of the instance's name.
pub(crate) fn l2vsi(n: &Node<'_>, path: &str, name: &str) -> Result<Vec<Fact>, MgmtError> {
    let t = Target::Bd(name.to_string());
    let mut out = vec![Fact::new(
        t.clone(),
        Prop::BdDefined,
        format!("{path}/config/type"),
    )];
    match vlans_of(n, path)?.as_slice() {
        [] => {}
        [(v, vp, vname)] => {
            if name == vlan_bd(*v) {
                return Err(bad(
                    vp,
                    format!(
                        "L2VSI instance {name} with VLAN {v} would be VLAN {v} of the DEFAULT instance \
                         (the bridge domain {name}): give the instance another name"
                    ),
                ));
            }
            out.push(Fact::new(
                t.clone(),
                Prop::BdVlan(*v),
                format!("{vp}/config/vlan-id"),
            ));
            if let Some(vname) = vname {
                out.push(Fact::new(
                    t.clone(),
                    Prop::VlanName(vname.clone()),
                    format!("{vp}/config/name"),
                ));
            }
        }
        more => {
            return Err(bad(
                &format!("{path}/vlans"),
                format!(
                    "L2VSI instance {name} has {} VLANs: an L2VSI instance is one bridge domain, with one VLAN at most",
                    more.len()
                ),
            ));
        }
    }
    fdb_settings(n, path, &t, &mut out)?;
    mac_table(n, |_| name.to_string(), &mut out)?;
    for (ifname, p) in bindings(n, path)? {
        let sp = Switchport::Access {
            bridge_domain: name.to_string(),
        };
        out.push(Fact::new(Target::If(ifname), Prop::Switchport(sp), p));
    }
    Ok(out)
}
