//! IETF sources: ietf-interfaces + ietf-ip, ietf-routing static routes,
//! ietf-access-control-list.

use std::net::IpAddr;

use nectar_mgmt::MgmtError;

use super::{Node, bad, child, children, explicit, leaf, mtu, parse_net, parse_prefix};
use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use nectar_dataplane::control::{
    AclAction, AclConfig, AclRule, DEFAULT_VRF, HostPort, NextHop, RouteTarget, Switchport,
};

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

/// A control-plane-protocol instance: only `static` is implemented.
pub(crate) fn protocol(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let ty = leaf(n, "type").unwrap_or_default();
    if ty != "ietf-routing:static" {
        return Err(bad(
            &format!("{path}/type"),
            format!(
                "control-plane protocol type {ty} is not supported: the vswitch takes static routes only (ietf-routing:static)"
            ),
        ));
    }
    Ok(Vec::new())
}

/// The next hops of an ietf-routing route (`next-hop` container).
fn next_hops(n: &Node<'_>, path: &str) -> Result<RouteTarget, MgmtError> {
    let Some(nh) = child(n, "next-hop") else {
        return Err(bad(path, "the route has no next hop".into()));
    };
    let one = |x: &Node<'_>, p: &str| -> Result<Option<NextHop>, MgmtError> {
        let via = match leaf(x, "next-hop-address") {
            Some(a) => Some(
                a.parse::<IpAddr>()
                    .map_err(|_| bad(p, format!("{a} is not an IP address")))?,
            ),
            None => None,
        };
        let interface = leaf(x, "outgoing-interface");
        Ok((via.is_some() || interface.is_some()).then_some(NextHop { via, interface }))
    };
    if let Some(s) = leaf(&nh, "special-next-hop") {
        return match s.as_str() {
            "blackhole" => Ok(RouteTarget::Blackhole),
            other => Err(bad(
                &format!("{path}/next-hop/special-next-hop"),
                format!(
                    "special-next-hop {other} is not supported: the vswitch discards silently (blackhole) only"
                ),
            )),
        };
    }
    if let Some(list) = child(&nh, "next-hop-list") {
        let mut hops = Vec::new();
        for e in children(&list, "next-hop") {
            let p = format!(
                "{path}/next-hop/next-hop-list/next-hop[index={}]",
                quote(&leaf(&e, "index").unwrap_or_default())
            );
            match one(&e, &p)? {
                Some(h) => hops.push(h),
                None => {
                    return Err(bad(
                        &p,
                        "the next hop has neither an address nor an interface".into(),
                    ));
                }
            }
        }
        if hops.is_empty() {
            return Err(bad(path, "the route's next-hop-list is empty".into()));
        }
        super::canonical_hops(&mut hops);
        return Ok(RouteTarget::NextHops(hops));
    }
    match one(&nh, path)? {
        Some(h) => Ok(RouteTarget::NextHops(vec![h])),
        None => Err(bad(path, "the route has no next hop".into())),
    }
}

/// A static route of ietf-ipv4/ipv6-unicast-routing (default VRF).
pub(crate) fn route(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let dest = leaf(n, "destination-prefix").unwrap_or_default();
    let prefix = parse_prefix(path, &dest)?;
    let target = next_hops(n, path)?;
    Ok(vec![Fact::new(
        Target::Route(DEFAULT_VRF.to_string(), prefix),
        Prop::Route(target),
        path,
    )])
}

/// An EtherType given as a number or by one of the common ietf-ethertypes names.
fn ethertype(path: &str, v: &str) -> Result<u16, MgmtError> {
    match v {
        "ipv4" => Ok(0x0800),
        "arp" => Ok(0x0806),
        "ipv6" => Ok(0x86dd),
        n => n.parse::<u16>().map_err(|_| {
            bad(
                path,
                format!("ethertype {n} is not supported by name: give its number"),
            )
        }),
    }
}

/// A `port-range-or-operator` container (ietf-packet-fields) as an inclusive range.
fn port_range(n: &Node<'_>, path: &str) -> Result<Option<(u16, u16)>, MgmtError> {
    let num = |name: &str| -> Result<Option<u16>, MgmtError> {
        leaf(n, name)
            .map(|v| {
                v.parse::<u16>()
                    .map_err(|_| bad(path, format!("{v} is not a port number")))
            })
            .transpose()
    };
    if let Some(lo) = num("lower-port")? {
        let hi = num("upper-port")?.unwrap_or(lo);
        if hi < lo {
            return Err(bad(path, format!("port range {lo}..{hi} is empty")));
        }
        return Ok(Some((lo, hi)));
    }
    let Some(port) = num("port")? else {
        return Ok(None);
    };
    match leaf(n, "operator").as_deref().unwrap_or("eq") {
        "eq" => Ok(Some((port, port))),
        "lte" => Ok(Some((0, port))),
        "gte" => Ok(Some((port, u16::MAX))),
        op => Err(bad(
            path,
            format!("port operator {op} is not supported: use eq, lte, gte or a range"),
        )),
    }
}

fn proto(path: &str, v: &str) -> Result<u8, MgmtError> {
    v.parse::<u8>()
        .map_err(|_| bad(path, format!("{v} is not an IP protocol number")))
}

