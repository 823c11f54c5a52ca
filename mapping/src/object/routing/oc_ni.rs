//! OpenConfig network instances: DEFAULT_INSTANCE and L3VRF instances (the interfaces bound
//! to them), the STATIC protocol and its static routes; the L2 parts (VLANs, fdb, L2VSI
//! instances) are in [`super::oc_l2ni`].

use nectar_yang::print::NodePath;
use std::net::IpAddr;

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::object::network_instance::{
    DEFAULT_INSTANCE, L2VSI, L3VRF, STATIC, bindings, if_ref, is_type, type_of,
};
use crate::read::{Identity, Node, bad, child, children, identity, leaf, parse_prefix};
use nectar_dataplane::control::{DEFAULT_VRF, NextHop, RouteTarget};

/// The static route next hops that are not addresses (`local-defined-next-hop`).
const NH_DROP: Identity = Identity::new("openconfig-local-routing", "DROP");
const NH_LOCAL_LINK: Identity = Identity::new("openconfig-local-routing", "LOCAL_LINK");

/// The dataplane VRF of a network-instance entry, refusing the types the vswitch does not
/// map.
fn vrf_of(ni: &Node<'_>, path: &str) -> Result<String, MgmtError> {
    let name = leaf(ni, "name").unwrap_or_default();
    match type_of(ni) {
        Some(t) if DEFAULT_INSTANCE.is(&t) => Ok(DEFAULT_VRF.to_string()),
        Some(t) if L3VRF.is(&t) => Ok(name),
        Some(t) if L2VSI.is(&t) => Err(bad(
            &format!("{path}/config/type"),
            format!(
                "network instance {name} is an L2VSI instance (a bridge domain): it has no routes or routing protocols"
            ),
        )),
        Some(other) => Err(bad(
            &format!("{path}/config/type"),
            format!(
                "network instance {name}: type {other} is not supported: the vswitch maps {DEFAULT_INSTANCE}, {L3VRF} and {L2VSI} instances"
            ),
        )),
        None => Err(bad(
            &format!("{path}/config"),
            format!("network instance {name} has no type"),
        )),
    }
}

/// `/openconfig-network-instance:network-instances/network-instance`: the instance and
/// the interfaces bound to it.
pub(crate) fn instance(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let name = leaf(n, "name").unwrap_or_default();
    if is_type(n, L2VSI) {
        return crate::object::bridge::oc_l2ni::l2vsi(n, path, &name);
    }
    let vrf = vrf_of(n, path)?;
    let tp = format!("{path}/config/type");
    let is_default = is_type(n, DEFAULT_INSTANCE);
    let mut out = vec![if is_default {
        Fact::new(
            Target::Vrf(DEFAULT_VRF.to_string()),
            Prop::DefaultInstance(name.clone()),
            tp,
        )
    } else {
        Fact::new(Target::Vrf(vrf.clone()), Prop::Exists, tp)
    }];
    for (ifname, p) in bindings(n, path)? {
        out.push(Fact::new(Target::If(ifname), Prop::Vrf(vrf.clone()), p));
    }
    if is_default {
        out.extend(crate::object::bridge::oc_l2ni::default_l2(n, path)?);
    } else if child(n, "vlans").is_some_and(|v| children(&v, "vlan").next().is_some()) {
        return Err(bad(
            &format!("{path}/vlans"),
            format!(
                "network instance {name} is an L3VRF instance: VLANs belong to the DEFAULT instance or to an L2VSI instance"
            ),
        ));
    }
    Ok(out)
}

/// A protocol instance of a network instance: only STATIC is implemented.
pub(crate) fn protocol(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    if let Some(ni) = instance_of(n) {
        vrf_of(&ni, &ni.data_path())?;
    }
    match identity(n, "identifier") {
        Some(id) if STATIC.is(&id) => {}
        id => {
            let id = id.map(|i| i.to_string()).unwrap_or_default();
            return Err(bad(
                &format!("{path}/config/identifier"),
                format!(
                    "protocol {id} is not supported: the vswitch takes static routes only ({STATIC})"
                ),
            ));
        }
    }
    Ok(Vec::new())
}

/// The network-instance entry a static route belongs to.
fn instance_of<'a>(n: &Node<'a>) -> Option<Node<'a>> {
    n.ancestors()
        .find(|a| a.schema().name() == "network-instance")
}

/// The data paths of every static route below a network-instance entry (they change VRF
/// when the instance changes type).
pub(crate) fn routes_of(ni: &Node<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(protos) = child(ni, "protocols") else {
        return out;
    };
    for p in children(&protos, "protocol") {
        if let Some(sr) = child(&p, "static-routes") {
            out.extend(children(&sr, "static").map(|s| s.data_path()));
        }
    }
    out
}

/// A static route of an OpenConfig network instance.
pub(crate) fn route(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let Some(ni) = instance_of(n) else {
        return Ok(Vec::new());
    };
    let ni_path = ni.data_path();
    let vrf = vrf_of(&ni, &ni_path)?;
    let prefix = parse_prefix(path, &leaf(n, "prefix").unwrap_or_default())?;
    let mut hops: Vec<(String, NextHop)> = Vec::new();
    let mut drop = None;
    if let Some(list) = child(n, "next-hops") {
        for e in children(&list, "next-hop") {
            let index = leaf(&e, "index").unwrap_or_default();
            let p = format!("{path}/next-hops/next-hop[index={}]", quote(&index));
            let interface = match child(&e, "interface-ref").and_then(|r| child(&r, "config")) {
                Some(c) => leaf(&c, "interface").map(|i| if_ref(&c, &i)),
                None => None,
            };
            let nh = child(&e, "config").and_then(|c| leaf(&c, "next-hop"));
            let via = match nh.as_deref() {
                None => None,
                Some(v) if v == NH_DROP.to_string() => {
                    drop = Some(p.clone());
                    continue;
                }
                Some(v) if v == NH_LOCAL_LINK.to_string() => {
                    if interface.is_none() {
                        return Err(bad(
                            &p,
                            "a LOCAL_LINK next hop needs an interface (interface-ref)".into(),
                        ));
                    }
                    None
                }
                Some(v) => Some(v.parse::<IpAddr>().map_err(|_| {
                    bad(
                        &format!("{p}/config/next-hop"),
                        format!("next hop {v} is not supported"),
                    )
                })?),
            };
            if via.is_none() && interface.is_none() {
                return Err(bad(
                    &p,
                    "the next hop has neither an address nor an interface".into(),
                ));
            }
            hops.push((index, NextHop { via, interface }));
        }
    }
    let target = match (drop, hops.is_empty()) {
        (Some(_), true) => RouteTarget::Blackhole,
        (Some(p), false) => {
            return Err(bad(
                &p,
                "a DROP next hop cannot be combined with other next hops".into(),
            ));
        }
        (None, true) => return Err(bad(path, "the route has no next hop".into())),
        (None, false) => {
            let mut v: Vec<NextHop> = hops.iter().map(|(_, h)| h.clone()).collect();
            crate::read::canonical_hops(&mut v);
            RouteTarget::NextHops(v)
        }
    };
    let t = Target::Route(vrf, prefix);
    Ok(vec![
        Fact::new(t.clone(), Prop::Route(target), path),
        Fact::new(t, Prop::HopNames(hops), path),
    ])
}
