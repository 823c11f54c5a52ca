//! The openconfig-if-ip containers of an OpenConfig subinterface or routed VLAN into facts
//! (shared by [`super::openconfig`] and the VLAN side, `bridge::oc_vlan`).

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, child, children, leaf, mtu, parse_net};

/// The openconfig-if-ip `ipv4` / `ipv6` containers below `n` (a subinterface or a
/// routed-vlan, at `np`): MTU and, when `on`, the addresses of interface target `t`.
pub(crate) fn ip_facts(
    t: &Target,
    n: &Node<'_>,
    np: &str,
    on: bool,
    out: &mut Vec<Fact>,
) -> Result<(), MgmtError> {
    for fam in ["ipv4", "ipv6"] {
        let Some(ip) = child(n, fam) else { continue };
        let base = format!("{np}/openconfig-if-ip:{fam}");
        let cfg = child(&ip, "config");
        if let Some(m) = cfg.as_ref().and_then(|c| leaf(c, "mtu")) {
            let p = format!("{base}/config/mtu");
            out.push(Fact::new(t.clone(), Prop::Mtu(mtu(&p, &m)?), p));
        }
        let fam_on = cfg.as_ref().and_then(|c| leaf(c, "enabled")).as_deref() != Some("false");
        if !(on && fam_on) {
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
    Ok(())
}
