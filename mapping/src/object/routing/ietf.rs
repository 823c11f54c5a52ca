//! Reading ietf-routing control-plane protocols and their static routes into facts.

use std::net::IpAddr;

use nectar_mgmt::MgmtError;

use crate::facts::{Fact, Prop, Target};
use crate::keys::quote;
use crate::read::{Node, bad, child, children, leaf, parse_prefix};
use nectar_dataplane::control::{DEFAULT_VRF, NextHop, RouteTarget};

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
        crate::read::canonical_hops(&mut hops);
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
