//! Edits of a datastore tree with RFC 6241 semantics (merge, replace, create,
//! delete, remove at any depth), applied in place and recorded step by step so
//! that a transaction can be undone, journaled and described to providers in
//! O(size of the change), never by copying or diffing the whole tree.

use yang2::data::{Data, DataFormat, DataNodeRef, DataPrinterFlags};
use yang2::schema::SchemaNodeKind;

use crate::error::{ErrorTag, MgmtError};
use crate::ly::{self, Tree};

/// An edit operation (RFC 6241 §7.2 `operation` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Merge,
    Replace,
    Create,
    Delete,
    Remove,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "merge" => Op::Merge,
            "replace" => Op::Replace,
            "create" => Op::Create,
            "delete" => Op::Delete,
            "remove" => Op::Remove,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Merge => "merge",
            Op::Replace => "replace",
            Op::Create => "create",
            Op::Delete => "delete",
            Op::Remove => "remove",
        }
    }
}

/// RFC 6241 `default-operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultOp {
    #[default]
    Merge,
    Replace,
    None,
}

/// RFC 6241 `error-option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorOption {
    StopOnError,
    ContinueOnError,
    #[default]
    RollbackOnError,
}

/// One operation on one subtree. `path` is the data path of the target node
/// (JSON style, module names as prefixes); `None` means the whole datastore.
/// `data` holds the new content with all its parents (as a tree of its own)
/// for merge, replace and create.
#[derive(Debug)]
pub struct EditStep {
    pub op: Op,
    pub path: Option<String>,
    pub data: Option<Tree>,
    /// With default-operation `none`, the parents of the target must already
    /// exist (RFC 6241 §7.2: data-missing otherwise).
    pub parents_must_exist: bool,
}

impl EditStep {
    /// Merge a tree (any number of top-level nodes) into the datastore.
    pub fn merge(data: Tree) -> Self {
        EditStep {
            op: Op::Merge,
            path: None,
            data: Some(data),
            parents_must_exist: false,
        }
    }

    /// Replace the whole datastore with a tree.
    pub fn replace_all(data: Tree) -> Self {
        EditStep {
            op: Op::Replace,
            path: None,
            data: Some(data),
            parents_must_exist: false,
        }
    }

    /// An operation on the node at `path`; `data` holds it with its parents.
    pub fn at(op: Op, path: impl Into<String>, data: Option<Tree>) -> Self {
        EditStep {
            op,
            path: Some(path.into()),
            data,
            parents_must_exist: false,
        }
    }
}

/// What an edit did, in order: enough to undo it, to journal it and to tell
/// providers about it.
#[derive(Debug)]
pub enum Touched {
    /// A subtree was created at `path`. `implicit` marks default nodes that
    /// validation added (not journaled: validation adds them again).
    Created { path: String, implicit: bool },
    /// The subtree at `path` was removed; `backup` holds it with its parents.
    Deleted { path: String, backup: Tree },
    /// A leaf's value changed (or an implicit default became explicit).
    Modified {
        path: String,
        old: String,
        old_default: bool,
    },
}

/// Applies one step to `tree`, appending what it did to `log`. On error the
/// step has changed nothing (its checks run before any change).
pub fn apply_step(
    tree: &mut Tree,
    step: &EditStep,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    if step.parents_must_exist
        && let Some(path) = &step.path
        && let Some(parent) = ly::parent_path(path)
        && ly::find(tree, &parent)?.is_none()
    {
        return Err(MgmtError::app(
            ErrorTag::DataMissing,
            "the parent of the edited node does not exist",
        )
        .with_path(parent));
    }
    match step.op {
        Op::Merge => merge(tree, data_of(step)?, log),
        Op::Create => {
            let path = step
                .path
                .as_deref()
                .ok_or_else(|| MgmtError::invalid_value("create needs a target node"))?;
            if let Some(existing) = ly::find(tree, path)?
                && !is_implicit(&existing)
            {
                return Err(MgmtError::app(
                    ErrorTag::DataExists,
                    "the data to create already exists",
                )
                .with_path(path));
            }
            merge(tree, data_of(step)?, log)
        }
        Op::Replace => {
            let data = data_of(step)?;
            match &step.path {
                None => {
                    let tops: Vec<String> = top_level(tree)
                        .filter(|n| !is_implicit(n))
                        .map(|n| n.path())
                        .collect();
                    for p in tops {
                        prune_absent(tree, data, &p, log)?;
                    }
                }
                Some(path) => {
                    if ly::find(tree, path)?.is_some() {
                        prune_absent(tree, data, path, log)?;
                    }
                }
            }
            merge(tree, data, log)
        }
        Op::Delete | Op::Remove => {
            let path = step
                .path
                .as_deref()
                .ok_or_else(|| MgmtError::invalid_value("delete needs a target node"))?;
            let exists = match ly::find(tree, path)? {
                Some(n) => !is_implicit(&n),
                None => false,
            };
            if !exists {
                if step.op == Op::Delete {
                    return Err(MgmtError::app(
                        ErrorTag::DataMissing,
                        "the data to delete does not exist",
                    )
                    .with_path(path));
                }
                return Ok(());
            }
            delete(tree, path, log)
        }
    }
}

