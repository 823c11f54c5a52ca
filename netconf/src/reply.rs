//! Building `<rpc-reply>` messages, and the one place where management-core
//! errors become RFC 6241 Appendix A `<rpc-error>` elements.

use std::fmt::Write as _;

use nectar_mgmt::error::{ErrorTag, ErrorType, MgmtError};
use yang2::context::Context;

use crate::xml::{Attr, escape_attr, escape_text};

/// The NETCONF base namespace.
pub const BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// The attributes of an `<rpc>` that the reply echoes (RFC 6241 §4.2), with
/// the namespace declarations they need.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub attrs: Vec<Attr>,
    /// Declarations for prefixed attributes: (prefix, uri).
    pub decls: Vec<(String, String)>,
}

impl Echo {
    fn write(&self, out: &mut String) {
        for (p, u) in &self.decls {
            let _ = write!(out, " xmlns:{p}=\"{}\"", escape_attr(u));
        }
        for a in &self.attrs {
            let _ = write!(out, " {}=\"{}\"", a.qname, escape_attr(&a.value));
        }
    }
}

fn open(out: &mut String, echo: &Echo) {
    let _ = write!(out, "<rpc-reply xmlns=\"{BASE_NS}\"");
    echo.write(out);
    out.push('>');
}

/// `<rpc-reply><ok/></rpc-reply>`.
pub fn ok(echo: &Echo) -> String {
    let mut out = String::with_capacity(128);
    open(&mut out, echo);
    out.push_str("<ok/></rpc-reply>");
    out
}

/// A reply carrying `body` (already XML, e.g. `<data>...</data>`).
pub fn body(echo: &Echo, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 128);
    open(&mut out, echo);
    out.push_str(body);
    out.push_str("</rpc-reply>");
    out
}

/// A reply with one `<rpc-error>` per problem.
pub fn errors(ctx: Option<&Context>, echo: &Echo, errs: &[MgmtError]) -> String {
    let mut out = String::with_capacity(512);
    open(&mut out, echo);
    for e in errs {
        rpc_error(&mut out, ctx, e, "error");
    }
    out.push_str("</rpc-reply>");
    out
}

/// Names of the `error-info` elements RFC 6241 defines in the base namespace.
const BASE_INFO: &[&str] = &[
    "session-id",
    "bad-attribute",
    "bad-element",
    "bad-namespace",
    "ok-element",
    "err-element",
    "noop-element",
];

fn rpc_error(out: &mut String, ctx: Option<&Context>, e: &MgmtError, severity: &str) {
    out.push_str("<rpc-error>");
    let _ = write!(out, "<error-type>{}</error-type>", e.error_type.as_str());
    let _ = write!(out, "<error-tag>{}</error-tag>", e.tag.as_str());
    let _ = write!(out, "<error-severity>{severity}</error-severity>");
    if let Some(app) = &e.app_tag {
        let _ = write!(out, "<error-app-tag>{}</error-app-tag>", escape_text(app));
    }
    if let Some(path) = &e.path {
        out.push_str("<error-path");
        // The path uses module names as prefixes: declare each of them.
        for (m, ns) in path_prefixes(ctx, path) {
            let _ = write!(out, " xmlns:{m}=\"{}\"", escape_attr(&ns));
        }
        let _ = write!(out, ">{}</error-path>", escape_text(path));
    }
    if !e.message.is_empty() {
        let _ = write!(
            out,
            "<error-message xml:lang=\"en\">{}</error-message>",
            escape_text(&e.message)
        );
    }
    if !e.info.is_empty() {
        out.push_str("<error-info>");
        let mut open: Option<&str> = None;
        for (name, value) in &e.info {
            // `module:structure/leaf`: a leaf of a yang-data structure
            // (RFC 8639 *-error-info), nested in it.
            let nested = name.split_once('/');
            let structure = nested.map(|(s, _)| s);
            if open.is_some() && open != structure {
                if let Some((_, local)) = open.and_then(|s| s.split_once(':')) {
                    let _ = write!(out, "</{local}>");
                }
                open = None;
            }
            if let Some((structure, leaf)) = nested
                && let Some((m, local)) = structure.split_once(':')
                && let Some(ns) = ctx
                    .and_then(|c| c.get_module_latest(m))
                    .map(|m| m.namespace().to_string())
            {
                if open.is_none() {
                    let _ = write!(out, "<{local} xmlns=\"{}\">", escape_attr(&ns));
                    open = Some(structure);
                }
                // An identity value (`module:name`): its prefix declared.
                match value.split_once(':').and_then(|(vm, _)| {
                    ctx.and_then(|c| c.get_module_latest(vm))
                        .map(|m| (vm, m.namespace().to_string()))
                }) {
                    Some((vm, vns)) => {
                        let _ = write!(
                            out,
                            "<{leaf} xmlns:{vm}=\"{}\">{}</{leaf}>",
                            escape_attr(&vns),
                            escape_text(value)
                        );
                    }
                    None => {
                        let _ = write!(out, "<{leaf}>{}</{leaf}>", escape_text(value));
                    }
                }
                continue;
            }
            if BASE_INFO.contains(&name.as_str()) {
                let _ = write!(out, "<{name}>{}</{name}>", escape_text(value));
            } else if let Some((m, local)) = name.split_once(':')
                && let Some(ns) = ctx
                    .and_then(|c| c.get_module_latest(m))
                    .map(|m| m.namespace().to_string())
            {
                let _ = write!(
                    out,
                    "<{local} xmlns=\"{}\">{}</{local}>",
                    escape_attr(&ns),
                    escape_text(value)
                );
            } else {
                let _ = write!(out, "<{name}>{}</{name}>", escape_text(value));
            }
        }
        if let Some((_, local)) = open.and_then(|s| s.split_once(':')) {
            let _ = write!(out, "</{local}>");
        }
        out.push_str("</error-info>");
    }
    out.push_str("</rpc-error>");
}

