//! gNMI protobuf paths to and from the neutral [`GnmiPath`] of `nectar_yang`
//! (where every path grammar is translated, once), and a cache of the gNMI
//! path of each data node a subscription reports.
//!
//! The deprecated string `element` form (gNMI before 0.4) is accepted on input
//! for old clients: `interface[name=eth0]` elements, `\]` escaping a bracket in
//! a key value. Output always uses `elem`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use nectar_yang::path::{DataPath, GnmiPath, ORIGIN_OPENCONFIG, ORIGIN_RFC7951, PathElem};
use yang2::context::Context;

use crate::error::{Error, Result};
use crate::proto::gnmi as pb;

/// The neutral form of a protobuf path (its `target` is the caller's).
#[allow(deprecated)]
pub fn from_proto(p: &pb::Path) -> Result<GnmiPath> {
    if !p.elem.is_empty() && !p.element.is_empty() {
        return Err(Error::invalid(
            "a path sets both elem and the deprecated element field",
        ));
    }
    let elems = if p.element.is_empty() {
        p.elem
            .iter()
            .map(|e| PathElem {
                name: e.name.clone(),
                keys: e.key.clone(),
            })
            .collect()
    } else {
        p.element
            .iter()
            .map(|s| parse_element(s))
            .collect::<Result<Vec<_>>>()?
    };
    for e in &elems {
        if e.name.is_empty() {
            return Err(Error::invalid("a path element has an empty name"));
        }
    }
    Ok(GnmiPath::new(p.origin.clone(), elems))
}

/// Parses one deprecated string element: `name` or `name[k=v][k2=v2]`.
fn parse_element(s: &str) -> Result<PathElem> {
    let bad = || Error::invalid(format!("malformed path element {s:?}"));
    let (name, mut rest) = match s.find('[') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut keys = BTreeMap::new();
    while !rest.is_empty() {
        let body = rest.strip_prefix('[').ok_or_else(bad)?;
        let eq = body.find('=').ok_or_else(bad)?;
        let key = &body[..eq];
        let mut value = String::new();
        let mut chars = body[eq + 1..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, n)) => value.push(n),
                    None => return Err(bad()),
                },
                ']' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or_else(bad)?;
        keys.insert(key.to_string(), value);
        rest = &body[end..];
    }
    Ok(PathElem {
        name: name.to_string(),
        keys,
    })
}

/// The request path joined to its prefix (gNMI §2.4.1), with one client
/// convention resolved: an origin that names an implemented YANG module
/// (`origin: "ietf-interfaces"`, elements `interfaces/interface`, as pygnmi
/// and others send `ietf-interfaces:interfaces/...`) means that module's
/// top-level node, i.e. origin `rfc7951` with a qualified first element.
pub fn resolve(ctx: &Context, prefix: Option<&GnmiPath>, path: &GnmiPath) -> Result<GnmiPath> {
    let mut full = GnmiPath::join(prefix, path).map_err(Error::path)?;
    let origin = full.origin.as_str();
    if !matches!(origin, "" | ORIGIN_OPENCONFIG | ORIGIN_RFC7951)
        && ctx
            .modules(true)
            .any(|m| m.is_implemented() && m.name() == origin)
    {
        if let Some(first) = full.elems.first_mut()
            && !first.name.contains(':')
        {
            first.name = format!("{origin}:{}", first.name);
        }
        full.origin = ORIGIN_RFC7951.to_string();
    }
    Ok(full)
}

/// The protobuf form of a neutral path, with a target.
#[allow(deprecated)]
pub fn to_proto(p: &GnmiPath, target: &str) -> pb::Path {
    pb::Path {
        element: Vec::new(),
        origin: p.origin.clone(),
        elem: p
            .elems
            .iter()
            .map(|e| pb::PathElem {
                name: e.name.clone(),
                key: e.keys.clone(),
            })
            .collect(),
        target: target.to_string(),
    }
}

/// The request prefix as a neutral path (`None` when absent).
pub fn prefix(p: Option<&pb::Path>) -> Result<Option<GnmiPath>> {
    p.map(from_proto).transpose()
}

/// The prefix to put on responses: only the request's `target`, since every
/// reported path is complete (gNMI §2.2.2.1: the target is echoed).
pub fn response_prefix(req: Option<&pb::Path>) -> Option<pb::Path> {
    req.filter(|p| !p.target.is_empty()).map(|p| pb::Path {
        target: p.target.clone(),
        ..Default::default()
    })
}

/// A data node's gNMI path, whole and split into its parent (shared by all
/// siblings: a Notification prefix) and its own last element.
#[derive(Debug)]
pub struct Located {
    /// libyang's data path of the node.
    pub key: Arc<str>,
    pub full: pb::Path,
    pub parent: Arc<pb::Path>,
    /// The last element alone, relative to `parent`.
    pub leaf: pb::Path,
}

/// The gNMI paths of data nodes, by their libyang data path, computed once
/// per node: converting a data path resolves it against the schema.
#[derive(Debug, Default)]
pub struct PathCache {
    map: HashMap<Arc<str>, Arc<Located>>,
    parents: HashMap<pb::Path, Arc<pb::Path>>,
}

impl PathCache {
    pub fn new() -> Self {
        PathCache::default()
    }

    /// The gNMI path of the node at `data_path` (libyang's format).
    pub fn get(&mut self, ctx: &Context, data_path: &str) -> Result<Arc<Located>> {
        if let Some(v) = self.map.get(data_path) {
            return Ok(v.clone());
        }
        let g = DataPath::parse_xpath(ctx, data_path)
            .and_then(|dp| dp.to_gnmi())
            .map_err(|e| {
                Error::internal(format!("cannot express {data_path} as a gNMI path: {e}"))
            })?;
        let full = to_proto(&g, "");
        let mut parent = full.clone();
        let last = parent.elem.pop();
        let parent = match self.parents.get(&parent) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(parent.clone());
                self.parents.insert(parent, p.clone());
                p
            }
        };
        let leaf = pb::Path {
            elem: last.into_iter().collect(),
            ..Default::default()
        };
        let key: Arc<str> = Arc::from(data_path);
        let loc = Arc::new(Located {
            key: key.clone(),
            full,
            parent,
            leaf,
        });
        self.map.insert(key, loc.clone());
        Ok(loc)
    }

    /// Forgets a node that no longer exists.
    pub fn forget(&mut self, data_path: &str) {
        self.map.remove(data_path);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_elements_parse_with_escaped_brackets() {
        let e = parse_element("interface[name=eth\\]0][unit=1]").unwrap();
        assert_eq!(e.name, "interface");
        assert_eq!(e.keys.get("name").unwrap(), "eth]0");
        assert_eq!(e.keys.get("unit").unwrap(), "1");
        assert!(parse_element("interface[name=eth0").is_err());
        assert_eq!(parse_element("mtu").unwrap().keys.len(), 0);
    }
}
