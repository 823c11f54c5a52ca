//! Interfaces as operational state, in both models: ietf-interfaces (with ietf-ip, if-mib
//! and nectar-interfaces) and openconfig-interfaces `state`.

use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::engine::Mapping;
use crate::keys::quote;
use crate::object::interface::{BVI_TYPES, ETHERNET, LOOPBACK};
use nectar_dataplane::control::DEFAULT_VRF;
use nectar_dataplane::stats::InterfaceStats;
use nectar_dataplane::tables::{IfEntry, Tables};
use nectar_dataplane::tables::{Kind, is_link_local};
use nectar_dataplane::types::IpNet;

use crate::state::{rfc3339, set, wanted};

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
pub fn ietf_interfaces(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    for name in wanted(m, args.path) {
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
        set(out, &format!("{b}/type"), Some(&if_type(m, &name, i.kind)))?;
        if let Some(d) = m.eff.ifs.get(&name).and_then(|e| e.description.as_deref()) {
            set(out, &format!("{b}/description"), Some(d))?;
        }
        ietf_switchport(m, &name, b, out)?;
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
        ietf_dataplane(m, &tables, i, b, out)?;
        ietf_statistics(m, &st, b, out)?;
        if i.mode == nectar_dataplane::tables::L2Mode::Routed {
            ietf_ip(m, &name, ix, i, b, out)?;
        }
    }
    Ok(())
}

/// nectar-bridge membership of an IETF interface, from whichever model set it.
fn ietf_switchport(m: &Mapping, name: &str, b: &str, out: &mut Tree) -> Result<(), MgmtError> {
    // Bridge-domain membership, from whichever model set it.
    let sp = format!("{b}/nectar-bridge:switchport");
    match m.eff.ifs.get(name).map(|e| &e.cfg.switchport) {
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
    Ok(())
}

/// `nectar-interfaces:dataplane` of an IETF interface: driver, host interface, VRF, IP MTU.
fn ietf_dataplane(
    m: &Mapping,
    tables: &Tables,
    i: &IfEntry,
    b: &str,
    out: &mut Tree,
) -> Result<(), MgmtError> {
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
    Ok(())
}

/// An IETF interface's `statistics`.
fn ietf_statistics(
    m: &Mapping,
    st: &InterfaceStats,
    b: &str,
    out: &mut Tree,
) -> Result<(), MgmtError> {
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
    Ok(())
}

/// ietf-ip state of a routed IETF interface: MTU, forwarding, addresses with their origin,
/// neighbors.
fn ietf_ip(
    m: &Mapping,
    name: &str,
    ix: u32,
    i: &IfEntry,
    b: &str,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let configured = m.eff.ifs.get(name).map(|e| &e.addrs);
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
    Ok(())
}

/// `/openconfig-interfaces:interfaces` state: the same interfaces and the same counters as
/// the IETF view, in OpenConfig's `state` containers.
pub fn oc_interfaces(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    for name in wanted(m, args.path) {
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
        set(out, &format!("{s}/type"), Some(&if_type(m, &name, i.kind)))?;
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
        crate::object::bridge::state::oc_interface_l2(m, &tables, &name, &b, out)?;
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
