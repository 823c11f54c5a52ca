//! Values on the wire: the encodings nectar offers (JSON, JSON_IETF, PROTO)
//! and the conversions between YANG data and gNMI `TypedValue`s.
//!
//! A leaf's typed value comes from `nectar_yang::encoding::scalar_value`
//! (libyang's resolved type); this module only maps it to the `TypedValue`
//! members (gNMI §2.2.3). Subtrees are RFC 7951 documents printed by libyang
//! (JSON_IETF), or the same without module prefixes (JSON, §2.3.1).

use nectar_yang::encoding::{self, PrintOptions, ScalarValue};
use serde_json::Value as Json;
use yang2::data::DataNodeRef;
use yang2::schema::SchemaNodeKind;

use crate::error::{Error, Result};
use crate::proto::gnmi as pb;
use crate::proto::gnmi::typed_value::Value as Tv;

/// The encodings nectar serves (Capabilities lists exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Json,
    JsonIetf,
    /// Scalar `TypedValue`s, one update per leaf.
    Proto,
}

impl Encoding {
    /// The encoding a request asks for; BYTES, ASCII and unknown values are
    /// UNIMPLEMENTED (gNMI §3.3.1, §3.5.1.2).
    pub fn from_wire(v: i32) -> Result<Encoding> {
        match pb::Encoding::try_from(v) {
            Ok(pb::Encoding::Json) => Ok(Encoding::Json),
            Ok(pb::Encoding::JsonIetf) => Ok(Encoding::JsonIetf),
            Ok(pb::Encoding::Proto) => Ok(Encoding::Proto),
            Ok(other) => Err(Error::unimplemented(format!(
                "encoding {} is not supported (supported: JSON, JSON_IETF, PROTO)",
                other.as_str_name()
            ))),
            Err(_) => Err(Error::unimplemented(format!("unknown encoding {v}"))),
        }
    }

    pub const SUPPORTED: [pb::Encoding; 3] = [
        pb::Encoding::Json,
        pb::Encoding::JsonIetf,
        pb::Encoding::Proto,
    ];
}

/// The value of a leaf, or of a whole leaf-list (gNMI reports a leaf-list as
/// one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafValue {
    One(ScalarValue),
    Many(Vec<ScalarValue>),
    /// A whole keyless list (see `data::outer_keyless`): its entries as
    /// RFC 7951 JSON (`ietf`) and as gNMI JSON (`plain`).
    Json {
        ietf: Json,
        plain: Json,
    },
}

impl LeafValue {
    /// The value encoded as the request asked.
    pub fn typed(&self, enc: Encoding) -> pb::TypedValue {
        let value = match (self, enc) {
            (LeafValue::One(s), Encoding::Proto) => scalar(s),
            (LeafValue::Many(v), Encoding::Proto) => Tv::LeaflistVal(pb::ScalarArray {
                element: v
                    .iter()
                    .map(|s| pb::TypedValue {
                        value: Some(scalar(s)),
                    })
                    .collect(),
            }),
            (LeafValue::Json { ietf, .. }, Encoding::Proto) => Tv::JsonIetfVal(json_bytes(ietf)),
            (v, Encoding::JsonIetf) => Tv::JsonIetfVal(json_bytes(&v.json(true))),
            (v, Encoding::Json) => Tv::JsonVal(json_bytes(&v.json(false))),
        };
        pb::TypedValue { value: Some(value) }
    }

    fn json(&self, ietf: bool) -> Json {
        let one = |s: &ScalarValue| if ietf { s.to_json() } else { plain_json(s) };
        match self {
            LeafValue::One(s) => one(s),
            LeafValue::Many(v) => Json::Array(v.iter().map(one).collect()),
            LeafValue::Json { ietf: i, plain } => {
                if ietf {
                    i.clone()
                } else {
                    plain.clone()
                }
            }
        }
    }
}

fn json_bytes(v: &Json) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// RFC 7159 JSON (gNMI `JSON`): 64-bit integers and decimals as numbers.
fn plain_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Int64(v) => Json::from(*v),
        ScalarValue::Uint64(v) => Json::from(*v),
        ScalarValue::Decimal64 { digits, precision } => {
            Json::from(*digits as f64 / 10f64.powi(i32::from(*precision)))
        }
        other => other.to_json(),
    }
}