/// One ACE as a dataplane rule.
fn ace(n: &Node<'_>, path: &str) -> Result<AclRule, MgmtError> {
    let action = match child(n, "actions").and_then(|a| leaf(&a, "forwarding")) {
        Some(a) => match a.as_str() {
            "ietf-access-control-list:accept" => AclAction::Permit,
            "ietf-access-control-list:drop" => AclAction::Deny,
            "nectar-acl:accept-and-reflect" => AclAction::PermitReflect,
            other => {
                return Err(bad(
                    &format!("{path}/actions/forwarding"),
                    format!(
                        "forwarding action {other} is not supported: use accept, drop or nectar-acl:accept-and-reflect"
                    ),
                ));
            }
        },
        None => {
            return Err(bad(path, "the ACE has no forwarding action".into()));
        }
    };
    let mut r = AclRule::any(action);
    let Some(m) = child(n, "matches") else {
        return Ok(r);
    };
    let mp = format!("{path}/matches");
    if let Some(eth) = child(&m, "eth") {
        let p = format!("{mp}/eth");
        let mac = |name: &str| -> Result<Option<nectar_dataplane::types::Mac>, MgmtError> {
            leaf(&eth, name)
                .map(|v| {
                    v.parse()
                        .map_err(|_| bad(&p, format!("{v} is not a MAC address")))
                })
                .transpose()
        };
        r.dst_mac = mac("destination-mac-address")?;
        r.src_mac = mac("source-mac-address")?;
        if let Some(t) = leaf(&eth, "ethertype") {
            r.ethertype = Some(ethertype(&p, &t)?);
        }
    }
    for (fam, src, dst, et) in [
        (
            "ipv4",
            "source-ipv4-network",
            "destination-ipv4-network",
            0x0800u16,
        ),
        (
            "ipv6",
            "source-ipv6-network",
            "destination-ipv6-network",
            0x86dd,
        ),
    ] {
        let Some(ip) = child(&m, fam) else { continue };
        let p = format!("{mp}/{fam}");
        if r.ethertype.is_some_and(|e| e != et) {
            return Err(bad(
                &p,
                format!("the ACE's ethertype contradicts its {fam} match"),
            ));
        }
        r.ethertype = Some(et);
        if let Some(s) = leaf(&ip, src) {
            r.src = Some(parse_prefix(&p, &s)?);
        }
        if let Some(d) = leaf(&ip, dst) {
            r.dst = Some(parse_prefix(&p, &d)?);
        }
        if let Some(pr) = leaf(&ip, "protocol") {
            r.proto = Some(proto(&p, &pr)?);
        }
    }
    for (l4, number) in [("tcp", 6u8), ("udp", 17)] {
        let Some(t) = child(&m, l4) else { continue };
        let p = format!("{mp}/{l4}");
        if r.proto.is_some_and(|x| x != number) {
            return Err(bad(
                &p,
                format!("the ACE's protocol contradicts its {l4} match"),
            ));
        }
        r.proto = Some(number);
        if let Some(sp) = child(&t, "source-port") {
            r.src_ports = port_range(&sp, &format!("{p}/source-port"))?;
        }
        if let Some(dp) = child(&t, "destination-port") {
            r.dst_ports = port_range(&dp, &format!("{p}/destination-port"))?;
        }
    }
    if let Some(icmp) = child(&m, "icmp") {
        let p = format!("{mp}/icmp");
        let number = if r.ethertype == Some(0x86dd) { 58 } else { 1 };
        if r.proto.is_some_and(|x| x != number) {
            return Err(bad(
                &p,
                "the ACE's protocol contradicts its icmp match".into(),
            ));
        }
        r.proto = Some(number);
        let byte = |name: &str| -> Result<Option<u8>, MgmtError> {
            leaf(&icmp, name)
                .map(|v| {
                    v.parse::<u8>()
                        .map_err(|_| bad(&p, format!("{v} is not a byte")))
                })
                .transpose()
        };
        r.icmp_type = byte("type")?;
        r.icmp_code = byte("code")?;
    }
    Ok(r)
}

/// The dataplane name of an ietf-access-control-list ACL.
pub(crate) fn acl_name(name: &str) -> String {
    format!("ietf/{name}")
}

/// `/ietf-access-control-list:acls/acl`: its ACEs in order.
pub(crate) fn acl(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let name = acl_name(&leaf(n, "name").unwrap_or_default());
    let mut rules = Vec::new();
    let mut names = Vec::new();
    if let Some(aces) = child(n, "aces") {
        for a in children(&aces, "ace") {
            let ace_name = leaf(&a, "name").unwrap_or_default();
            let p = format!("{path}/aces/ace[name={}]", quote(&ace_name));
            rules.push(ace(&a, &p)?);
            names.push(ace_name);
        }
    }
    Ok(vec![
        Fact::new(
            Target::Acl(name.clone()),
            Prop::Acl(AclConfig {
                name: name.clone(),
                rules,
            }),
            path,
        ),
        Fact::new(Target::Acl(name), Prop::AceNames(names), path),
    ])
}

/// `/ietf-access-control-list:acls/attachment-points/interface`: one ACL per direction.
pub(crate) fn acl_attachment(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let ifname = leaf(n, "interface-id").unwrap_or_default();
    let mut out = Vec::new();
    for dir in ["ingress", "egress"] {
        let Some(d) = child(n, dir) else { continue };
        let Some(sets) = child(&d, "acl-sets") else {
            continue;
        };
        let names: Vec<String> = children(&sets, "acl-set")
            .filter_map(|s| leaf(&s, "name"))
            .collect();
        let p = format!("{path}/{dir}/acl-sets");
        match names.as_slice() {
            [] => {}
            [one] => {
                let acl = acl_name(one);
                out.push(Fact::new(
                    Target::If(ifname.clone()),
                    if dir == "ingress" {
                        Prop::AclIn(acl)
                    } else {
                        Prop::AclOut(acl)
                    },
                    p,
                ));
            }
            _ => {
                return Err(bad(
                    &p,
                    format!(
                        "{} ACLs on {ifname} {dir}: the vswitch applies one ACL per interface and direction",
                        names.len()
                    ),
                ));
            }
        }
    }
    Ok(out)
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
