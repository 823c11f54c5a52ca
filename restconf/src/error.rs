//! The one place where failures become HTTP: an [`Error`] carries the
//! RFC 6241-style errors of the management core and the status code, and
//! renders them as an `ietf-restconf:errors` body (RFC 8040 §7.1) in JSON or
//! XML. The status is the one RFC 8040 §7 assigns to the first error's
//! `error-tag`, unless the handler knows better (404 for a missing resource,
//! 401 for failed authentication, 405 for a method, 412 for a precondition).

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use nectar_mgmt::{ErrorTag, Errors, MgmtError};
use nectar_yang::encoding::Format;
use yang2::context::Context;

use crate::media;

/// A failed request.
#[derive(Debug)]
pub struct Error {
    pub status: StatusCode,
    pub errors: Vec<MgmtError>,
    /// Extra response headers (`Allow`, `WWW-Authenticate`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// RFC 8040 §7: the status code of an error-tag.
pub fn status_of(tag: ErrorTag) -> StatusCode {
    match tag {
        ErrorTag::InUse
        | ErrorTag::LockDenied
        | ErrorTag::ResourceDenied
        | ErrorTag::DataExists
        | ErrorTag::DataMissing => StatusCode::CONFLICT,
        ErrorTag::InvalidValue
        | ErrorTag::TooBig
        | ErrorTag::MissingAttribute
        | ErrorTag::BadAttribute
        | ErrorTag::UnknownAttribute
        | ErrorTag::MissingElement
        | ErrorTag::BadElement
        | ErrorTag::UnknownElement
        | ErrorTag::UnknownNamespace
        | ErrorTag::MalformedMessage => StatusCode::BAD_REQUEST,
        ErrorTag::AccessDenied => StatusCode::FORBIDDEN,
        ErrorTag::OperationNotSupported => StatusCode::NOT_IMPLEMENTED,
        ErrorTag::RollbackFailed | ErrorTag::OperationFailed | ErrorTag::PartialOperation => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<media::Unsupported> for Error {
    fn from(r: media::Unsupported) -> Self {
        Error::new(r.status, r.error)
    }
}

impl Error {
    pub fn new(status: StatusCode, error: MgmtError) -> Self {
        Error {
            status,
            errors: vec![error],
            headers: Vec::new(),
        }
    }

    /// A protocol error with the tag's own status.
    pub fn protocol(tag: ErrorTag, message: impl Into<String>) -> Self {
        Error::new(status_of(tag), MgmtError::protocol(tag, message))
    }

    /// 400 invalid-value (a bad query parameter, path or body).
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::protocol(ErrorTag::InvalidValue, message)
    }

    /// 400 malformed-message (a body that does not parse).
    pub fn malformed(message: impl Into<String>) -> Self {
        Error::protocol(ErrorTag::MalformedMessage, message)
    }

    /// 404 with error-tag invalid-value: the target resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(
            StatusCode::NOT_FOUND,
            MgmtError::protocol(ErrorTag::InvalidValue, message),
        )
    }

