//! The few libyang calls yang2 does not wrap, or wraps in a way that breaks
//! nectar's invariants (removing a tree's first top-level node, duplicating
//! without metadata, validation that reports what it changed), or that cost
//! too much at the scale of a large commit through yang2's wrappers (data
//! paths printed step by step down a subtree instead of from the root for
//! every node, merging without copying, printing a subtree with its parents
//! without copying it). Also the data path grammar helpers (steps, parents,
//! schema paths). This is the only module of mgmt with unsafe code.
#![allow(unsafe_code)]

use nectar_yang::print::NodePath;
use std::ffi::CString;

use nectar_yang::print;
use yang2::context::Context;
use yang2::data::{Data, DataNodeRef, DataTree, DataValidationFlags};
use yang2::ffi;
use yang2::utils::Binding;

use crate::error::MgmtError;

pub type Tree = DataTree<'static>;

mod paths;

pub use paths::{
    child_path, child_path_into, parent_path, schema_path_of, steps, truncate_steps,
    union_branches, walk_paths,
};

/// Finds the node at a data path; `Ok(None)` when it does not exist, `Err`
/// when the path itself is invalid.
pub fn find<'t>(tree: &'t Tree, path: &str) -> Result<Option<DataNodeRef<'t, 'static>>, MgmtError> {
    if tree.reference().is_none() {
        // An empty tree still has to reject malformed paths.
        return match tree.context().find_path(&schema_path_of(path)) {
            Ok(_) => Ok(None),
            Err(_) => Err(MgmtError::invalid_value(format!("invalid path {path}")).with_path(path)),
        };
    }
    let cpath = cstring(path)?;
    let mut found = std::ptr::null_mut();
    // SAFETY: the tree is non-empty, so raw() is its first top-level node;
    // libyang evaluates the absolute path from it and returns a node of the
    // same tree, which the returned reference borrows.
    let r = unsafe { ffi::lyd_find_path(tree.raw(), cpath.as_ptr(), 0, &mut found) };
    match r {
        ffi::LY_ERR::LY_SUCCESS => Ok(Some(unsafe { DataNodeRef::from_raw(tree, found) })),
        ffi::LY_ERR::LY_ENOTFOUND | ffi::LY_ERR::LY_EINCOMPLETE => Ok(None),
        _ => Err(MgmtError::from(yang2::Error::new(tree.context())).with_path(path)),
    }
}

/// Removes the subtree at `path`; returns whether something was removed. Keeps
/// the tree's root pointer valid when the first top-level node goes.
pub fn remove(tree: &mut Tree, path: &str) -> Result<bool, MgmtError> {
    let node = match find(tree, path)? {
        Some(n) => n.as_raw(),
        None => return Ok(false),
    };
    let ctx = tree.context();
    let old = std::mem::replace(tree, DataTree::new(ctx));
    let mut first = old.into_raw();
    // SAFETY: `node` belongs to the tree whose first sibling is `first`; we own
    // that tree (taken out of `tree` above). If `node` is the first top-level
    // sibling, the new first is its next sibling. lyd_free_tree unlinks and
    // frees exactly that subtree.
    unsafe {
        if node == first {
            first = (*node).next;
        }
        ffi::lyd_free_tree(node);
        if !first.is_null() {
            first = ffi::lyd_first_sibling(first);
        }
        *tree = DataTree::from_raw(ctx, first);
    }
    Ok(true)
}

/// Where an instance of an ordered-by-user list or leaf-list stands among
/// the instances of its list: what undoing its deletion needs, since a merge
/// puts a restored instance last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    First,
    /// After the instance at this path.
    After(String),
}

/// The [`Position`] of `node`, if it is an instance of an ordered-by-user list or
/// leaf-list below the top level (top-level ones keep libyang's order).
pub fn slot_of(node: &DataNodeRef<'_, 'static>) -> Option<Position> {
    if !node.schema().is_user_ordered() || yang2::iter::NodeIterable::parent(node).is_none() {
        return None;
    }
    let raw = node.as_raw();
    // SAFETY: `raw` is a live node of the tree `node` borrows; `prev` is never
    // null (the first sibling's points to the last, whose `next` is null).
    unsafe {
        let prev = (*raw).prev;
        if prev == raw || (*prev).next.is_null() || (*prev).schema != (*raw).schema {
            return Some(Position::First);
        }
        Some(Position::After(
            DataNodeRef::from_raw(node.tree(), prev).data_path(),
        ))
    }
}

