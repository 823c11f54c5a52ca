//! gNMI paths: a neutral structure the gnmi crate maps its protobuf `Path`
//! to, origin rules, conversion to and from [`DataPath`], and wildcard paths
//! (`*`, `...`) to XPath.
//!
//! Origins: `openconfig` (also the default for an empty origin when the first
//! element is an OpenConfig node) uses unqualified element names, as the
//! OpenConfig path conventions do; `rfc7951` uses RFC 7951 names, qualified on
//! the first element and wherever the module changes. With an empty origin, a
//! qualified first element (`ietf-interfaces:interfaces`) selects its module.
//! Below the first element, an unqualified name is looked up among the
//! children of every module, preferring the parent's module.

use std::collections::BTreeMap;
use std::fmt;

use yang2::context::Context;
use yang2::schema::SchemaNode;

use super::schema::{self, NodeKind, check_module, children, descendants, module_name, top_level};
use super::{DataPath, RawStep, path_error, split_qname};
use crate::Result;

pub const ORIGIN_OPENCONFIG: &str = "openconfig";
pub const ORIGIN_RFC7951: &str = "rfc7951";

/// A gNMI path without its `target` (the caller's business).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GnmiPath {
    pub origin: String,
    pub elems: Vec<PathElem>,
}

/// One gNMI path element. `name` may be `*` (any node) or `...` (any number
/// of levels); a key value may be `*` (any value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathElem {
    pub name: String,
    pub keys: BTreeMap<String, String>,
}

impl PathElem {
    pub fn new(name: impl Into<String>) -> Self {
        PathElem {
            name: name.into(),
            keys: BTreeMap::new(),
        }
    }

    pub fn with_key(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.keys.insert(key.into(), value.into());
        self
    }

    fn is_wildcard(&self) -> bool {
        self.name == "*" || self.name == "..." || self.keys.values().any(|v| v == "*")
    }
}

impl GnmiPath {
    pub fn new(origin: impl Into<String>, elems: Vec<PathElem>) -> Self {
        GnmiPath {
            origin: origin.into(),
            elems,
        }
    }

    /// Joins a request prefix and a path (gNMI §2.4.1): elements of the
    /// prefix first. The origin may be set on either; set on both, it must
    /// agree.
    pub fn join(prefix: Option<&GnmiPath>, path: &GnmiPath) -> Result<GnmiPath> {
        let Some(prefix) = prefix else {
            return Ok(path.clone());
        };
        let origin = match (prefix.origin.as_str(), path.origin.as_str()) {
            ("", o) | (o, "") => o.to_string(),
            (a, b) if a == b => a.to_string(),
            (a, b) => {
                return Err(path_error(
                    &path.to_string(),
                    format!("origin {b:?} of the path contradicts origin {a:?} of the prefix"),
                ));
            }
        };
        let mut elems = prefix.elems.clone();
        elems.extend(path.elems.iter().cloned());
        Ok(GnmiPath { origin, elems })
    }

    /// True if an element is `*` or `...` or a key value is `*`.
    pub fn has_wildcards(&self) -> bool {
        self.elems.iter().any(PathElem::is_wildcard)
    }
}

