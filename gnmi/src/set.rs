//! Set (gNMI §3.4): deletes, replaces and updates applied in that order as
//! one transaction on running through the management core, as the calling
//! user (NACM applies). Any failure leaves running and the dataplane as they
//! were and is reported as the gRPC status of the first error, with every
//! error's detail in the message.
//!
//! Deleting a path that holds no data succeeds (§3.4.6); a delete path may
//! hold wildcards and then removes every node it matches. Replace and update
//! paths name one node; their value is JSON / JSON_IETF for any node, or a
//! scalar TypedValue for a leaf (a ScalarArray for a leaf-list).
//!
//! `union_replace` (after the updates) replaces, as one union, what its
//! paths cover: OpenConfig paths first, then native (`rfc7951`) ones, as the
//! union_replace specification orders them. Its paths may not overlap; the
//! root path replaces every top-level node of its origin (`openconfig`, the
//! default, or `rfc7951`) and leaves the other origin's alone. Where the two
//! origins set one property of the dataplane differently, the mapping
//! refuses the transaction (INVALID_ARGUMENT, the specification's option 1).
//!
//! The commit-confirmed extension makes the Set a confirmed commit, or
//! confirms, cancels or re-times the pending one (see [`crate::ext`]);
//! while one is pending a Set without it is FAILED_PRECONDITION.

use nectar_mgmt::ly::Tree;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Caller, ConfirmAction, Datastore, Edit, EditOp, EditStep};
use nectar_yang::encoding::{self, Format};
use nectar_yang::path::{DataPath, GnmiPath, NodeKind, gnmi_to_xpath};
use nectar_yang::print::NodePath;
use serde_json::Value as Json;
use yang2::context::Context;
use yang2::data::DataTree;

use crate::context::{CallContext, now_ns};
use crate::data;
use crate::error::{Error, Result};
use crate::ext::{self, Rpc};
use crate::path;
use crate::proto::gnmi as pb;
use crate::proto::gnmi::update_result::Operation;
use crate::value::{SetValue, set_value};

/// A delete, before wildcards are resolved against running.
enum Delete {
    /// Everything (the root path).
    All,
    One(String),
    Matching(String),
}

pub async fn set(
    shared: &CallContext,
    user: UserCtx,
    peer: Option<String>,
    req: pb::SetRequest,
) -> Result<pb::SetResponse> {
    let exts = ext::parse(&req.extension, Rpc::Set)?;
    let ctx = shared.handle.context();
    let prefix = path::prefix(req.prefix.as_ref())?;
    let full = |p: &pb::Path| -> Result<GnmiPath> {
        path::resolve(ctx, prefix.as_ref(), &path::from_proto(p)?)
    };

    let mut results = Vec::new();
    let mut deletes = Vec::new();
    for p in &req.delete {
        let g = full(p)?;
        deletes.push(if g.elems.is_empty() {
            Delete::All
        } else if g.has_wildcards() {
            Delete::Matching(gnmi_to_xpath(ctx, None, &g).map_err(Error::path)?)
        } else {
            let dp = DataPath::from_gnmi(ctx, &g).map_err(Error::path)?;
            config_only(&dp, &g)?;
            Delete::One(dp.to_xpath())
        });
        results.push(result(p, Operation::Delete));
    }
    let mut steps = Vec::new();
    for (ops, op) in [
        (&req.replace, EditOp::Replace),
        (&req.update, EditOp::Merge),
    ] {
        for u in ops {
            let p = u
                .path
                .as_ref()
                .ok_or_else(|| Error::invalid("an update has no path"))?;
            let g = full(p)?;
            if g.has_wildcards() {
                return Err(Error::invalid(format!(
                    "{g}: replace and update paths cannot hold wildcards"
                )));
            }
            let dp = DataPath::from_gnmi(ctx, &g).map_err(Error::path)?;
            if !dp.is_root() {
                config_only(&dp, &g)?;
            }
            let value = set_value(u.val.as_ref())?;
            let tree = build(ctx, &dp, &value, &shared.options.document)
                .map_err(|e| Error::invalid(format!("{g}: {}", e.message)))?;
            steps.push(if dp.is_root() {
                if op == EditOp::Replace {
                    EditStep::replace_all(tree)
                } else {
                    EditStep::merge(tree)
                }
            } else {
                EditStep::at(op, dp.to_xpath(), Some(tree))
            });
            results.push(result(
                p,
                if op == EditOp::Replace {
                    Operation::Replace
                } else {
                    Operation::Update
                },
            ));
        }
    }

    let union = union_replace(shared, &req.union_replace, &full, &mut results)?;

    let commit = exts.commit;
    let mut caller = Caller::once(user, "gnmi", peer);
    if let Some(action) = &commit {
        // The same NACM permission as the NETCONF operation it stands for.
        caller = match action {
            ConfirmAction::Cancel { .. } => caller.authorizing("ietf-netconf", "cancel-commit"),
            _ => caller.authorizing("ietf-netconf", "commit"),
        };
    }
    shared
        .handle
        .edit_with(
            caller,
            move |view| -> Result<_, Error> {
                if commit.is_none() && view.confirm_pending() {
                    return Err(Error::new(
                        tonic::Code::FailedPrecondition,
                        "a confirmed commit is pending: confirm or cancel it (commit extension) before another Set",
                    ));
                }
                let mut all = Vec::new();
                for d in deletes {
                    all.extend(deleted(view.running(), d)?);
                }
                all.extend(steps);
                for u in union {
                    all.extend(u.steps(view.running())?);
                }
                let edit = Edit::atomic(Datastore::Running, all);
                Ok((
                    match commit {
                        Some(action) => edit.confirmed(action),
                        None => edit,
                    },
                    (),
                ))
            },
            |_, (), out| out.map(|_| ()).map_err(Error::from),
        )
        .await?;

    Ok(pb::SetResponse {
        prefix: req.prefix.clone(),
        response: results,
        timestamp: now_ns(),
        ..Default::default()
    })
}