/// Moves the ordered-by-user instance at `path` back to `slot`.
pub fn restore_slot(tree: &mut Tree, path: &str, slot: &Position) -> Result<(), MgmtError> {
    let Some(node) = find(tree, path)? else {
        return Ok(());
    };
    let raw = node.as_raw();
    let anchor = match slot {
        Position::After(p) => match find(tree, p)? {
            Some(a) => Some(a.as_raw()),
            None => return Ok(()),
        },
        Position::First => None,
    };
    // SAFETY: `raw` and `anchor` are live nodes of `tree` below the top level
    // (slot_of records no top-level slot), so moving one among its siblings
    // never changes the tree's first top-level node.
    let r = unsafe {
        if (*raw).parent.is_null() {
            return Ok(());
        }
        match anchor {
            Some(a) => ffi::lyd_insert_after(a, raw),
            None => {
                let mut first = ffi::lyd_first_sibling(raw);
                while !first.is_null() && (*first).schema != (*raw).schema {
                    first = (*first).next;
                }
                if first.is_null() || first == raw {
                    return Ok(());
                }
                ffi::lyd_insert_before(first, raw)
            }
        }
    };
    if r != ffi::LY_ERR::LY_SUCCESS {
        return Err(MgmtError::from(yang2::Error::new(tree.context())).with_path(path));
    }
    Ok(())
}

/// Merges `source` into `tree` (as `tree.merge(&source)`), moving its nodes
/// instead of copying them (`LYD_MERGE_DESTRUCT`): the same result, without
/// a copy of the source and its freeing.
pub fn merge_owned(tree: &mut Tree, source: Tree) -> Result<(), MgmtError> {
    let ctx = tree.context();
    let src = source.into_raw();
    if src.is_null() {
        return Ok(());
    }
    let old = std::mem::replace(tree, DataTree::new(ctx));
    let mut first = old.into_raw();
    // SAFETY: we own both trees (taken out of `tree`, and `source` by value).
    // libyang moves the source's nodes into the target or frees them, success
    // or not, so the source is never touched again; the target's root
    // pointer, which the merge may change, is put back into `tree`.
    let r = unsafe {
        let r = ffi::lyd_merge_siblings(&mut first, src, ffi::LYD_MERGE_DESTRUCT as u16);
        *tree = DataTree::from_raw(ctx, first);
        r
    };
    if r != ffi::LY_ERR::LY_SUCCESS {
        return Err(MgmtError::from(yang2::Error::new(ctx)));
    }
    Ok(())
}

/// Duplicates a node with its subtree and all its parents (list keys
/// included), without metadata: the result is a tree of its own.
pub fn dup_with_parents(node: &DataNodeRef<'_, 'static>) -> Result<Tree, MgmtError> {
    let ctx = node.context();
    let mut dup = std::ptr::null_mut();
    // SAFETY: node.as_raw() is a valid node of a live tree; the duplicate is a
    // new tree owned by the returned DataTree.
    unsafe {
        let r = ffi::lyd_dup_single(
            node.as_raw(),
            std::ptr::null_mut(),
            ffi::LYD_DUP_RECURSIVE
                | ffi::LYD_DUP_WITH_PARENTS
                | ffi::LYD_DUP_NO_META
                | ffi::LYD_DUP_WITH_FLAGS,
            &mut dup,
        );
        if r != ffi::LY_ERR::LY_SUCCESS {
            return Err(MgmtError::from(yang2::Error::new(ctx)));
        }
        while !(*dup).parent.is_null() {
            dup = (*dup).parent as *mut ffi::lyd_node;
        }
        Ok(DataTree::from_raw(ctx, dup))
    }
}

