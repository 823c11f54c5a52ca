//! ietf-access-control-list operational state: matched packets per ACE.

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::StateArgs;

use crate::keys::{key_at, quote};

use crate::engine::Mapping;
use crate::state::set;

/// `/ietf-access-control-list:acls` state: matched packets per ACE, over every interface
/// (feature acl-aggregate-stats).
pub fn ietf_acls(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let tables = m.dp.tables();
    let only = args
        .path
        .and_then(|x| key_at(x, 1, "name"))
        .map(|n| crate::object::acl::ietf::acl_name(&n));
    for (name, aces) in &m.eff.ace_names {
        let Some(model) = name.strip_prefix("ietf/") else {
            continue;
        };
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        let acl = tables.acls.get(name);
        let hits = acl.map(|a| a.hits()).unwrap_or_default();
        let octets = acl.map(|a| a.octets()).unwrap_or_default();
        for (i, ace) in aces.iter().enumerate() {
            let b = format!(
                "/ietf-access-control-list:acls/acl[name={}]/aces/ace[name={}]/statistics",
                quote(model),
                quote(ace)
            );
            let n = hits.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{b}/matched-packets"), Some(&n))?;
            let n = octets.get(i).copied().unwrap_or(0).to_string();
            set(out, &format!("{b}/matched-octets"), Some(&n))?;
        }
    }
    Ok(())
}
