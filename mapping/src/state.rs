//! What the state renderers of every object (`object/*/state.rs`) share: operational state
//! is served on demand from dataplane snapshots, and a request for one interface reads
//! only that interface.

use nectar_dataplane::control::DEFAULT_VRF;
use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;

use crate::engine::Mapping;
use crate::keys::key_at;

pub(crate) fn set(out: &mut Tree, path: &str, value: Option<&str>) -> Result<(), MgmtError> {
    out.new_path(path, value, false)
        .map(|_| ())
        .map_err(|e| MgmtError::from(e).with_path(path.to_string()))
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The interfaces a request asks for: the one named in an `interface[name=...]` predicate,
/// else all of them.
pub(crate) fn wanted(m: &Mapping, path: Option<&str>) -> Vec<String> {
    match path.and_then(|p| key_at(p, 1, "name")) {
        Some(n) => vec![n],
        None => m.dp.interfaces(),
    }
}

/// The OpenConfig name of a dataplane VRF.
pub(crate) fn ni_name(m: &Mapping, vrf: &str) -> String {
    if vrf == DEFAULT_VRF {
        m.eff.default_ni.clone().unwrap_or_else(|| "DEFAULT".into())
    } else {
        vrf.to_string()
    }
}
