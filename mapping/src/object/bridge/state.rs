//! L2 operational state, served on demand: every bridge domain of the vswitch with its
//! effective settings and MAC table (learned and static) in nectar-bridge, and the same
//! domains in OpenConfig: a domain `vlanN` with VLAN N is VLAN N of the DEFAULT instance
//! (its `vlans` and `fdb`), any other domain is an L2VSI instance of its name. Interfaces
//! show their `switched-vlan` membership, `routed-vlan` and VLAN subinterfaces.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::effective::BdEff;
use crate::engine::Mapping;
use crate::facts::{Prop, Target};
use crate::keys::{key_at, quote};
use crate::object::bridge::oc_l2ni::vlan_bd;
use crate::object::network_instance::L2VSI;
use crate::sources::SourceKind;
use crate::state::set;
use nectar_dataplane::control::Switchport;
use nectar_dataplane::tables::{Kind as IfKind, L2Mode, Tables};
use nectar_dataplane::types::{IpNet, Mac};

/// One row of a bridge domain's MAC table.
pub(crate) struct MacRow {
    pub mac: Mac,
    pub interface: String,
    /// Seconds since last seen, for a learned entry; `None` for a static one.
    pub age: Option<u64>,
}

/// The MAC tables of the bridge domains, by domain name: static entries from the
/// configuration, learned ones from the dataplane (a static entry wins).
pub(crate) fn mac_tables(m: &Mapping, tables: &Tables) -> BTreeMap<String, Vec<MacRow>> {
    let mut out: BTreeMap<String, Vec<MacRow>> = BTreeMap::new();
    for (name, bd) in &m.eff.bds {
        let rows = out.entry(name.clone()).or_default();
        for (mac, ifname) in &bd.statics {
            rows.push(MacRow {
                mac: *mac,
                interface: ifname.clone(),
                age: None,
            });
        }
    }
    for e in m.dp.l2_entries() {
        let Some(bd) = tables.bd(e.bd) else { continue };
        let Some(iface) = tables.iface(e.ifidx) else {
            continue;
        };
        if m.eff
            .bds
            .get(&bd.name)
            .is_some_and(|b| b.statics.contains_key(&e.mac))
        {
            continue;
        }
        out.entry(bd.name.clone()).or_default().push(MacRow {
            mac: e.mac,
            interface: iface.name.clone(),
            age: Some(e.age_ns / 1_000_000_000),
        });
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|r| r.mac);
    }
    out
}

/// `/nectar-bridge:bridge-domains` state: every bridge domain with its effective settings
/// (whichever model set them) and MAC table.
pub fn nectar_bridge(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    let only = args.path.and_then(|x| key_at(x, 1, "name"));
    let macs = mac_tables(m, &tables);
    for (name, bd) in &m.eff.bds {
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        let b = format!(
            "/nectar-bridge:bridge-domains/bridge-domain[name={}]",
            quote(name)
        );
        let c = &bd.cfg;
        if let Some(v) = c.vlan {
            set(out, &format!("{b}/vlan"), Some(&v.to_string()))?;
        }
        set(
            out,
            &format!("{b}/mac-learning"),
            Some(bool_str(c.learning)),
        )?;
        set(
            out,
            &format!("{b}/mac-aging-time"),
            Some(&c.aging.as_secs().to_string()),
        )?;
        set(
            out,
            &format!("{b}/flood-unknown-unicast"),
            Some(bool_str(c.flood_unknown)),
        )?;
        if let Some(bvi) = &c.bvi {
            set(out, &format!("{b}/routed-interface"), Some(bvi))?;
        }
        for (mac, ifname) in &bd.statics {
            set(
                out,
                &format!("{b}/static-mac[mac-address='{mac}']/interface"),
                Some(ifname),
            )?;
        }
        for r in macs.get(name).into_iter().flatten() {
            let e = format!("{b}/mac-table/entry[mac-address='{}']", r.mac);
            set(out, &format!("{e}/interface"), Some(&r.interface))?;
            match r.age {
                Some(age) => {
                    set(out, &format!("{e}/type"), Some("dynamic"))?;
                    set(out, &format!("{e}/age"), Some(&age.to_string()))?;
                }
                None => set(out, &format!("{e}/type"), Some("static"))?,
            }
        }
    }
    Ok(())
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// How OpenConfig shows a bridge domain: VLAN N of the DEFAULT instance (the domain
/// `vlanN` with VLAN N), else an L2VSI instance of the domain's name.
pub(crate) fn default_vlan_of(name: &str, bd: &BdEff) -> Option<u16> {
    bd.cfg.vlan.filter(|v| vlan_bd(*v) == name)
}

/// The OpenConfig reference of a vswitch interface: a VLAN subinterface configured through
/// OpenConfig is (its interface, its index); anything else is the interface itself.
pub(crate) fn oc_ref(m: &Mapping, ifname: &str) -> (String, Option<String>) {
    let t = Target::If(ifname.to_string());
    let sub = m.index.get(&t).into_iter().flatten().find_map(|src| {
        if src.0 != SourceKind::OcIf {
            return None;
        }
        let f = m
            .facts
            .get(src)?
            .iter()
            .find(|f| f.target == t && matches!(f.prop, Prop::SubIf(_)))?;
        Some((key_at(&f.path, 1, "name")?, key_at(&f.path, 3, "index")?))
    });
    match sub {
        Some((i, s)) => (i, Some(s)),
        None => (ifname.to_string(), None),
    }
}

/// Sets `interface` (and `subinterface`) of an interface-ref `state` container.
pub(crate) fn set_ref(
    m: &Mapping,
    out: &mut Tree,
    state: &str,
    ifname: &str,
) -> Result<(), MgmtError> {
    let (i, s) = oc_ref(m, ifname);
    set(out, &format!("{state}/interface"), Some(&i))?;
    if let Some(s) = s {
        set(out, &format!("{state}/subinterface"), Some(&s))?;
    }
    Ok(())
}

/// Interface bindings made through OpenConfig network instances (the facts whose property
/// `pick` accepts), by interface: their list key `id`.
pub(crate) fn binding_ids(m: &Mapping, pick: impl Fn(&Prop) -> bool) -> BTreeMap<&str, String> {
    let mut ids = BTreeMap::new();
    for ((kind, _), facts) in &m.facts {
        if *kind != SourceKind::OcNi {
            continue;
        }
        for f in facts {
            if let Target::If(name) = &f.target
                && pick(&f.prop)
                && let Some(id) = key_at(&f.path, 3, "id")
            {
                ids.insert(name.as_str(), id);
            }
        }
    }
    ids
}

/// The names of the OpenConfig instances an L2VSI view of a domain must not take (the
/// default instance and the VRFs own them).
fn instance_names(m: &Mapping) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = m.eff.vrfs.iter().cloned().collect();
    names.insert(crate::state::ni_name(
        m,
        nectar_dataplane::control::DEFAULT_VRF,
    ));
    names
}

