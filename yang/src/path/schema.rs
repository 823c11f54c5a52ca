//! Schema resolution shared by the path grammars: which schema nodes a name
//! can refer to at a point of the tree (choice and case skipped), key checks,
//! and the neutral description of a schema node.

use yang2::context::Context;
use yang2::schema::{SchemaNode, SchemaNodeKind};

use super::{DataPath, PathNode, RawStep, path_error};
use crate::Result;

/// The kind of a data node, as protocols need to tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Container,
    List,
    Leaf,
    LeafList,
    /// anydata or anyxml.
    AnyData,
    Rpc,
    Action,
    Notification,
}

impl NodeKind {
    pub(crate) fn of(node: &SchemaNode<'_>) -> NodeKind {
        match node.kind() {
            SchemaNodeKind::Container => NodeKind::Container,
            SchemaNodeKind::List => NodeKind::List,
            SchemaNodeKind::Leaf => NodeKind::Leaf,
            SchemaNodeKind::LeafList => NodeKind::LeafList,
            SchemaNodeKind::AnyData => NodeKind::AnyData,
            SchemaNodeKind::Rpc => NodeKind::Rpc,
            SchemaNodeKind::Action => NodeKind::Action,
            SchemaNodeKind::Notification => NodeKind::Notification,
            // Never produced: resolution skips them.
            SchemaNodeKind::Choice
            | SchemaNodeKind::Case
            | SchemaNodeKind::Input
            | SchemaNodeKind::Output => NodeKind::Container,
        }
    }

    /// True for nodes that hold a value (leaf, leaf-list).
    pub fn is_terminal(self) -> bool {
        matches!(self, NodeKind::Leaf | NodeKind::LeafList)
    }
}

/// What protocols ask of a schema node, without touching libyang types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaInfo {
    pub module: String,
    pub name: String,
    pub kind: NodeKind,
    /// Configuration (true) or state (false) node.
    pub config: bool,
    /// A presence container.
    pub presence: bool,
    /// List keys in schema order (empty for anything but a keyed list).
    pub keys: Vec<String>,
    /// A user-ordered list or leaf-list.
    pub user_ordered: bool,
    /// The schema path in JSON form, without choice and case.
    pub schema_path: String,
}

/// Describes the schema node a data path names.
pub fn schema_info(ctx: &Context, path: &DataPath) -> Result<SchemaInfo> {
    let node = path.schema_node(ctx)?;
    Ok(info_of(&node, path.to_schema_path()))
}

pub(crate) fn info_of(node: &SchemaNode<'_>, schema_path: String) -> SchemaInfo {
    let kind = NodeKind::of(node);
    SchemaInfo {
        module: node.module().name().to_string(),
        name: node.name().to_string(),
        kind,
        config: node.is_config(),
        presence: kind == NodeKind::Container && !node.is_np_container(),
        keys: node.list_keys().map(|k| k.name().to_string()).collect(),
        user_ordered: node.is_user_ordered(),
        schema_path,
    }
}

/// Pushes `node` or, for choice and case, the data nodes under it.
fn push_flat<'a>(node: SchemaNode<'a>, out: &mut Vec<SchemaNode<'a>>) {
    match node.kind() {
        SchemaNodeKind::Choice | SchemaNodeKind::Case => {
            for child in node.children() {
                push_flat(child, out);
            }
        }
        SchemaNodeKind::Input | SchemaNodeKind::Output => {}
        _ => out.push(node),
    }
}

/// The nodes a path can name at the top level: data nodes, RPCs and
/// notifications of every implemented module.
pub(crate) fn top_level(ctx: &Context) -> Vec<SchemaNode<'_>> {
    let mut out = Vec::new();
    for module in ctx.modules(true) {
        if !module.is_implemented() {
            continue;
        }
        for node in module
            .data()
            .chain(module.rpcs())
            .chain(module.notifications())
        {
            push_flat(node, &mut out);
        }
    }
    out
}

/// The nodes a path can name below `node`: data children (through choice
/// and case), actions and notifications. Operations are leaves of a path.
pub(crate) fn children<'a>(node: &SchemaNode<'a>) -> Vec<SchemaNode<'a>> {
    let mut out = Vec::new();
    if matches!(
        node.kind(),
        SchemaNodeKind::Rpc | SchemaNodeKind::Action | SchemaNodeKind::Notification
    ) {
        return out;
    }
    for child in node.all_children() {
        push_flat(child, &mut out);
    }
    out
}