/// The scalar `TypedValue` member of a leaf value (gNMI §2.2.3).
fn scalar(s: &ScalarValue) -> Tv {
    match s {
        ScalarValue::String(v) | ScalarValue::Enum(v) | ScalarValue::InstanceId(v) => {
            Tv::StringVal(v.clone())
        }
        ScalarValue::IdentityRef { .. } | ScalarValue::Bits(_) => Tv::StringVal(s.lexical()),
        ScalarValue::Int8(v) => Tv::IntVal(i64::from(*v)),
        ScalarValue::Int16(v) => Tv::IntVal(i64::from(*v)),
        ScalarValue::Int32(v) => Tv::IntVal(i64::from(*v)),
        ScalarValue::Int64(v) => Tv::IntVal(*v),
        ScalarValue::Uint8(v) => Tv::UintVal(u64::from(*v)),
        ScalarValue::Uint16(v) => Tv::UintVal(u64::from(*v)),
        ScalarValue::Uint32(v) => Tv::UintVal(u64::from(*v)),
        ScalarValue::Uint64(v) => Tv::UintVal(*v),
        ScalarValue::Bool(v) => Tv::BoolVal(*v),
        ScalarValue::Decimal64 { digits, precision } => {
            Tv::DoubleVal(*digits as f64 / 10f64.powi(i32::from(*precision)))
        }
        // The `empty` type has no TypedValue member: present is true.
        ScalarValue::Empty => Tv::BoolVal(true),
        ScalarValue::Binary(b64) => {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(bytes) => Tv::BytesVal(bytes),
                Err(_) => Tv::StringVal(b64.clone()),
            }
        }
    }
}

/// The content of a data node as JSON: a container's or list entry's members,
/// a leaf's value, a leaf-list's values (`siblings` are the leaf-list's other
/// entries). JSON_IETF is RFC 7951 as libyang prints it (names qualified where
/// the module changes, 64-bit numbers as strings); JSON (gNMI §2.3.1, RFC
/// 7159) has no module names and numbers as numbers.
pub fn node_json(node: &DataNodeRef<'_, '_>, ietf: bool) -> Result<Vec<u8>> {
    let kind = node.schema().kind();
    if !ietf || matches!(kind, SchemaNodeKind::Leaf | SchemaNodeKind::LeafList) {
        let v = match kind {
            SchemaNodeKind::LeafList => Json::Array(leaf_list_values(node, ietf)?),
            SchemaNodeKind::Leaf => scalar_json(node, ietf)?,
            _ => inner_json(node)?,
        };
        return Ok(json_bytes(&v));
    }
    let printed = encoding::print_node(node, &PrintOptions::json().siblings(false))
        .map_err(|e| Error::internal(e.to_string()))?;
    let doc: Json = serde_json::from_str(&printed)
        .map_err(|e| Error::internal(format!("libyang printed invalid JSON: {e}")))?;
    // {"module:name": content} or, for a list entry, {"module:name": [content]}.
    let mut inner = match doc {
        Json::Object(m) => m.into_iter().next().map(|(_, v)| v).unwrap_or(Json::Null),
        other => other,
    };
    if kind == SchemaNodeKind::List
        && let Json::Array(mut entries) = inner
    {
        inner = if entries.is_empty() {
            Json::Object(Default::default())
        } else {
            entries.swap_remove(0)
        };
    }
    if inner.is_null() {
        inner = Json::Object(Default::default());
    }
    Ok(json_bytes(&inner))
}

fn scalar_json(node: &DataNodeRef<'_, '_>, ietf: bool) -> Result<Json> {
    let s = encoding::scalar_value(node).map_err(|e| Error::internal(e.to_string()))?;
    Ok(if ietf { s.to_json() } else { plain_json(&s) })
}

/// Every entry of the leaf-list `node` belongs to, in order.
fn leaf_list_values(node: &DataNodeRef<'_, '_>, ietf: bool) -> Result<Vec<Json>> {
    let schema = node.schema();
    node.inclusive_siblings()
        .filter(|n| n.schema() == schema)
        .map(|n| scalar_json(&n, ietf))
        .collect()
}

/// gNMI JSON of a container or list entry: explicit nodes only (as the
/// RFC 7951 printer with with-defaults `explicit`), names without modules.
fn inner_json(node: &DataNodeRef<'_, '_>) -> Result<Json> {
    members_json(node.children())
}

/// gNMI JSON of the top-level nodes of a tree (the root's content).
pub fn tree_json(tree: &yang2::data::DataTree<'_>) -> Result<Vec<u8>> {
    let top = tree.reference();
    let v = members_json(top.into_iter().flat_map(|r| r.inclusive_siblings()))?;
    Ok(json_bytes(&v))
}

fn members_json<'a, 'b: 'a>(nodes: impl Iterator<Item = DataNodeRef<'a, 'b>>) -> Result<Json> {
    let mut m = serde_json::Map::new();
    for c in nodes {
        let schema = c.schema();
        let name = schema.name().to_string();
        match schema.kind() {
            // Implicit defaults are left out, as with-defaults `explicit`.
            SchemaNodeKind::Leaf | SchemaNodeKind::LeafList if c.is_default() => {}
            SchemaNodeKind::Leaf => {
                m.insert(name, scalar_json(&c, false)?);
            }
            SchemaNodeKind::LeafList => {
                let v = scalar_json(&c, false)?;
                match m.entry(name).or_insert_with(|| Json::Array(Vec::new())) {
                    Json::Array(a) => a.push(v),
                    other => *other = Json::Array(vec![v]),
                }
            }
            SchemaNodeKind::List => {
                let v = inner_json(&c)?;
                match m.entry(name).or_insert_with(|| Json::Array(Vec::new())) {
                    Json::Array(a) => a.push(v),
                    other => *other = Json::Array(vec![v]),
                }
            }
            SchemaNodeKind::Container => {
                let v = inner_json(&c)?;
                let empty = matches!(&v, Json::Object(o) if o.is_empty());
                if !empty || !schema.is_np_container() {
                    m.insert(name, v);
                }
            }
            _ => {}
        }
    }
    Ok(Json::Object(m))
}

