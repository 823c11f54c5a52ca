//! openconfig-acl sources: ACL sets (entries in sequence-id order, with l2 / ipv4 / ipv6 /
//! transport matches and ACCEPT or DROP) and their interface bindings. They become the same
//! engine ACLs as ietf-access-control-list's.

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{
    Identity, IdentityValue, Node, bad, child, children, identity, leaf, parse_prefix,
};
use nectar_dataplane::control::{AclAction, AclConfig, AclRule};

const OC_ACL: &str = "openconfig-acl";
/// The ACL set types the vswitch implements (ACL_MIXED allows no match fields).
const ACL_IPV4: Identity = Identity::new(OC_ACL, "ACL_IPV4");
const ACL_IPV6: Identity = Identity::new(OC_ACL, "ACL_IPV6");
const ACL_L2: Identity = Identity::new(OC_ACL, "ACL_L2");
const ACL_TYPES: [Identity; 3] = [ACL_IPV4, ACL_IPV6, ACL_L2];

/// The implemented ACL set type of identity value `v`.
fn implemented(v: &IdentityValue) -> Option<Identity> {
    ACL_TYPES.into_iter().find(|t| t.is(v))
}

/// The ACL set type named `name` (the type part of a dataplane ACL name).
pub(crate) fn acl_type(name: &str) -> Option<Identity> {
    ACL_TYPES.into_iter().find(|t| t.name == name)
}

/// The dataplane name of an openconfig-acl ACL set (the set's key is its name and type;
/// the type by its identity name).
pub(crate) fn acl_name(name: &str, ty: Identity) -> String {
    format!("oc/{}/{name}", ty.name)
}

/// The set name and type (its identity name) of a dataplane ACL made from openconfig-acl.
pub(crate) fn parse_acl_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("oc/")?;
    let (ty, set) = rest.split_once('/')?;
    Some((set, ty))
}

/// The identity name of an identityref value (`module:NAME` → `NAME`).
fn ident(v: &str) -> &str {
    v.rsplit_once(':').map(|(_, n)| n).unwrap_or(v)
}

/// `oc-pkt-match-types:ethertype-type`: a number or an ETHERTYPE identity.
fn ethertype(path: &str, v: &str) -> Result<u16, MgmtError> {
    if let Ok(n) = v.parse::<u16>() {
        return Ok(n);
    }
    match ident(v) {
        "ETHERTYPE_IPV4" => Ok(0x0800),
        "ETHERTYPE_ARP" => Ok(0x0806),
        "ETHERTYPE_VLAN" => Ok(0x8100),
        "ETHERTYPE_IPV6" => Ok(0x86dd),
        "ETHERTYPE_MPLS" => Ok(0x8847),
        "ETHERTYPE_LLDP" => Ok(0x88cc),
        "ETHERTYPE_ROCE" => Ok(0x8915),
        other => Err(bad(path, format!("ethertype {other} is not known"))),
    }
}

/// `oc-pkt-match-types:ip-protocol-type`: a number or an IP_PROTOCOL identity.
fn protocol(path: &str, v: &str) -> Result<u8, MgmtError> {
    if let Ok(n) = v.parse::<u8>() {
        return Ok(n);
    }
    match ident(v) {
        "IP_ICMP" => Ok(1),
        "IP_IGMP" => Ok(2),
        "IP_TCP" => Ok(6),
        "IP_UDP" => Ok(17),
        "IP_RSVP" => Ok(46),
        "IP_GRE" => Ok(47),
        "IP_AUTH" => Ok(51),
        "IP_PIM" => Ok(103),
        "IP_L2TP" => Ok(115),
        other => Err(bad(path, format!("IP protocol {other} is not known"))),
    }
}