/// Every node below `node` (not `node` itself), depth first.
pub(crate) fn descendants<'a>(node: &SchemaNode<'a>, out: &mut Vec<SchemaNode<'a>>) {
    for child in children(node) {
        out.push(child.clone());
        descendants(&child, out);
    }
}

pub(crate) fn module_name(node: &SchemaNode<'_>) -> String {
    node.module().name().to_string()
}

/// Resolves parsed steps in the strict grammars (XPath, RESTCONF URI): the
/// first node names its module, an unqualified node belongs to its parent's
/// module.
/// With `keys_required` (RESTCONF), lists in the middle of the path must
/// carry their keys.
pub(crate) fn resolve_strict(
    ctx: &Context,
    path: &str,
    steps: Vec<RawStep>,
    keys_required: bool,
) -> Result<DataPath> {
    // libyang takes paths as C strings: a NUL inside a name or value would
    // cut the path short (and yang2 panics on it).
    let has_nul = |s: &str| s.contains('\0');
    if steps.iter().any(|s| {
        has_nul(&s.name)
            || s.module.as_deref().is_some_and(has_nul)
            || s.keys.iter().any(|(k, v)| has_nul(k) || has_nul(v))
            || s.value.as_deref().is_some_and(has_nul)
            || s.positional.iter().flatten().any(|v| has_nul(v))
    }) {
        return Err(path_error(path, "a name or value contains a NUL character"));
    }
    let mut nodes = Vec::with_capacity(steps.len());
    let mut parent: Option<SchemaNode<'_>> = None;
    let count = steps.len();
    for (i, step) in steps.into_iter().enumerate() {
        if let Some(p) = &parent {
            let kind = NodeKind::of(p);
            if kind.is_terminal() || matches!(kind, NodeKind::AnyData) {
                return Err(path_error(
                    path,
                    format!("{} is a {kind:?} and has no child {}", p.name(), step.name),
                ));
            }
        }
        let parent_module = parent.as_ref().map(module_name);
        let candidates = match &parent {
            None => top_level(ctx),
            Some(p) => children(p),
        };
        let node = select_strict(
            ctx,
            path,
            &candidates,
            &step,
            parent_module.as_deref(),
            parent.as_ref(),
        )?;
        let last = i + 1 == count;
        nodes.push(path_node(path, &node, step, last, keys_required)?);
        parent = Some(node);
    }
    Ok(DataPath { nodes })
}

fn select_strict<'a>(
    ctx: &Context,
    path: &str,
    candidates: &[SchemaNode<'a>],
    step: &RawStep,
    parent_module: Option<&str>,
    parent: Option<&SchemaNode<'a>>,
) -> Result<SchemaNode<'a>> {
    let module = match (&step.module, parent_module) {
        (Some(m), _) => m.as_str(),
        (None, Some(m)) => m,
        (None, None) => {
            return Err(path_error(
                path,
                format!(
                    "the first node {} must be qualified with its module name (module:{})",
                    step.name, step.name
                ),
            ));
        }
    };
    if let Some(m) = &step.module {
        check_module(ctx, path, m)?;
    }
    let named: Vec<&SchemaNode<'a>> = candidates
        .iter()
        .filter(|n| n.name() == step.name)
        .collect();
    if let Some(node) = named.iter().find(|n| n.module().name() == module) {
        return Ok((*node).clone());
    }
    let others: Vec<String> = named.iter().map(|n| module_name(n)).collect();
    let place = place(parent);
    if step.module.is_none() && !others.is_empty() {
        return Err(path_error(
            path,
            format!(
                "node {} {place} is defined in module {}; qualify it as {}:{}",
                step.name, others[0], others[0], step.name
            ),
        ));
    }
    Err(path_error(
        path,
        format!("unknown node {module}:{} {place}", step.name),
    ))
}

fn place(parent: Option<&SchemaNode<'_>>) -> String {
    match parent {
        None => "at the top level".to_string(),
        Some(p) => format!("under {}", p.path(yang2::schema::SchemaPathFormat::DATA)),
    }
}

pub(crate) fn check_module(ctx: &Context, path: &str, module: &str) -> Result<()> {
    match ctx.get_module_implemented(module) {
        Some(_) => Ok(()),
        None if ctx.get_module_latest(module).is_some() => Err(path_error(
            path,
            format!("module {module} is not implemented"),
        )),
        None => Err(path_error(path, format!("unknown module {module}"))),
    }
}