/// One union_replace, checked.
enum Union {
    /// Replace the node at this path with the one in the tree.
    At(String, Tree),
    /// Replace every top-level node of one origin with the tree's.
    Origin { openconfig: bool, tree: Tree },
}

impl Union {
    fn steps(self, running: &Tree) -> Result<Vec<EditStep>, Error> {
        match self {
            Union::At(path, tree) => Ok(vec![EditStep::at(EditOp::Replace, path, Some(tree))]),
            Union::Origin { openconfig, tree } => {
                let given: Vec<String> = tree
                    .reference()
                    .into_iter()
                    .flat_map(|r| r.inclusive_siblings())
                    .map(|n| n.data_path())
                    .collect();
                let mut out = Vec::new();
                // What running holds of the origin and the value does not.
                for n in running
                    .reference()
                    .into_iter()
                    .flat_map(|r| r.inclusive_siblings())
                    .filter(|n| is_openconfig(n.schema().module().name()) == openconfig)
                {
                    let p = n.data_path();
                    if !given.contains(&p) {
                        out.push(EditStep::at(EditOp::Remove, p, None));
                    }
                }
                for p in given {
                    let copy = nectar_mgmt::ly::dup_tree(&tree).map_err(Error::from)?;
                    out.push(EditStep::at(EditOp::Replace, p, Some(copy)));
                }
                Ok(out)
            }
        }
    }
}

fn is_openconfig(module: &str) -> bool {
    module.starts_with("openconfig-")
}

