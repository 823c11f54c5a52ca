//! Reading data trees for gNMI: which nodes a Get type keeps (CONFIG, STATE,
//! OPERATIONAL, ALL) and which models a request allows (`use_models`), and
//! the flattening of subtrees into leaves with typed values, for PROTO
//! encoding and for subscriptions.

use nectar_yang::print::NodePath;
use std::collections::{HashMap, HashSet};

use nectar_mgmt::ly::{self, Tree};
use nectar_yang::encoding::scalar_value;
use yang2::context::Context;
use yang2::data::DataNodeRef;
use yang2::schema::{SchemaNode, SchemaNodeKind};

use crate::error::{Error, Result};
use crate::proto::gnmi as pb;
use crate::value::LeafValue;

/// Selections and the changes that concern them, as every subscription
/// engine sees them.
pub use nectar_mgmt::push::select::{fetch_xpath, overlaps, schema_prefix};

/// The data a Get asks for (gNMI §3.3.1 `DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    All,
    /// Configuration (read-write) nodes.
    Config,
    /// Read-only (`config false`) nodes.
    State,
    /// Read-only nodes that are not the applied copy of configuration: in
    /// OpenConfig's convention, a `state` leaf mirroring a `config` leaf of the
    /// same name is derived from configuration and left out.
    Operational,
}

impl Content {
    pub fn from_wire(v: i32) -> Result<Content> {
        use pb::get_request::DataType;
        match DataType::try_from(v) {
            Ok(DataType::All) => Ok(Content::All),
            Ok(DataType::Config) => Ok(Content::Config),
            Ok(DataType::State) => Ok(Content::State),
            Ok(DataType::Operational) => Ok(Content::Operational),
            Err(_) => Err(Error::invalid(format!("unknown data type {v}"))),
        }
    }
}

/// The modules a request restricts its data to (`use_models`), checked
/// against the implemented modules: an unknown model or another version is
/// INVALID_ARGUMENT (gNMI §2.6).
pub fn models(ctx: &Context, use_models: &[pb::ModelData]) -> Result<Option<HashSet<String>>> {
    if use_models.is_empty() {
        return Ok(None);
    }
    let mut out = HashSet::new();
    for m in use_models {
        let module = ctx
            .modules(true)
            .find(|md| md.is_implemented() && md.name() == m.name)
            .ok_or_else(|| Error::invalid(format!("model {:?} is not supported", m.name)))?;
        if !m.version.is_empty() && module.revision() != Some(m.version.as_str()) {
            return Err(Error::invalid(format!(
                "model {} is supported in version {}, not {}",
                m.name,
                module.revision().unwrap_or("(none)"),
                m.version
            )));
        }
        if !m.organization.is_empty() && module.organization() != Some(m.organization.as_str()) {
            return Err(Error::invalid(format!(
                "model {} is published by {:?}, not {:?}",
                m.name,
                module.organization().unwrap_or(""),
                m.organization
            )));
        }
        out.insert(m.name.clone());
    }
    Ok(Some(out))
}

fn is_term(kind: SchemaNodeKind) -> bool {
    matches!(kind, SchemaNodeKind::Leaf | SchemaNodeKind::LeafList)
}

/// An OpenConfig `state/x` leaf that reports the applied value of `config/x`.
fn mirrors_config(schema: &SchemaNode<'_>) -> bool {
    let mut up = schema.ancestors();
    let Some(parent) = up.next() else {
        return false;
    };
    if parent.name() != "state" {
        return false;
    }
    let Some(grand) = up.next() else {
        return false;
    };
    grand
        .children()
        .filter(|c| c.name() == "config")
        .any(|c| c.children().any(|l| l.name() == schema.name()))
}

/// Removes from `tree` what `content` and `models` exclude, then the list
/// entries and containers left with nothing but keys.
pub fn prune(tree: &mut Tree, content: Content, models: Option<&HashSet<String>>) -> Result<()> {
    if content == Content::All && models.is_none() {
        return Ok(());
    }
    let mut doomed: Vec<String> = Vec::new();
    for n in tree.traverse() {
        let schema = n.schema();
        if schema.is_list_key() {
            continue;
        }
        let foreign = models.is_some_and(|m| !m.contains(schema.module().name()));
        let drop = foreign
            || (is_term(schema.kind())
                && match content {
                    Content::All => false,
                    Content::Config => !schema.is_config(),
                    Content::State => schema.is_config(),
                    Content::Operational => schema.is_config() || mirrors_config(&schema),
                });
        if drop {
            doomed.push(n.data_path());
        }
    }
    // Nothing pruned leaves nothing emptied: an entry with only its keys or
    // an empty presence container is data in its own right.
    if doomed.is_empty() || content == Content::All {
        return Ok(());
    }
    remove_all(tree, &doomed)?;
    // Inner nodes left empty (or with only their keys), innermost first.
    loop {
        let empty: Vec<String> = tree
            .traverse()
            .filter(|n| !is_term(n.schema().kind()))
            .filter(|n| n.children().all(|c| c.schema().is_list_key()))
            .map(|n| n.data_path())
            .collect();
        if empty.is_empty() {
            return Ok(());
        }
        remove_all(tree, &empty)?;
    }
}

