//! Golden files of the conformance cases: comparing with them (or rewriting them when
//! `NECTAR_UPDATE_GOLDEN` is set), and the dataplane's control-API operations written as
//! JSON lines.
//!
//! One operation is one JSON object, tagged by its variant as serde would tag it
//! (`{"SetInterface":{"config":{…},"name":"eth0"}}`, `{"AddRoute":{…"target":"Blackhole"}}`),
//! keys sorted. Addresses, prefixes and MACs are their text; durations as Rust writes them
//! (`300s`). A field at its default is left out: an absent `Option`, and what equals
//! `InterfaceConfig::default()`, `BridgeDomainConfig::new(name)`, `AclRule::any(action)` or
//! `Limits::default()`. So adding a field with a default to the control API changes no
//! golden file; only the cases that set it show it. Every field is named below (the
//! `fields!` patterns have no `..`): a new one does not compile here until it is written out.
//!
//! The conversion lives with the tests, not as `serde::Serialize` in the engine: the
//! dataplane needs no serde for this.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use nectar_dataplane::control::{
    AclAction, AclConfig, AclRule, BridgeDomainConfig, HostPort, InterfaceConfig, Limits, NatRole,
    NextHop, Op, RouteTarget, Switchport,
};
use nectar_dataplane::{IpNet, Mac};
use serde_json::{Map, Value, json};

/// Compares `actual` with the golden file at `path`, or rewrites the file when
/// `NECTAR_UPDATE_GOLDEN` is set. A difference is added to `failures`.
pub fn check(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("NECTAR_UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "{} is missing (run with NECTAR_UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        failures.push(format!(
            "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ));
    }
}

/// `v` as one line of JSON, object keys sorted at every level.
pub fn line(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            v => v.clone(),
        }
    }
    sorted(v).to_string()
}

/// One operation as a JSON object (see the module documentation).
pub fn op(op: &Op) -> Value {
    op.json()
}

/// A value of the control API as JSON.
trait Json {
    fn json(&self) -> Value;
}

/// An object of the named bindings' JSON, absent values (`null`) left out.
macro_rules! object {
    ($($f:ident),*) => {
        Value::Object(
            [$((stringify!($f), $f.json())),*]
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<String, Value>>(),
        )
    };
}

/// The object of every field of struct `$ty` value `$v`.
macro_rules! fields {
    ($ty:ident, $v:expr, $($f:ident),*) => {{
        let $ty { $($f),* } = $v;
        object!($($f),*)
    }};
}

/// `{tag: v}`: an enum variant with data, as serde tags it.
fn tagged(tag: &str, v: Value) -> Value {
    Value::Object(Map::from_iter([(tag.to_string(), v)]))
}

/// `v` without the fields whose value equals the one in `default`.
fn minus(v: Value, default: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, x)| default.get(k) != Some(x))
                .collect(),
        ),
        v => v,
    }
}

macro_rules! plain {
    ($($t:ty),*) => { $(impl Json for $t { fn json(&self) -> Value { json!(self) } })* };
}
plain!(bool, u8, u16, usize, String, (u16, u16));

macro_rules! text {
    ($($t:ty),*) => { $(impl Json for $t { fn json(&self) -> Value { json!(self.to_string()) } })* };
}
text!(Mac, IpNet, IpAddr, Ipv4Addr);

macro_rules! unit_enum {
    ($($t:ty),*) => { $(impl Json for $t { fn json(&self) -> Value { json!(format!("{self:?}")) } })* };
}
unit_enum!(NatRole, AclAction);

impl Json for Duration {
    fn json(&self) -> Value {
        json!(format!("{self:?}"))
    }
}

impl<T: Json> Json for Option<T> {
    fn json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::json)
    }
}

impl<T: Json> Json for Vec<T> {
    fn json(&self) -> Value {
        Value::Array(self.iter().map(T::json).collect())
    }
}

impl<T: Json> Json for &T {
    fn json(&self) -> Value {
        (*self).json()
    }
}

#[rustfmt::skip]
fn interface_all(c: &InterfaceConfig) -> Value {
    fields!(InterfaceConfig, c, admin_up, mtu, mac, vrf, switchport, acl_in, acl_out, nat,
        forward_v4, forward_v6)
}

impl Json for InterfaceConfig {
    fn json(&self) -> Value {
        minus(interface_all(self), interface_all(&Self::default()))
    }
}

impl Json for Switchport {
    fn json(&self) -> Value {
        match self {
            Switchport::Routed => json!("Routed"),
            Switchport::Access { bridge_domain } => tagged("Access", object!(bridge_domain)),
            Switchport::Trunk {
                allowed_vlans,
                native_vlan,
            } => tagged("Trunk", object!(allowed_vlans, native_vlan)),
        }
    }
}

