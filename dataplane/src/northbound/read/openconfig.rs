//! OpenConfig sources: openconfig-interfaces with if-ethernet and if-ip.

use nectar_mgmt::MgmtError;

use super::{Node, bad, child, children, explicit, leaf, mtu, parse_net};
use crate::northbound::facts::{Fact, Prop, Target};
use crate::northbound::keys::quote;

/// `/openconfig-interfaces:interfaces/interface`: type, enabled, MTU, MAC, and the
/// addresses of subinterface 0 (the interface itself; VLAN subinterfaces are refused).
pub(super) fn interface(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
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
    let Some(subs) = child(n, "subinterfaces") else {
        return Ok(out);
    };
    for sub in children(&subs, "subinterface") {
        let index = leaf(&sub, "index").unwrap_or_default();
        let sp = format!("{path}/subinterfaces/subinterface[index={}]", quote(&index));
        if index != "0" {
            return Err(bad(
                &sp,
                format!(
                    "interface {name}: subinterface {index} is not supported; configure the interface's own addresses on subinterface 0"
                ),
            ));
        }
        let sub_on = child(&sub, "config")
            .and_then(|c| leaf(&c, "enabled"))
            .as_deref()
            != Some("false");
        for fam in ["ipv4", "ipv6"] {
            let Some(ip) = child(&sub, fam) else { continue };
            let base = format!("{sp}/openconfig-if-ip:{fam}");
            let cfg = child(&ip, "config");
            if let Some(m) = cfg.as_ref().and_then(|c| leaf(c, "mtu")) {
                let p = format!("{base}/config/mtu");
                out.push(Fact::new(t.clone(), Prop::Mtu(mtu(&p, &m)?), p));
            }
            let fam_on = cfg.as_ref().and_then(|c| leaf(c, "enabled")).as_deref() != Some("false");
            if !(sub_on && fam_on) {
                continue;
            }
            let Some(addrs) = child(&ip, "addresses") else {
                continue;
            };
            for a in children(&addrs, "address") {
                let ipv = leaf(&a, "ip").unwrap_or_default();
                let p = format!("{base}/addresses/address[ip={}]", quote(&ipv));
                let len = child(&a, "config")
                    .and_then(|c| leaf(&c, "prefix-length"))
                    .ok_or_else(|| bad(&p, format!("address {ipv} has no prefix-length")))?;
                out.push(Fact::new(
                    t.clone(),
                    Prop::Addr(parse_net(&p, &ipv, &len)?),
                    p,
                ));
            }
        }
    }
    Ok(out)
}