/// True if `i` is an access member of a domain OpenConfig shows as an L2VSI instance
/// (it is listed there, not in a VRF).
pub(crate) fn in_l2vsi(m: &Mapping, i: &crate::effective::IfEff) -> bool {
    let Switchport::Access { bridge_domain } = &i.cfg.switchport else {
        return false;
    };
    m.eff
        .bds
        .get(bridge_domain)
        .is_some_and(|bd| default_vlan_of(bridge_domain, bd).is_none())
        && !instance_names(m).contains(bridge_domain)
}

/// The interfaces that carry a domain: access members, trunks with its VLAN, its BVI.
fn members(m: &Mapping, name: &str, bd: &BdEff) -> Vec<String> {
    let mut v = Vec::new();
    for (ifname, i) in &m.eff.ifs {
        let member = match &i.cfg.switchport {
            Switchport::Access { bridge_domain } => bridge_domain == name,
            Switchport::Trunk {
                allowed_vlans,
                native_vlan,
            } => bd
                .cfg
                .vlan
                .is_some_and(|x| allowed_vlans.contains(&x) || *native_vlan == Some(x)),
            Switchport::Routed => false,
        };
        if member {
            v.push(ifname.clone());
        }
    }
    v
}

/// `vlans/vlan[N]` state of an instance, for domain `name` with VLAN `v`.
fn oc_vlan(
    m: &Mapping,
    ni: &str,
    name: &str,
    bd: &BdEff,
    v: u16,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let vb = format!("{ni}/vlans/vlan[vlan-id='{v}']");
    set(out, &format!("{vb}/state/vlan-id"), Some(&v.to_string()))?;
    let t = Target::Bd(name.to_string());
    let oc_name = m
        .index
        .get(&t)
        .into_iter()
        .flatten()
        .filter_map(|src| m.facts.get(src))
        .flatten()
        .find_map(|f| match (&f.target, &f.prop) {
            (ft, Prop::VlanName(n)) if *ft == t => Some(n.clone()),
            _ => None,
        });
    set(
        out,
        &format!("{vb}/state/name"),
        Some(oc_name.as_deref().unwrap_or(name)),
    )?;
    set(out, &format!("{vb}/state/status"), Some("ACTIVE"))?;
    for (k, ifname) in members(m, name, bd).iter().enumerate() {
        set(
            out,
            &format!("{vb}/members/member[{}]/state/interface", k + 1),
            Some(ifname),
        )?;
    }
    Ok(())
}