/// The depth extension: below each node `xpath` selects (below the root for
/// `/`), the data `level` levels deep, where the last level keeps only its
/// leaves and leaf-lists (a list entry is one level, as in the data tree).
pub fn limit_depth(tree: &mut Tree, xpath: &str, level: u32) -> Result<()> {
    fn walk(n: &DataNodeRef<'_, '_>, depth: u32, level: u32, doomed: &mut Vec<String>) {
        for c in n.children() {
            let d = depth + 1;
            if d == level && !is_term(c.schema().kind()) {
                doomed.push(c.data_path());
            } else if d < level {
                walk(&c, d, level, doomed);
            }
        }
    }
    if level == 0 {
        return Ok(());
    }
    let mut doomed = Vec::new();
    if xpath == "/" {
        let tops: Vec<_> = tree
            .reference()
            .into_iter()
            .flat_map(|r| r.inclusive_siblings())
            .collect();
        for t in &tops {
            if level == 1 && !is_term(t.schema().kind()) {
                doomed.push(t.data_path());
            } else {
                walk(t, 1, level, &mut doomed);
            }
        }
    } else {
        for n in select(tree, xpath)? {
            walk(&n, 0, level, &mut doomed);
        }
    }
    for p in doomed {
        ly::remove(tree, &p).map_err(Error::from)?;
    }
    Ok(())
}

fn remove_all(tree: &mut Tree, paths: &[String]) -> Result<()> {
    // Paths come in document order: skip those under one already removed.
    let mut last: Option<&str> = None;
    for p in paths {
        if let Some(l) = last
            && p.starts_with(l)
            && matches!(p.as_bytes().get(l.len()), Some(b'/'))
        {
            continue;
        }
        ly::remove(tree, p).map_err(Error::from)?;
        last = Some(p);
    }
    Ok(())
}

/// One leaf (or whole leaf-list) of a data tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// libyang's data path of the leaf (for a leaf-list, without a value
    /// predicate).
    pub path: String,
    pub value: LeafValue,
    /// A configuration leaf.
    pub config: bool,
    /// A counter or statistic: sampled under TARGET_DEFINED.
    pub counter: bool,
}

/// True for a counter-like leaf: a `counter`/`gauge` typedef (yang:counter64,
/// oc-yang:counter64, zero-based-counter32, ...) or a leaf under a
/// `statistics` or `counters` container.
pub fn is_counter(schema: &SchemaNode<'_>) -> bool {
    let typed = schema
        .leaf_type()
        .and_then(|t| t.typedef_name())
        .is_some_and(|n| n.contains("counter") || n.contains("gauge"));
    typed
        || schema
            .ancestors()
            .any(|a| matches!(a.name(), "statistics" | "counters"))
}

