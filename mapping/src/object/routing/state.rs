//! ietf-routing operational state: the RIBs of every VRF, from the dataplane FIB.

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use nectar_dataplane::control::{DEFAULT_VRF, RouteTarget};
use nectar_dataplane::tables::fib::Adj;

use crate::engine::Mapping;
use crate::state::set;

/// `/ietf-routing:routing` state: the default VRF's RIBs (ipv4-master, ipv6-master) with
/// static and connected routes, as installed in the FIB.
pub fn ietf_routing(m: &Mapping, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    let if_name = |ix: u32| tables.iface(ix).map(|i| i.name.clone());
    let routes = m.dp.routes(DEFAULT_VRF);
    for (rib, fam, v4) in [
        ("ipv4-master", "ietf-routing:ipv4", true),
        ("ipv6-master", "ietf-routing:ipv6", false),
    ] {
        let rb = format!("/ietf-routing:routing/ribs/rib[name='{rib}']");
        set(out, &format!("{rb}/address-family"), Some(fam))?;
        let module = if v4 {
            "ietf-ipv4-unicast-routing"
        } else {
            "ietf-ipv6-unicast-routing"
        };
        let mut n = 0usize;
        for (prefix, adj) in routes.iter().filter(|(p, _)| p.is_ipv4() == v4) {
            let configured = m.eff.routes.get(&(DEFAULT_VRF.to_string(), *prefix));
            let (proto, pref) = match (configured, adj) {
                (Some(_), _) => ("ietf-routing:static", 1),
                (None, _) => ("ietf-routing:direct", 0),
            };
            n += 1;
            let r = format!("{rb}/routes/route[{n}]");
            set(
                out,
                &format!("{r}/{module}:destination-prefix"),
                Some(&prefix.network().to_string()),
            )?;
            set(
                out,
                &format!("{r}/route-preference"),
                Some(&pref.to_string()),
            )?;
            set(out, &format!("{r}/source-protocol"), Some(proto))?;
            set(out, &format!("{r}/active"), None)?;
            let nh = format!("{r}/next-hop");
            match adj {
                Adj::Local => {
                    set(out, &format!("{nh}/special-next-hop"), Some("receive"))?;
                }
                Adj::Drop => {
                    let special = match configured {
                        Some(RouteTarget::Blackhole) | None => "blackhole",
                        Some(_) => "unreachable",
                    };
                    set(out, &format!("{nh}/special-next-hop"), Some(special))?;
                }
                Adj::Glean { ifidx } => {
                    if let Some(ifn) = if_name(*ifidx) {
                        set(out, &format!("{nh}/outgoing-interface"), Some(&ifn))?;
                    }
                }
                Adj::Via(paths) if paths.len() == 1 => {
                    if let Some(ifn) = if_name(paths[0].ifidx) {
                        set(out, &format!("{nh}/outgoing-interface"), Some(&ifn))?;
                    }
                    if let Some(a) = paths[0].nh {
                        set(
                            out,
                            &format!("{nh}/{module}:next-hop-address"),
                            Some(&a.to_string()),
                        )?;
                    }
                }
                Adj::Via(paths) => {
                    for (k, path) in paths.iter().enumerate() {
                        let e = format!("{nh}/next-hop-list/next-hop[{}]", k + 1);
                        if let Some(ifn) = if_name(path.ifidx) {
                            set(out, &format!("{e}/outgoing-interface"), Some(&ifn))?;
                        }
                        if let Some(a) = path.nh {
                            set(out, &format!("{e}/{module}:address"), Some(&a.to_string()))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
