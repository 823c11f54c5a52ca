//! openconfig-vlan on interfaces: `switched-vlan` (ACCESS / TRUNK membership), `routed-vlan`
//! (the routed interface of a VLAN's bridge domain) and VLAN subinterfaces (802.1Q
//! sub-interfaces of a port, named `<interface>.<index>` in the vswitch and the IETF view).

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::object::interface::L2VLAN;
use crate::object::interface::oc_ip::ip_facts;
use crate::read::{Node, bad, child, children, explicit, leaf};
use nectar_dataplane::control::Switchport;

/// The vswitch interface an OpenConfig (interface, subinterface) pair names: the interface
/// itself for subinterface 0, else its VLAN sub-interface `<interface>.<index>`.
pub(crate) fn oc_if_name(interface: &str, subinterface: Option<&str>) -> String {
    match subinterface {
        None | Some("0") => interface.to_string(),
        Some(i) => format!("{interface}.{i}"),
    }
}

/// A VLAN id leaf value (1..4094).
fn vlan_id(path: &str, v: &str) -> Result<u16, MgmtError> {
    v.parse::<u16>()
        .ok()
        .filter(|v| (1..=4094).contains(v))
        .ok_or_else(|| bad(path, format!("{v} is not a VLAN id (1..4094)")))
}

/// A `trunk-vlans` entry: one VLAN id or an inclusive range `x..y`.
fn vlan_range(path: &str, v: &str) -> Result<std::ops::RangeInclusive<u16>, MgmtError> {
    match v.split_once("..") {
        Some((lo, hi)) => {
            let (lo, hi) = (vlan_id(path, lo)?, vlan_id(path, hi)?);
            if lo > hi {
                return Err(bad(path, format!("VLAN range {v} is empty")));
            }
            Ok(lo..=hi)
        }
        None => {
            let one = vlan_id(path, v)?;
            Ok(one..=one)
        }
    }
}

/// `ethernet/switched-vlan/config`: an ACCESS port is an access member of the bridge domain
/// that has its `access-vlan`; a TRUNK port carries `trunk-vlans` tagged (all VLANs when the
/// list is empty, as the model says) and `native-vlan` untagged.
pub(crate) fn switched_vlan(n: &Node<'_>, path: &str, name: &str) -> Result<Vec<Fact>, MgmtError> {
    let Some(c) = child(n, "ethernet")
        .and_then(|e| child(&e, "switched-vlan"))
        .and_then(|s| child(&s, "config"))
    else {
        return Ok(Vec::new());
    };
    let cp = format!("{path}/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/config");
    let t = Target::If(name.to_string());
    match leaf(&c, "interface-mode").as_deref() {
        None => Ok(Vec::new()),
        Some("ACCESS") => {
            let p = format!("{cp}/access-vlan");
            let Some(v) = leaf(&c, "access-vlan") else {
                return Err(bad(
                    &format!("{cp}/interface-mode"),
                    format!("interface {name}: an ACCESS port needs its access-vlan"),
                ));
            };
            Ok(vec![Fact::new(t, Prop::AccessVlan(vlan_id(&p, &v)?), p)])
        }
        Some("TRUNK") => {
            let mut allowed = Vec::new();
            let mut any = false;
            for v in children(&c, "trunk-vlans").filter_map(|x| x.value_canonical()) {
                any = true;
                allowed.extend(vlan_range(&format!("{cp}/trunk-vlans"), &v)?);
            }
            if !any {
                allowed.extend(1..=4094);
            }
            allowed.sort_unstable();
            allowed.dedup();
            let native_vlan = leaf(&c, "native-vlan")
                .map(|v| vlan_id(&format!("{cp}/native-vlan"), &v))
                .transpose()?;
            Ok(vec![Fact::new(
                t,
                Prop::Switchport(Switchport::Trunk {
                    allowed_vlans: allowed,
                    native_vlan,
                }),
                cp,
            )])
        }
        Some(other) => Err(bad(
            &format!("{cp}/interface-mode"),
            format!("interface-mode {other} is not supported"),
        )),
    }
}