/// `fdb` state of an instance: settings (when every domain of the instance has the same)
/// and the MAC table rows of domains with a VLAN (the list is keyed by VLAN).
fn oc_fdb(
    m: &Mapping,
    ni: &str,
    bds: &[(&String, &BdEff)],
    macs: &BTreeMap<String, Vec<MacRow>>,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let settings: BTreeSet<(bool, u64)> = bds
        .iter()
        .map(|(_, b)| (b.cfg.learning, b.cfg.aging.as_secs()))
        .collect();
    if let [(learning, aging)] = settings.into_iter().collect::<Vec<_>>().as_slice() {
        let s = format!("{ni}/fdb/state");
        set(out, &format!("{s}/mac-learning"), Some(bool_str(*learning)))?;
        if let Ok(a) = u16::try_from(*aging) {
            set(out, &format!("{s}/mac-aging-time"), Some(&a.to_string()))?;
        }
    }
    for (name, bd) in bds {
        let Some(v) = bd.cfg.vlan else { continue };
        for r in macs.get(*name).into_iter().flatten() {
            let e = format!(
                "{ni}/fdb/mac-table/entries/entry[mac-address='{}'][vlan='{v}']",
                r.mac
            );
            set(
                out,
                &format!("{e}/state/mac-address"),
                Some(&r.mac.to_string()),
            )?;
            set(out, &format!("{e}/state/vlan"), Some(&v.to_string()))?;
            match r.age {
                Some(age) => {
                    set(out, &format!("{e}/state/age"), Some(&age.to_string()))?;
                    set(out, &format!("{e}/state/entry-type"), Some("DYNAMIC"))?;
                }
                None => set(out, &format!("{e}/state/entry-type"), Some("STATIC"))?,
            }
            set_ref(
                m,
                out,
                &format!("{e}/interface/interface-ref/state"),
                &r.interface,
            )?;
        }
    }
    Ok(())
}

/// The L2 state of the DEFAULT instance (at data path `ni`): its VLANs and fdb.
pub(crate) fn oc_default_l2(m: &Mapping, ni: &str, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    let macs = mac_tables(m, &tables);
    let mut bds = Vec::new();
    for (name, bd) in &m.eff.bds {
        if let Some(v) = default_vlan_of(name, bd) {
            oc_vlan(m, ni, name, bd, v, out)?;
            bds.push((name, bd));
        }
    }
    oc_fdb(m, ni, &bds, &macs, out)
}

/// Every other bridge domain as an L2VSI instance (`only`: the instance asked for).
pub(crate) fn oc_l2vsi(m: &Mapping, only: Option<&str>, out: &mut Tree) -> Result<(), MgmtError> {
    let taken = instance_names(m);
    let tables = m.dp.tables();
    let mut macs: Option<BTreeMap<String, Vec<MacRow>>> = None;
    let ids = binding_ids(m, |p| matches!(p, Prop::Switchport(_)));
    for (name, bd) in &m.eff.bds {
        if default_vlan_of(name, bd).is_some()
            || taken.contains(name)
            || only.is_some_and(|o| o != name)
        {
            continue;
        }
        let b = format!(
            "/openconfig-network-instance:network-instances/network-instance[name={}]",
            quote(name)
        );
        set(out, &format!("{b}/state/name"), Some(name))?;
        set(out, &format!("{b}/state/type"), Some(&L2VSI.to_string()))?;
        for (ifname, i) in &m.eff.ifs {
            if i.cfg.switchport
                != (Switchport::Access {
                    bridge_domain: name.clone(),
                })
            {
                continue;
            }
            let id = ids.get(ifname.as_str()).unwrap_or(ifname);
            let e = format!("{b}/interfaces/interface[id={}]/state", quote(id));
            set(out, &format!("{e}/id"), Some(id))?;
            set_ref(m, out, &e, ifname)?;
        }
        if let Some(v) = bd.cfg.vlan {
            oc_vlan(m, &b, name, bd, v, out)?;
        }
        let macs = macs.get_or_insert_with(|| mac_tables(m, &tables));
        oc_fdb(m, &b, &[(name, bd)], macs, out)?;
    }
    Ok(())
}

/// VLAN runs as `trunk-vlans` values: single ids and `x..y` ranges.
fn vlan_runs(v: &[u16]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            v[i].to_string()
        } else {
            format!("{}..{}", v[i], v[j])
        });
        i = j + 1;
    }
    out
}