fn data_of(step: &EditStep) -> Result<&Tree, MgmtError> {
    step.data
        .as_ref()
        .ok_or_else(|| MgmtError::invalid_value(format!("{} needs data", step.op.as_str())))
}

fn top_level(tree: &Tree) -> impl Iterator<Item = DataNodeRef<'_, 'static>> {
    tree.reference()
        .into_iter()
        .flat_map(|r| r.inclusive_siblings())
}

/// A leaf or leaf-list whose value is the schema default and was never set
/// explicitly, or a non-presence container holding only such nodes.
pub fn is_implicit(node: &DataNodeRef<'_, 'static>) -> bool {
    match node.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => node.is_default(),
        SchemaNodeKind::Container if node.schema().is_np_container() => {
            node.children().all(|c| is_implicit(&c))
        }
        _ => false,
    }
}

fn delete(tree: &mut Tree, path: &str, log: &mut Vec<Touched>) -> Result<(), MgmtError> {
    let backup = match ly::find(tree, path)? {
        Some(n) => ly::dup_with_parents(&n)?,
        None => return Ok(()),
    };
    ly::remove(tree, path)?;
    log.push(Touched::Deleted {
        path: path.to_string(),
        backup,
    });
    Ok(())
}

/// Records what merging `data` into `tree` will do, then merges.
fn merge(tree: &mut Tree, data: &Tree, log: &mut Vec<Touched>) -> Result<(), MgmtError> {
    for top in top_level(data) {
        scan_merge(tree, &top, log)?;
    }
    tree.merge(data).map_err(MgmtError::from)
}

fn scan_merge(
    tree: &Tree,
    src: &DataNodeRef<'_, 'static>,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    let path = src.path();
    match ly::find(tree, &path)? {
        None => log.push(Touched::Created {
            path,
            implicit: false,
        }),
        Some(existing) => match src.schema().kind() {
            SchemaNodeKind::Leaf => {
                let old = existing.value_canonical().unwrap_or_default();
                let old_default = existing.is_default();
                if old_default || Some(&old) != src.value_canonical().as_ref() {
                    log.push(Touched::Modified {
                        path,
                        old,
                        old_default,
                    });
                }
            }
            SchemaNodeKind::LeafList => {
                if existing.is_default() {
                    let old = existing.value_canonical().unwrap_or_default();
                    log.push(Touched::Modified {
                        path,
                        old,
                        old_default: true,
                    });
                }
            }
            _ => {
                for child in src.children() {
                    scan_merge(tree, &child, log)?;
                }
            }
        },
    }
    Ok(())
}

/// For a replace: removes every explicit descendant of `path` in `tree` that
/// `data` does not have, recursively, so that the following merge leaves
/// exactly `data`'s content there. Only what differs is touched.
fn prune_absent(
    tree: &mut Tree,
    data: &Tree,
    path: &str,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    if ly::find(data, path)?.is_none() {
        return delete(tree, path, log);
    }
    let children: Vec<(String, bool)> = match ly::find(tree, path)? {
        Some(n) => n
            .children()
            .filter(|c| !is_implicit(c) && !c.schema().is_list_key())
            .map(|c| {
                let inner = !matches!(
                    c.schema().kind(),
                    SchemaNodeKind::Leaf | SchemaNodeKind::LeafList
                );
                (c.path(), inner)
            })
            .collect(),
        None => return Ok(()),
    };
    for (child, inner) in children {
        if inner {
            prune_absent(tree, data, &child, log)?;
        } else if ly::find(data, &child)?.is_none() {
            delete(tree, &child, log)?;
        }
    }
    Ok(())
}

