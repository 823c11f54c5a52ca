//! ietf-nat sources: a NAT instance (with nectar-nat's internal interfaces) becomes NAT roles
//! on interfaces and NAT44 static mappings.
//!
//! The vswitch's NAT44 is NAPT with static 1:1 mappings: IPv4 packets that arrive on an
//! internal interface and leave by an external one get their source translated (a static
//! mapping first, else NAPT to the external interface's first IPv4 address), and the replies
//! are translated back.

use std::net::{IpAddr, Ipv4Addr};

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, child, children, leaf};
use nectar_dataplane::control::NatRole;

/// The NAT type the vswitch implements.
pub(crate) const NAPT44: &str = "ietf-nat:napt44";

/// A static mapping's address: an IPv4 host prefix (`a.b.c.d/32`).
fn host_v4(path: &str, v: &str) -> Result<Ipv4Addr, MgmtError> {
    let (a, len) = v.split_once('/').unwrap_or((v, "32"));
    match (a.parse::<IpAddr>(), len) {
        (Ok(IpAddr::V4(a)), "32") => Ok(a),
        (Ok(IpAddr::V4(_)), _) => Err(bad(
            path,
            format!("{v}: static mappings map one IPv4 address to one (a /32 prefix)"),
        )),
        _ => Err(bad(
            path,
            format!("{v}: the vswitch's NAT translates IPv4 only (NAT44)"),
        )),
    }
}

/// `/ietf-nat:nat/instances/instance`.
pub(crate) fn instance(n: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    if let Some(t) = leaf(n, "type")
        && t != NAPT44
    {
        return Err(bad(
            &format!("{path}/type"),
            format!(
                "NAT type {t} is not supported: the vswitch implements {NAPT44} (NAPT with static mappings)"
            ),
        ));
    }
    // `enable` has no default in ietf-nat: an instance is on unless disabled.
    if leaf(n, "enable").as_deref() == Some("false") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for i in children(n, "internal-interface") {
        let Some(name) = i.value_canonical() else {
            continue;
        };
        out.push(Fact::new(
            Target::If(name.clone()),
            Prop::Nat(NatRole::Inside),
            format!("{path}/nectar-nat:internal-interface[.={}]", quote(&name)),
        ));
    }
    for p in children(n, "policy") {
        let pp = format!(
            "{path}/policy[id={}]",
            quote(&leaf(&p, "id").unwrap_or_default())
        );
        let Some(ext) = child(&p, "external-realm").and_then(|r| leaf(&r, "external-interface"))
        else {
            continue;
        };
        out.push(Fact::new(
            Target::If(ext),
            Prop::Nat(NatRole::Outside),
            format!("{pp}/external-realm/external-interface"),
        ));
    }
    if let Some(table) = child(n, "mapping-table") {
        for e in children(&table, "mapping-entry") {
            let ep = format!(
                "{path}/mapping-table/mapping-entry[index={}]",
                quote(&leaf(&e, "index").unwrap_or_default())
            );
            match leaf(&e, "type").as_deref() {
                None | Some("static") => {}
                Some(t) => {
                    return Err(bad(
                        &format!("{ep}/type"),
                        format!(
                            "a configured mapping is static; {t} mappings are made by the NAT itself"
                        ),
                    ));
                }
            }
            let addr = |name: &str| -> Result<Ipv4Addr, MgmtError> {
                let p = format!("{ep}/{name}");
                let v = leaf(&e, name)
                    .ok_or_else(|| bad(&ep, format!("the static mapping has no {name}")))?;
                host_v4(&p, &v)
            };
            let local = addr("internal-src-address")?;
            let external = addr("external-src-address")?;
            out.push(Fact::new(
                Target::NatStatic(local),
                Prop::NatExternal(external),
                ep,
            ));
        }
    }
    Ok(out)
}
