//! Path grammars, converted once for every protocol: libyang data paths /
//! instance-identifiers in JSON form (RFC 7951 §6.11), RESTCONF data resource
//! URIs (RFC 8040 §3.5.3) and gNMI paths (origin, elements, keys, wildcards).
//!
//! [`DataPath`] is the schema-resolved, neutral form of one data path: every
//! node carries its module, its kind and, for lists, its key values in schema
//! order. The three grammars parse into it and print from it, so a URI can go
//! to a gNMI path and back without loss. gNMI wildcard paths (`*`, `...`)
//! select sets of nodes rather than one: [`gnmi_to_xpath`] turns them into an
//! XPath that libyang's `find_xpath` evaluates.
//!
//! [`GnmiPath`] is a plain structure so that this crate does not depend on
//! gNMI's protobuf types; the gnmi crate converts its `Path` to and from it.
//!
//! Imports only libyang (yang2) and the crate's error type.

mod gnmi;
mod schema;
mod uri;
mod xpath;

use std::fmt;

use yang2::context::Context;
use yang2::schema::SchemaNode;

use crate::{Error, Result};

pub use gnmi::{GnmiPath, ORIGIN_OPENCONFIG, ORIGIN_RFC7951, PathElem, gnmi_to_xpath};
pub use schema::{NodeKind, SchemaInfo, schema_info};
pub use uri::{decode_uri_value, encode_uri_value};
pub use xpath::quote_literal;

/// One node of a [`DataPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathNode {
    /// Name of the module that defines the node (for an augmented node, the
    /// augmenting module, e.g. `ietf-ip` for `ipv4` under an interface).
    pub module: String,
    pub name: String,
    pub kind: NodeKind,
    /// True for configuration nodes, false for state (`config false`) nodes
    /// and operations.
    pub config: bool,
    /// For a list: every key with its value, in schema key order; empty when
    /// the path addresses all entries of the list.
    pub keys: Vec<(String, String)>,
    /// For a leaf-list: the value of the addressed entry, if one is.
    pub value: Option<String>,
}

impl PathNode {
    /// True when the node is a list whose entry is not selected by keys, or a
    /// leaf-list whose entry is not selected by value.
    pub fn is_unkeyed_collection(&self) -> bool {
        match self.kind {
            NodeKind::List => self.keys.is_empty(),
            NodeKind::LeafList => self.value.is_none(),
            _ => false,
        }
    }
}

/// A schema-resolved data path: the root of the datastore when empty.
///
/// Built only by the parsers ([`DataPath::parse_xpath`], [`DataPath::parse_uri`],
/// [`DataPath::from_gnmi`]), which check every node, module and key against the
/// libyang context, so a `DataPath` always names existing schema nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DataPath {
    nodes: Vec<PathNode>,
}

impl DataPath {
    /// The datastore root.
    pub fn root() -> Self {
        DataPath::default()
    }

    pub fn nodes(&self) -> &[PathNode] {
        &self.nodes
    }

