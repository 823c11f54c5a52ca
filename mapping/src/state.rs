//! Operational state, served on demand from dataplane snapshots: ietf-interfaces (status,
//! addresses, counters; ports appear before anyone configures them), ietf-ip, the
//! ietf-routing RIB. A request for one interface reads only that interface.

use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::effective::{BVI_TYPES, ETHERNET, LOOPBACK};
use crate::keys::{key_at, quote};
use crate::mapping::Mapping;
use crate::provider::Northbound;
use nectar_dataplane::control::{DEFAULT_VRF, RouteTarget};
use nectar_dataplane::tables::fib::Adj;
use nectar_dataplane::tables::{Kind, is_link_local};
use nectar_dataplane::types::IpNet;

pub(crate) fn set(out: &mut Tree, path: &str, value: Option<&str>) -> Result<(), MgmtError> {
    out.new_path(path, value, false)
        .map(|_| ())
        .map_err(|e| MgmtError::from(e).with_path(path.to_string()))
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The interfaces a request asks for: the one named in an `interface[name=...]` predicate,
/// else all of them.
pub(crate) fn wanted(m: &Mapping, path: Option<&str>) -> Vec<String> {
    match path.and_then(|p| key_at(p, 1, "name")) {
        Some(n) => vec![n],
        None => m.dp.interfaces(),
    }
}

/// The interface type to show: the configured one, else what the system made.
pub(crate) fn if_type(m: &Mapping, name: &str, kind: Kind) -> String {
    m.eff
        .ifs
        .get(name)
        .and_then(|i| i.if_type.clone())
        .unwrap_or_else(|| match kind {
            Kind::Port(_) => ETHERNET.to_string(),
            Kind::Bvi(_) => BVI_TYPES[0].to_string(),
            Kind::Loopback => LOOPBACK.to_string(),
        })
}

/// `/ietf-interfaces:interfaces` state.
pub fn ietf_interfaces(
    p: &Northbound,
    args: &StateArgs<'_>,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let m = p.lock();
    let tables = m.dp.tables();
    for name in wanted(&m, args.path) {
        let Some(ix) = tables.if_index(&name) else {
            continue;
        };
        let Some(i) = tables.iface(ix) else { continue };
        let Some(st) = m.dp.interface_stats(&name) else {
            continue;
        };
        let base = format!(
            "/ietf-interfaces:interfaces/interface[name={}]",
            quote(&name)
        );
        let b = base.as_str();
        set(out, &format!("{b}/type"), Some(&if_type(&m, &name, i.kind)))?;
        if let Some(d) = m.eff.ifs.get(&name).and_then(|e| e.description.as_deref()) {
            set(out, &format!("{b}/description"), Some(d))?;
        }
        // Bridge-domain membership, from whichever model set it.
        let sp = format!("{b}/nectar-bridge:switchport");
        match m.eff.ifs.get(&name).map(|e| &e.cfg.switchport) {
            Some(nectar_dataplane::control::Switchport::Access { bridge_domain }) => {
                set(out, &format!("{sp}/bridge-domain"), Some(bridge_domain))?;
            }
            Some(nectar_dataplane::control::Switchport::Trunk {
                allowed_vlans,
                native_vlan,
            }) => {
                for v in allowed_vlans {
                    set(out, &format!("{sp}/allowed-vlan"), Some(&v.to_string()))?;
                }
                if let Some(v) = native_vlan {
                    set(out, &format!("{sp}/native-vlan"), Some(&v.to_string()))?;
                }
            }
            _ => {}
        }
        set(
            out,
            &format!("{b}/admin-status"),
            Some(if st.admin_up { "up" } else { "down" }),
        )?;
        set(
            out,
            &format!("{b}/oper-status"),
            Some(if st.oper_up { "up" } else { "down" }),
        )?;
        set(out, &format!("{b}/if-index"), Some(&(ix + 1).to_string()))?;
        if i.kind != Kind::Loopback {
            set(out, &format!("{b}/phys-address"), Some(&i.mac.to_string()))?;
        }
        let port = match i.kind {
            Kind::Port(p) => m.dp.port(p),
            _ => None,
        };
        let driver = match i.kind {
            Kind::Port(_) => port.as_ref().map(|p| p.driver).unwrap_or("pg"),
            Kind::Bvi(_) => "bvi",
            Kind::Loopback => "loopback",
        };
        set(
            out,
            &format!("{b}/nectar-interfaces:dataplane/driver"),
            Some(driver),
        )?;
        if let Some(host) = port
            .as_ref()
            .filter(|_| i.parent.is_none())
            .and_then(|p| p.host_interface.as_deref())
        {
            set(
                out,
                &format!("{b}/nectar-interfaces:dataplane/host-interface"),
                Some(host),
            )?;
        }
        let vrf = tables
            .vrf_names
            .iter()
            .find(|(_, v)| **v == i.vrf)
            .map(|(n, _)| n.as_str())
            .unwrap_or(DEFAULT_VRF);
        set(
            out,
            &format!("{b}/nectar-interfaces:dataplane/vrf"),
            Some(vrf),
        )?;
        set(
            out,
            &format!("{b}/nectar-interfaces:dataplane/ip-mtu"),
            Some(&i.mtu.to_string()),
        )?;
        let s = format!("{b}/statistics");
        // Counters of an interface created later start with it.
        let since = st.since.map_or(m.started, |t| t.max(m.started));
        set(
            out,
            &format!("{s}/discontinuity-time"),
            Some(&rfc3339(since)),
        )?;
        for (leaf, v) in [
            ("in-octets", st.rx_bytes),
            ("in-unicast-pkts", st.rx_unicast),
            ("in-broadcast-pkts", st.rx_broadcast),
            ("in-multicast-pkts", st.rx_multicast),
            ("in-discards", st.rx_drops),
            ("in-errors", st.rx_errors),
            ("out-octets", st.tx_bytes),
            ("out-unicast-pkts", st.tx_unicast),
            ("out-broadcast-pkts", st.tx_broadcast),
            ("out-multicast-pkts", st.tx_multicast),
            ("out-discards", st.tx_drops),
            ("out-errors", st.tx_errors),
        ] {
            set(out, &format!("{s}/{leaf}"), Some(&v.to_string()))?;
        }
        if i.mode == nectar_dataplane::tables::L2Mode::Routed {
            let configured = m.eff.ifs.get(&name).map(|e| &e.addrs);
            let origin = |a: IpAddr, len: u8| {
                if configured.is_some_and(|c| c.contains(&IpNet { addr: a, len })) {
                    "static"
                } else {
                    "link-layer"
                }
            };
            let fam4 = format!("{b}/ietf-ip:ipv4");
            if !i.v4.is_empty() {
                set(out, &format!("{fam4}/mtu"), Some(&i.mtu.to_string()))?;
                set(
                    out,
                    &format!("{fam4}/forwarding"),
                    Some(if i.forward_v4 { "true" } else { "false" }),
                )?;
            }
            for (a, len) in &i.v4 {
                let ab = format!("{fam4}/address[ip='{a}']");
                set(out, &format!("{ab}/prefix-length"), Some(&len.to_string()))?;
                set(
                    out,
                    &format!("{ab}/origin"),
                    Some(origin(IpAddr::V4(*a), *len)),
                )?;
            }
            let fam6 = format!("{b}/ietf-ip:ipv6");
            if !i.v6.is_empty() {
                set(
                    out,
                    &format!("{fam6}/mtu"),
                    Some(&i.mtu.max(1280).to_string()),
                )?;
                set(
                    out,
                    &format!("{fam6}/forwarding"),
                    Some(if i.forward_v6 { "true" } else { "false" }),
                )?;
            }
            for (a, len) in &i.v6 {
                let ab = format!("{fam6}/address[ip='{a}']");
                set(out, &format!("{ab}/prefix-length"), Some(&len.to_string()))?;
                let o = if is_link_local(a) && origin(IpAddr::V6(*a), *len) != "static" {
                    "link-layer"
                } else {
                    "static"
                };
                set(out, &format!("{ab}/origin"), Some(o))?;
            }
            for n in m.dp.neighbors().iter().filter(|n| n.ifidx == ix) {
                let Some(mac) = n.mac else { continue };
                let fam = if n.ip.is_ipv4() { &fam4 } else { &fam6 };
                let nb = format!("{fam}/neighbor[ip='{}']", n.ip);
                set(
                    out,
                    &format!("{nb}/link-layer-address"),
                    Some(&mac.to_string()),
                )?;
                set(out, &format!("{nb}/origin"), Some("dynamic"))?;
            }
        }
    }
    Ok(())
}

/// `/ietf-routing:routing` state: the default VRF's RIBs (ipv4-master, ipv6-master) with
/// static and connected routes, as installed in the FIB.
pub fn ietf_routing(
    p: &Northbound,
    _args: &StateArgs<'_>,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let m = p.lock();
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

/// `/ietf-access-control-list:acls` state: matched packets per ACE, over every interface
/// (feature acl-aggregate-stats).
pub fn ietf_acls(p: &Northbound, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let m = p.lock();
    let tables = m.dp.tables();
    let only = args
        .path
        .and_then(|x| key_at(x, 1, "name"))
        .map(|n| crate::read::ietf_acl_name(&n));
    for (name, aces) in &m.eff.ace_names {
        let Some(model) = name.strip_prefix("ietf/") else {
            continue;
        };
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        let acl = tables.acls.get(name);
        let hits = acl.map(|a| a.hits()).unwrap_or_default();
        let octets = acl.map(|a| a.octets()).unwrap_or_default();
        for (i, ace) in aces.iter().enumerate() {
            let b = format!(
                "/ietf-access-control-list:acls/acl[name={}]/aces/ace[name={}]/statistics",
                quote(model),
                quote(ace)
            );
            let n = hits.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{b}/matched-packets"), Some(&n))?;
            let n = octets.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{b}/matched-octets"), Some(&n))?;
        }
    }
    Ok(())
}

/// `/openconfig-interfaces:interfaces` state: the same interfaces and the same counters as
/// the IETF view, in OpenConfig's `state` containers.
pub fn oc_interfaces(
    p: &Northbound,
    args: &StateArgs<'_>,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let m = p.lock();
    let tables = m.dp.tables();
    for name in wanted(&m, args.path) {
        let Some(ix) = tables.if_index(&name) else {
            continue;
        };
        let Some(i) = tables.iface(ix) else { continue };
        let Some(st) = m.dp.interface_stats(&name) else {
            continue;
        };
        let b = format!(
            "/openconfig-interfaces:interfaces/interface[name={}]",
            quote(&name)
        );
        let s = format!("{b}/state");
        let updown = |up: bool| if up { "UP" } else { "DOWN" };
        set(out, &format!("{s}/name"), Some(&name))?;
        set(out, &format!("{s}/type"), Some(&if_type(&m, &name, i.kind)))?;
        set(out, &format!("{s}/mtu"), Some(&i.mtu.to_string()))?;
        if let Some(d) = m.eff.ifs.get(&name).and_then(|e| e.description.as_deref()) {
            set(out, &format!("{s}/description"), Some(d))?;
        }
        set(
            out,
            &format!("{s}/enabled"),
            Some(if st.admin_up { "true" } else { "false" }),
        )?;
        set(out, &format!("{s}/ifindex"), Some(&(ix + 1).to_string()))?;
        set(out, &format!("{s}/admin-status"), Some(updown(st.admin_up)))?;
        set(out, &format!("{s}/oper-status"), Some(updown(st.oper_up)))?;
        let c = format!("{s}/counters");
        for (leaf, v) in [
            ("in-octets", st.rx_bytes),
            ("in-pkts", st.rx_packets),
            ("in-unicast-pkts", st.rx_unicast),
            ("in-broadcast-pkts", st.rx_broadcast),
            ("in-multicast-pkts", st.rx_multicast),
            ("in-discards", st.rx_drops),
            ("in-errors", st.rx_errors),
            ("out-octets", st.tx_bytes),
            ("out-pkts", st.tx_packets),
            ("out-unicast-pkts", st.tx_unicast),
            ("out-broadcast-pkts", st.tx_broadcast),
            ("out-multicast-pkts", st.tx_multicast),
            ("out-discards", st.tx_drops),
            ("out-errors", st.tx_errors),
        ] {
            set(out, &format!("{c}/{leaf}"), Some(&v.to_string()))?;
        }
        if matches!(i.kind, Kind::Port(_)) {
            set(
                out,
                &format!("{b}/openconfig-if-ethernet:ethernet/state/mac-address"),
                Some(&i.mac.to_string()),
            )?;
        }
        crate::state_l2::oc_interface_l2(&m, &tables, &name, &b, out)?;
        if i.mode != nectar_dataplane::tables::L2Mode::Routed {
            continue;
        }
        let sub = format!("{b}/subinterfaces/subinterface[index='0']");
        set(out, &format!("{sub}/state/index"), Some("0"))?;
        set(
            out,
            &format!("{sub}/state/enabled"),
            Some(if st.admin_up { "true" } else { "false" }),
        )?;
        set(
            out,
            &format!("{sub}/state/admin-status"),
            Some(updown(st.admin_up)),
        )?;
        set(
            out,
            &format!("{sub}/state/oper-status"),
            Some(updown(st.oper_up)),
        )?;
        let configured = m.eff.ifs.get(&name).map(|e| &e.addrs);
        let origin = |a: IpAddr, len: u8| {
            if configured.is_some_and(|c| c.contains(&IpNet { addr: a, len })) {
                "STATIC"
            } else {
                "LINK_LAYER"
            }
        };
        let v4: Vec<(IpAddr, u8)> = i.v4.iter().map(|(a, l)| (IpAddr::V4(*a), *l)).collect();
        let v6: Vec<(IpAddr, u8)> = i.v6.iter().map(|(a, l)| (IpAddr::V6(*a), *l)).collect();
        for (fam, addrs) in [("ipv4", v4), ("ipv6", v6)] {
            if addrs.is_empty() {
                continue;
            }
            let f = format!("{sub}/openconfig-if-ip:{fam}");
            set(out, &format!("{f}/state/mtu"), Some(&i.mtu.to_string()))?;
            for (a, len) in addrs {
                let ab = format!("{f}/addresses/address[ip='{a}']/state");
                set(out, &format!("{ab}/ip"), Some(&a.to_string()))?;
                set(out, &format!("{ab}/prefix-length"), Some(&len.to_string()))?;
                set(out, &format!("{ab}/origin"), Some(origin(a, len)))?;
            }
        }
    }
    Ok(())
}
