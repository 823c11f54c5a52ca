//! Reading one source object back from the new running tree into [`Fact`]s. A source that
//! no longer exists yields no facts. Values the vswitch cannot honour are refused here with
//! a precise error (the commit then changes nothing).

use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_yang::encoding::{ScalarValue, scalar_value};
use nectar_yang::yang2::data::DataNodeRef;

use nectar_dataplane::types::IpNet;

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
pub(crate) fn canonical_hops(v: &mut [nectar_dataplane::control::NextHop]) {
    v.sort_by(|a, b| (a.via, &a.interface).cmp(&(b.via, &b.interface)));
}
