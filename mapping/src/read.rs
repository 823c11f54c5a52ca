//! Reading one source object back from the new running tree into [`Fact`]s. A source that
//! no longer exists yields no facts. Values the vswitch cannot honour are refused here with
//! a precise error (the commit then changes nothing).

use std::net::IpAddr;

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::{self, Tree};
use nectar_yang::encoding::{ScalarValue, scalar_value};
use nectar_yang::yang2::data::DataNodeRef;

use crate::facts::{Fact, Kind, SourceKey};
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
    use std::collections::{BTreeMap, HashMap};
    let groups = by_parent(dirty);
    // Collected group by group, each in its sources' (sorted) order; the map is then
    // built from the nearly sorted pairs at once.
    let mut out: Vec<(SourceKey, Vec<Fact>)> = Vec::new();
    for ((kind, parent), paths) in groups {
        let node = if paths.len() >= BULK && !parent.is_empty() {
            ly::find(tree, &parent)?
        } else {
            None
        };
        if let Some(parent) = node {
            // Facts in the sources' (sorted) order; those not found are gone.
            let mut read: Vec<Vec<Fact>> = Vec::new();
            read.resize_with(paths.len(), Vec::new);
            {
                let mut wanted: HashMap<&str, usize> = HashMap::with_capacity(paths.len());
                wanted.extend(paths.iter().enumerate().map(|(i, p)| (p.as_str(), i)));
                // Each child's path from its parent's: the same string as `c.path()`.
                let parent_path = parent.path();
                let mut p = String::new();
                for c in parent.children() {
                    if wanted.is_empty() {
                        break;
                    }
                    ly::child_path_into(&mut p, &parent_path, &c);
                    if let Some(i) = wanted.remove(p.as_str()) {
                        read[i] = read_node(kind, &c, &p)?;
                    }
                }
            }
            out.extend(paths.into_iter().map(|p| (kind, p)).zip(read));
        } else {
            for p in paths {
                let key = (kind, p);
                let facts = read(&key, tree)?;
                out.push((key, facts));
            }
        }
    }
    // Every source is read once, so the keys are distinct.
    Ok(out.into_iter().collect::<BTreeMap<_, _>>())
}

/// The sources by kind and parent, in order. Sources come sorted, so those of one parent
/// mostly follow each other: a source that is its predecessor's parent plus one step joins
/// its group without its parent's path being worked out again.
fn by_parent(
    dirty: std::collections::BTreeSet<SourceKey>,
) -> std::collections::BTreeMap<(Kind, String), Vec<String>> {
    let mut groups: std::collections::BTreeMap<(Kind, String), Vec<String>> =
        std::collections::BTreeMap::new();
    let mut current: Option<((Kind, String), Vec<String>)> = None;
    for (kind, path) in dirty {
        if let Some(((k, parent), paths)) = &mut current
            && *k == kind
            && !parent.is_empty()
            && path.starts_with(parent.as_str())
            && path.as_bytes().get(parent.len()) == Some(&b'/')
            && ly::truncate_steps(&path[parent.len()..], 2).is_none()
        {
            paths.push(path);
            continue;
        }
        if let Some((key, paths)) = current.take() {
            groups.entry(key).or_default().extend(paths);
        }
        let parent = ly::parent_path(&path).unwrap_or_default();
        current = Some(((kind, parent), vec![path]));
    }
    if let Some((key, paths)) = current {
        groups.entry(key).or_default().extend(paths);
    }
    groups
}

