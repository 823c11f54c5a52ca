//! RESTCONF data resource paths (RFC 8040 §3.5.3): `api-identifier` steps,
//! `list=k1,k2` key values in schema key order, percent-encoding.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::schema::NodeKind;
use super::{PathNode, RawStep, path_error, split_qname};
use crate::Result;

/// Everything but RFC 3986 unreserved characters is encoded in a key value:
/// the reserved `:/?#[]@!$&'()*+,;=`, `%`, space, `"` and non-ASCII bytes.
const KEY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one key value for a RESTCONF URI.
pub fn encode_uri_value(value: &str) -> String {
    utf8_percent_encode(value, KEY_VALUE).to_string()
}

/// Percent-decodes one key value; a `%` not followed by two hex digits or a
/// result that is not UTF-8 is an error (the reason is returned).
pub fn decode_uri_value(value: &str) -> std::result::Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                let shown: String = value[i..].chars().take(3).collect();
                return Err(format!(
                    "bad percent-encoding {shown:?} in {value:?} (expected % and two hex digits)"
                ));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("percent-decoded value of {value:?} is not UTF-8"))
}

pub(super) fn print(nodes: &[PathNode]) -> String {
    if nodes.is_empty() {
        return "/".to_string();
    }
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for node in nodes {
        out.push('/');
        if prev != Some(node.module.as_str()) {
            out.push_str(&node.module);
            out.push(':');
        }
        out.push_str(&node.name);
        if !node.keys.is_empty() {
            out.push('=');
            let values: Vec<String> = node.keys.iter().map(|(_, v)| encode_uri_value(v)).collect();
            out.push_str(&values.join(","));
        } else if let (NodeKind::LeafList, Some(v)) = (node.kind, &node.value) {
            out.push('=');
            out.push_str(&encode_uri_value(v));
        }
        prev = Some(&node.module);
    }
    out
}

pub(super) fn parse(uri: &str) -> Result<Vec<RawStep>> {
    if uri == "/" || uri.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = uri.strip_prefix('/') else {
        return Err(path_error(uri, "a RESTCONF data path must start with '/'"));
    };
    if rest.contains(['?', '#']) {
        return Err(path_error(
            uri,
            "the path must not contain a query or fragment",
        ));
    }
    let mut steps = Vec::new();
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err(path_error(uri, "empty path segment ('//' or trailing '/')"));
        }
        let (ident, values) = match segment.split_once('=') {
            Some((i, v)) => (i, Some(v)),
            None => (segment, None),
        };
        let (module, name) = split_qname(uri, ident)?;
        let mut step = RawStep::named(module, name);
        if let Some(values) = values {
            let decoded = values
                .split(',')
                .map(|v| decode_uri_value(v).map_err(|reason| path_error(uri, reason)))
                .collect::<Result<Vec<_>>>()?;
            step.positional = Some(decoded);
        }
        steps.push(step);
    }
    Ok(steps)
}
