//! Reading an ietf-interfaces entry (with ietf-ip, nectar-interfaces and nectar-bridge
//! augmentations) into facts.

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, child, children, explicit, leaf, mtu, parse_net};
use nectar_dataplane::control::{HostPort, Switchport};

/// `/ietf-interfaces:interfaces/interface` with ietf-ip.
pub(crate) fn interface(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let name = leaf(n, "name").unwrap_or_default();
    let t = Target::If(name);
    let mut out = Vec::new();
    if let Some(ty) = leaf(n, "type") {
        out.push(Fact::new(
            t.clone(),
            Prop::IfType(ty),
            format!("{path}/type"),
        ));
    }
    if let Some(e) = explicit(n, "enabled") {
        out.push(Fact::new(
            t.clone(),
            Prop::Enabled(e == "true"),
            format!("{path}/enabled"),
        ));
    }
    if let Some(d) = leaf(n, "description") {
        out.push(Fact::new(
            t.clone(),
            Prop::Description(d),
            format!("{path}/description"),
        ));
    }
    if let Some(sub) = child(n, "sub-interface") {
        let p = format!("{path}/nectar-interfaces:sub-interface");
        let parent = leaf(&sub, "parent-interface").unwrap_or_default();
        let vlan = leaf(&sub, "vlan-id").unwrap_or_default();
        let vlan = vlan
            .parse::<u16>()
            .map_err(|_| bad(&p, format!("{vlan} is not a VLAN id")))?;
        out.push(Fact::new(t.clone(), Prop::SubIf((parent, vlan)), p));
    }
    if let Some(hp) = child(n, "host-port") {
        out.push(host_port(&hp, path, n)?);
    }
    if let Some(sp) = switchport(n, path)? {
        out.push(Fact::new(
            t.clone(),
            Prop::Switchport(sp),
            format!("{path}/nectar-bridge:switchport"),
        ));
    }
    for (fam, cname) in [("ietf-ip:ipv4", "ipv4"), ("ietf-ip:ipv6", "ipv6")] {
        let Some(ip) = child(n, cname) else { continue };
        let base = format!("{path}/{fam}");
        if let Some(m) = leaf(&ip, "mtu") {
            let p = format!("{base}/mtu");
            out.push(Fact::new(t.clone(), Prop::Mtu(mtu(&p, &m)?), p));
        }
        // Default true (nectar-deviations); only an explicit false is a fact.
        if let Some(f) = explicit(&ip, "forwarding") {
            out.push(Fact::new(
                t.clone(),
                Prop::Forwarding(cname == "ipv6", f == "true"),
                format!("{base}/forwarding"),
            ));
        }
        if leaf(&ip, "enabled").as_deref() == Some("false") {
            continue;
        }
        for a in children(&ip, "address") {
            let ipv = leaf(&a, "ip").unwrap_or_default();
            let p = format!("{base}/address[ip={}]", quote(&ipv));
            let len = leaf(&a, "prefix-length").unwrap_or_default();
            out.push(Fact::new(
                t.clone(),
                Prop::Addr(parse_net(&p, &ipv, &len)?),
                p,
            ));
        }
    }
    Ok(out)
}

/// `nectar-interfaces:host-port` of an IETF interface: the port to open on demand.
fn host_port(hp: &Node<'_>, path: &str, n: &Node<'_>) -> Result<Fact, MgmtError> {
    let p = format!("{path}/nectar-interfaces:host-port");
    let name = leaf(n, "name").unwrap_or_default();
    // The host interface defaults to the interface's own name.
    let host_interface = leaf(hp, "host-interface").unwrap_or_else(|| name.clone());
    if host_interface.len() > 15 {
        return Err(bad(
            &p,
            format!(
                "interface {name}: a Linux interface name has at most 15 characters: give host-interface"
            ),
        ));
    }
    let spec = match leaf(hp, "driver").as_deref() {
        Some("afpacket") => HostPort::AfPacket { host_interface },
        Some("tap") => HostPort::Tap { host_interface },
        other => {
            return Err(bad(
                &format!("{p}/driver"),
                format!("driver {other:?} is not supported: use afpacket or tap"),
            ));
        }
    };
    Ok(Fact::new(Target::If(name), Prop::HostPort(spec), p))
}

/// `nectar-bridge:switchport` of an IETF interface: access or trunk membership.
fn switchport(n: &Node<'_>, path: &str) -> Result<Option<Switchport>, MgmtError> {
    let Some(sp) = child(n, "switchport") else {
        return Ok(None);
    };
    if let Some(bd) = leaf(&sp, "bridge-domain") {
        return Ok(Some(Switchport::Access { bridge_domain: bd }));
    }
    let vlan = |v: String| {
        v.parse::<u16>().map_err(|_| {
            bad(
                &format!("{path}/nectar-bridge:switchport"),
                format!("{v} is not a VLAN id"),
            )
        })
    };
    let mut allowed_vlans = Vec::new();
    for v in children(&sp, "allowed-vlan").filter_map(|c| c.value_canonical()) {
        allowed_vlans.push(vlan(v)?);
    }
    allowed_vlans.sort_unstable();
    let native_vlan = leaf(&sp, "native-vlan").map(vlan).transpose()?;
    if allowed_vlans.is_empty() && native_vlan.is_none() {
        return Ok(None);
    }
    Ok(Some(Switchport::Trunk {
        allowed_vlans,
        native_vlan,
    }))
}
