//! openconfig-network-instance operational state: the default instance and every VRF, with
//! their interfaces and static routes, whichever model configured them (a route configured
//! through ietf-routing shows here under the STATIC protocol named `DEFAULT`).

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::engine::Mapping;
use crate::facts::{Prop, Target};
use crate::keys::{key_at, quote};
use crate::object::network_instance::{DEFAULT_INSTANCE, L3VRF, STATIC};
use crate::sources::SourceKind;
use crate::state::ni_name;
use crate::state::set;
use nectar_dataplane::control::{DEFAULT_VRF, NextHop, RouteTarget};

const DROP: &str = "openconfig-local-routing:DROP";

/// How OpenConfig configured a route, if it did: its protocol name and next-hop indexes.
fn oc_route(m: &Mapping, t: &Target) -> Option<(String, Vec<(String, NextHop)>)> {
    let src = m
        .index
        .get(t)?
        .iter()
        .find(|(k, _)| *k == SourceKind::OcRoute)?;
    let proto = key_at(&src.1, 3, "name")?;
    let hops = m.facts.get(src)?.iter().find_map(|f| match &f.prop {
        Prop::HopNames(h) => Some(h.clone()),
        _ => None,
    })?;
    Some((proto, hops))
}

/// `/openconfig-network-instance:network-instances` state.
pub fn oc_network_instances(
    m: &Mapping,
    args: &StateArgs<'_>,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let only = args.path.and_then(|x| key_at(x, 1, "name"));
    // Interface bindings made through OpenConfig, by interface: their list key.
    let ids = crate::object::bridge::state::binding_ids(m, |p| matches!(p, Prop::Vrf(_)));
    let vrfs = std::iter::once(DEFAULT_VRF.to_string()).chain(m.eff.vrfs.iter().cloned());
    for vrf in vrfs {
        let name = ni_name(m, &vrf);
        if only.as_ref().is_some_and(|o| *o != name) {
            continue;
        }
        let b = format!(
            "/openconfig-network-instance:network-instances/network-instance[name={}]",
            quote(&name)
        );
        set(out, &format!("{b}/state/name"), Some(&name))?;
        let ty = if vrf == DEFAULT_VRF {
            DEFAULT_INSTANCE
        } else {
            L3VRF
        };
        set(out, &format!("{b}/state/type"), Some(&ty.to_string()))?;
        for (ifname, i) in &m.eff.ifs {
            let bound = ids.contains_key(ifname.as_str());
            if i.cfg.vrf != vrf
                || (vrf == DEFAULT_VRF && i.if_type.is_none() && !bound)
                || crate::object::bridge::state::in_l2vsi(m, i)
            {
                continue;
            }
            let id = ids.get(ifname.as_str()).unwrap_or(ifname);
            let e = format!("{b}/interfaces/interface[id={}]/state", quote(id));
            set(out, &format!("{e}/id"), Some(id))?;
            crate::object::bridge::state::set_ref(m, out, &e, ifname)?;
        }
        if vrf == DEFAULT_VRF {
            crate::object::bridge::state::oc_default_l2(m, &b, out)?;
        }
        for ((rvrf, prefix), target) in &m.eff.routes {
            if *rvrf != vrf {
                continue;
            }
            let t = Target::Route(vrf.clone(), *prefix);
            let from_oc = oc_route(m, &t);
            let configured_here = from_oc.is_some();
            let (proto, hops) = match from_oc {
                Some(x) => x,
                None => {
                    let hops = match target {
                        RouteTarget::NextHops(h) => h
                            .iter()
                            .enumerate()
                            .map(|(i, h)| (i.to_string(), h.clone()))
                            .collect(),
                        RouteTarget::Blackhole => Vec::new(),
                    };
                    ("DEFAULT".to_string(), hops)
                }
            };
            let id = STATIC.to_string();
            let pb = format!(
                "{b}/protocols/protocol[identifier={}][name={}]",
                quote(&id),
                quote(&proto)
            );
            set(out, &format!("{pb}/state/identifier"), Some(&id))?;
            set(out, &format!("{pb}/state/name"), Some(&proto))?;
            let prefix = prefix.network().to_string();
            let sb = format!("{pb}/static-routes/static[prefix={}]", quote(&prefix));
            set(out, &format!("{sb}/state/prefix"), Some(&prefix))?;
            // (An OpenConfig DROP next hop is in the configuration, under its own index.)
            if *target == RouteTarget::Blackhole && !configured_here {
                let e = format!("{sb}/next-hops/next-hop[index='0']");
                set(out, &format!("{e}/state/index"), Some("0"))?;
                set(out, &format!("{e}/state/next-hop"), Some(DROP))?;
            }
            for (index, h) in hops {
                let e = format!("{sb}/next-hops/next-hop[index={}]", quote(&index));
                set(out, &format!("{e}/state/index"), Some(&index))?;
                if let Some(v) = h.via {
                    set(out, &format!("{e}/state/next-hop"), Some(&v.to_string()))?;
                }
                if let Some(i) = &h.interface {
                    crate::object::bridge::state::set_ref(
                        m,
                        out,
                        &format!("{e}/interface-ref/state"),
                        i,
                    )?;
                }
            }
        }
    }
    crate::object::bridge::state::oc_l2vsi(m, only.as_deref(), out)
}
