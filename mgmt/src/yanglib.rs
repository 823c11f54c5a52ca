//! ietf-yang-library (RFC 8525) state of the process's one libyang context,
//! as libyang itself describes it (`ly_ctx_get_yanglib_data`): the module
//! set, features, deviations, submodules, the datastores schema and the
//! content-id. Protocols that publish schema files add the `location` of
//! each module and submodule (see [`set_locations`]). This module and
//! `ly` are the only ones of mgmt with unsafe code.
#![allow(unsafe_code)]

use nectar_yang::print::NodePath;
use yang2::context::Context;
use yang2::data::DataTree;
use yang2::ffi;
use yang2::utils::Binding;

use crate::error::MgmtError;
use crate::ly::Tree;

/// The `/ietf-yang-library:yang-library` tree of `ctx`: libyang's module set
/// and schema "complete", the four NMDA datastores using that schema, and a
/// `content-id` that is a hash of the module set (the same across restarts
/// of the same build, different when the modules differ).
pub fn yang_library(ctx: &'static Context) -> Result<Tree, MgmtError> {
    let Some(module) = ctx.get_module_latest("ietf-yang-library") else {
        return Err(MgmtError::operation_failed(
            "ietf-yang-library is not in the model set",
        ));
    };
    let mut root: *mut ffi::lyd_node = std::ptr::null_mut();
    // SAFETY: yang2 does not expose the context pointer; a loaded module
    // points to its context, which lives for the whole process. libyang
    // allocates a new tree for us (owned by the returned DataTree); the format
    // string is a NUL-terminated literal whose one conversion takes the u32.
    let r = unsafe {
        let raw = (*module.as_raw()).ctx;
        let hash = ffi::ly_ctx_get_modules_hash(raw);
        ffi::ly_ctx_get_yanglib_data(raw, &mut root, c"%08x".as_ptr(), hash)
    };
    if r != ffi::LY_ERR::LY_SUCCESS || root.is_null() {
        return Err(MgmtError::from(yang2::Error::new(ctx)));
    }
    // SAFETY: a non-null root is a new tree of `ctx` owned by nobody else.
    let mut tree = unsafe { DataTree::from_raw(ctx, root) };
    for ds in ["running", "candidate", "startup", "operational"] {
        tree.new_path(
            &format!(
                "/ietf-yang-library:yang-library/datastore[name='ietf-datastores:{ds}']/schema"
            ),
            Some("complete"),
            false,
        )?;
    }
    Ok(tree)
}

/// Adds a `location` to every module and submodule entry of a yang-library
/// tree: `url(name, revision)` returns the URL that serves the module's
/// YANG text (`revision` is `None` for a module without one).
pub fn set_locations(
    tree: &mut Tree,
    url: impl Fn(&str, Option<&str>) -> String,
) -> Result<(), MgmtError> {
    let mut entries: Vec<(String, String, Option<String>)> = Vec::new();
    for node in tree.traverse() {
        let schema = node.schema();
        let kind = schema.name();
        if !matches!(kind, "module" | "submodule" | "import-only-module") {
            continue;
        }
        let leaf = |n: &str| {
            node.children()
                .find(|c| c.schema().name() == n)
                .and_then(|c| c.value_canonical())
        };
        let Some(name) = leaf("name") else { continue };
        let revision = leaf("revision").filter(|r| !r.is_empty());
        entries.push((node.data_path(), name, revision));
    }
    for (path, name, revision) in entries {
        let location = url(&name, revision.as_deref());
        // The deprecated RFC 7895 modules-state, which libyang also fills,
        // names the same URL `schema`.
        let leaf = if path.starts_with("/ietf-yang-library:modules-state") {
            "schema"
        } else {
            "location"
        };
        tree.new_path(&format!("{path}/{leaf}"), Some(&location), false)
            .map_err(|e| MgmtError::from(e).with_path(path.clone()))?;
    }
    Ok(())
}