fn read_node(kind: Kind, node: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    (kind.source().read)(node, path)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt::Write as _;

    use super::*;

    const PROTO: &str = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol";

    fn route_path(proto: &str, prefix: &str) -> String {
        format!(
            "{PROTO}[type='ietf-routing:static'][name='{proto}']/static-routes/ietf-ipv4-unicast-routing:ipv4/route[destination-prefix='{prefix}']"
        )
    }

    /// Grouping sources by parent as they come gives the groups their parents' paths
    /// give: deeper and shallower sources of one kind, keys holding `/` and quotes, paths
    /// that start like another's.
    #[test]
    fn sources_group_by_their_parent() {
        let raw = [
            (Kind::IetfIf, "/m:a/b[k='1']"),
            (Kind::IetfIf, "/m:a/b[k='1/2']"),
            (Kind::IetfIf, "/m:a/b[k='1']/c[k='x']"),
            (Kind::IetfIf, "/m:a/b[k='1']/c[k='y/z']"),
            (Kind::IetfIf, "/m:a/b[k='1']/c[k='y/z']/d"),
            (Kind::IetfIf, "/m:a/b[k=\"it's\"]"),
            (Kind::IetfIf, "/m:a/bb[k='1']"),
            (Kind::IetfIf, "/m:a/b[k='2']"),
            (Kind::IetfIf, "/m:a"),
            (Kind::IetfIf, "/m:b"),
            (Kind::IetfAcl, "/m:a/b[k='3']"),
            (Kind::IetfAcl, "/m:a/b[k='3']/c"),
            (Kind::IetfAcl, "/m:a/b[k='4']"),
        ];
        let dirty: std::collections::BTreeSet<SourceKey> =
            raw.iter().map(|(k, p)| (*k, p.to_string())).collect();
        let mut want: std::collections::BTreeMap<(Kind, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for (k, p) in &dirty {
            want.entry((*k, ly::parent_path(p).unwrap_or_default()))
                .or_default()
                .push(p.clone());
        }
        assert_eq!(by_parent(dirty), want);
        assert_eq!(want[&(Kind::IetfIf, "/m:a".to_string())].len(), 5);
    }

    /// Reading many sources at once (lists walked once, sources grouped by parent as they
    /// come) gives what reading each source alone gives: for sources of two lists, more
    /// than the walking threshold in each, some gone, of two kinds, and one in a list read
    /// source by source.
    #[test]
    fn reading_all_at_once_equals_reading_each() {
        let ctx = nectar_yang::ModelSet::management()
            .with(nectar_yang::models::NETWORK)
            .build()
            .unwrap();
        let mut protos = String::new();
        for (k, proto) in ["a", "b", "c"].iter().enumerate() {
            let n = if *proto == "c" { 3 } else { 2 * BULK + 6 };
            let mut routes = String::new();
            for i in 0..n {
                if i > 0 {
                    routes.push(',');
                }
                let _ = write!(
                    routes,
                    r#"{{"destination-prefix":"1{k}.{}.{}.0/24","next-hop":{{"next-hop-address":"10.0.0.{}"}}}}"#,
                    i / 7,
                    i,
                    k + 1
                );
            }
            if k > 0 {
                protos.push(',');
            }
            let _ = write!(
                protos,
                r#"{{"type":"ietf-routing:static","name":"{proto}","static-routes":{{"ietf-ipv4-unicast-routing:ipv4":{{"route":[{routes}]}}}}}}"#
            );
        }
        let json = format!(
            r#"{{"ietf-routing:routing":{{"control-plane-protocols":{{"control-plane-protocol":[{protos}]}}}}}}"#
        );
        let tree = nectar_mgmt::core::parse_json(ctx, &json).unwrap();

        let mut dirty = BTreeSet::new();
        for (k, proto) in ["a", "b", "c"].iter().enumerate() {
            let n = if *proto == "c" { 3 } else { 2 * BULK + 6 };
            for i in (0..n + 3).step_by(if k == 0 { 1 } else { 2 }) {
                // i >= n: routes that do not exist (deleted).
                let prefix = format!("1{k}.{}.{}.0/24", i / 7, i);
                dirty.insert((Kind::IetfRoute, route_path(proto, &prefix)));
            }
            dirty.insert((
                Kind::IetfProto,
                format!("{PROTO}[type='ietf-routing:static'][name='{proto}']"),
            ));
        }
        // A route of a protocol that does not exist.
        dirty.insert((Kind::IetfRoute, route_path("zz", "9.9.9.0/24")));

        let want: BTreeMap<SourceKey, Vec<Fact>> = dirty
            .iter()
            .map(|k| (k.clone(), read(k, &tree).unwrap()))
            .collect();
        assert!(want.values().filter(|f| f.is_empty()).count() >= 7);
        assert!(want.values().filter(|f| !f.is_empty()).count() > 2 * BULK);
        let got = read_all(dirty, &tree).unwrap();
        assert_eq!(got, want);
    }
}