/// What a Set operation carries: a JSON document for the node, or the
/// lexical form(s) of a scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Json {
        value: Json,
        ietf: bool,
    },
    Scalar(String),
    List(Vec<String>),
    /// JSON-typed bytes that are not JSON: taken as a leaf's string value,
    /// refused (with the JSON error) anywhere else.
    Unquoted {
        text: String,
        error: String,
    },
}

/// Reads a Set operation's value (gNMI §3.4.3).
pub fn set_value(tv: Option<&pb::TypedValue>) -> Result<SetValue> {
    let v = tv
        .and_then(|t| t.value.as_ref())
        .ok_or_else(|| Error::invalid("an update carries no value (val is unset)"))?;
    Ok(match v {
        Tv::JsonVal(b) | Tv::JsonIetfVal(b) => match serde_json::from_slice(b) {
            Ok(value) => SetValue::Json {
                value,
                ietf: matches!(v, Tv::JsonIetfVal(_)),
            },
            // Some clients (pygnmi with a Python str) send a leaf's string
            // value unquoted: usable for a leaf only, see `Unquoted`.
            Err(e) => match std::str::from_utf8(b) {
                Ok(text) if !text.trim_start().starts_with(['{', '[', '"']) => SetValue::Unquoted {
                    text: text.to_string(),
                    error: e.to_string(),
                },
                _ => return Err(Error::invalid(format!("the value is not valid JSON: {e}"))),
            },
        },
        Tv::LeaflistVal(arr) => SetValue::List(
            arr.element
                .iter()
                .map(|e| match &e.value {
                    Some(Tv::LeaflistVal(_)) | Some(Tv::JsonVal(_)) | Some(Tv::JsonIetfVal(_)) => {
                        Err(Error::invalid("leaflist_val members must be scalar"))
                    }
                    Some(s) => scalar_lexical(s),
                    None => Err(Error::invalid("a leaflist_val member is empty")),
                })
                .collect::<Result<_>>()?,
        ),
        other => SetValue::Scalar(scalar_lexical(other)?),
    })
}

/// The YANG lexical form of a scalar TypedValue (deprecated members
/// included: old clients still send them).
#[allow(deprecated)]
fn scalar_lexical(v: &Tv) -> Result<String> {
    Ok(match v {
        Tv::StringVal(s) | Tv::AsciiVal(s) => s.clone(),
        Tv::IntVal(i) => i.to_string(),
        Tv::UintVal(u) => u.to_string(),
        Tv::BoolVal(b) => b.to_string(),
        Tv::DoubleVal(d) => d.to_string(),
        Tv::FloatVal(f) => f.to_string(),
        Tv::DecimalVal(d) => ScalarValue::Decimal64 {
            digits: d.digits,
            precision: u8::try_from(d.precision)
                .map_err(|_| Error::invalid("decimal precision out of range"))?,
        }
        .lexical(),
        Tv::BytesVal(b) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Tv::AnyVal(_) | Tv::ProtoBytes(_) => {
            return Err(Error::unimplemented(
                "any_val and proto_bytes values are not supported; use a scalar or JSON value",
            ));
        }
        Tv::LeaflistVal(_) | Tv::JsonVal(_) | Tv::JsonIetfVal(_) => {
            return Err(Error::invalid("expected a scalar value"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_members_follow_the_yang_type() {
        let v = LeafValue::One(ScalarValue::Uint64(7)).typed(Encoding::Proto);
        assert_eq!(v.value, Some(Tv::UintVal(7)));
        let v = LeafValue::One(ScalarValue::Uint64(7)).typed(Encoding::JsonIetf);
        assert_eq!(v.value, Some(Tv::JsonIetfVal(b"\"7\"".to_vec())));
        let v = LeafValue::One(ScalarValue::Uint64(7)).typed(Encoding::Json);
        assert_eq!(v.value, Some(Tv::JsonVal(b"7".to_vec())));
        let v = LeafValue::Many(vec![ScalarValue::Int8(-1), ScalarValue::Int8(2)])
            .typed(Encoding::Proto);
        match v.value {
            Some(Tv::LeaflistVal(a)) => assert_eq!(a.element.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_values_read_scalars_and_json() {
        let tv = pb::TypedValue {
            value: Some(Tv::UintVal(1500)),
        };
        assert_eq!(
            set_value(Some(&tv)).unwrap(),
            SetValue::Scalar("1500".into())
        );
        let tv = pb::TypedValue {
            value: Some(Tv::JsonIetfVal(b"{\"a\":1}".to_vec())),
        };
        assert!(matches!(
            set_value(Some(&tv)).unwrap(),
            SetValue::Json { ietf: true, .. }
        ));
        assert!(set_value(None).is_err());
    }
}
