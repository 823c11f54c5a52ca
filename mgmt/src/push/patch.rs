//! On-change updates as YANG Patch (RFC 8072) edits, as `push-change-update`
//! carries them (RFC 8641 §3.7): the difference between what was last
//! pushed and the selection now, by libyang's diff.

use serde_json::{Map, Value, json};
use yang2::context::Context;
use yang2::data::{DataDiffFlags, DataDiffOp};

use nectar_yang::encoding::{self, PrintOptions};
use nectar_yang::path::DataPath;

use super::{ChangeType, YP};
use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// One edit: operation, target (RESTCONF data resource path relative to
/// the datastore) and, for create and replace, the new value.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub op: ChangeType,
    pub target: String,
    pub value: Option<Value>,
}

/// The edits that turn `old` into `new`, without the excluded kinds; and
/// how many were excluded.
pub fn edits(
    ctx: &Context,
    old: &Tree,
    new: &Tree,
    excluded: &[ChangeType],
) -> Result<(Vec<Edit>, u64), MgmtError> {
    let diff = old.diff(new, DataDiffFlags::empty())?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for (op, node) in diff.iter() {
        let op = match op {
            DataDiffOp::Create => ChangeType::Create,
            DataDiffOp::Delete => ChangeType::Delete,
            DataDiffOp::Replace => ChangeType::Replace,
        };
        if excluded.contains(&op) {
            skipped += 1;
            continue;
        }
        let path = node.path();
        let target = DataPath::parse_xpath(ctx, &path)
            .map(|p| p.to_uri())
            .map_err(|e| MgmtError::operation_failed(format!("{path}: {e}")))?;
        let value = match op {
            ChangeType::Delete => None,
            _ => match ly::find(new, &path)? {
                Some(n) => {
                    let text = encoding::print_node(&n, &PrintOptions::json().siblings(false))
                        .map_err(|e| MgmtError::operation_failed(e.to_string()))?;
                    Some(serde_json::from_str(&text).map_err(|e| {
                        MgmtError::operation_failed(format!("printed value of {path}: {e}"))
                    })?)
                }
                None => None,
            },
        };
        out.push(Edit { op, target, value });
    }
    Ok((out, skipped))
}

/// The `push-change-update` notification of subscription `id`, as RFC 7951
/// JSON.
pub fn notification(id: u32, patch_no: u64, edits: Vec<Edit>) -> String {
    let edits: Vec<Value> = edits
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let mut m = Map::new();
            m.insert("edit-id".into(), json!(format!("edit{}", i + 1)));
            m.insert("operation".into(), json!(e.op.as_str()));
            m.insert("target".into(), json!(e.target));
            if let Some(v) = e.value {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        })
        .collect();
    json!({
        format!("{YP}:push-change-update"): {
            "id": id,
            "datastore-changes": {
                "yang-patch": {
                    "patch-id": format!("s{id}-p{patch_no}"),
                    "edit": edits,
                }
            }
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(ctx: &'static Context, json: &str) -> Tree {
        ly::parse_json(ctx, json).unwrap()
    }

    #[test]
    fn a_created_entry_is_one_edit_and_a_changed_leaf_a_replace() {
        let ctx = ly::test_ctx();
        let old = tree(
            ctx,
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","type":"iana-if-type:softwareLoopback","description":"x"}]}}"#,
        );
        let new = tree(
            ctx,
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"a","type":"iana-if-type:softwareLoopback","description":"y"},{"name":"b","type":"iana-if-type:softwareLoopback"}]}}"#,
        );
        let (e, skipped) = edits(ctx, &old, &new, &[]).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].op, ChangeType::Replace);
        assert_eq!(
            e[0].target,
            "/ietf-interfaces:interfaces/interface=a/description"
        );
        assert_eq!(
            e[0].value,
            Some(json!({"ietf-interfaces:description": "y"}))
        );
        assert_eq!(e[1].op, ChangeType::Create);
        assert_eq!(e[1].target, "/ietf-interfaces:interfaces/interface=b");
        let back = edits(ctx, &new, &old, &[ChangeType::Replace]).unwrap();
        assert_eq!(back.1, 1);
        assert_eq!(back.0.len(), 1);
        assert_eq!(back.0[0].op, ChangeType::Delete);
        assert_eq!(back.0[0].value, None);
    }
}
