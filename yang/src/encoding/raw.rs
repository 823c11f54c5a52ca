//! The two libyang calls yang2 does not expose: parsing data below an
//! existing parent node, and reading the resolved type of a union value.
#![allow(unsafe_code)]

use std::ffi::CString;

use libyang2_sys as ffi;
use yang2::context::Context;
use yang2::data::{DataFormat, DataNodeRef};

use crate::{Error, Result};

/// A libyang input reading `data`: the NUL-terminated copy it reads from
/// (keep it alive until the input is freed with `ly_in_free(input, 0)`,
/// which leaves the buffer alone) and the input.
fn memory_input(ctx: &Context, data: &str) -> Result<(CString, *mut ffi::ly_in)> {
    let text = CString::new(data).map_err(|_| Error::Libyang {
        message: "data contains a NUL byte".into(),
        path: None,
        app_tag: None,
    })?;
    let mut input: *mut ffi::ly_in = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated; its heap buffer does not move when
    // the CString is moved to the caller, who keeps it alive as long as the
    // input.
    let ret = unsafe { ffi::ly_in_new_memory(text.as_ptr(), &mut input) };
    if ret != ffi::LY_ERR::LY_SUCCESS {
        return Err(yang2::Error::new(ctx).into());
    }
    Ok((text, input))
}

/// Parses `data` as children of `parent` (libyang `lyd_parse_data` with a
/// parent), parse-only: the caller validates the whole tree later.
pub(super) fn parse_into(
    ctx: &Context,
    parent: &DataNodeRef<'_, '_>,
    data: &str,
    format: DataFormat,
    parse_options: u32,
) -> Result<()> {
    let (_text, input) = memory_input(ctx, data)?;
    let mut tree: *mut ffi::lyd_node = std::ptr::null_mut();
    // SAFETY: the context pointer comes from the parent's schema (a live
    // compiled module of the context the tree belongs to); the parent is a
    // live inner node of a tree borrowed for the call; libyang links the
    // parsed nodes under it, so they are freed with the tree.
    let ret = unsafe {
        let schema = (*parent.as_raw()).schema;
        let ctx_raw = (*(*schema).module).ctx;
        let ret = ffi::lyd_parse_data(
            ctx_raw,
            parent.as_raw(),
            input,
            format as u32,
            parse_options,
            0,
            &mut tree,
        );
        ffi::ly_in_free(input, 0);
        ret
    };
    if ret != ffi::LY_ERR::LY_SUCCESS {
        let e = yang2::Error::new(ctx);
        if last_error_is_syntax(ctx) {
            return Err(Error::Malformed(
                e.msg.unwrap_or_else(|| "syntax error".into()),
            ));
        }
        return Err(e.into());
    }
    Ok(())
}

/// Whether libyang's last error in this context is a syntax error of the
/// document (XML or JSON), as opposed to data the schema refuses.
pub(super) fn last_error_is_syntax(ctx: &Context) -> bool {
    // SAFETY: the context is live; `ly_err_last` returns null or a pointer
    // to the last error item the context keeps for this thread.
    unsafe {
        let item = ffi::ly_err_last(ctx_raw(ctx));
        !item.is_null()
            && matches!(
                (*item).vecode,
                ffi::LY_VECODE::LYVE_SYNTAX
                    | ffi::LY_VECODE::LYVE_SYNTAX_XML
                    | ffi::LY_VECODE::LYVE_SYNTAX_JSON
            )
    }
}

/// The raw context pointer (yang2 keeps it private).
fn ctx_raw(ctx: &Context) -> *mut ffi::ly_ctx {
    // SAFETY: Context is a wrapper around one raw pointer. The bitwise copy is
    // consumed by into_raw, which never runs Drop, so the context is neither
    // freed nor aliased mutably.
    unsafe { std::ptr::read(ctx).into_raw() }
}

/// The resolved base type of a leaf or leaf-list value (the member type
/// that matched, for a union; the target type, for a leafref), with the raw
/// decimal64 value and its fraction digits for decimal64.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolved {
    pub basetype: u32,
    pub dec64: Option<(i64, u8)>,
}