/// The gNMI path string convention (`origin:/a/b[k=v]`), with `]` and `\` in
/// key values and `/` in names escaped by `\`. For messages and logs.
impl fmt::Display for GnmiPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.origin.is_empty() {
            write!(f, "{}:", self.origin)?;
        }
        if self.elems.is_empty() {
            return f.write_str("/");
        }
        for e in &self.elems {
            write!(f, "/{}", e.name.replace('\\', "\\\\").replace('/', "\\/"))?;
            for (k, v) in &e.keys {
                write!(f, "[{k}={}]", v.replace('\\', "\\\\").replace(']', "\\]"))?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Empty origin: OpenConfig preferred, qualified names select modules.
    Default,
    OpenConfig,
    Rfc7951,
}

fn origin_of(path: &GnmiPath) -> Result<Origin> {
    match path.origin.as_str() {
        "" => Ok(Origin::Default),
        ORIGIN_OPENCONFIG => Ok(Origin::OpenConfig),
        ORIGIN_RFC7951 => Ok(Origin::Rfc7951),
        other => Err(path_error(
            &path.to_string(),
            format!("unsupported origin {other:?} (expected \"\", \"openconfig\" or \"rfc7951\")"),
        )),
    }
}

fn is_openconfig(node: &SchemaNode<'_>) -> bool {
    node.module().name().starts_with("openconfig-")
}

/// Picks the nodes an element names among `candidates`.
///
/// `parent_module`: the module of the previous element when known; an
/// unqualified name prefers it. `first`: the first element, where the origin
/// rules apply.
fn select<'a>(
    ctx: &Context,
    shown: &str,
    origin: Origin,
    candidates: Vec<SchemaNode<'a>>,
    qname: &str,
    parent_module: Option<&str>,
    first: bool,
) -> Result<Vec<SchemaNode<'a>>> {
    let (module, name) = split_qname(shown, qname)?;
    if let Some(m) = &module {
        check_module(ctx, shown, m)?;
    }
    let mut found: Vec<SchemaNode<'a>> = candidates
        .into_iter()
        .filter(|n| n.name() == name)
        .collect();
    if let Some(m) = &module {
        found.retain(|n| n.module().name() == m);
        if found.is_empty() {
            return Err(path_error(shown, format!("unknown node {m}:{name}")));
        }
    } else if first {
        match origin {
            Origin::Rfc7951 => {
                return Err(path_error(
                    shown,
                    format!(
                        "origin rfc7951 needs a module-qualified first element (module:{name})"
                    ),
                ));
            }
            Origin::OpenConfig => found.retain(is_openconfig),
            Origin::Default => {
                if found.iter().any(is_openconfig) {
                    found.retain(is_openconfig);
                }
            }
        }
    }
    if first
        && origin == Origin::OpenConfig
        && let Some(n) = found.iter().find(|n| !is_openconfig(n))
    {
        return Err(path_error(
            shown,
            format!(
                "origin openconfig, but {} is not an OpenConfig module",
                module_name(n)
            ),
        ));
    }
    if found.is_empty() {
        let what = if first && origin == Origin::OpenConfig {
            "unknown OpenConfig node"
        } else {
            "unknown node"
        };
        return Err(path_error(shown, format!("{what} {name}")));
    }
    let mut modules: Vec<String> = found.iter().map(module_name).collect();
    modules.sort();
    modules.dedup();
    if modules.len() > 1 {
        if let Some(pm) = parent_module
            && found.iter().any(|n| n.module().name() == pm)
        {
            found.retain(|n| n.module().name() == pm);
        } else {
            return Err(path_error(
                shown,
                format!(
                    "{name} is defined in several modules ({}); qualify it as module:{name}",
                    modules.join(", ")
                ),
            ));
        }
    }
    Ok(found)
}

pub(super) fn to_data_path(ctx: &Context, path: &GnmiPath) -> Result<DataPath> {
    let shown = path.to_string();
    reject_nul(path, &shown)?;
    let origin = origin_of(path)?;
    let mut nodes = Vec::with_capacity(path.elems.len());
    let mut parent: Option<SchemaNode<'_>> = None;
    for (i, elem) in path.elems.iter().enumerate() {
        if elem.is_wildcard() {
            return Err(path_error(
                &shown,
                "wildcards select many nodes; this operation needs a path to one node",
            ));
        }
        let candidates = match &parent {
            None => top_level(ctx),
            Some(p) => children(p),
        };
        let pm = parent.as_ref().map(module_name);
        let mut found = select(
            ctx,
            &shown,
            origin,
            candidates,
            &elem.name,
            pm.as_deref(),
            i == 0,
        )?;
        let node = found.swap_remove(0);
        let (_, name) = split_qname(&shown, &elem.name)?;
        let mut step = RawStep::named(None, name);
        step.keys = elem
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if NodeKind::of(&node) == NodeKind::LeafList && !step.keys.is_empty() {
            return Err(path_error(
                &shown,
                "a gNMI path cannot select a leaf-list entry",
            ));
        }
        nodes.push(schema::path_node(&shown, &node, step, false, false)?);
        parent = Some(node);
    }
    Ok(DataPath { nodes })
}

pub(super) fn from_data_path(path: &DataPath) -> Result<GnmiPath> {
    let Some(first) = path.nodes.first() else {
        return Ok(GnmiPath::default());
    };
    let openconfig = first.module.starts_with("openconfig-");
    let mut elems = Vec::with_capacity(path.nodes.len());
    let mut prev: Option<&str> = None;
    for node in &path.nodes {
        if node.value.is_some() {
            return Err(path_error(
                &path.to_xpath(),
                format!(
                    "a gNMI path cannot select an entry of leaf-list {}",
                    node.name
                ),
            ));
        }
        let name = if openconfig || prev == Some(node.module.as_str()) {
            node.name.clone()
        } else {
            format!("{}:{}", node.module, node.name)
        };
        elems.push(PathElem {
            name,
            keys: node.keys.iter().cloned().collect(),
        });
        prev = Some(&node.module);
    }
    let origin = if openconfig {
        ORIGIN_OPENCONFIG
    } else {
        ORIGIN_RFC7951
    };
    Ok(GnmiPath::new(origin, elems))
}

