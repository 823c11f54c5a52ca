//! [`ScalarValue`]: the typed value of a leaf or leaf-list entry, neutral of
//! libyang and of gNMI.

use crate::print::NodePath;
use std::fmt;

use yang2::data::DataNodeRef;

use super::raw::{self, types};
use crate::{Error, Result};

/// The value of a leaf or leaf-list entry, typed by its resolved YANG type
/// (the matching member of a union, the target of a leafref).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScalarValue {
    String(String),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Uint8(u8),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Bool(bool),
    /// `digits * 10^-precision`; precision is the type's fraction-digits.
    Decimal64 {
        digits: i64,
        precision: u8,
    },
    /// The `empty` type (a flag leaf that is present).
    Empty,
    /// An enumeration value: its name.
    Enum(String),
    /// An identity, named with its module as in RFC 7951:
    /// `iana-if-type:ethernetCsmacd`.
    IdentityRef {
        module: String,
        name: String,
    },
    /// The names of the set bits, in schema order.
    Bits(Vec<String>),
    /// Binary data in base64, as JSON and XML carry it.
    Binary(String),
    /// An instance-identifier in JSON form.
    InstanceId(String),
}

impl ScalarValue {
    /// The lexical form libyang accepts when setting the value
    /// (`new_path`), in JSON conventions (identities `module:name`).
    pub fn lexical(&self) -> String {
        match self {
            ScalarValue::String(s)
            | ScalarValue::Enum(s)
            | ScalarValue::Binary(s)
            | ScalarValue::InstanceId(s) => s.clone(),
            ScalarValue::Int8(v) => v.to_string(),
            ScalarValue::Int16(v) => v.to_string(),
            ScalarValue::Int32(v) => v.to_string(),
            ScalarValue::Int64(v) => v.to_string(),
            ScalarValue::Uint8(v) => v.to_string(),
            ScalarValue::Uint16(v) => v.to_string(),
            ScalarValue::Uint32(v) => v.to_string(),
            ScalarValue::Uint64(v) => v.to_string(),
            ScalarValue::Bool(v) => v.to_string(),
            ScalarValue::Decimal64 { digits, precision } => decimal_string(*digits, *precision),
            ScalarValue::Empty => String::new(),
            ScalarValue::IdentityRef { module, name } => format!("{module}:{name}"),
            ScalarValue::Bits(bits) => bits.join(" "),
        }
    }

    /// The RFC 7951 JSON value: 64-bit integers and decimal64 as strings,
    /// `empty` as `[null]`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            ScalarValue::Int8(v) => Value::from(*v),
            ScalarValue::Int16(v) => Value::from(*v),
            ScalarValue::Int32(v) => Value::from(*v),
            ScalarValue::Uint8(v) => Value::from(*v),
            ScalarValue::Uint16(v) => Value::from(*v),
            ScalarValue::Uint32(v) => Value::from(*v),
            ScalarValue::Bool(v) => Value::from(*v),
            ScalarValue::Empty => Value::Array(vec![Value::Null]),
            other => Value::String(other.lexical()),
        }
    }
}

impl fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lexical())
    }
}

fn decimal_string(digits: i64, precision: u8) -> String {
    let neg = digits < 0;
    let abs = digits.unsigned_abs().to_string();
    let p = precision as usize;
    let (int, frac) = if p == 0 {
        (abs.as_str().to_string(), "0".to_string())
    } else if abs.len() > p {
        (
            abs[..abs.len() - p].to_string(),
            abs[abs.len() - p..].to_string(),
        )
    } else {
        ("0".to_string(), format!("{abs:0>p$}"))
    };
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// Reads the typed value of a leaf or leaf-list entry.
pub fn scalar_value(node: &DataNodeRef<'_, '_>) -> Result<ScalarValue> {
    let not_term = || Error::Path {
        path: node.data_path(),
        reason: "not a leaf or leaf-list entry: it has no value".into(),
    };
    let resolved = raw::resolved(node).ok_or_else(not_term)?;
    let canonical = node.value_canonical().unwrap_or_default();
    let bad = |what: &str| Error::Libyang {
        message: format!("cannot read {what} value {canonical:?}"),
        path: Some(node.data_path()),
        app_tag: None,
    };
    Ok(match resolved.basetype {
        types::INT8 => ScalarValue::Int8(canonical.parse().map_err(|_| bad("int8"))?),
        types::INT16 => ScalarValue::Int16(canonical.parse().map_err(|_| bad("int16"))?),
        types::INT32 => ScalarValue::Int32(canonical.parse().map_err(|_| bad("int32"))?),
        types::INT64 => ScalarValue::Int64(canonical.parse().map_err(|_| bad("int64"))?),
        types::UINT8 => ScalarValue::Uint8(canonical.parse().map_err(|_| bad("uint8"))?),
        types::UINT16 => ScalarValue::Uint16(canonical.parse().map_err(|_| bad("uint16"))?),
        types::UINT32 => ScalarValue::Uint32(canonical.parse().map_err(|_| bad("uint32"))?),
        types::UINT64 => ScalarValue::Uint64(canonical.parse().map_err(|_| bad("uint64"))?),
        types::BOOL => ScalarValue::Bool(canonical == "true"),
        types::DEC64 => {
            let (digits, precision) = resolved.dec64.ok_or_else(|| bad("decimal64"))?;
            ScalarValue::Decimal64 { digits, precision }
        }
        types::EMPTY => ScalarValue::Empty,
        types::ENUM => ScalarValue::Enum(canonical),
        types::IDENT => match canonical.split_once(':') {
            Some((m, n)) => ScalarValue::IdentityRef {
                module: m.to_string(),
                name: n.to_string(),
            },
            None => return Err(bad("identityref")),
        },
        types::BITS => {
            ScalarValue::Bits(canonical.split_whitespace().map(str::to_string).collect())
        }
        types::BINARY => ScalarValue::Binary(canonical),
        types::INST => ScalarValue::InstanceId(canonical),
        types::STRING => ScalarValue::String(canonical),
        _ => ScalarValue::String(canonical),
    })
}