pub(super) fn resolved(node: &DataNodeRef<'_, '_>) -> Option<Resolved> {
    let schema = node.schema();
    if !matches!(
        schema.kind(),
        yang2::schema::SchemaNodeKind::Leaf | yang2::schema::SchemaNodeKind::LeafList
    ) {
        return None;
    }
    // SAFETY: the node is a live leaf or leaf-list (checked above), so it is
    // a `lyd_node_term`; its value's realtype is always set, and a union
    // value always holds a `subvalue` with the resolved member value.
    unsafe {
        let term = node.as_raw() as *const ffi::lyd_node_term;
        let mut value: *const ffi::lyd_value = &(*term).value;
        let mut depth = 0;
        loop {
            let realtype = (*value).realtype;
            if realtype.is_null() {
                return None;
            }
            let basetype = (*realtype).basetype;
            if basetype == ffi::LY_DATA_TYPE::LY_TYPE_UNION && depth < 8 {
                let sub = (*value).__bindgen_anon_1.subvalue;
                if sub.is_null() {
                    return None;
                }
                value = &(*sub).value;
                depth += 1;
                continue;
            }
            let dec64 = if basetype == ffi::LY_DATA_TYPE::LY_TYPE_DEC64 {
                let dec = realtype as *const ffi::lysc_type_dec;
                Some(((*value).__bindgen_anon_1.dec64, (*dec).fraction_digits))
            } else {
                None
            };
            return Some(Resolved { basetype, dec64 });
        }
    }
}

pub(super) mod types {
    use libyang2_sys as ffi;
    pub const BINARY: u32 = ffi::LY_DATA_TYPE::LY_TYPE_BINARY;
    pub const UINT8: u32 = ffi::LY_DATA_TYPE::LY_TYPE_UINT8;
    pub const UINT16: u32 = ffi::LY_DATA_TYPE::LY_TYPE_UINT16;
    pub const UINT32: u32 = ffi::LY_DATA_TYPE::LY_TYPE_UINT32;
    pub const UINT64: u32 = ffi::LY_DATA_TYPE::LY_TYPE_UINT64;
    pub const STRING: u32 = ffi::LY_DATA_TYPE::LY_TYPE_STRING;
    pub const BITS: u32 = ffi::LY_DATA_TYPE::LY_TYPE_BITS;
    pub const BOOL: u32 = ffi::LY_DATA_TYPE::LY_TYPE_BOOL;
    pub const DEC64: u32 = ffi::LY_DATA_TYPE::LY_TYPE_DEC64;
    pub const EMPTY: u32 = ffi::LY_DATA_TYPE::LY_TYPE_EMPTY;
    pub const ENUM: u32 = ffi::LY_DATA_TYPE::LY_TYPE_ENUM;
    pub const IDENT: u32 = ffi::LY_DATA_TYPE::LY_TYPE_IDENT;
    pub const INST: u32 = ffi::LY_DATA_TYPE::LY_TYPE_INST;
    pub const INT8: u32 = ffi::LY_DATA_TYPE::LY_TYPE_INT8;
    pub const INT16: u32 = ffi::LY_DATA_TYPE::LY_TYPE_INT16;
    pub const INT32: u32 = ffi::LY_DATA_TYPE::LY_TYPE_INT32;
    pub const INT64: u32 = ffi::LY_DATA_TYPE::LY_TYPE_INT64;
}

/// Parses a RESTCONF operation input (`{"mod:input": {...}}` or `<input
/// xmlns="...">`, RFC 8040 §3.6.1) into the operation node `op` (libyang
/// `lyd_parse_op` with `LYD_TYPE_RPC_RESTCONF`), validating it as RPC or
/// action input.
pub(super) fn parse_restconf_input(
    ctx: &Context,
    op: &DataNodeRef<'_, '_>,
    data: &str,
    format: DataFormat,
) -> Result<()> {
    let (_text, input) = memory_input(ctx, data)?;
    let mut envelope: *mut ffi::lyd_node = std::ptr::null_mut();
    // SAFETY: `op` is a live RPC or action node of a tree borrowed for the
    // call; libyang links the parsed input under it. It wants the `tree`
    // out-parameter (set only to an envelope, which RESTCONF input does not
    // have; freed if ever set) and a null `op`.
    let ret = unsafe {
        let schema = (*op.as_raw()).schema;
        let ctx_raw = (*(*schema).module).ctx;
        let ret = ffi::lyd_parse_op(
            ctx_raw,
            op.as_raw(),
            input,
            format as u32,
            ffi::lyd_type::LYD_TYPE_RPC_RESTCONF,
            &mut envelope,
            std::ptr::null_mut(),
        );
        ffi::ly_in_free(input, 0);
        if !envelope.is_null() {
            ffi::lyd_free_all(envelope);
        }
        ret
    };
    if ret != ffi::LY_ERR::LY_SUCCESS {
        return Err(yang2::Error::new(ctx).into());
    }
    Ok(())
}