/// The union_replace updates, checked and built: OpenConfig first, then
/// native; paths that overlap are refused.
fn union_replace(
    shared: &CallContext,
    updates: &[pb::Update],
    full: &dyn Fn(&pb::Path) -> Result<GnmiPath>,
    results: &mut Vec<pb::UpdateResult>,
) -> Result<Vec<Union>> {
    let ctx = shared.handle.context();
    let mut out: Vec<(bool, String, Union)> = Vec::new();
    for u in updates {
        let p = u
            .path
            .as_ref()
            .ok_or_else(|| Error::invalid("a union_replace has no path"))?;
        let g = full(p)?;
        if g.has_wildcards() {
            return Err(Error::invalid(format!(
                "{g}: union_replace paths cannot hold wildcards"
            )));
        }
        let value = set_value(u.val.as_ref())?;
        let dp = DataPath::from_gnmi(ctx, &g).map_err(Error::path)?;
        let tree = build(ctx, &dp, &value, &shared.options.document)
            .map_err(|e| Error::invalid(format!("{g}: {}", e.message)))?;
        let entry = if dp.is_root() {
            let openconfig = match g.origin.as_str() {
                "" | nectar_yang::path::ORIGIN_OPENCONFIG => true,
                nectar_yang::path::ORIGIN_RFC7951 => false,
                other => {
                    return Err(Error::invalid(format!(
                        "union_replace of the root of origin {other:?}: the origins are \"openconfig\" and \"rfc7951\""
                    )));
                }
            };
            for n in tree
                .reference()
                .into_iter()
                .flat_map(|r| r.inclusive_siblings())
            {
                if is_openconfig(n.schema().module().name()) != openconfig {
                    return Err(Error::invalid(format!(
                        "union_replace of the root of origin {:?} holds {}, of the other origin",
                        g.origin,
                        n.data_path()
                    )));
                }
            }
            let key = if openconfig { "oc:" } else { "native:" };
            (
                openconfig,
                key.to_string(),
                Union::Origin { openconfig, tree },
            )
        } else {
            config_only(&dp, &g)?;
            let openconfig = dp.nodes().first().is_some_and(|n| is_openconfig(&n.module));
            let xpath = dp.to_xpath();
            (openconfig, xpath.clone(), Union::At(xpath, tree))
        };
        for (oc, other, _) in &out {
            let overlap = match (entry.1.as_str(), other.as_str()) {
                ("oc:", _) | (_, "oc:") => *oc && entry.0,
                ("native:", _) | (_, "native:") => !*oc && !entry.0,
                (a, b) => paths_overlap(a, b),
            };
            if overlap {
                return Err(Error::invalid(format!(
                    "{g}: union_replace paths may not overlap ({other} is given too)"
                )));
            }
        }
        out.push(entry);
        results.push(result(p, Operation::UnionReplace));
    }
    // OpenConfig first, then native (a stable sort keeps the given order).
    out.sort_by_key(|(oc, _, _)| !*oc);
    Ok(out.into_iter().map(|(_, _, u)| u).collect())
}

/// Whether one data path is the other or an ancestor of it.
fn paths_overlap(a: &str, b: &str) -> bool {
    let under = |p: &str, q: &str| {
        p == q || (p.starts_with(q) && matches!(p.as_bytes().get(q.len()), Some(b'/')))
    };
    under(a, b) || under(b, a)
}

/// The steps removing what a delete names from `running`.
fn deleted(running: &Tree, d: Delete) -> Result<Vec<EditStep>, Error> {
    let remove = |p: String| EditStep::at(EditOp::Remove, p, None);
    Ok(match d {
        Delete::One(p) => vec![remove(p)],
        Delete::All => running
            .reference()
            .into_iter()
            .flat_map(|r| r.inclusive_siblings())
            .map(|n| remove(n.data_path()))
            .collect(),
        Delete::Matching(x) => data::select(running, &x)?
            .into_iter()
            .filter(|n| n.schema().is_config())
            .map(|n| remove(n.data_path()))
            .collect(),
    })
}

fn result(p: &pb::Path, op: Operation) -> pb::UpdateResult {
    pb::UpdateResult {
        path: Some(p.clone()),
        op: op as i32,
        ..Default::default()
    }
}

/// Refuses to write state (`config false`) data.
fn config_only(dp: &DataPath, g: &GnmiPath) -> Result<()> {
    if dp.nodes().iter().any(|n| !n.config) {
        return Err(Error::invalid(format!(
            "{g} is read-only (config false) data and cannot be set"
        )));
    }
    Ok(())
}

/// A NUL is no YANG character (RFC 7950 §6.1.1 `yang-char`), and libyang
/// takes values as C strings: refused before it gets there.
fn reject_nul(value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(
            "the value contains a NUL character, which no YANG value may hold",
        ));
    }
    Ok(())
}

