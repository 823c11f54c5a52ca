//! The two libyang facts NACM needs that yang2 0.18 does not expose: the
//! `nacm:default-deny-*` extension instances compiled onto a schema node, and
//! removing arbitrary nodes (including top-level ones) from a data tree
//! without leaving the tree's root pointer dangling.
//!
//! This is the only unsafe code of the evaluator; everything here reads or
//! frees libyang structures through pointers yang2 hands out.
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::CStr;

use nectar_yang::yang2::data::{Data, DataNodeRef, DataTree};
use nectar_yang::yang2::ffi;
use nectar_yang::yang2::schema::SchemaNode;
use nectar_yang::yang2::utils::Binding;

/// The NACM default-deny extension on a schema node (RFC 8341 §3.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DefaultDeny {
    None,
    Write,
    All,
}

/// Reads the extension instances compiled onto `node`. libyang's NACM plugin
/// (plugins_exts/nacm.c) copies an instance onto every descendant at compile
/// time, so the node's own array already says whether an ancestor carries one.
pub(crate) fn default_deny(node: &SchemaNode<'_>) -> DefaultDeny {
    let raw = node.as_raw();
    if raw.is_null() {
        return DefaultDeny::None;
    }
    let mut found = DefaultDeny::None;
    // SAFETY: `raw` is a live compiled schema node of a context that outlives
    // the borrow `node` holds. `exts` is a libyang sized array (LY_ARRAY):
    // null, or preceded by its element count as LY_ARRAY_COUNT_TYPE (u64,
    // libyang 2.2 tree.h). Each element's `def` points to the compiled
    // extension definition, whose `name` and `module->name` are NUL-terminated
    // dictionary strings owned by the context.
    unsafe {
        let exts = (*raw).exts;
        if exts.is_null() {
            return DefaultDeny::None;
        }
        let count = *(exts as *const u64).sub(1) as usize;
        for i in 0..count {
            let ext = exts.add(i);
            let def = (*ext).def;
            if def.is_null() || (*def).name.is_null() || (*def).module.is_null() {
                continue;
            }
            let module = (*(*def).module).name;
            if module.is_null() || CStr::from_ptr(module).to_bytes() != b"ietf-netconf-acm" {
                continue;
            }
            match CStr::from_ptr((*def).name).to_bytes() {
                b"default-deny-all" => found = DefaultDeny::All,
                b"default-deny-write" => found = found.max(DefaultDeny::Write),
                _ => {}
            }
        }
    }
    found
}

/// Whether a data node has a schema node (opaque nodes have none, and yang2's
/// `DataNodeRef::schema` must not be called on them).
pub(crate) fn has_schema(node: &DataNodeRef<'_, '_>) -> bool {
    // SAFETY: `as_raw` is a live node of the tree `node` borrows.
    unsafe { !(*node.as_raw()).schema.is_null() }
}

/// An opaque handle to a node scheduled for removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeId(*mut ffi::lyd_node);

impl NodeId {
    pub(crate) fn of(node: &DataNodeRef<'_, '_>) -> NodeId {
        NodeId(node.as_raw())
    }
}

/// Frees the subtrees `doomed` (none of which may lie inside another) and
/// keeps `tree` pointing at the first surviving top-level node.
pub(crate) fn remove_subtrees(tree: &mut DataTree<'_>, doomed: &[NodeId]) {
    if doomed.is_empty() {
        return;
    }
    let ctx = tree.context();
    let doomed_set: HashSet<*mut ffi::lyd_node> = doomed.iter().map(|n| n.0).collect();
    let raw = std::mem::replace(tree, DataTree::new(ctx)).into_raw();
    // SAFETY: `raw` is a node of the top level of the tree we now own
    // (`into_raw` disowned it, so nothing else frees it). Walking `next` from
    // the first sibling visits live top-level nodes. Every doomed pointer is a
    // live node of that tree and they are disjoint subtrees, so freeing one
    // never frees another; `survivor` is a top-level node not freed here, and
    // lyd_first_sibling on it yields the new root (null when nothing
    // survived). The rebuilt `DataTree` owns that root and frees it on drop.
    unsafe {
        let mut survivor: *mut ffi::lyd_node = std::ptr::null_mut();
        if !raw.is_null() {
            let mut n = ffi::lyd_first_sibling(raw);
            while !n.is_null() {
                if !doomed_set.contains(&n) {
                    survivor = n;
                    break;
                }
                n = (*n).next;
            }
        }
        for &NodeId(n) in doomed {
            ffi::lyd_free_tree(n);
        }
        let root = if survivor.is_null() {
            std::ptr::null_mut()
        } else {
            ffi::lyd_first_sibling(survivor)
        };
        *tree = DataTree::from_raw(ctx, root);
    }
}
