//! What OpenConfig network instances share across objects: the instance types the vswitch
//! maps (DEFAULT_INSTANCE and L3VRF: routing, [`super::routing`]; L2VSI: a bridge domain,
//! [`super::bridge`]), the STATIC protocol, and the interfaces bound to an instance.

use nectar_mgmt::MgmtError;

use crate::keys::quote;
use crate::read::{Identity, IdentityValue, Node, bad, child, children, identity, leaf};

pub(crate) const NI_TYPES: &str = "openconfig-network-instance-types";
pub(crate) const DEFAULT_INSTANCE: Identity = Identity::new(NI_TYPES, "DEFAULT_INSTANCE");
pub(crate) const L3VRF: Identity = Identity::new(NI_TYPES, "L3VRF");
pub(crate) const L2VSI: Identity = Identity::new(NI_TYPES, "L2VSI");

/// The STATIC protocol, the only one the vswitch implements.
pub(crate) const STATIC: Identity = Identity::new("openconfig-policy-types", "STATIC");
/// An instance's `config/type`.
pub(crate) fn type_of(ni: &Node<'_>) -> Option<IdentityValue> {
    child(ni, "config").and_then(|c| identity(&c, "type"))
}

/// True if the instance's type is `ty`.
pub(crate) fn is_type(ni: &Node<'_>, ty: Identity) -> bool {
    type_of(ni).is_some_and(|v| ty.is(&v))
}

/// The vswitch interface an interface reference (`interface` and `subinterface` leaves of
/// `n`) names: the interface for subinterface 0, else its VLAN sub-interface.
pub(crate) fn if_ref(n: &Node<'_>, ifname: &str) -> String {
    crate::object::bridge::oc_vlan::oc_if_name(ifname, leaf(n, "subinterface").as_deref())
}

/// The interfaces bound to a network instance (`interfaces/interface`): the vswitch
/// interface each names and the data path of its `config/interface`.
pub(crate) fn bindings(n: &Node<'_>, path: &str) -> Result<Vec<(String, String)>, MgmtError> {
    let mut out = Vec::new();
    let Some(ifs) = child(n, "interfaces") else {
        return Ok(out);
    };
    for i in children(&ifs, "interface") {
        let id = leaf(&i, "id").unwrap_or_default();
        let cp = format!("{path}/interfaces/interface[id={}]/config", quote(&id));
        let Some(c) = child(&i, "config") else {
            continue;
        };
        let Some(ifname) = leaf(&c, "interface") else {
            return Err(bad(&cp, format!("interface {id} names no interface")));
        };
        out.push((if_ref(&c, &ifname), format!("{cp}/interface")));
    }
    Ok(out)
}