    pub fn is_root(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The addressed (last) node, or `None` for the root.
    pub fn last(&self) -> Option<&PathNode> {
        self.nodes.last()
    }

    /// The path of the parent node (the root's parent is the root).
    pub fn parent(&self) -> DataPath {
        let mut nodes = self.nodes.clone();
        nodes.pop();
        DataPath { nodes }
    }

    /// True when the path names at most one data node: every list on the way
    /// has its keys and every leaf-list its value, except possibly the last
    /// node.
    pub fn is_single_instance(&self) -> bool {
        let n = self.nodes.len();
        self.nodes
            .iter()
            .take(n.saturating_sub(1))
            .all(|node| !node.is_unkeyed_collection())
    }

    /// Parses a data path or instance-identifier in JSON form (RFC 7951
    /// §6.11): `/ietf-interfaces:interfaces/interface[name='eth0']`. The first
    /// node and every node whose module differs from its parent's must carry
    /// the module name. Predicates are key equalities (`[k='v']`, `[k="v"]`,
    /// `[k=concat('a',"'",'b')]`) or a leaf-list value (`[.='v']`); a list
    /// takes all its keys or none.
    pub fn parse_xpath(ctx: &Context, path: &str) -> Result<DataPath> {
        let steps = xpath::parse(path)?;
        schema::resolve_strict(ctx, path, steps, false)
    }

    /// Parses a RESTCONF data resource path (RFC 8040 §3.5.3), relative to
    /// `{+restconf}/data`: `/ietf-interfaces:interfaces/interface=eth0`.
    /// Key values are percent-decoded; a list in the middle of the path must
    /// carry all its key values, the last node may omit them.
    pub fn parse_uri(ctx: &Context, uri: &str) -> Result<DataPath> {
        let steps = uri::parse(uri)?;
        schema::resolve_strict(ctx, uri, steps, true)
    }

    /// Converts a gNMI path naming one node (no wildcards; a list takes all
    /// its keys or none). For wildcard paths use [`gnmi_to_xpath`].
    pub fn from_gnmi(ctx: &Context, path: &GnmiPath) -> Result<DataPath> {
        gnmi::to_data_path(ctx, path)
    }

    /// The JSON-form data path (module prefix on the first node and wherever
    /// the module changes; keys in schema order). A key value that contains
    /// both quote characters is written with `concat()`, which libyang's
    /// `find_xpath` accepts but `find_path`/`new_path` do not.
    pub fn to_xpath(&self) -> String {
        xpath::print(&self.nodes)
    }

    /// The schema path: the data path without predicates, as libyang's
    /// `Context::find_path` takes it.
    pub fn to_schema_path(&self) -> String {
        xpath::print_schema(&self.nodes)
    }

    /// The RESTCONF data resource path (relative to `{+restconf}/data`), with
    /// key values percent-encoded.
    pub fn to_uri(&self) -> String {
        uri::print(&self.nodes)
    }

    /// The gNMI path: origin `openconfig` with unqualified element names for
    /// OpenConfig trees, origin `rfc7951` with RFC 7951 qualified names for
    /// the others. A leaf-list entry (`[.='v']`) has no gNMI form.
    pub fn to_gnmi(&self) -> Result<GnmiPath> {
        gnmi::from_data_path(self)
    }

    /// The schema node the path names (`None` for the root is an error).
    pub fn schema_node<'a>(&self, ctx: &'a Context) -> Result<SchemaNode<'a>> {
        if self.is_root() {
            return Err(Error::Path {
                path: "/".into(),
                reason: "the datastore root has no schema node".into(),
            });
        }
        let path = self.to_schema_path();
        ctx.find_path(&path).map_err(|e| Error::Path {
            path,
            reason: format!("no schema node: {}", Error::from(e)),
        })
    }
}

impl fmt::Display for DataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xpath())
    }
}

/// A step as the grammars parse it, before schema resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawStep {
    module: Option<String>,
    name: String,
    /// Key predicates: (key name, value).
    keys: Vec<(String, String)>,
    /// Leaf-list value predicate (`[.='v']`) or RESTCONF `leaf-list=v`.
    value: Option<String>,
    /// A RESTCONF `list=...` list of values, matched to keys in schema order.
    positional: Option<Vec<String>>,
}

impl RawStep {
    fn named(module: Option<String>, name: String) -> Self {
        RawStep {
            module,
            name,
            keys: Vec::new(),
            value: None,
            positional: None,
        }
    }
}

fn path_error(path: &str, reason: impl Into<String>) -> Error {
    Error::Path {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// True for a YANG identifier (RFC 7950 §6.2).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `module:name` (either part checked as an identifier).
fn split_qname(path: &str, qname: &str) -> Result<(Option<String>, String)> {
    let (module, name) = match qname.split_once(':') {
        Some((m, n)) => (Some(m), n),
        None => (None, qname),
    };
    if let Some(m) = module
        && !is_identifier(m)
    {
        return Err(path_error(path, format!("invalid module name {m:?}")));
    }
    if !is_identifier(name) {
        return Err(path_error(path, format!("invalid node name {name:?}")));
    }
    Ok((module.map(str::to_string), name.to_string()))
}
