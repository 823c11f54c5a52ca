//! Media types (RFC 8040 §5.2, RFC 8072 §4.2.1): which encoding a client
//! accepts (`Accept`, with q-values; 406 when none is supported) and which
//! one a request body is in (`Content-Type`; 415 otherwise).

use axum::http::{HeaderMap, StatusCode, header};
use nectar_mgmt::{ErrorTag, MgmtError};
use nectar_yang::encoding::Format;

/// A request whose media types nectar cannot serve: the status (406 or 415) and why.
/// The error module turns it into an `ietf-restconf:errors` reply.
#[derive(Debug)]
pub struct Unsupported {
    pub status: StatusCode,
    pub error: MgmtError,
}

pub const YANG_DATA_JSON: &str = "application/yang-data+json";
pub const YANG_DATA_XML: &str = "application/yang-data+xml";
pub const YANG_PATCH_JSON: &str = "application/yang-patch+json";
pub const YANG_PATCH_XML: &str = "application/yang-patch+xml";

/// The `Accept-Patch` of data resources (RFC 8040 §4.6, RFC 8072 §2.2).
pub const ACCEPT_PATCH: &str = "application/yang-data+json, application/yang-data+xml, \
                                application/yang-patch+json, application/yang-patch+xml";

pub fn data_type(format: Format) -> &'static str {
    match format {
        Format::Json => YANG_DATA_JSON,
        Format::Xml => YANG_DATA_XML,
    }
}

/// What a request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/yang-data+json|xml`.
    Data(Format),
    /// `application/yang-patch+json|xml`.
    Patch(Format),
}

/// The media type named by a type/subtype (parameters removed, lower case).
fn known(essence: &str) -> Option<BodyKind> {
    Some(match essence {
        YANG_DATA_JSON | "application/json" => BodyKind::Data(Format::Json),
        YANG_DATA_XML | "application/xml" | "text/xml" => BodyKind::Data(Format::Xml),
        YANG_PATCH_JSON => BodyKind::Patch(Format::Json),
        YANG_PATCH_XML => BodyKind::Patch(Format::Xml),
        _ => return None,
    })
}

fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The kind of the request body from `Content-Type`; `None` when the
/// header is absent. An unsupported type is 415.
pub fn content_type(headers: &HeaderMap) -> Result<Option<BodyKind>, Unsupported> {
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("");
    match known(&essence(text)) {
        Some(k) => Ok(Some(k)),
        None => Err(Unsupported {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            error: MgmtError::protocol(
                ErrorTag::InvalidValue,
                format!(
                    "unsupported Content-Type {text:?}: use {YANG_DATA_JSON} or {YANG_DATA_XML} \
                     ({YANG_PATCH_JSON} or {YANG_PATCH_XML} for a YANG Patch)"
                ),
            ),
        }),
    }
}

/// The response encoding from `Accept`: the supported type with the highest
/// q-value (the first on a tie); `default` when the header is absent or
/// accepts anything. No acceptable type is 406.
pub fn accept(headers: &HeaderMap, default: Format) -> Result<Format, Unsupported> {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Ok(default);
    }
    let mut best: Option<(f32, Format)> = None;
    for range in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if essence.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        if q <= 0.0 {
            continue;
        }
        let format = match essence.as_str() {
            "*/*" | "application/*" => default,
            e => match known(e) {
                Some(BodyKind::Data(f)) => f,
                _ => continue,
            },
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    match best {
        Some((_, f)) => Ok(f),
        None => Err(Unsupported {
            status: StatusCode::NOT_ACCEPTABLE,
            error: MgmtError::protocol(
                ErrorTag::InvalidValue,
                format!(
                    "none of the accepted media types is supported: use {YANG_DATA_JSON} or \
                     {YANG_DATA_XML}"
                ),
            ),
        }),
    }
}

/// The encoding of an error body: what the client accepts if it accepts a
/// supported type, else the encoding of its request body, else JSON.
pub fn error_format(headers: &HeaderMap) -> Format {
    let body = match content_type(headers) {
        Ok(Some(BodyKind::Data(f) | BodyKind::Patch(f))) => Some(f),
        _ => None,
    };
    let has_accept = headers.contains_key(header::ACCEPT);
    match accept(headers, body.unwrap_or(Format::Json)) {
        Ok(f) if has_accept => f,
        _ => body.unwrap_or(Format::Json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(name: header::HeaderName, v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn accept_prefers_higher_q_and_rejects_unknown() {
        let m = h(
            header::ACCEPT,
            "application/yang-data+json;q=0.5, application/yang-data+xml",
        );
        assert_eq!(accept(&m, Format::Json).unwrap(), Format::Xml);
        let m = h(header::ACCEPT, "text/html");
        assert_eq!(
            accept(&m, Format::Json).unwrap_err().status,
            StatusCode::NOT_ACCEPTABLE
        );
        let m = h(header::ACCEPT, "*/*");
        assert_eq!(accept(&m, Format::Xml).unwrap(), Format::Xml);
        let m = h(header::ACCEPT, "application/yang-data+xml;q=0");
        assert!(accept(&m, Format::Json).is_err());
    }

    #[test]
    fn content_type_kinds() {
        let m = h(
            header::CONTENT_TYPE,
            "application/yang-patch+xml; charset=utf-8",
        );
        assert_eq!(
            content_type(&m).unwrap(),
            Some(BodyKind::Patch(Format::Xml))
        );
        let m = h(header::CONTENT_TYPE, "text/plain");
        assert_eq!(
            content_type(&m).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
