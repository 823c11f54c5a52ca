//! XPath evaluation over data trees and the schema that frees what libyang
//! returns. yang2's `find_xpath` never frees the `ly_set` libyang allocates
//! for the result (the set and its node array), which leaked memory on every
//! request that evaluated an XPath; every XPath of nectar goes through here.
#![allow(unsafe_code)]

use std::ffi::CString;

use libyang2_sys as ffi;
use yang2::context::Context;
use yang2::data::{Data, DataNodeRef, DataTree};
use yang2::utils::Binding;

use crate::{Error, Result};

fn c_xpath(xpath: &str) -> Result<CString> {
    CString::new(xpath).map_err(|_| Error::Path {
        path: xpath.replace('\0', "\\0"),
        reason: "the XPath contains a NUL character".into(),
    })
}

/// The nodes `xpath` selects in `tree` (none in an empty tree).
pub fn find_all<'t, 'a>(tree: &'t DataTree<'a>, xpath: &str) -> Result<Vec<DataNodeRef<'t, 'a>>> {
    let Some(first) = tree.reference() else {
        return Ok(Vec::new());
    };
    let x = c_xpath(xpath)?;
    let mut set: *mut ffi::ly_set = std::ptr::null_mut();
    // SAFETY: `first` is a live node of `tree`, `x` is NUL-terminated; on
    // success libyang hands over `set`, freed below after its node pointers
    // (which belong to `tree`, not to the set) are copied.
    unsafe {
        let ret = ffi::lyd_find_xpath(first.as_raw(), x.as_ptr(), &mut set);
        if ret != ffi::LY_ERR::LY_SUCCESS {
            if !set.is_null() {
                ffi::ly_set_free(set, None);
            }
            return Err(yang2::Error::new(tree.context()).into());
        }
        let mut out = Vec::new();
        if !set.is_null() {
            let count = (*set).count as usize;
            if count > 0 {
                let nodes = std::slice::from_raw_parts((*set).__bindgen_anon_1.dnodes, count);
                out.reserve(count);
                for &n in nodes {
                    out.push(DataNodeRef::from_raw(tree, n));
                }
            }
            ffi::ly_set_free(set, None);
        }
        Ok(out)
    }
}

/// How many schema nodes `xpath` selects in the context.
pub fn count_schema(ctx: &Context, xpath: &str) -> Result<usize> {
    let x = c_xpath(xpath)?;
    let mut set: *mut ffi::ly_set = std::ptr::null_mut();
    // SAFETY: the context is live (its raw pointer is read the way yang2
    // keeps it: a bitwise copy consumed by into_raw, never dropped); the set
    // libyang returns is freed here.
    unsafe {
        let raw = std::ptr::read(ctx).into_raw();
        let ret = ffi::lys_find_xpath(raw, std::ptr::null(), x.as_ptr(), 0, &mut set);
        if ret != ffi::LY_ERR::LY_SUCCESS {
            if !set.is_null() {
                ffi::ly_set_free(set, None);
            }
            return Err(yang2::Error::new(ctx).into());
        }
        let n = if set.is_null() {
            0
        } else {
            (*set).count as usize
        };
        if !set.is_null() {
            ffi::ly_set_free(set, None);
        }
        Ok(n)
    }
}
