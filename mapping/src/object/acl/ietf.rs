//! Reading ietf-access-control-list ACLs and their interface attachments into facts.

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, child, children, leaf, parse_prefix};
use nectar_dataplane::control::{AclAction, AclConfig, AclRule};

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
