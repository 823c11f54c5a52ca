//! On-change updates as YANG Patch (RFC 8072) edits, as `push-change-update`
//! carries them (RFC 8641 §3.7): the difference between what was last
//! pushed and the selection now, by libyang's diff.

use nectar_yang::print::NodePath;
use serde_json::{Map, Value, json};
use yang2::context::Context;
use yang2::data::{DataDiffFlags, DataDiffOp};

use nectar_yang::encoding::{self, Format, PrintOptions};
use nectar_yang::path::DataPath;

use super::{ChangeType, YP};
use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// One edit: operation, target (RESTCONF data resource path relative to
/// the datastore) and, for create and replace, the new value as libyang
/// prints the node in the subscription's encoding (so an identity in XML
/// carries its namespace declaration).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub op: ChangeType,
    pub target: String,
    pub value: Option<String>,
}

/// The edits that turn `old` into `new`, without the excluded kinds; and
/// how many were excluded.
pub fn edits(
    ctx: &Context,
    old: &Tree,
    new: &Tree,
    excluded: &[ChangeType],
    format: Format,
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
        let path = node.data_path();
        let target = DataPath::parse_xpath(ctx, &path)
            .map(|p| p.to_uri())
            .map_err(|e| MgmtError::operation_failed(format!("{path}: {e}")))?;
        let value = match op {
            ChangeType::Delete => None,
            _ => match ly::find(new, &path)? {
                Some(n) => Some(
                    encoding::print_node(&n, &PrintOptions::new(format).siblings(false))
                        .map_err(|e| MgmtError::operation_failed(e.to_string()))?,
                ),
                None => None,
            },
        };
        out.push(Edit { op, target, value });
    }
    Ok((out, skipped))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `push-change-update` notification of subscription `id` in the
/// encoding its edits were printed in: the notification node, ready for
/// the envelope.
pub fn notification(
    id: u32,
    patch_no: u64,
    edits: Vec<Edit>,
    format: Format,
) -> Result<String, MgmtError> {
    let patch_id = format!("s{id}-p{patch_no}");
    match format {
        Format::Json => {
            let mut list = Vec::with_capacity(edits.len());
            for (i, e) in edits.into_iter().enumerate() {
                let mut m = Map::new();
                m.insert("edit-id".into(), json!(format!("edit{}", i + 1)));
                m.insert("operation".into(), json!(e.op.as_str()));
                m.insert("target".into(), json!(e.target));
                if let Some(v) = e.value {
                    let v: Value = serde_json::from_str(&v)
                        .map_err(|e| MgmtError::operation_failed(format!("printed value: {e}")))?;
                    m.insert("value".into(), v);
                }
                list.push(Value::Object(m));
            }
            Ok(json!({
                format!("{YP}:push-change-update"): {
                    "id": id,
                    "datastore-changes": {
                        "yang-patch": { "patch-id": patch_id, "edit": list }
                    }
                }
            })
            .to_string())
        }
        Format::Xml => {
            let mut s = format!(
                "<push-change-update xmlns=\"urn:ietf:params:xml:ns:yang:{YP}\"><id>{id}</id>\
                 <datastore-changes><yang-patch><patch-id>{patch_id}</patch-id>"
            );
            for (i, e) in edits.into_iter().enumerate() {
                s.push_str(&format!(
                    "<edit><edit-id>edit{}</edit-id><operation>{}</operation><target>{}</target>",
                    i + 1,
                    e.op.as_str(),
                    xml_escape(&e.target)
                ));
                if let Some(v) = e.value {
                    s.push_str("<value>");
                    s.push_str(&v);
                    s.push_str("</value>");
                }
                s.push_str("</edit>");
            }
            s.push_str("</yang-patch></datastore-changes></push-change-update>");
            Ok(s)
        }
    }
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
        let (e, skipped) = edits(ctx, &old, &new, &[], Format::Json).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].op, ChangeType::Replace);
        assert_eq!(
            e[0].target,
            "/ietf-interfaces:interfaces/interface=a/description"
        );
        assert_eq!(
            e[0].value.as_deref(),
            Some(r#"{"ietf-interfaces:description":"y"}"#)
        );
        assert_eq!(e[1].op, ChangeType::Create);
        assert_eq!(e[1].target, "/ietf-interfaces:interfaces/interface=b");
        let back = edits(ctx, &new, &old, &[ChangeType::Replace], Format::Json).unwrap();
        assert_eq!(back.1, 1);
        assert_eq!(back.0.len(), 1);
        assert_eq!(back.0[0].op, ChangeType::Delete);
        assert_eq!(back.0[0].value, None);
        // In XML an identity keeps its namespace: the entry as libyang
        // prints it.
        let (x, _) = edits(ctx, &old, &new, &[], Format::Xml).unwrap();
        let v = x[1].value.as_deref().unwrap();
        assert!(
            v.contains("xmlns:ianaift=") && v.contains(">ianaift:softwareLoopback<"),
            "{v}"
        );
        let n = notification(3, 1, x, Format::Xml).unwrap();
        assert!(
            n.starts_with("<push-change-update")
                && n.contains("<target>/ietf-interfaces:interfaces/interface=b</target>"),
            "{n}"
        );
    }
}
