//! ietf-nat operational state: per NAT instance its capabilities, mapping statistics and the
//! NAPT sessions of the dataplane as `dynamic-implicit` entries of its mapping table (next to
//! the configured static ones). A session belongs to the instance whose external interface
//! owns its external address.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::engine::Mapping;
use crate::facts::{Prop, Target};
use crate::keys::{key_at, quote};
use crate::object::nat::ietf::NAPT44;
use crate::sources::SourceKind;
use crate::state::{rfc3339, set};
use nectar_dataplane::control::NatRole;
use nectar_dataplane::headers::parse::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};

/// `/ietf-nat:nat` state.
pub fn ietf_nat(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let only = args.path.and_then(|x| key_at(x, 2, "id"));
    // Per instance (by id): its external addresses and the indexes of its static mappings.
    let mut instances: BTreeMap<String, (BTreeSet<Ipv4Addr>, u32, usize)> = BTreeMap::new();
    let tables = m.dp.tables();
    for ((kind, path), facts) in &m.facts {
        if *kind != SourceKind::IetfNat {
            continue;
        }
        let Some(id) = key_at(path, 2, "id") else {
            continue;
        };
        if only.as_ref().is_some_and(|o| *o != id) {
            continue;
        }
        let e = instances.entry(id).or_default();
        for f in facts {
            match (&f.target, &f.prop) {
                (Target::If(name), Prop::Nat(NatRole::Outside)) => {
                    let addr = tables
                        .if_index(name)
                        .and_then(|ix| tables.iface(ix))
                        .and_then(|i| i.v4.first().map(|a| a.0));
                    e.0.extend(addr);
                }
                (Target::NatStatic(_), Prop::NatExternal(_)) => {
                    let index = key_at(&f.path, 4, "index")
                        .and_then(|i| i.parse::<u32>().ok())
                        .unwrap_or(0);
                    e.1 = e.1.max(index);
                    e.2 += 1;
                }
                _ => {}
            }
        }
    }
    if instances.is_empty() {
        return Ok(());
    }
    let mut sessions = m.dp.nat_sessions();
    sessions.sort_by_key(|s| (s.proto, s.inside, s.remote, s.outside));
    let started = rfc3339(m.started);
    for (id, (external, max_index, statics)) in &instances {
        let b = format!("/ietf-nat:nat/instances/instance[id={}]", quote(id));
        let c = format!("{b}/capabilities");
        set(out, &format!("{c}/nat-flavor"), Some(NAPT44))?;
        set(out, &format!("{c}/static-mapping-support"), Some("true"))?;
        // A free inside port is kept as the external port (the model's spelling).
        set(out, &format!("{c}/port-preservation-suport"), Some("true"))?;
        for (proto, name) in [(PROTO_ICMP, "icmp"), (PROTO_TCP, "tcp"), (PROTO_UDP, "udp")] {
            set(
                out,
                &format!("{c}/transport-protocols[protocol-id='{proto}']/protocol-name"),
                Some(name),
            )?;
        }
        let mut per_proto: BTreeMap<u8, usize> = BTreeMap::new();
        let mut index = *max_index;
        for s in sessions.iter().filter(|s| external.contains(&s.outside.0)) {
            *per_proto.entry(s.proto).or_default() += 1;
            index = index.saturating_add(1);
            let e = format!("{b}/mapping-table/mapping-entry[index='{index}']");
            set(out, &format!("{e}/type"), Some("dynamic-implicit"))?;
            set(
                out,
                &format!("{e}/transport-protocol"),
                Some(&s.proto.to_string()),
            )?;
            let v4 = |a: Ipv4Addr| format!("{}/32", IpAddr::V4(a));
            for (leaf, (addr, port)) in [
                ("internal-src", s.inside),
                ("external-src", s.outside),
                ("internal-dst", s.remote),
                ("external-dst", s.remote),
            ] {
                set(out, &format!("{e}/{leaf}-address"), Some(&v4(addr)))?;
                // An ICMP query's identifier is its "port" on the source side only.
                if s.proto != PROTO_ICMP || leaf.ends_with("src") {
                    set(
                        out,
                        &format!("{e}/{leaf}-port/start-port-number"),
                        Some(&port.to_string()),
                    )?;
                }
            }
        }
        let st = format!("{b}/statistics");
        set(out, &format!("{st}/discontinuity-time"), Some(&started))?;
        let ms = format!("{st}/mappings-statistics");
        set(
            out,
            &format!("{ms}/total-address-mappings"),
            Some(&statics.to_string()),
        )?;
        let total: usize = per_proto.values().sum();
        set(
            out,
            &format!("{ms}/total-port-mappings"),
            Some(&total.to_string()),
        )?;
        for (proto, n) in per_proto {
            set(
                out,
                &format!("{ms}/total-per-protocol[protocol-id='{proto}']/total"),
                Some(&n.to_string()),
            )?;
        }
    }
    Ok(())
}