/// Every leaf and leaf-list in the subtree of `node` (the node itself
/// included), appended to `out`. With `seen`, a path already there is
/// skipped (for selections whose nodes may overlap, such as `//`).
/// `counters` caches the counter classification per schema node.
pub fn leaves_under(
    node: &DataNodeRef<'_, '_>,
    mut seen: Option<&mut HashSet<String>>,
    counters: &mut HashMap<usize, bool>,
    out: &mut Vec<Leaf>,
) -> Result<()> {
    // Entries of one leaf-list are adjacent: the first one reports them all.
    let mut last_list: Option<String> = None;
    // Keyless lists already reported whole (parent node, list schema).
    let mut keyless_done: HashSet<(usize, usize)> = HashSet::new();
    for n in node.traverse() {
        if let Some(list) = outer_keyless(&n) {
            let id = keyless_id(&list);
            if !keyless_done.insert(id) {
                continue;
            }
            let path = list_path(&list);
            if let Some(seen) = seen.as_deref_mut()
                && !seen.insert(path.clone())
            {
                continue;
            }
            out.push(Leaf {
                path,
                value: keyless_value(&list)?,
                config: false,
                counter: false,
            });
            continue;
        }
        let schema = n.schema();
        let kind = schema.kind();
        if !is_term(kind) {
            continue;
        }
        let (path, value) = if kind == SchemaNodeKind::LeafList {
            let path = leaf_list_path(&n);
            if last_list.as_deref() == Some(path.as_str()) {
                continue;
            }
            last_list = Some(path.clone());
            let values = n
                .inclusive_siblings()
                .filter(|s| s.schema() == schema)
                .map(|s| scalar_value(&s))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal(e.to_string()))?;
            (path, LeafValue::Many(values))
        } else {
            let v = scalar_value(&n).map_err(|e| Error::internal(e.to_string()))?;
            (n.data_path(), LeafValue::One(v))
        };
        if let Some(seen) = seen.as_deref_mut()
            && !seen.insert(path.clone())
        {
            continue;
        }
        let config = schema.is_config();
        let counter = !config
            && *counters
                .entry(schema.as_raw() as usize)
                .or_insert_with(|| is_counter(&schema));
        out.push(Leaf {
            path,
            value,
            config,
            counter,
        });
    }
    Ok(())
}

/// The outermost entry of a keyless list that `n` is or lies in, if any.
///
/// gNMI paths name list entries by their keys only, so an entry of a keyless
/// (state) list, such as ietf-routing's `ribs/rib/routes/route`, has no gNMI
/// path. nectar reports such a list whole: one update at the list's path
/// (no keys) whose value is the RFC 7951 JSON array of its entries
/// (`json_ietf_val`, or `json_val` for JSON encoding; also with PROTO
/// encoding, as no scalar can carry it). A node inside a keyless list entry
/// is reported as the outermost such list.
pub fn outer_keyless<'a, 'b>(n: &DataNodeRef<'a, 'b>) -> Option<DataNodeRef<'a, 'b>> {
    n.inclusive_ancestors()
        .filter(|a| a.schema().is_keyless_list())
        .last()
}

/// Identifies a keyless list by its parent node and its schema node.
fn keyless_id(list: &DataNodeRef<'_, '_>) -> (usize, usize) {
    let parent = list.ancestors().next().map_or(0, |p| p.as_raw() as usize);
    (parent, list.schema().as_raw() as usize)
}

/// The data path of a keyless list as a whole (no position).
pub fn list_path(list: &DataNodeRef<'_, '_>) -> String {
    leaf_list_path(list)
}

/// Every entry of the keyless list `list` is an entry of, as a JSON array in
/// both gNMI flavours.
pub fn keyless_value(list: &DataNodeRef<'_, '_>) -> Result<LeafValue> {
    let entries = |ietf: bool| -> Result<serde_json::Value> {
        let schema = list.schema();
        let all: Vec<DataNodeRef<'_, '_>> = match list.ancestors().next() {
            Some(parent) => parent.children().filter(|c| c.schema() == schema).collect(),
            None => list
                .inclusive_siblings()
                .filter(|c| c.schema() == schema)
                .collect(),
        };
        let mut out = Vec::with_capacity(all.len());
        for e in &all {
            let bytes = crate::value::node_json(e, ietf)?;
            out.push(
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::internal(format!("invalid JSON of a list entry: {e}")))?,
            );
        }
        Ok(serde_json::Value::Array(out))
    };
    Ok(LeafValue::Json {
        ietf: entries(true)?,
        plain: entries(false)?,
    })
}

/// The data path of a leaf-list as a whole: its parent's path and its name.
fn leaf_list_path(n: &DataNodeRef<'_, '_>) -> String {
    let schema = n.schema();
    let module = schema.module().name().to_string();
    match n.ancestors().next() {
        Some(parent) => {
            let same = parent.schema().module().name() == module;
            if same {
                format!("{}/{}", parent.data_path(), schema.name())
            } else {
                format!("{}/{}:{}", parent.data_path(), module, schema.name())
            }
        }
        None => format!("/{}:{}", module, schema.name()),
    }
}

/// The nodes of `tree` an XPath selects.
pub fn select<'t>(tree: &'t Tree, xpath: &str) -> Result<Vec<DataNodeRef<'t, 'static>>> {
    nectar_mgmt::ly::find_all(tree, xpath)
        .map_err(|e| Error::invalid(format!("cannot evaluate {xpath}: {}", e.message)))
}