/// Prints a nested container or list entry (`node`, without metadata) with
/// its parents as compact RFC 7951 JSON: the text `dup_with_parents(node)`
/// prints, without copying the subtree. Only the parents and `node` itself
/// (with its keys) are copied and printed; the subtree is printed in place and
/// set into that envelope where the envelope printed `node`. `None` when
/// `node` is not such a node or the envelope is not as expected (the caller
/// then prints a copy).
pub fn print_json_in_parents(node: &DataNodeRef<'_, 'static>) -> Result<Option<String>, MgmtError> {
    use yang2::data::{DataFormat, DataPrinterFlags};
    use yang2::schema::SchemaNodeKind;
    let schema = node.schema();
    if !matches!(
        schema.kind(),
        SchemaNodeKind::Container | SchemaNodeKind::List
    ) {
        return Ok(None);
    }
    let Some(parent) = node.ancestors().next() else {
        return Ok(None);
    };
    let ctx = node.context();
    let mut shallow = std::ptr::null_mut();
    // SAFETY: node.as_raw() is a valid node of a live tree; the duplicate (the
    // node without its subtree, keys kept, with new parents) is a new tree,
    // owned by `envelope` from its root.
    let envelope = unsafe {
        let r = ffi::lyd_dup_single(
            node.as_raw(),
            std::ptr::null_mut(),
            ffi::LYD_DUP_WITH_PARENTS | ffi::LYD_DUP_NO_META | ffi::LYD_DUP_WITH_FLAGS,
            &mut shallow,
        );
        if r != ffi::LY_ERR::LY_SUCCESS {
            return Err(MgmtError::from(yang2::Error::new(ctx)));
        }
        let mut root = shallow;
        while !(*root).parent.is_null() {
            root = (*root).parent as *mut ffi::lyd_node;
        }
        DataTree::from_raw(ctx, root)
    };
    // SAFETY: `shallow` is a node of `envelope`, which outlives the reference.
    let shallow = unsafe { DataNodeRef::from_raw(&envelope, shallow) };
    let (Some(env), Some(alone), Some(full)) = (
        print::data(
            &envelope,
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
        )?,
        print::data(&shallow, DataFormat::JSON, DataPrinterFlags::SHRINK)?,
        print::data(node, DataFormat::JSON, DataPrinterFlags::SHRINK)?,
    ) else {
        return Ok(None);
    };
    // Printed alone, the node is `{"module:name":...}`; inside its parent the
    // member name is qualified only when the modules differ (RFC 7951 §4).
    let module = schema.module().name().to_string();
    let qualified = format!("\"{module}:{}\":", schema.name());
    let member = if parent.schema().module().name() == module {
        format!("\"{}\":", schema.name())
    } else {
        qualified.clone()
    };
    let core = |text: &str| -> Option<String> {
        let inner = text.strip_prefix('{')?.strip_suffix('}')?;
        let rest = inner.strip_prefix(qualified.as_str())?;
        Some(format!("{member}{rest}"))
    };
    let (Some(alone), Some(full)) = (core(&alone), core(&full)) else {
        return Ok(None);
    };
    // The envelope must end with the node as printed alone, then only the
    // parents' closing brackets.
    let Some(at) = env.rfind(alone.as_str()) else {
        return Ok(None);
    };
    let tail = &env[at + alone.len()..];
    if !tail.bytes().all(|b| b == b'}' || b == b']') {
        return Ok(None);
    }
    let mut out = String::with_capacity(at + full.len() + tail.len());
    out.push_str(&env[..at]);
    out.push_str(&full);
    out.push_str(tail);
    Ok(Some(out))
}

/// Makes libyang work out (and keep) the canonical value of every list key
/// on the way to the nodes at `paths` (paths of `tree`), so that later reads
/// of those values, also from another thread, write nothing.
pub fn canonical_ancestor_keys<'p>(tree: &Tree, paths: impl Iterator<Item = &'p str>) {
    let mut last_parent: Option<String> = None;
    for path in paths {
        let Some(parent) = parent_path(path) else {
            continue;
        };
        // Nodes of one parent come together: the way to them is done once.
        if last_parent.as_deref() == Some(parent.as_str()) {
            continue;
        }
        if let Ok(Some(node)) = find(tree, &parent) {
            for a in node.inclusive_ancestors() {
                for key in a.list_keys() {
                    let _ = key.value_canonical();
                }
            }
        }
        last_parent = Some(parent);
    }
}