#[rustfmt::skip]
fn bridge_domain_all(c: &BridgeDomainConfig) -> Value {
    fields!(BridgeDomainConfig, c, name, vlan, learning, aging, flood_unknown, bvi)
}

impl Json for BridgeDomainConfig {
    fn json(&self) -> Value {
        let mut default = bridge_domain_all(&Self::new(&self.name));
        default.as_object_mut().unwrap().remove("name");
        minus(bridge_domain_all(self), default)
    }
}

impl Json for AclConfig {
    fn json(&self) -> Value {
        fields!(AclConfig, self, name, rules)
    }
}

#[rustfmt::skip]
fn acl_rule_all(r: &AclRule) -> Value {
    fields!(AclRule, r, action, src_mac, dst_mac, ethertype, src, dst, proto, src_ports,
        dst_ports, icmp_type, icmp_code)
}

impl Json for AclRule {
    fn json(&self) -> Value {
        let mut default = acl_rule_all(&AclRule::any(self.action));
        default.as_object_mut().unwrap().remove("action");
        minus(acl_rule_all(self), default)
    }
}

impl Json for NextHop {
    fn json(&self) -> Value {
        fields!(NextHop, self, via, interface)
    }
}

impl Json for RouteTarget {
    fn json(&self) -> Value {
        match self {
            RouteTarget::NextHops(hops) => tagged("NextHops", hops.json()),
            RouteTarget::Blackhole => json!("Blackhole"),
        }
    }
}

impl Json for HostPort {
    fn json(&self) -> Value {
        match self {
            HostPort::AfPacket { host_interface } => tagged("AfPacket", object!(host_interface)),
            HostPort::Tap { host_interface } => tagged("Tap", object!(host_interface)),
        }
    }
}

#[rustfmt::skip]
fn limits_all(l: &Limits) -> Value {
    fields!(Limits, l, max_routes, max_macs, max_neighbors, max_conntrack, max_nat_sessions,
        neighbor_timeout, tcp_established_timeout, tcp_transitory_timeout, udp_timeout,
        icmp_timeout)
}

impl Json for Limits {
    fn json(&self) -> Value {
        minus(limits_all(self), limits_all(&Self::default()))
    }
}

impl Json for Op {
    #[rustfmt::skip]
    fn json(&self) -> Value {
        match self {
            Op::SetInterface { name, config } => tagged("SetInterface", object!(name, config)),
            Op::AddAddress { interface, prefix } => tagged("AddAddress", object!(interface, prefix)),
            Op::DelAddress { interface, prefix } => tagged("DelAddress", object!(interface, prefix)),
            Op::AddVrf { name } => tagged("AddVrf", object!(name)),
            Op::DelVrf { name } => tagged("DelVrf", object!(name)),
            Op::SetBridgeDomain(c) => tagged("SetBridgeDomain", c.json()),
            Op::DelBridgeDomain { name } => tagged("DelBridgeDomain", object!(name)),
            Op::AddStaticMac { bridge_domain, mac, interface } => {
                tagged("AddStaticMac", object!(bridge_domain, mac, interface))
            }
            Op::DelStaticMac { bridge_domain, mac } => {
                tagged("DelStaticMac", object!(bridge_domain, mac))
            }
            Op::AddRoute { vrf, prefix, target } => tagged("AddRoute", object!(vrf, prefix, target)),
            Op::DelRoute { vrf, prefix } => tagged("DelRoute", object!(vrf, prefix)),
            Op::SetAcl(c) => tagged("SetAcl", c.json()),
            Op::DelAcl { name } => tagged("DelAcl", object!(name)),
            Op::AddNatStatic { local, external } => tagged("AddNatStatic", object!(local, external)),
            Op::DelNatStatic { local } => tagged("DelNatStatic", object!(local)),
            Op::SetLimits(l) => tagged("SetLimits", l.json()),
            Op::AddSubInterface { name, parent, vlan } => {
                tagged("AddSubInterface", object!(name, parent, vlan))
            }
            Op::DelSubInterface { name } => tagged("DelSubInterface", object!(name)),
            Op::AddLoopback { name } => tagged("AddLoopback", object!(name)),
            Op::DelLoopback { name } => tagged("DelLoopback", object!(name)),
            Op::AddHostPort { name, spec } => tagged("AddHostPort", object!(name, spec)),
            Op::DelHostPort { name } => tagged("DelHostPort", object!(name)),
        }
    }
}