/// `oc-pkt-match-types:port-num-range`: `ANY`, a port, or `lower..upper`.
fn ports(path: &str, v: &str) -> Result<Option<(u16, u16)>, MgmtError> {
    if v == "ANY" {
        return Ok(None);
    }
    let num = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| bad(path, format!("{s} is not a port number")))
    };
    let (lo, hi) = match v.split_once("..") {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let p = num(v)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad(path, format!("port range {v} is empty")));
    }
    Ok(Some((lo, hi)))
}

/// One ACL entry as a dataplane rule, for a set of type `ty`.
fn entry(n: &Node<'_>, path: &str, ty: Identity) -> Result<AclRule, MgmtError> {
    let ap = format!("{path}/actions/config/forwarding-action");
    let action = match child(n, "actions")
        .and_then(|a| child(&a, "config"))
        .and_then(|c| leaf(&c, "forwarding-action"))
    {
        Some(a) => match ident(&a) {
            "ACCEPT" => AclAction::Permit,
            "DROP" => AclAction::Deny,
            "REJECT" => {
                return Err(bad(
                    &ap,
                    "forwarding action REJECT is not supported: the vswitch drops without sending ICMP errors; use DROP".into(),
                ));
            }
            other => {
                return Err(bad(
                    &ap,
                    format!("forwarding action {other} is not supported: use ACCEPT or DROP"),
                ));
            }
        },
        None => return Err(bad(path, "the ACL entry has no forwarding action".into())),
    };
    let mut r = AclRule::any(action);
    // An IPv4 (IPv6) ACL's entries match IPv4 (IPv6) packets only.
    r.ethertype = if ty == ACL_IPV4 {
        Some(0x0800)
    } else if ty == ACL_IPV6 {
        Some(0x86dd)
    } else {
        None
    };
    let cfg = |name: &str| child(n, name).and_then(|c| child(&c, "config"));
    if let Some(c) = cfg("l2") {
        let p = format!("{path}/l2/config");
        let mac = |name: &str| -> Result<Option<nectar_dataplane::types::Mac>, MgmtError> {
            leaf(&c, name)
                .map(|v| {
                    v.parse().map_err(|_| {
                        bad(&format!("{p}/{name}"), format!("{v} is not a MAC address"))
                    })
                })
                .transpose()
        };
        r.src_mac = mac("source-mac")?;
        r.dst_mac = mac("destination-mac")?;
        if let Some(t) = leaf(&c, "ethertype") {
            r.ethertype = Some(ethertype(&format!("{p}/ethertype"), &t)?);
        }
    }
    for fam in ["ipv4", "ipv6"] {
        let Some(c) = cfg(fam) else { continue };
        let p = format!("{path}/{fam}/config");
        if let Some(s) = leaf(&c, "source-address") {
            r.src = Some(parse_prefix(&format!("{p}/source-address"), &s)?);
        }
        if let Some(d) = leaf(&c, "destination-address") {
            r.dst = Some(parse_prefix(&format!("{p}/destination-address"), &d)?);
        }
        if let Some(pr) = leaf(&c, "protocol") {
            r.proto = Some(protocol(&format!("{p}/protocol"), &pr)?);
        }
    }
    if let Some(c) = cfg("transport") {
        let p = format!("{path}/transport/config");
        if let Some(v) = leaf(&c, "source-port") {
            r.src_ports = ports(&format!("{p}/source-port"), &v)?;
        }
        if let Some(v) = leaf(&c, "destination-port") {
            r.dst_ports = ports(&format!("{p}/destination-port"), &v)?;
        }
        if (r.src_ports.is_some() || r.dst_ports.is_some())
            && r.proto.is_some_and(|x| x != 6 && x != 17)
        {
            return Err(bad(
                &p,
                "the entry matches ports but its protocol is neither TCP nor UDP".into(),
            ));
        }
    }
    Ok(r)
}