    /// 405 with error-tag operation-not-supported and the `Allow` header.
    pub fn method_not_allowed(allow: &str) -> Self {
        let mut e = Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                format!("the method is not allowed on this resource (allowed: {allow})"),
            ),
        );
        if let Ok(v) = HeaderValue::from_str(allow) {
            e.headers.push((header::ALLOW, v));
        }
        e
    }

    /// 412 with error-tag operation-failed.
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Error::new(
            StatusCode::PRECONDITION_FAILED,
            MgmtError::protocol(ErrorTag::OperationFailed, message),
        )
    }

    /// 401 with error-tag access-denied and the Basic challenge.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut e = Error::new(
            StatusCode::UNAUTHORIZED,
            MgmtError::protocol(ErrorTag::AccessDenied, message),
        );
        e.headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"nectar\", charset=\"UTF-8\""),
        ));
        e
    }

    /// A client over one of the door's bounds (`resource-denied`, RFC 6241
    /// appendix A). RFC 8040 §7 maps the tag to 409 Conflict, which says the
    /// request conflicts with the resource's state: it does not, and a
    /// client would not know to retry. The status says what happened, with
    /// `Retry-After`: 429 Too Many Requests (RFC 6585 §4) when the user's
    /// own bound is reached (the user sent too many at once; others are
    /// served), 503 Service Unavailable (RFC 9110 §15.6.4, a temporary
    /// overload) when the server's total is.
    pub fn refused(r: &nectar_mgmt::limits::Refused) -> Self {
        let status = if r.is_per_user() {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let mut e = Error::new(
            status,
            MgmtError::protocol(ErrorTag::ResourceDenied, r.to_string()),
        );
        e.headers
            .push((header::RETRY_AFTER, HeaderValue::from_static("1")));
        e
    }

    /// 500 operation-failed; `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "restconf: internal error");
        Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            MgmtError::app(ErrorTag::OperationFailed, "internal error"),
        )
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Renders the error as an `ietf-restconf:errors` response.
    pub fn response(self, ctx: &Context, format: Format) -> Response {
        // A refusal by a bound (503 resource-denied) is the server doing its
        // job, not failing: it is not logged as a failure (a client hammering
        // a bound must not flood the log).
        let refusal = self
            .errors
            .first()
            .is_some_and(|e| e.tag == ErrorTag::ResourceDenied);
        if self.status.is_server_error() && !refusal {
            tracing::warn!(status = %self.status, errors = %Errors(self.errors.clone()), "restconf request failed");
        } else {
            tracing::debug!(status = %self.status, errors = %Errors(self.errors.clone()), "restconf request refused");
        }
        let body = render_errors(ctx, &self.errors, format, true);
        let mut resp = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, media::data_type(format))
            .body(Body::from(body))
            .unwrap_or_default();
        for (k, v) in self.headers {
            resp.headers_mut().append(k, v);
        }
        resp
    }
}

impl From<MgmtError> for Error {
    fn from(e: MgmtError) -> Self {
        Error::new(status_of(e.tag), e)
    }
}

impl From<Errors> for Error {
    fn from(e: Errors) -> Self {
        let status =
            e.0.first()
                .map_or(StatusCode::INTERNAL_SERVER_ERROR, |f| status_of(f.tag));
        Error {
            status,
            errors: e.0,
            headers: Vec::new(),
        }
    }
}

impl From<nectar_yang::Error> for Error {
    fn from(e: nectar_yang::Error) -> Self {
        Error::from(MgmtError::from(e))
    }
}

/// The `errors` container: with `wrapped`, as the `ietf-restconf:errors`
/// document; without, as the `errors` child of a yang-patch-status (JSON: the
/// object value; XML: an `<errors>` element in the yang-patch namespace is
/// written by the caller around the returned `<error>` elements).
pub fn render_errors(ctx: &Context, errors: &[MgmtError], format: Format, wrapped: bool) -> String {
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = errors.iter().map(error_json).collect();
            let inner = serde_json::json!({ "error": list });
            if wrapped {
                serde_json::json!({ "ietf-restconf:errors": inner }).to_string()
            } else {
                inner.to_string()
            }
        }
        Format::Xml => {
            let mut out = String::new();
            if wrapped {
                out.push_str(r#"<errors xmlns="urn:ietf:params:xml:ns:yang:ietf-restconf">"#);
            }
            for e in errors {
                error_xml(ctx, e, &mut out);
            }
            if wrapped {
                out.push_str("</errors>");
            }
            out
        }
    }
}

pub(crate) fn error_json(e: &MgmtError) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("error-type".into(), e.error_type.as_str().into());
    m.insert("error-tag".into(), e.tag.as_str().into());
    if let Some(t) = &e.app_tag {
        m.insert("error-app-tag".into(), t.clone().into());
    }
    if let Some(p) = &e.path {
        m.insert("error-path".into(), p.clone().into());
    }
    if !e.message.is_empty() {
        m.insert("error-message".into(), e.message.clone().into());
    }
    if !e.info.is_empty() {
        let mut info = serde_json::Map::new();
        for (k, v) in &e.info {
            match k.split_once('/') {
                // `module:structure/leaf`: a leaf of a yang-data structure
                // (RFC 8639 *-error-info); its counts and hints are numbers.
                Some((structure, leaf)) => {
                    let value = match v.parse::<u64>() {
                        Ok(n) if leaf != "reason" && leaf != "filter-failure-hint" => n.into(),
                        _ => serde_json::Value::String(v.clone()),
                    };
                    if let serde_json::Value::Object(o) = info
                        .entry(structure.to_string())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()))
                    {
                        o.insert(leaf.to_string(), value);
                    }
                }
                None => {
                    info.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
            }
        }
        m.insert("error-info".into(), info.into());
    }
    serde_json::Value::Object(m)
}

