//! Printing data trees and modules to strings, freeing libyang's buffer.
//! yang2's `print_string` (data and schema) never frees the buffer
//! `lyd_print_mem`/`lys_print_mem` allocate, which leaked the size of every
//! printed document (every reply, every journal entry); nectar prints only
//! through here.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};

use libyang2_sys as ffi;
use yang2::data::{Data, DataFormat, DataPrinterFlags};
use yang2::schema::{SchemaModule, SchemaOutputFormat, SchemaPrinterFlags};

/// Takes libyang's printed buffer: copied (invalid UTF-8 replaced, which
/// libyang never prints) and freed.
///
/// # Safety
/// `buf` is null or a NUL-terminated buffer from `malloc`, owned by the
/// caller and not used afterwards.
unsafe fn take(buf: *mut c_char) -> Option<String> {
    if buf.is_null() {
        return None;
    }
    // SAFETY: see the function's contract.
    unsafe {
        let s = CStr::from_ptr(buf).to_string_lossy().into_owned();
        libc::free(buf.cast());
        Some(s)
    }
}

/// Prints data (a tree, or a node with the siblings `flags` asks for):
/// `None` when libyang prints nothing.
pub fn data<'a>(
    data: &impl Data<'a>,
    format: DataFormat,
    flags: DataPrinterFlags,
) -> Result<Option<String>, yang2::Error> {
    let mut buf: *mut c_char = std::ptr::null_mut();
    // SAFETY: `data.raw()` is a live node (or null for an empty tree, which
    // libyang prints as nothing); on success libyang hands over `buf`.
    unsafe {
        let ret = ffi::lyd_print_mem(&mut buf, data.raw(), format as u32, flags.bits());
        if ret != ffi::LY_ERR::LY_SUCCESS {
            take(buf);
            return Err(yang2::Error::new(data.context()));
        }
        Ok(take(buf))
    }
}

/// Prints a module (YANG or YIN).
pub fn module(
    module: &SchemaModule<'_>,
    format: SchemaOutputFormat,
    flags: SchemaPrinterFlags,
) -> Result<String, yang2::Error> {
    let mut buf: *mut c_char = std::ptr::null_mut();
    // SAFETY: the module is live; on success libyang hands over `buf`.
    unsafe {
        let ret = ffi::lys_print_mem(&mut buf, module.as_raw(), format as u32, flags.bits());
        if ret != ffi::LY_ERR::LY_SUCCESS {
            take(buf);
            return Err(yang2::Error {
                errcode: ret,
                msg: Some(format!("cannot print module {}", module.name())),
                path: None,
                apptag: None,
            });
        }
        Ok(take(buf).unwrap_or_default())
    }
}

/// A data node's path, whole.
pub trait NodePath {
    /// The data path of the node (libyang's standard form, keys in
    /// predicates), whole: yang2's `DataNodeRef::path` prints into a 4 KiB
    /// buffer, which cuts the path of a node whose keys are long (the cut path
    /// then reads as a different, malformed one). Empty only if libyang cannot
    /// allocate.
    fn data_path(&self) -> String;
}

impl NodePath for yang2::data::DataNodeRef<'_, '_> {
    fn data_path(&self) -> String {
        path(self)
    }
}

/// See [`NodePath::data_path`].
pub fn path(node: &yang2::data::DataNodeRef<'_, '_>) -> String {
    // SAFETY: the node is live; with no buffer given libyang allocates the
    // path and hands it over.
    unsafe {
        let buf = ffi::lyd_path(
            node.as_raw(),
            ffi::LYD_PATH_TYPE::LYD_PATH_STD,
            std::ptr::null_mut(),
            0,
        );
        take(buf).unwrap_or_default()
    }
}
