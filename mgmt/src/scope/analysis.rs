//! Schema analysis for scoped validation, done once at start-up. For every
//! XPath a configuration node carries (must, when, leafref path,
//! instance-identifier), libyang's own atomization (`lys_find_expr_atoms`)
//! tells which schema nodes it can read. This module only reads those facts
//! out of libyang's compiled schema.
#![allow(unsafe_code)]

use std::ffi::CStr;

use yang2::context::Context;
use yang2::ffi;
use yang2::schema::{SchemaNode, SchemaNodeKind, SchemaPathFormat};

/// One XPath constraint of a schema node.
#[derive(Debug, Clone)]
pub(super) struct Constraint {
    /// Schema path of the node carrying it.
    pub owner: String,
    /// A plain leafref (not a must, when or instance-identifier).
    pub leafref: bool,
    /// Schema paths of every node the expression reads; `None` when libyang
    /// could not atomize it (treated as reading everything).
    pub atoms: Option<Vec<String>>,
    /// The expression text.
    pub text: String,
}

fn array_len<T>(p: *const T) -> usize {
    if p.is_null() {
        0
    } else {
        // SAFETY: libyang's sized arrays (LY_ARRAY) store their length as a
        // uint64 right before the first element.
        unsafe { *(p as *const u64).offset(-1) as usize }
    }
}

fn path_of(node: *const ffi::lysc_node) -> Option<String> {
    let mut buf = [0 as std::os::raw::c_char; 4096];
    // SAFETY: a valid compiled schema node; libyang writes a NUL-terminated
    // path into our buffer.
    unsafe {
        let r = ffi::lysc_path(
            node,
            ffi::LYSC_PATH_TYPE::LYSC_PATH_DATA,
            buf.as_mut_ptr(),
            buf.len(),
        );
        if r.is_null() {
            return None;
        }
        Some(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
    }
}

fn atoms(
    ctx_node: *const ffi::lysc_node,
    module: *const ffi::lys_module,
    expr: *const ffi::lyxp_expr,
    prefixes: *const ffi::lysc_prefix,
) -> (Option<Vec<String>>, String) {
    // SAFETY: expr and prefixes belong to the compiled schema of a live,
    // never-freed context; the set libyang allocates is freed here.
    unsafe {
        let text = {
            let t = ffi::lyxp_get_expr(expr);
            if t.is_null() {
                String::new()
            } else {
                CStr::from_ptr(t).to_string_lossy().into_owned()
            }
        };
        let mut set = std::ptr::null_mut();
        let r = ffi::lys_find_expr_atoms(ctx_node, module, expr, prefixes, 0, &mut set);
        if r != ffi::LY_ERR::LY_SUCCESS || set.is_null() {
            return (None, text);
        }
        let n = (*set).count as usize;
        let nodes = (*set).__bindgen_anon_1.snodes;
        let mut out = Vec::with_capacity(n);
        let mut ok = true;
        for i in 0..n {
            match path_of(*nodes.add(i)) {
                Some(p) => out.push(p),
                None => ok = false,
            }
        }
        ffi::ly_set_free(set, None);
        (ok.then_some(out), text)
    }
}

fn type_constraints(
    owner: &str,
    node: *const ffi::lysc_node,
    module: *const ffi::lys_module,
    ty: *const ffi::lysc_type,
    out: &mut Vec<Constraint>,
) {
    if ty.is_null() {
        return;
    }
    // SAFETY: every compiled type starts with the common header; the
    // concrete layout is chosen by its basetype, as libyang itself does.
    unsafe {
        match (*ty).basetype {
            ffi::LY_DATA_TYPE::LY_TYPE_LEAFREF => {
                let lr = ty as *const ffi::lysc_type_leafref;
                let (a, text) = atoms(node, module, (*lr).path, (*lr).prefixes);
                out.push(Constraint {
                    owner: owner.to_string(),
                    leafref: true,
                    atoms: a,
                    text,
                });
            }
            ffi::LY_DATA_TYPE::LY_TYPE_INST => {
                let ii = ty as *const ffi::lysc_type_instanceid;
                if (*ii).require_instance != 0 {
                    out.push(Constraint {
                        owner: owner.to_string(),
                        leafref: false,
                        atoms: None,
                        text: String::new(),
                    });
                }
            }
            ffi::LY_DATA_TYPE::LY_TYPE_UNION => {
                let un = ty as *const ffi::lysc_type_union;
                for i in 0..array_len((*un).types) {
                    type_constraints(owner, node, module, *(*un).types.add(i), out);
                }
            }
            _ => {}
        }
    }
}

/// Every XPath constraint of the configuration nodes of implemented modules.
pub(super) fn constraints(ctx: &Context) -> Vec<Constraint> {
    let mut out = Vec::new();
    for module in ctx.modules(true) {
        if !module.is_implemented() {
            continue;
        }
        for top in module.data() {
            for node in top.traverse() {
                if node.is_config() {
                    node_constraints(&node, &mut out);
                }
            }
        }
    }
    out
}

fn node_constraints(node: &SchemaNode<'_>, out: &mut Vec<Constraint>) {
    let owner = node.path(SchemaPathFormat::DATA);
    let raw = node.as_raw() as *const ffi::lysc_node;
    // SAFETY: compiled schema of a live context; arrays read with their
    // stored lengths.
    unsafe {
        let module = (*raw).module as *const ffi::lys_module;
        let musts = ffi::lysc_node_musts(raw);
        for i in 0..array_len(musts) {
            let m = musts.add(i);
            let (a, text) = atoms(raw, module, (*m).cond, (*m).prefixes);
            out.push(Constraint {
                owner: owner.clone(),
                leafref: false,
                atoms: a,
                text,
            });
        }
        let whens = ffi::lysc_node_when(raw);
        for i in 0..array_len(whens) {
            let w = *whens.add(i);
            let (a, text) = atoms((*w).context, module, (*w).cond, (*w).prefixes);
            out.push(Constraint {
                owner: owner.clone(),
                leafref: false,
                atoms: a,
                text,
            });
        }
        match node.kind() {
            SchemaNodeKind::Leaf => {
                let l = raw as *const ffi::lysc_node_leaf;
                type_constraints(&owner, raw, module, (*l).type_, out);
            }
            SchemaNodeKind::LeafList => {
                let l = raw as *const ffi::lysc_node_leaflist;
                type_constraints(&owner, raw, module, (*l).type_, out);
            }
            _ => {}
        }
    }
}

/// Whether a list constrains its number of entries or their uniqueness.
pub(super) fn list_has_set_constraints(node: &SchemaNode<'_>) -> bool {
    let raw = node.as_raw() as *const ffi::lysc_node_list;
    // SAFETY: the caller passes a list node.
    unsafe { (*raw).min > 0 || (*raw).max != u32::MAX || array_len((*raw).uniques) > 0 }
}

/// Config-true mandatory data under `node` that a sparse tree would lack:
/// mandatory leaves and choices, lists with min-elements, recursively through
/// non-presence containers.
pub(super) fn has_mandatory(node: &SchemaNode<'_>) -> bool {
    if !node.is_config() {
        return false;
    }
    if node.is_mandatory() {
        return true;
    }
    match node.kind() {
        SchemaNodeKind::Container if node.is_np_container() => {
            node.children().any(|c| has_mandatory(&c))
        }
        SchemaNodeKind::Choice | SchemaNodeKind::Case => node.children().any(|c| has_mandatory(&c)),
        SchemaNodeKind::List => node.min_elements().unwrap_or(0) > 0,
        _ => false,
    }
}