/// Reverts what `log` records, newest first. Cannot fail on a log produced
/// by `apply_step` on the same tree.
pub fn undo(tree: &mut Tree, log: Vec<Touched>) {
    for t in log.into_iter().rev() {
        let r = match t {
            Touched::Created { path, .. } => ly::remove(tree, &path).map(|_| ()),
            Touched::Deleted { backup, .. } => tree.merge(&backup).map_err(MgmtError::from),
            Touched::Modified {
                path,
                old,
                old_default,
            } => ly::set_value(tree, &path, Some(&old)).and_then(|_| {
                if old_default {
                    ly::mark_default(tree, &path)
                } else {
                    Ok(())
                }
            }),
        };
        if let Err(e) = r {
            // Undo of our own log on our own tree: a failure is a bug.
            tracing::error!(error = %e, "undo step failed");
        }
    }
}

/// Turns a NETCONF `<config>` tree whose nodes may carry the
/// `ietf-netconf:operation` annotation into steps, in document order
/// (RFC 6241 §7.2): one step for the tree under `default-operation`, then one
/// per node with an explicit operation, each without the nested subtrees that
/// carry operations of their own.
pub fn steps_from_netconf(edit: &Tree, default_op: DefaultOp) -> Result<Vec<EditStep>, MgmtError> {
    // (path, op, op of the nearest ancestor with one)
    let mut explicit: Vec<(String, Op, Option<Op>)> = Vec::new();
    for node in edit.traverse() {
        let Some(op) = node_op(&node)? else { continue };
        if node.schema().is_list_key() {
            return Err(MgmtError::protocol(
                ErrorTag::BadAttribute,
                "an operation on a list key is not allowed",
            )
            .with_path(node.path())
            .with_info("bad-attribute", "operation"));
        }
        let mut inherited = None;
        for anc in node.ancestors() {
            if let Some(aop) = node_op(&anc)? {
                inherited = Some(aop);
                break;
            }
        }
        if matches!(inherited, Some(Op::Delete | Op::Remove)) {
            return Err(MgmtError::protocol(
                ErrorTag::BadAttribute,
                "an operation inside a subtree being deleted or removed is not allowed",
            )
            .with_path(node.path())
            .with_info("bad-attribute", "operation"));
        }
        explicit.push((node.path(), op, inherited));
    }

    let strip = |tree: &mut Tree, keep: Option<&str>| -> Result<(), MgmtError> {
        for (p, _, _) in &explicit {
            if Some(p.as_str()) != keep && keep.is_none_or(|k| p.starts_with(k)) {
                ly::remove(tree, p)?;
            }
        }
        Ok(())
    };

    let mut steps = Vec::new();
    match default_op {
        DefaultOp::Merge | DefaultOp::Replace => {
            let mut data = ly::dup_tree(edit)?;
            ly::strip_meta(&mut data);
            strip(&mut data, None)?;
            if default_op == DefaultOp::Replace {
                steps.push(EditStep::replace_all(data));
            } else if data.reference().is_some() {
                steps.push(EditStep::merge(data));
            }
        }
        DefaultOp::None => {}
    }
    for (path, op, inherited) in &explicit {
        let data = match op {
            Op::Merge | Op::Replace | Op::Create => {
                let node = ly::find(edit, path)?.expect("node found by traversal");
                let mut d = ly::dup_with_parents(&node)?;
                strip(&mut d, Some(path))?;
                Some(d)
            }
            Op::Delete | Op::Remove => None,
        };
        let parents_must_exist = inherited.is_none() && default_op == DefaultOp::None;
        steps.push(EditStep {
            op: *op,
            path: Some(path.clone()),
            data,
            parents_must_exist,
        });
    }
    Ok(steps)
}

fn node_op(node: &DataNodeRef<'_, 'static>) -> Result<Option<Op>, MgmtError> {
    for m in node.meta() {
        if m.name() == "operation" {
            return Op::parse(m.value()).map(Some).ok_or_else(|| {
                MgmtError::protocol(
                    ErrorTag::BadAttribute,
                    format!("unknown operation {:?}", m.value()),
                )
                .with_path(node.path())
                .with_info("bad-attribute", "operation")
            });
        }
    }
    Ok(None)
}

/// Prints a subtree (with parents) as compact RFC 7951 JSON, explicit nodes
/// only.
pub fn subtree_json(tree: &Tree, path: &str) -> Result<Option<String>, MgmtError> {
    let Some(node) = ly::find(tree, path)? else {
        return Ok(None);
    };
    let dup = ly::dup_with_parents(&node)?;
    Ok(dup
        .print_string(
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
        )?
        .filter(|s| s != "{}" && !s.is_empty()))
}