fn error_xml(ctx: &Context, e: &MgmtError, out: &mut String) {
    out.push_str("<error><error-type>");
    out.push_str(e.error_type.as_str());
    out.push_str("</error-type><error-tag>");
    out.push_str(e.tag.as_str());
    out.push_str("</error-tag>");
    if let Some(t) = &e.app_tag {
        out.push_str("<error-app-tag>");
        out.push_str(&escape(t));
        out.push_str("</error-app-tag>");
    }
    if let Some(p) = &e.path {
        // An instance-identifier in XML uses prefixes bound to namespaces:
        // the module names of the JSON form serve as the prefixes.
        out.push_str("<error-path");
        for module in path_modules(p) {
            if let Some(m) = ctx.get_module_latest(&module) {
                out.push_str(&format!(" xmlns:{module}=\"{}\"", escape(m.namespace())));
            }
        }
        out.push('>');
        out.push_str(&escape(p));
        out.push_str("</error-path>");
    }
    if !e.message.is_empty() {
        out.push_str("<error-message>");
        out.push_str(&escape(&e.message));
        out.push_str("</error-message>");
    }
    if !e.info.is_empty() {
        out.push_str("<error-info>");
        let mut open: Option<&str> = None;
        let clean = |k: &str| -> String {
            k.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect()
        };
        for (k, v) in &e.info {
            let nested = k.split_once('/');
            let structure = nested.map(|(s, _)| s);
            if open.is_some() && open != structure {
                if let Some((_, local)) = open.and_then(|s| s.split_once(':')) {
                    out.push_str(&format!("</{}>", clean(local)));
                }
                open = None;
            }
            // `module:structure/leaf`: a leaf of a yang-data structure
            // (RFC 8639 *-error-info), nested in it.
            if let Some((structure, leaf)) = nested
                && let Some((m, local)) = structure.split_once(':')
                && let Some(module) = ctx.get_module_latest(m)
            {
                if open.is_none() {
                    out.push_str(&format!(
                        "<{} xmlns=\"{}\">",
                        clean(local),
                        escape(module.namespace())
                    ));
                    open = Some(structure);
                }
                let leaf = clean(leaf);
                match v.split_once(':').and_then(|(vm, _)| {
                    ctx.get_module_latest(vm)
                        .map(|m| (vm, m.namespace().to_string()))
                }) {
                    Some((vm, vns)) => out.push_str(&format!(
                        "<{leaf} xmlns:{}=\"{}\">{}</{leaf}>",
                        clean(vm),
                        escape(&vns),
                        escape(v)
                    )),
                    None => out.push_str(&format!("<{leaf}>{}</{leaf}>", escape(v))),
                }
                continue;
            }
            let name = clean(k);
            out.push_str(&format!("<{name}>{}</{name}>", escape(v)));
        }
        if let Some((_, local)) = open.and_then(|s| s.split_once(':')) {
            out.push_str(&format!("</{}>", clean(local)));
        }
        out.push_str("</error-info>");
    }
    out.push_str("</error>");
}

/// The module names used as prefixes in a JSON-form instance-identifier.
fn path_modules(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in nectar_mgmt::ly::steps(path) {
        let name = step.split_once('[').map_or(step, |(n, _)| n);
        if let Some((module, _)) = name.split_once(':')
            && !out.iter().any(|m| m == module)
        {
            out.push(module.to_string());
        }
    }
    out
}

/// Escapes text for XML character data and attribute values. Characters
/// XML 1.0 forbids (a message may echo them from client input) become
/// U+FFFD, so the document stays well-formed.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push('\u{fffd}'),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