/// Duplicates a whole tree without metadata.
pub fn dup_tree(tree: &Tree) -> Result<Tree, MgmtError> {
    tree.duplicate().map_err(MgmtError::from)
}

/// Validates the whole tree in place. Returns the diff of what validation
/// itself changed (default nodes added, nodes whose `when` became false
/// removed), as a libyang diff tree, also when validation fails, so the caller
/// can revert it.
pub fn validate_all(
    tree: &mut Tree,
    flags: DataValidationFlags,
) -> (Option<Tree>, Result<(), Vec<MgmtError>>) {
    let ctx = tree.context();
    let old = std::mem::replace(tree, DataTree::new(ctx));
    let mut first = old.into_raw();
    let mut diff = std::ptr::null_mut();
    // SAFETY: we own the tree (taken out above) and give libyang the address of
    // its root pointer, which validation may change; it is put back into
    // `tree` right after. The diff is a new tree owned by the returned value.
    let r = unsafe {
        let r = ffi::lyd_validate_all(
            &mut first,
            ctx_raw(ctx),
            flags.bits() | ffi::LYD_VALIDATE_MULTI_ERROR,
            &mut diff,
        );
        *tree = DataTree::from_raw(ctx, first);
        r
    };
    // SAFETY: a non-null diff was allocated by libyang for us.
    let diff = (!diff.is_null()).then(|| unsafe { DataTree::from_raw(ctx, diff) });
    if r != ffi::LY_ERR::LY_SUCCESS {
        return (diff, Err(all_errors(ctx)));
    }
    (diff, Ok(()))
}

fn ctx_raw(ctx: &Context) -> *mut ffi::ly_ctx {
    // SAFETY: Context is a wrapper around one raw pointer. The bitwise copy is
    // consumed by into_raw, which never runs Drop, so the context is neither
    // freed nor aliased mutably.
    unsafe { std::ptr::read(ctx).into_raw() }
}