/// The module-name prefixes used in a JSON-style path, with their namespaces.
fn path_prefixes(ctx: Option<&Context>, path: &str) -> Vec<(String, String)> {
    let Some(ctx) = ctx else { return Vec::new() };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut token = String::new();
    for c in path.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                token.clear();
            }
            ':' => {
                if !token.is_empty()
                    && !out.iter().any(|(m, _)| *m == token)
                    && let Some(m) = ctx.get_module_latest(&token)
                {
                    out.push((token.clone(), m.namespace().to_string()));
                }
                token.clear();
            }
            c if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' => token.push(c),
            _ => token.clear(),
        }
    }
    out
}

/// An error about the message itself (RFC 6241 §4.3: reply even when the
/// rpc cannot be parsed).
pub fn malformed(message: impl Into<String>) -> MgmtError {
    MgmtError::new(ErrorType::Rpc, ErrorTag::MalformedMessage, message)
}

/// `missing-attribute` with its error-info.
pub fn missing_attribute(attr: &str, element: &str) -> MgmtError {
    MgmtError::new(
        ErrorType::Rpc,
        ErrorTag::MissingAttribute,
        format!("the {element} element has no {attr} attribute"),
    )
    .with_info("bad-attribute", attr)
    .with_info("bad-element", element)
}

/// `unknown-element` with its error-info.
pub fn unknown_element(error_type: ErrorType, element: &str) -> MgmtError {
    MgmtError::new(
        error_type,
        ErrorTag::UnknownElement,
        format!("unknown element {element}"),
    )
    .with_info("bad-element", element)
}

/// `missing-element` with its error-info.
pub fn missing_element(error_type: ErrorType, element: &str) -> MgmtError {
    MgmtError::new(
        error_type,
        ErrorTag::MissingElement,
        format!("the {element} element is missing"),
    )
    .with_info("bad-element", element)
}

/// `bad-element` with its error-info.
pub fn bad_element(error_type: ErrorType, element: &str, why: &str) -> MgmtError {
    MgmtError::new(error_type, ErrorTag::BadElement, why.to_string())
        .with_info("bad-element", element)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_denied_as_appendix_a() {
        let e = MgmtError::lock_denied(7);
        let s = errors(None, &Echo::default(), &[e]);
        assert_eq!(
            s,
            format!(
                "<rpc-reply xmlns=\"{BASE_NS}\"><rpc-error><error-type>protocol</error-type>\
<error-tag>lock-denied</error-tag><error-severity>error</error-severity>\
<error-message xml:lang=\"en\">the datastore is locked by session 7</error-message>\
<error-info><session-id>7</session-id></error-info></rpc-error></rpc-reply>"
            )
        );
    }

    #[test]
    fn echo_attributes() {
        let echo = Echo {
            attrs: vec![
                Attr {
                    qname: "message-id".into(),
                    local: "message-id".into(),
                    ns: None,
                    value: "1\"".into(),
                },
                Attr {
                    qname: "x:a".into(),
                    local: "a".into(),
                    ns: Some("urn:x".into()),
                    value: "v".into(),
                },
            ],
            decls: vec![("x".into(), "urn:x".into())],
        };
        assert_eq!(
            ok(&echo),
            format!(
                "<rpc-reply xmlns=\"{BASE_NS}\" xmlns:x=\"urn:x\" message-id=\"1&quot;\" x:a=\"v\"><ok/></rpc-reply>"
            )
        );
    }
}