/// `routed-vlan`: the interface (of type `l3ipvlan`) is the routed interface of the bridge
/// domain that has `config/vlan`; its addresses are under `routed-vlan/ipv4|ipv6`.
pub(crate) fn routed_vlan(n: &Node<'_>, path: &str, name: &str) -> Result<Vec<Fact>, MgmtError> {
    let Some(rv) = child(n, "routed-vlan") else {
        return Ok(Vec::new());
    };
    let rp = format!("{path}/openconfig-vlan:routed-vlan");
    let mut out = Vec::new();
    if let Some(v) = child(&rv, "config").and_then(|c| leaf(&c, "vlan")) {
        let p = format!("{rp}/config/vlan");
        let id = v
            .parse::<u16>()
            .ok()
            .filter(|v| (1..=4094).contains(v))
            .ok_or_else(|| {
                bad(
                    &p,
                    format!(
                        "routed-vlan {v}: give the VLAN id (1..4094); VLAN names are not supported"
                    ),
                )
            })?;
        out.push(Fact::new(
            Target::Vlan(id),
            Prop::BdBvi(name.to_string()),
            p,
        ));
    }
    ip_facts(&Target::If(name.to_string()), &rv, &rp, true, &mut out)?;
    Ok(out)
}

/// Subinterface `index` (not 0) of interface `parent`: an 802.1Q sub-interface of the port
/// with the subinterface's VLAN id, its admin state and addresses.
pub(crate) fn subinterface(
    parent: &str,
    index: &str,
    sub: &Node<'_>,
    sp: &str,
) -> Result<Vec<Fact>, MgmtError> {
    let name = oc_if_name(parent, Some(index));
    let t = Target::If(name.clone());
    let mut out = vec![Fact::new(t.clone(), Prop::IfType(L2VLAN.to_string()), sp)];
    let vlan = child(sub, "vlan");
    let mut tagged = false;
    // The deprecated inline id and the single-tagged match: both name the VLAN (and must
    // agree when both are set).
    if let Some(v) = vlan
        .as_ref()
        .and_then(|v| child(v, "config"))
        .and_then(|c| leaf(&c, "vlan-id"))
    {
        let p = format!("{sp}/openconfig-vlan:vlan/config/vlan-id");
        if v.contains('.') {
            return Err(bad(
                &p,
                format!("VLAN {v}: double-tagged (QinQ) subinterfaces are not supported"),
            ));
        }
        out.push(Fact::new(
            t.clone(),
            Prop::SubIf((parent.to_string(), vlan_id(&p, &v)?)),
            p,
        ));
        tagged = true;
    }
    if let Some(v) = vlan
        .as_ref()
        .and_then(|v| child(v, "match"))
        .and_then(|m| child(&m, "single-tagged"))
        .and_then(|s| child(&s, "config"))
        .and_then(|c| leaf(&c, "vlan-id"))
    {
        let p = format!("{sp}/openconfig-vlan:vlan/match/single-tagged/config/vlan-id");
        out.push(Fact::new(
            t.clone(),
            Prop::SubIf((parent.to_string(), vlan_id(&p, &v)?)),
            p,
        ));
        tagged = true;
    }
    if !tagged {
        return Err(bad(
            sp,
            format!(
                "{parent} subinterface {index} has no VLAN: subinterfaces other than 0 are 802.1Q \
                 sub-interfaces (set vlan/match/single-tagged/config/vlan-id)"
            ),
        ));
    }
    if let Some(e) = child(sub, "config").and_then(|c| explicit(&c, "enabled")) {
        out.push(Fact::new(
            t.clone(),
            Prop::Enabled(e == "true"),
            format!("{sp}/config/enabled"),
        ));
    }
    ip_facts(&t, sub, sp, true, &mut out)?;
    Ok(out)
}
