//! Reading one source object back from the new running tree into [`Fact`]s. A source that
//! no longer exists yields no facts. Values the vswitch cannot honour are refused here with
//! a precise error (the commit then changes nothing).

use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::{self, Tree};
use nectar_yang::encoding::{ScalarValue, scalar_value};
use nectar_yang::yang2::data::DataNodeRef;

use super::facts::{Fact, Kind, SourceKey};
use crate::types::IpNet;

mod ietf;
mod nat;
mod oc_acl;
mod oc_l2ni;
mod oc_ni;
mod oc_vlan;
mod openconfig;

pub(crate) use ietf::acl_name as ietf_acl_name;
pub(crate) use nat::NAPT44;
pub(crate) use oc_acl::acl_type as oc_acl_type;
pub(crate) use oc_acl::parse_acl_name as oc_acl_parts;
pub(crate) use oc_l2ni::vlan_bd;
pub(crate) use oc_ni::{DEFAULT_INSTANCE, L2VSI, L3VRF, STATIC, routes_of as oc_routes_of};

pub(crate) type Node<'a> = DataNodeRef<'a, 'static>;

/// The child of `n` whose schema name is `name` (any module).
pub(crate) fn child<'a>(n: &Node<'a>, name: &str) -> Option<Node<'a>> {
    n.children().find(|c| c.schema().name() == name)
}

/// Every child of `n` named `name` (list entries).
pub(crate) fn children<'a>(n: &Node<'a>, name: &'a str) -> impl Iterator<Item = Node<'a>> + 'a {
    n.children().filter(move |c| c.schema().name() == name)
}

/// The canonical value of leaf child `name`, default values included.
pub(crate) fn leaf(n: &Node<'_>, name: &str) -> Option<String> {
    child(n, name).and_then(|c| c.value_canonical())
}

/// The canonical value of leaf child `name` if it was set explicitly (not a default).
pub(crate) fn explicit(n: &Node<'_>, name: &str) -> Option<String> {
    child(n, name)
        .filter(|c| !c.is_default())
        .and_then(|c| c.value_canonical())
}

/// An identity of a YANG module, as the mapping compares and emits identityref values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) module: &'static str,
    pub(crate) name: &'static str,
}

impl Identity {
    pub(crate) const fn new(module: &'static str, name: &'static str) -> Self {
        Identity { module, name }
    }

    /// True if `v` is this identity.
    pub(crate) fn is(self, v: &IdentityValue) -> bool {
        v.module == self.module && v.name == self.name
    }
}

/// The RFC 7951 form (`module:name`), as state leaves and list keys take it.
impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.module, self.name)
    }
}

/// The value of an identityref leaf: the identity's module and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityValue {
    pub(crate) module: String,
    pub(crate) name: String,
}

impl std::fmt::Display for IdentityValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.module, self.name)
    }
}

/// The identity identityref leaf child `name` holds (a leafref to one included).
pub(crate) fn identity(n: &Node<'_>, name: &str) -> Option<IdentityValue> {
    match scalar_value(&child(n, name)?).ok()? {
        ScalarValue::IdentityRef { module, name } => Some(IdentityValue { module, name }),
        _ => None,
    }
}

pub(crate) fn bad(path: &str, msg: String) -> MgmtError {
    MgmtError::invalid_value(msg).with_path(path.to_string())
}

pub(crate) fn parse_net(path: &str, ip: &str, len: &str) -> Result<IpNet, MgmtError> {
    let addr: IpAddr = ip
        .parse()
        .map_err(|_| bad(path, format!("{ip} is not an IP address")))?;
    let len: u8 = len
        .parse()
        .map_err(|_| bad(path, format!("{len} is not a prefix length")))?;
    IpNet::new(addr, len).map_err(|e| bad(path, e.to_string()))
}

pub(crate) fn parse_prefix(path: &str, p: &str) -> Result<IpNet, MgmtError> {
    p.parse::<IpNet>()
        .map(|n| n.network())
        .map_err(|e| bad(path, e.to_string()))
}

pub(crate) fn mtu(path: &str, v: &str) -> Result<u16, MgmtError> {
    v.parse::<u16>()
        .ok()
        .filter(|m| (68..=9000).contains(m))
        .ok_or_else(|| {
            bad(
                path,
                format!("MTU {v} is outside what the vswitch supports (68..9000)"),
            )
        })
}

/// Puts next hops in one order, so that the same ECMP set configured in either model (or
/// in another order) is the same route.
pub(crate) fn canonical_hops(v: &mut [crate::control::NextHop]) {
    v.sort_by(|a, b| (a.via, &a.interface).cmp(&(b.via, &b.interface)));
}

/// Reads a source object: the facts it states now.
pub fn read(key: &SourceKey, tree: &Tree) -> Result<Vec<Fact>, MgmtError> {
    let (kind, path) = key;
    match ly::find(tree, path)? {
        Some(node) => read_node(*kind, &node, path),
        None => Ok(Vec::new()),
    }
}

/// Below this many dirty sources in one list, each is looked up by its path; from it on,
/// the list is walked once (a path lookup costs far more than visiting an entry).
const BULK: usize = 64;

/// Reads many sources: those of one kind in one list are read by walking the list once.
pub fn read_all(
    dirty: std::collections::BTreeSet<SourceKey>,
    tree: &Tree,
) -> Result<std::collections::BTreeMap<SourceKey, Vec<Fact>>, MgmtError> {
    use std::collections::{BTreeMap, HashSet};
    let mut groups: BTreeMap<(Kind, String), HashSet<String>> = BTreeMap::new();
    for (kind, path) in dirty {
        let parent = ly::parent_path(&path).unwrap_or_default();
        groups.entry((kind, parent)).or_default().insert(path);
    }
    let mut out = BTreeMap::new();
    for ((kind, parent), mut paths) in groups {
        let node = if paths.len() >= BULK && !parent.is_empty() {
            ly::find(tree, &parent)?
        } else {
            None
        };
        if let Some(parent) = node {
            for c in parent.children() {
                if paths.is_empty() {
                    break;
                }
                let p = c.path();
                if paths.remove(&p) {
                    let facts = read_node(kind, &c, &p)?;
                    out.insert((kind, p), facts);
                }
            }
            // The others are gone.
            for p in paths {
                out.insert((kind, p), Vec::new());
            }
        } else {
            for p in paths {
                let key = (kind, p);
                let facts = read(&key, tree)?;
                out.insert(key, facts);
            }
        }
    }
    Ok(out)
}

fn read_node(kind: Kind, node: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    let node = node.clone();
    match kind {
        Kind::IetfIf => ietf::interface(&node, path),
        Kind::IetfProto => ietf::protocol(&node, path),
        Kind::IetfRoute => ietf::route(&node, path),
        Kind::IetfAcl => ietf::acl(&node, path),
        Kind::IetfAclAttach => ietf::acl_attachment(&node, path),
        Kind::IetfNat => nat::instance(&node, path),
        Kind::Bd => ietf::bridge_domain(&node, path),
        Kind::OcIf => openconfig::interface(&node, path),
        Kind::OcNi => oc_ni::instance(&node, path),
        Kind::OcProto => oc_ni::protocol(&node, path),
        Kind::OcRoute => oc_ni::route(&node, path),
        Kind::OcAcl => oc_acl::acl_set(&node, path),
        Kind::OcAclAttach => oc_acl::binding(&node, path),
    }
}