/// Checks a step's keys or value against its schema node and builds the
/// path node. With `keys_required` (RESTCONF), a keyed list may omit its
/// keys only as the `last` node.
pub(crate) fn path_node(
    path: &str,
    node: &SchemaNode<'_>,
    step: RawStep,
    last: bool,
    keys_required: bool,
) -> Result<PathNode> {
    let kind = NodeKind::of(node);
    let name = node.name().to_string();
    let mut keys = Vec::new();
    let mut value = None;
    match kind {
        NodeKind::List => {
            let schema_keys: Vec<String> = node.list_keys().map(|k| k.name().to_string()).collect();
            if step.value.is_some() {
                return Err(path_error(
                    path,
                    format!("list {name} is selected by keys, not by value"),
                ));
            }
            if let Some(values) = step.positional {
                if schema_keys.is_empty() {
                    return Err(path_error(
                        path,
                        format!("list {name} has no keys; it cannot take key values"),
                    ));
                }
                if values.len() < schema_keys.len() {
                    return Err(path_error(
                        path,
                        format!(
                            "list {name} needs {} key values ({}), got {}",
                            schema_keys.len(),
                            schema_keys.join(","),
                            values.len()
                        ),
                    ));
                }
                if values.len() > schema_keys.len() {
                    return Err(path_error(
                        path,
                        format!(
                            "list {name} has {} keys ({}) but {} values were given",
                            schema_keys.len(),
                            schema_keys.join(","),
                            values.len()
                        ),
                    ));
                }
                keys = schema_keys.into_iter().zip(values).collect();
            } else if !step.keys.is_empty() {
                keys = order_keys(path, &name, &schema_keys, step.keys)?;
            } else if keys_required && !last && !schema_keys.is_empty() {
                return Err(path_error(
                    path,
                    format!(
                        "list {name} needs its key values here ({name}={})",
                        schema_keys.join(",")
                    ),
                ));
            }
        }
        NodeKind::LeafList => {
            if !step.keys.is_empty() {
                return Err(path_error(
                    path,
                    format!("leaf-list {name} takes a value ([.='v']), not keys"),
                ));
            }
            if let Some(values) = step.positional {
                if values.len() != 1 {
                    return Err(path_error(
                        path,
                        format!("leaf-list {name} takes one value, got {}", values.len()),
                    ));
                }
                value = values.into_iter().next();
            } else {
                value = step.value;
            }
        }
        _ => {
            if !step.keys.is_empty() || step.positional.is_some() || step.value.is_some() {
                return Err(path_error(
                    path,
                    format!(
                        "{name} is a {} and takes no keys or values",
                        kind_word(kind)
                    ),
                ));
            }
        }
    }
    Ok(PathNode {
        module: module_name(node),
        name,
        kind,
        config: node.is_config(),
        keys,
        value,
    })
}

pub(crate) fn kind_word(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Container => "container",
        NodeKind::List => "list",
        NodeKind::Leaf => "leaf",
        NodeKind::LeafList => "leaf-list",
        NodeKind::AnyData => "anydata",
        NodeKind::Rpc => "rpc",
        NodeKind::Action => "action",
        NodeKind::Notification => "notification",
    }
}

/// Matches named key predicates to the schema keys: every key once, in
/// schema order. A key name may carry the list's module prefix.
pub(crate) fn order_keys(
    path: &str,
    list: &str,
    schema_keys: &[String],
    given: Vec<(String, String)>,
) -> Result<Vec<(String, String)>> {
    if schema_keys.is_empty() {
        return Err(path_error(
            path,
            format!("list {list} has no keys; it cannot take key predicates"),
        ));
    }
    let mut values: Vec<Option<String>> = vec![None; schema_keys.len()];
    for (k, v) in given {
        let bare = k.rsplit_once(':').map(|(_, n)| n).unwrap_or(&k);
        let Some(i) = schema_keys.iter().position(|s| s == bare) else {
            return Err(path_error(
                path,
                format!(
                    "{bare} is not a key of list {list} (keys: {})",
                    schema_keys.join(",")
                ),
            ));
        };
        if values[i].is_some() {
            return Err(path_error(
                path,
                format!("key {bare} of list {list} is given twice"),
            ));
        }
        values[i] = Some(v);
    }
    let missing: Vec<&str> = schema_keys
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(path_error(
            path,
            format!("list {list} is missing key(s) {}", missing.join(",")),
        ));
    }
    Ok(schema_keys
        .iter()
        .cloned()
        .zip(values.into_iter().map(|v| v.unwrap_or_default()))
        .collect())
}
