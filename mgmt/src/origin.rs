//! The `ietf-origin:origin` annotation of operational data (RFC 8342
//! §5.3.4), for the `with-origin` of NETCONF `<get-data>` (RFC 8526) and
//! RESTCONF (RFC 8527): a configuration node of operational that running
//! holds explicitly is `intended`, one holding its schema default is
//! `default`, and one the system made without configuration (e.g. the
//! dataplane's hardware ports) is `system`. Only configuration nodes carry
//! it; a node is annotated where its origin differs from its parent's (it
//! is inherited otherwise), top-level nodes always.
#![allow(unsafe_code)]

use nectar_yang::print::NodePath;
use yang2::data::{Data, DataNodeRef};
use yang2::ffi;

use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// The origin identities used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Intended,
    Default,
    System,
}

impl Origin {
    pub fn identity(self) -> &'static str {
        match self {
            Origin::Intended => "ietf-origin:intended",
            Origin::Default => "ietf-origin:default",
            Origin::System => "ietf-origin:system",
        }
    }
}

/// Annotates the configuration nodes of `data` (a subtree of operational,
/// with its parents) given the content of running.
pub fn annotate(data: &mut Tree, running: &Tree) -> Result<(), MgmtError> {
    let mut marks: Vec<(*mut ffi::lyd_node, Origin)> = Vec::new();
    for top in data
        .reference()
        .into_iter()
        .flat_map(|r| r.inclusive_siblings())
    {
        walk(&top, None, running, &mut marks)?;
    }
    let name = ly::cstring("ietf-origin:origin")?;
    for (node, origin) in marks {
        let value = ly::cstring(origin.identity())?;
        // SAFETY: every pointer is a live node of `data`, which we hold
        // mutably; libyang allocates the metadata and links it to the node
        // (freed with it). A null module means `name` carries the module.
        let r = unsafe {
            let ctx = (*(*(*node).schema).module).ctx;
            ffi::lyd_new_meta(
                ctx,
                node,
                std::ptr::null(),
                name.as_ptr(),
                value.as_ptr(),
                0,
                std::ptr::null_mut(),
            )
        };
        if r != ffi::LY_ERR::LY_SUCCESS {
            return Err(MgmtError::from(yang2::Error::new(data.context())));
        }
    }
    Ok(())
}

fn walk(
    node: &DataNodeRef<'_, 'static>,
    inherited: Option<Origin>,
    running: &Tree,
    marks: &mut Vec<(*mut ffi::lyd_node, Origin)>,
) -> Result<(), MgmtError> {
    let schema = node.schema();
    if !schema.is_config() {
        return Ok(());
    }
    let origin = if node.is_default() {
        Origin::Default
    } else {
        match ly::find(running, &node.data_path())? {
            Some(n) if !n.is_default() => Origin::Intended,
            _ => Origin::System,
        }
    };
    let mut own = inherited;
    if !schema.is_list_key() && inherited != Some(origin) {
        marks.push((node.as_raw(), origin));
        own = Some(origin);
    }
    for child in node.children() {
        walk(&child, own, running, marks)?;
    }
    Ok(())
}