/// The openconfig-vlan state of interface `name` (at data path `b`): a port's
/// `switched-vlan`, an `l3ipvlan` BVI's `routed-vlan` with its addresses, and the VLAN
/// subinterfaces configured through OpenConfig.
pub(crate) fn oc_interface_l2(
    m: &Mapping,
    tables: &Tables,
    name: &str,
    b: &str,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let Some(ix) = tables.if_index(name) else {
        return Ok(());
    };
    let Some(i) = tables.iface(ix) else {
        return Ok(());
    };
    let eff = m.eff.ifs.get(name);
    if matches!(i.kind, IfKind::Port(_)) && i.vlan.is_none() {
        let s = format!("{b}/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/state");
        match eff.map(|e| &e.cfg.switchport) {
            Some(Switchport::Access { bridge_domain }) => {
                set(out, &format!("{s}/interface-mode"), Some("ACCESS"))?;
                if let Some(v) = m.eff.bds.get(bridge_domain).and_then(|b| b.cfg.vlan) {
                    set(out, &format!("{s}/access-vlan"), Some(&v.to_string()))?;
                }
            }
            Some(Switchport::Trunk {
                allowed_vlans,
                native_vlan,
            }) => {
                set(out, &format!("{s}/interface-mode"), Some("TRUNK"))?;
                if let Some(v) = native_vlan {
                    set(out, &format!("{s}/native-vlan"), Some(&v.to_string()))?;
                }
                for r in vlan_runs(allowed_vlans) {
                    set(out, &format!("{s}/trunk-vlans"), Some(&r))?;
                }
            }
            _ => {}
        }
    }
    if let IfKind::Bvi(bd) = i.kind
        && eff.and_then(|e| e.if_type.as_deref()) == Some("iana-if-type:l3ipvlan")
    {
        let rv = format!("{b}/openconfig-vlan:routed-vlan");
        if let Some(v) = tables.bd(bd).and_then(|d| d.vlan) {
            set(out, &format!("{rv}/state/vlan"), Some(&v.to_string()))?;
        }
        addresses(m, tables, name, &rv, out)?;
    }
    // The VLAN subinterfaces of this port configured through OpenConfig.
    for (sub, e) in &m.eff.ifs {
        let Some((parent, vlan)) = &e.sub else {
            continue;
        };
        if parent != name {
            continue;
        }
        let (_, Some(index)) = oc_ref(m, sub) else {
            continue;
        };
        let Some(st) = m.dp.interface_stats(sub) else {
            continue;
        };
        let sb = format!("{b}/subinterfaces/subinterface[index={}]", quote(&index));
        let updown = |up: bool| if up { "UP" } else { "DOWN" };
        set(out, &format!("{sb}/state/index"), Some(&index))?;
        set(out, &format!("{sb}/state/name"), Some(sub))?;
        set(
            out,
            &format!("{sb}/state/enabled"),
            Some(bool_str(st.admin_up)),
        )?;
        set(
            out,
            &format!("{sb}/state/admin-status"),
            Some(updown(st.admin_up)),
        )?;
        set(
            out,
            &format!("{sb}/state/oper-status"),
            Some(updown(st.oper_up)),
        )?;
        let c = format!("{sb}/state/counters");
        for (leaf, v) in [
            ("in-octets", st.rx_bytes),
            ("in-pkts", st.rx_packets),
            ("in-discards", st.rx_drops),
            ("out-octets", st.tx_bytes),
            ("out-pkts", st.tx_packets),
            ("out-discards", st.tx_drops),
        ] {
            set(out, &format!("{c}/{leaf}"), Some(&v.to_string()))?;
        }
        let vl = format!("{sb}/openconfig-vlan:vlan");
        set(out, &format!("{vl}/state/vlan-id"), Some(&vlan.to_string()))?;
        set(
            out,
            &format!("{vl}/match/single-tagged/state/vlan-id"),
            Some(&vlan.to_string()),
        )?;
        addresses(m, tables, sub, &sb, out)?;
    }
    Ok(())
}

/// The openconfig-if-ip addresses of interface `name` below `base` (a subinterface or a
/// routed-vlan).
fn addresses(
    m: &Mapping,
    tables: &Tables,
    name: &str,
    base: &str,
    out: &mut Tree,
) -> Result<(), MgmtError> {
    let Some(i) = tables.if_index(name).and_then(|ix| tables.iface(ix)) else {
        return Ok(());
    };
    if i.mode != L2Mode::Routed {
        return Ok(());
    }
    let configured = m.eff.ifs.get(name).map(|e| &e.addrs);
    let v4 = i.v4.iter().map(|(a, l)| (IpAddr::V4(*a), *l));
    let v6 = i.v6.iter().map(|(a, l)| (IpAddr::V6(*a), *l));
    for (a, len) in v4.chain(v6) {
        let fam = if a.is_ipv4() { "ipv4" } else { "ipv6" };
        let origin = if configured.is_some_and(|c| c.contains(&IpNet { addr: a, len })) {
            "STATIC"
        } else {
            "LINK_LAYER"
        };
        let ab = format!("{base}/openconfig-if-ip:{fam}/addresses/address[ip='{a}']/state");
        set(out, &format!("{ab}/ip"), Some(&a.to_string()))?;
        set(out, &format!("{ab}/prefix-length"), Some(&len.to_string()))?;
        set(out, &format!("{ab}/origin"), Some(origin))?;
    }
    Ok(())
}