/// Turns a gNMI path, wildcards included, into an XPath for libyang's
/// `find_xpath`, checking every named element against the schema:
///
/// - `*` as element name → `/*`; `*` as (or absence of) a key value → no
///   predicate for that key;
/// - `...` → `//` before the next element; a trailing `...` selects the
///   subtree, which the node itself already does;
/// - names after a wildcard are always module-qualified.
///
/// Keys on a `*` element cannot be checked against a schema and are an error.
pub fn gnmi_to_xpath(ctx: &Context, prefix: Option<&GnmiPath>, path: &GnmiPath) -> Result<String> {
    let full = GnmiPath::join(prefix, path)?;
    let shown = full.to_string();
    reject_nul(&full, &shown)?;
    let origin = origin_of(&full)?;
    // The nodes the previous element selected; None: the root.
    let mut context: Option<Vec<SchemaNode<'_>>> = None;
    // The module of the previous element, if one module.
    let mut prev_module: Option<String> = None;
    let mut descend = false;
    let mut first = true;
    let mut out = String::new();
    for elem in &full.elems {
        if elem.name == "..." {
            if !elem.keys.is_empty() {
                return Err(path_error(&shown, "'...' takes no keys"));
            }
            descend = true;
            continue;
        }
        let candidates: Vec<SchemaNode<'_>> = match (&context, descend) {
            (None, false) => top_level(ctx),
            (None, true) => {
                let mut all = Vec::new();
                for n in top_level(ctx) {
                    all.push(n.clone());
                    descendants(&n, &mut all);
                }
                all
            }
            (Some(nodes), false) => nodes.iter().flat_map(children).collect(),
            (Some(nodes), true) => {
                let mut all = Vec::new();
                for n in nodes {
                    descendants(n, &mut all);
                }
                all
            }
        };
        out.push_str(if descend { "//" } else { "/" });
        if elem.name == "*" {
            if !elem.keys.is_empty() {
                return Err(path_error(
                    &shown,
                    "keys on a '*' element are not supported; name the list",
                ));
            }
            if candidates.is_empty() {
                return Err(path_error(&shown, "'*' matches no node here"));
            }
            out.push('*');
            context = Some(candidates);
            prev_module = None;
        } else {
            let at_root = context.is_none() && !descend;
            let found = select(
                ctx,
                &shown,
                origin,
                candidates,
                &elem.name,
                prev_module.as_deref(),
                first && at_root,
            )?;
            let module = module_name(&found[0]);
            let (_, name) = split_qname(&shown, &elem.name)?;
            if prev_module.as_deref() != Some(module.as_str()) {
                out.push_str(&module);
                out.push(':');
            }
            out.push_str(&name);
            predicates(&shown, &found, elem, &mut out)?;
            prev_module = Some(module);
            context = Some(found);
        }
        descend = false;
        first = false;
    }
    if out.is_empty() {
        out.push_str("/*");
    }
    Ok(out)
}

/// Key predicates of a named element, in schema key order, skipping `*`.
fn predicates(
    shown: &str,
    found: &[SchemaNode<'_>],
    elem: &PathElem,
    out: &mut String,
) -> Result<()> {
    if elem.keys.is_empty() {
        return Ok(());
    }
    let node = &found[0];
    let kind = NodeKind::of(node);
    if kind != NodeKind::List {
        return Err(path_error(
            shown,
            format!(
                "{} is a {} and takes no keys",
                node.name(),
                schema::kind_word(kind)
            ),
        ));
    }
    let schema_keys: Vec<String> = node.list_keys().map(|k| k.name().to_string()).collect();
    for k in elem.keys.keys() {
        if !schema_keys.contains(k) {
            return Err(path_error(
                shown,
                format!(
                    "{k} is not a key of list {} (keys: {})",
                    node.name(),
                    schema_keys.join(",")
                ),
            ));
        }
    }
    for k in &schema_keys {
        if let Some(v) = elem.keys.get(k)
            && v != "*"
        {
            out.push('[');
            out.push_str(k);
            out.push('=');
            out.push_str(&super::quote_literal(v));
            out.push(']');
        }
    }
    Ok(())
}

/// libyang takes paths as C strings: a NUL in a name or key value would cut
/// the path short (and yang2 panics on it).
fn reject_nul(path: &GnmiPath, shown: &str) -> Result<()> {
    let nul = path.elems.iter().any(|e| {
        e.name.contains('\0')
            || e.keys
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    });
    if nul {
        return Err(path_error(
            shown,
            "a name or key value contains a NUL character",
        ));
    }
    Ok(())
}
