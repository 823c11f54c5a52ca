//! edit-config's `operation` attributes: their check (RFC 6241 §7.2) and
//! the leaf `delete`/`remove` operations, taken out of the config before
//! libyang parses it (a leaf to delete need not carry a valid value).

use std::collections::HashSet;

use super::*;

/// RFC 6241 §7.2: an `operation` attribute with an unknown value is a
/// bad-attribute.
pub(super) fn check_operations(el: &Element) -> Result<(), MgmtError> {
    for c in el.elements() {
        if let Some(a) = c.attr_ns("operation", BASE_NS)
            && !matches!(
                a.value.as_str(),
                "merge" | "replace" | "create" | "delete" | "remove"
            )
        {
            return Err(MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::BadAttribute,
                format!("unknown operation {:?}", a.value),
            )
            .with_info("bad-attribute", "operation")
            .with_info("bad-element", c.local.clone()));
        }
        check_operations(c)?;
    }
    Ok(())
}

/// The `operation` attribute of an element, if delete or remove.
pub(super) fn delete_op(el: &Element) -> Option<EditOp> {
    let a = el.attr_ns("operation", BASE_NS)?;
    match a.value.as_str() {
        "delete" => Some(EditOp::Delete),
        "remove" => Some(EditOp::Remove),
        _ => None,
    }
}

/// Whether `el` or an element under it carries a `delete` or `remove`
/// operation.
fn deletes_inside(el: &Element) -> bool {
    delete_op(el).is_some() || el.elements().any(deletes_inside)
}

/// Finds the leaves deleted or removed with an empty element
/// (`<mtu nc:operation="delete"/>`): their value is not part of the request
/// and may not parse, so they become delete steps by path (into `found`), and
/// the elements go into `cut`, for the config to be printed without them.
/// `path` is the JSON-style data path of `el`, `module` its module. Subtrees
/// without a delete or remove are not looked at (a bulk merge costs a scan).
pub(super) fn extract_leaf_deletes(
    ctx: &Context,
    el: &Element,
    path: &str,
    module: &str,
    inherited: bool,
    found: &mut Vec<(String, EditOp, bool)>,
    cut: &mut HashSet<usize>,
) {
    for c in el.elements() {
        if !deletes_inside(c) {
            continue;
        }
        let Some(cm) =
            c.ns.as_deref()
                .and_then(|ns| ctx.get_module_latest_ns(ns))
                .map(|m| m.name().to_string())
        else {
            continue;
        };
        let step = if cm == module {
            c.local.clone()
        } else {
            format!("{cm}:{}", c.local)
        };
        let mut cpath = format!("{path}/{step}");
        let schema = ctx.find_path(&ly::schema_path_of(&cpath)).ok();
        let kind = schema.as_ref().map(|s| s.kind());
        if let (Some(op), Some(SchemaNodeKind::Leaf)) = (delete_op(c), kind)
            && filter::is_empty(c)
        {
            found.push((cpath, op, inherited));
            cut.insert(c.address());
            continue;
        }
        if let Some(s) = &schema
            && s.kind() == SchemaNodeKind::List
        {
            for k in s.list_keys() {
                let v = c
                    .elements()
                    .find(|e| e.local == k.name())
                    .map(|e| e.text())
                    .unwrap_or_default();
                cpath.push_str(&format!("[{}={}]", k.name(), filter::quote(v.trim())));
            }
        }
        let inh = inherited || c.attr_ns("operation", BASE_NS).is_some();
        extract_leaf_deletes(ctx, c, &cpath, &cm, inh, found, cut);
    }
}
