//! openconfig-acl operational state: every ACL set configured through openconfig-acl, with
//! the packets each entry matched. The vswitch counts matches per entry over every interface
//! the set is bound to, so the counter capability is `AGGREGATE_ONLY`.

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::engine::Mapping;
use crate::keys::{key_at, quote};
use crate::object::acl::oc_acl::{acl_type as oc_acl_type, parse_acl_name as oc_acl_parts};
use crate::state::set;

/// `/openconfig-acl:acl` state.
pub fn oc_acl(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    set(
        out,
        "/openconfig-acl:acl/state/counter-capability",
        Some("openconfig-acl:AGGREGATE_ONLY"),
    )?;
    let only_name = args.path.and_then(|x| key_at(x, 2, "name"));
    let only_type = args.path.and_then(|x| key_at(x, 2, "type"));
    for (name, entries) in &m.eff.ace_names {
        let Some((set_name, ty)) = oc_acl_parts(name) else {
            continue;
        };
        let Some(ty) = oc_acl_type(ty) else { continue };
        // A key names the identity with its module, or without it (RFC 7951 section 6.8: the
        // identity is the leaf's module's).
        let same_type = |o: &str| match o.split_once(':') {
            Some((module, name)) => module == ty.module && name == ty.name,
            None => o == ty.name,
        };
        if only_name.as_deref().is_some_and(|o| o != set_name)
            || only_type.as_deref().is_some_and(|o| !same_type(o))
        {
            continue;
        }
        let ty = ty.to_string();
        let b = format!(
            "/openconfig-acl:acl/acl-sets/acl-set[name={}][type={}]",
            quote(set_name),
            quote(&ty)
        );
        set(out, &format!("{b}/state/name"), Some(set_name))?;
        set(out, &format!("{b}/state/type"), Some(&ty))?;
        let acl = tables.acls.get(name);
        let hits = acl.map(|a| a.hits()).unwrap_or_default();
        let octets = acl.map(|a| a.octets()).unwrap_or_default();
        for (i, seq) in entries.iter().enumerate() {
            let e = format!(
                "{b}/acl-entries/acl-entry[sequence-id={}]/state",
                quote(seq)
            );
            set(out, &format!("{e}/sequence-id"), Some(seq))?;
            let n = hits.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{e}/matched-packets"), Some(&n))?;
            let n = octets.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{e}/matched-octets"), Some(&n))?;
        }
    }
    Ok(())
}