/// The edit data for one replace or update: the node at `dp` with its
/// ancestors (and their keys), holding `value`.
fn build(
    ctx: &'static Context,
    dp: &DataPath,
    value: &SetValue,
    limits: &encoding::Limits,
) -> Result<nectar_mgmt::ly::Tree> {
    let yerr = |e: nectar_yang::Error| Error::invalid(e.to_string());
    let last = match dp.last() {
        Some(l) => l.clone(),
        None => {
            // The root: a whole RFC 7951 document.
            return match value {
                SetValue::Json { value, .. } => encoding::parse_with(
                    ctx,
                    &value.to_string(),
                    Format::Json,
                    encoding::Content::Edit,
                    limits,
                )
                .map_err(yerr),
                _ => Err(Error::invalid(
                    "the root takes a JSON document, not a scalar",
                )),
            };
        }
    };
    match value {
        SetValue::Unquoted { text, error } => {
            if last.kind == NodeKind::Leaf {
                build(ctx, dp, &SetValue::Scalar(text.clone()), limits)
            } else {
                Err(Error::invalid(format!(
                    "the value is not valid JSON: {error}"
                )))
            }
        }
        SetValue::Scalar(s) => {
            reject_nul(s)?;
            if last.kind != NodeKind::Leaf && last.kind != NodeKind::LeafList {
                return Err(Error::invalid(format!(
                    "{} is not a leaf: send its content as JSON",
                    last.name
                )));
            }
            let mut tree = DataTree::new(ctx);
            tree.new_path(&dp.to_xpath(), Some(s), false)
                .map_err(|e| yerr(e.into()))?;
            Ok(tree)
        }
        SetValue::List(items) => {
            if last.kind != NodeKind::LeafList {
                return Err(Error::invalid(format!("{} is not a leaf-list", last.name)));
            }
            let mut tree = DataTree::new(ctx);
            for s in items {
                reject_nul(s)?;
                tree.new_path(&dp.to_xpath(), Some(s), false)
                    .map_err(|e| yerr(e.into()))?;
            }
            Ok(tree)
        }
        SetValue::Json { value, .. } => match (last.kind, value) {
            (NodeKind::Leaf, v) => {
                let text = json_scalar_text(v).ok_or_else(|| {
                    Error::invalid(format!("{} is a leaf: send a scalar", last.name))
                })?;
                build(ctx, dp, &SetValue::Scalar(text), limits)
            }
            (NodeKind::LeafList, Json::Array(items)) => {
                let items = items
                    .iter()
                    .map(|v| {
                        json_scalar_text(v)
                            .ok_or_else(|| Error::invalid("leaf-list members must be scalars"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                build(ctx, dp, &SetValue::List(items), limits)
            }
            (NodeKind::Container, Json::Object(members))
            | (NodeKind::List, Json::Object(members))
                if last.kind == NodeKind::Container || !last.keys.is_empty() =>
            {
                // The node's content: its members, named as RFC 7951 names
                // the children of a node of `last.module`; list keys come
                // from the path and must agree with any given.
                let mut content = serde_json::Map::new();
                for (k, v) in members {
                    let local = k.split_once(':').map_or(k.as_str(), |(_, n)| n);
                    if let Some((_, key)) = last.keys.iter().find(|(kn, _)| kn == local) {
                        if json_scalar_text(v).as_deref() != Some(key.as_str()) {
                            return Err(Error::invalid(format!(
                                "key {local} is {key:?} in the path but {v} in the value"
                            )));
                        }
                        continue;
                    }
                    let name = if k.contains(':') {
                        k.clone()
                    } else {
                        format!("{}:{k}", last.module)
                    };
                    content.insert(name, v.clone());
                }
                let text = Json::Object(content).to_string();
                encoding::parse_at_with(
                    ctx,
                    dp,
                    &text,
                    Format::Json,
                    encoding::Content::Edit,
                    limits,
                )
                .map_err(yerr)
            }
            (NodeKind::List, Json::Array(_)) | (NodeKind::LeafList, _) | (NodeKind::List, _) => {
                // A whole list (or leaf-list): {"module:name": [...]} under the
                // parent.
                let parent = dp.parent();
                let mut doc = serde_json::Map::new();
                doc.insert(format!("{}:{}", last.module, last.name), value.clone());
                let text = Json::Object(doc).to_string();
                encoding::parse_at_with(
                    ctx,
                    &parent,
                    &text,
                    Format::Json,
                    encoding::Content::Edit,
                    limits,
                )
                .map_err(yerr)
            }
            (kind, _) => Err(Error::invalid(format!(
                "{} ({kind:?}) takes a JSON object",
                last.name
            ))),
        },
    }
}

/// A JSON scalar as the text a key value compares with.
fn json_scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