/// The type of ACL set `set` (its key leaf `type` in `n`), refusing the types the vswitch
/// does not implement.
fn set_type(n: &Node<'_>, path: &str, set: &str) -> Result<Identity, MgmtError> {
    let v = identity(n, "type");
    v.as_ref().and_then(implemented).ok_or_else(|| {
        let ty = v.map(|v| v.to_string()).unwrap_or_default();
        bad(
            path,
            format!(
                "ACL set {set}: type {ty} is not supported: the vswitch takes {ACL_IPV4}, {ACL_IPV6} or {ACL_L2} sets"
            ),
        )
    })
}

/// `/openconfig-acl:acl/acl-sets/acl-set`: its entries in sequence-id order.
pub(crate) fn acl_set(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let set = leaf(n, "name").unwrap_or_default();
    let ty = set_type(n, &format!("{path}/config/type"), &set)?;
    let name = acl_name(&set, ty);
    let mut entries: Vec<(u32, Node<'_>)> = Vec::new();
    if let Some(es) = child(n, "acl-entries") {
        for e in children(&es, "acl-entry") {
            let seq = leaf(&e, "sequence-id").unwrap_or_default();
            let seq: u32 = seq
                .parse()
                .map_err(|_| bad(path, format!("sequence-id {seq} is not a number")))?;
            entries.push((seq, e));
        }
    }
    entries.sort_by_key(|(s, _)| *s);
    let mut rules = Vec::new();
    let mut names = Vec::new();
    for (seq, e) in &entries {
        let p = format!(
            "{path}/acl-entries/acl-entry[sequence-id={}]",
            quote(&seq.to_string())
        );
        rules.push(entry(e, &p, ty)?);
        names.push(seq.to_string());
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

/// `/openconfig-acl:acl/interfaces/interface`: one ACL set per direction on the interface
/// its `interface-ref` names (else the interface named by its `id`).
pub(crate) fn binding(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let id = leaf(n, "id").unwrap_or_default();
    let rc = child(n, "interface-ref").and_then(|r| child(&r, "config"));
    let ifname = rc
        .as_ref()
        .and_then(|c| leaf(c, "interface"))
        .unwrap_or_else(|| id.clone());
    if let Some(sub) = rc.as_ref().and_then(|c| leaf(c, "subinterface"))
        && sub != "0"
    {
        return Err(bad(
            &format!("{path}/interface-ref/config/subinterface"),
            format!("{ifname}: ACLs bind to subinterface 0 (the interface itself) only"),
        ));
    }
    let mut out = Vec::new();
    for (dir, list, entry) in [
        ("ingress", "ingress-acl-sets", "ingress-acl-set"),
        ("egress", "egress-acl-sets", "egress-acl-set"),
    ] {
        let Some(sets) = child(n, list) else { continue };
        let bound: Vec<Node<'_>> = children(&sets, entry).collect();
        let p = format!("{path}/{list}");
        match bound.as_slice() {
            [] => {}
            [s] => {
                let set = leaf(s, "set-name").unwrap_or_default();
                let ty = identity(s, "type");
                let key = ty.as_ref().map(|t| t.to_string()).unwrap_or_default();
                let sp = format!(
                    "{p}/{entry}[set-name={}][type={}]",
                    quote(&set),
                    quote(&key)
                );
                // (The type is a reference to the set's: a set of a type the vswitch does not
                // implement is refused with the set.)
                let Some(ty) = ty.as_ref().and_then(implemented) else {
                    return Err(bad(
                        &sp,
                        format!(
                            "ACL set {set} of type {key} cannot be bound: the vswitch does not implement it"
                        ),
                    ));
                };
                let acl = acl_name(&set, ty);
                out.push(Fact::new(
                    Target::If(ifname.clone()),
                    if dir == "ingress" {
                        Prop::AclIn(acl)
                    } else {
                        Prop::AclOut(acl)
                    },
                    sp,
                ));
            }
            _ => {
                return Err(bad(
                    &p,
                    format!(
                        "{} ACL sets on {ifname} {dir}: the vswitch applies one ACL per interface and direction",
                        bound.len()
                    ),
                ));
            }
        }
    }
    Ok(out)
}
