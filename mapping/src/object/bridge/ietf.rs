//! Reading a nectar-bridge bridge domain into facts.

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, children, explicit, leaf};

/// `/nectar-bridge:bridge-domains/bridge-domain`: its settings and static MAC entries. Only
/// values set explicitly are facts: a YANG default does not contradict the other model (an
/// OpenConfig VLAN or L2VSI instance describing the same domain).
pub(crate) fn bridge_domain(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let name = leaf(n, "name").unwrap_or_default();
    let t = Target::Bd(name);
    let mut out = vec![Fact::new(t.clone(), Prop::BdDefined, path)];
    if let Some(v) = leaf(n, "vlan") {
        let p = format!("{path}/vlan");
        let v = v
            .parse()
            .map_err(|_| bad(&p, format!("{v} is not a VLAN id")))?;
        out.push(Fact::new(t.clone(), Prop::BdVlan(v), p));
    }
    if let Some(l) = explicit(n, "mac-learning") {
        out.push(Fact::new(
            t.clone(),
            Prop::BdLearning(l == "true"),
            format!("{path}/mac-learning"),
        ));
    }
    if let Some(a) = explicit(n, "mac-aging-time") {
        let p = format!("{path}/mac-aging-time");
        let secs: u64 = a
            .parse()
            .map_err(|_| bad(&p, format!("{a} is not a number of seconds")))?;
        out.push(Fact::new(t.clone(), Prop::BdAging(secs), p));
    }
    if let Some(f) = explicit(n, "flood-unknown-unicast") {
        out.push(Fact::new(
            t.clone(),
            Prop::BdFlood(f == "true"),
            format!("{path}/flood-unknown-unicast"),
        ));
    }
    if let Some(b) = leaf(n, "routed-interface") {
        out.push(Fact::new(
            t.clone(),
            Prop::BdBvi(b),
            format!("{path}/routed-interface"),
        ));
    }
    for s in children(n, "static-mac") {
        let mac = leaf(&s, "mac-address").unwrap_or_default();
        let p = format!("{path}/static-mac[mac-address={}]", quote(&mac));
        let m = static_mac(&p, &mac)?;
        let ifname = leaf(&s, "interface").unwrap_or_default();
        out.push(Fact::new(t.clone(), Prop::StaticMac(m, ifname), p));
    }
    Ok(out)
}

/// A static MAC entry's address: a unicast MAC.
pub(crate) fn static_mac(path: &str, mac: &str) -> Result<nectar_dataplane::types::Mac, MgmtError> {
    let m: nectar_dataplane::types::Mac = mac
        .parse()
        .map_err(|_| bad(path, format!("{mac} is not a MAC address")))?;
    if m.is_multicast() {
        return Err(bad(
            path,
            format!("{mac} is a multicast address: static entries are unicast"),
        ));
    }
    Ok(m)
}