/// Every error libyang recorded for the last operation (MULTI_ERROR), oldest
/// first, then clears them.
pub fn all_errors(ctx: &Context) -> Vec<MgmtError> {
    let raw = ctx_raw(ctx);
    let mut out = Vec::new();
    // SAFETY: ly_err_first returns the context's error list, valid until
    // ly_err_clean; the strings are copied out before cleaning.
    unsafe {
        let mut e = ffi::ly_err_first(raw);
        while !e.is_null() {
            let s = |p: *const std::os::raw::c_char| {
                if p.is_null() {
                    None
                } else {
                    Some(std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
                }
            };
            if (*e).level == ffi::LY_LOG_LEVEL::LY_LLERR {
                out.push(MgmtError::from_yang(&nectar_yang::Error::Libyang {
                    message: s((*e).msg).unwrap_or_else(|| "validation failed".into()),
                    path: s((*e).data_path),
                    app_tag: s((*e).apptag),
                }));
            }
            e = (*e).next;
        }
        ffi::ly_err_clean(raw, std::ptr::null_mut());
    }
    if out.is_empty() {
        out.push(MgmtError::invalid_value("validation failed"));
    }
    out
}

/// Sets (creating if needed) a leaf or leaf-list value at a path.
pub fn set_value(tree: &mut Tree, path: &str, value: Option<&str>) -> Result<(), MgmtError> {
    // yang2 panics on a NUL in either (it builds C strings).
    cstring(path)?;
    if let Some(v) = value {
        cstring(v)?;
    }
    tree.new_path(path, value, false)
        .map(|_| ())
        .map_err(|e| MgmtError::from(e).with_path(path))
}

/// Builds a CString for libyang, rejecting interior NULs.
pub fn cstring(s: &str) -> Result<CString, MgmtError> {
    CString::new(s).map_err(|_| MgmtError::invalid_value("string contains a NUL character"))
}

/// Marks the leaf at `path` as holding its schema default (as validation
/// would have added it), e.g. when undoing an edit that made it explicit.
pub fn mark_default(tree: &mut Tree, path: &str) -> Result<(), MgmtError> {
    if let Some(n) = find(tree, path)? {
        // SAFETY: a valid node of a tree we hold mutably; only its flag bits
        // change.
        unsafe { (*n.as_raw()).flags |= ffi::LYD_DEFAULT };
    }
    Ok(())
}

/// Whether `node` or a node below it carries metadata annotations that a
/// printer prints (not libyang's internal ones, such as the `lyds_tree` of
/// sorted lists).
pub fn has_printable_meta(node: &DataNodeRef<'_, 'static>) -> bool {
    // SAFETY: every node the traversal yields is a live node of the borrowed
    // tree; its metadata list is only read.
    node.traverse().any(|n| unsafe {
        let mut m = (*n.as_raw()).meta;
        while !m.is_null() {
            if ffi::lyd_metadata_should_print(m) != 0 {
                return true;
            }
            m = (*m).next;
        }
        false
    })
}

/// Removes every metadata annotation (e.g. `ietf-netconf:operation`) from a
/// tree.
pub fn strip_meta(tree: &mut Tree) {
    let nodes: Vec<*mut ffi::lyd_node> = tree.traverse().map(|n| n.as_raw()).collect();
    for n in nodes {
        // SAFETY: every pointer is a live node of `tree`, held mutably; the
        // metadata list is freed and detached from its node.
        unsafe {
            if !(*n).meta.is_null() {
                ffi::lyd_free_meta_siblings((*n).meta);
                (*n).meta = std::ptr::null_mut();
            }
        }
    }
}

/// The nodes an XPath selects in `tree` (none in an empty tree, which libyang
/// cannot evaluate on). A NUL in the expression is refused: libyang takes it
/// as a C string (and yang2 panics on it).
pub fn find_all<'t>(
    tree: &'t Tree,
    xpath: &str,
) -> Result<Vec<DataNodeRef<'t, 'static>>, MgmtError> {
    if xpath.contains('\0') {
        return Err(
            MgmtError::invalid_value("the XPath contains a NUL character").with_path(xpath),
        );
    }
    if tree.reference().is_none() {
        return Ok(Vec::new());
    }
    nectar_yang::xpath::find_all(tree, xpath).map_err(|e| MgmtError::from(e).with_path(xpath))
}

/// The nodes an XPath selects, with their ancestors, as a new tree (the
/// whole tree if no XPath is given).
pub fn select(tree: &Tree, xpath: Option<&str>) -> Result<Tree, MgmtError> {
    let Some(xpath) = xpath else {
        return dup_tree(tree);
    };
    let mut out = DataTree::new(tree.context());
    for node in find_all(tree, xpath)? {
        out.merge(&dup_with_parents(&node)?)?;
    }
    Ok(out)
}

/// A context with the management modules, interfaces and routing, for unit
/// tests.
#[cfg(test)]
pub(crate) fn test_ctx() -> &'static Context {
    use nectar_yang::ModuleSpec;
    static CTX: std::sync::OnceLock<&'static Context> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        nectar_yang::ModelSet::management()
            .with(&[
                ModuleSpec::new("iana-if-type", &[]),
                ModuleSpec::new("ietf-interfaces", &[]),
                ModuleSpec::new("ietf-ip", &[]),
                ModuleSpec::new("ietf-routing", &[]),
                ModuleSpec::new("ietf-ipv4-unicast-routing", &[]),
                ModuleSpec::new("ietf-ipv6-unicast-routing", &[]),
            ])
            .build()
            .unwrap()
    })
}

/// Parses RFC 7951 JSON into a tree without validating it.
pub fn parse_json(ctx: &'static Context, json: &str) -> Result<Tree, MgmtError> {
    if json.trim().is_empty() {
        return Ok(DataTree::new(ctx));
    }
    nectar_yang::encoding::parse(
        ctx,
        json,
        nectar_yang::encoding::Format::Json,
        nectar_yang::encoding::Content::Edit,
    )
    .map_err(MgmtError::from)
}
