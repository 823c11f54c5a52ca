//! The JSON-form data path / instance-identifier grammar (RFC 7951 §6.11,
//! libyang's data paths): parsing into raw steps, printing, literal quoting.

use super::schema::NodeKind;
use super::{PathNode, RawStep, path_error, split_qname};
use crate::Result;

/// Quotes a value as an XPath literal: `'v'`, or `"v"` when it contains `'`.
/// A value with both quote characters becomes `concat('a',"'",'b')`: XPath 1.0
/// literals have no escapes. libyang's `find_xpath` evaluates `concat()`;
/// its path parser (`find_path`, `new_path`) takes only plain literals.
pub fn quote_literal(value: &str) -> String {
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    if !value.contains('"') {
        return format!("\"{value}\"");
    }
    let mut parts = Vec::new();
    for (i, chunk) in value.split('\'').enumerate() {
        if i > 0 {
            parts.push("\"'\"".to_string());
        }
        if !chunk.is_empty() {
            parts.push(format!("'{chunk}'"));
        }
    }
    format!("concat({})", parts.join(","))
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
        for (k, v) in &node.keys {
            out.push('[');
            out.push_str(k);
            out.push('=');
            out.push_str(&quote_literal(v));
            out.push(']');
        }
        if let (NodeKind::LeafList, Some(v)) = (node.kind, &node.value) {
            out.push_str("[.=");
            out.push_str(&quote_literal(v));
            out.push(']');
        }
        prev = Some(&node.module);
    }
    out
}

pub(super) fn print_schema(nodes: &[PathNode]) -> String {
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
        prev = Some(&node.module);
    }
    out
}

struct Scanner<'s> {
    path: &'s str,
    rest: &'s str,
}

impl<'s> Scanner<'s> {
    fn ws(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\n', '\r']);
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest.starts_with(c) {
            self.rest = &self.rest[c.len_utf8()..];
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("expected {what} ('{c}')")))
        }
    }

    fn error(&self, reason: String) -> crate::Error {
        let at = self.path.len() - self.rest.len();
        path_error(self.path, format!("{reason} at offset {at}"))
    }

    /// A qualified name: identifier characters and at most one `:`.
    fn qname(&mut self) -> Result<(Option<String>, String)> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
            .unwrap_or(self.rest.len());
        let q = &self.rest[..end];
        if q.is_empty() {
            return Err(self.error("expected a node name".into()));
        }
        self.rest = &self.rest[end..];
        split_qname(self.path, q)
    }

    /// A literal (`'..'` or `".."`) or `concat(literal, ...)`.
    fn value(&mut self) -> Result<String> {
        if let Some(r) = self.rest.strip_prefix("concat") {
            self.rest = r;
            self.ws();
            self.expect('(', "'(' after concat")?;
            let mut out = String::new();
            loop {
                self.ws();
                out.push_str(&self.literal()?);
                self.ws();
                if self.eat(')') {
                    return Ok(out);
                }
                self.expect(',', "',' or ')' in concat()")?;
            }
        }
        self.literal()
    }

    fn literal(&mut self) -> Result<String> {
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a quoted value".into())),
        };
        let body = &self.rest[1..];
        let Some(end) = body.find(quote) else {
            return Err(self.error(format!("unterminated literal (missing {quote})")));
        };
        let v = body[..end].to_string();
        self.rest = &body[end + 1..];
        Ok(v)
    }
}

pub(super) fn parse(path: &str) -> Result<Vec<RawStep>> {
    let mut s = Scanner {
        path,
        rest: path.trim(),
    };
    if s.rest == "/" {
        return Ok(Vec::new());
    }
    if !s.rest.starts_with('/') {
        return Err(path_error(
            path,
            "a data path must be absolute (start with '/')",
        ));
    }
    let mut steps = Vec::new();
    while !s.rest.is_empty() {
        s.expect('/', "'/'")?;
        if s.rest.starts_with('/') {
            return Err(s.error("'//' (descendant) selects many nodes; not a data path".into()));
        }
        if s.rest.starts_with('*') {
            return Err(s.error("'*' selects many nodes; not a data path".into()));
        }
        let (module, name) = s.qname()?;
        let mut step = RawStep::named(module, name);
        loop {
            s.ws();
            if !s.eat('[') {
                break;
            }
            s.ws();
            if s.rest.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(
                    s.error("positional predicates are not supported; use key values".into())
                );
            }
            let key = if s.eat('.') {
                None
            } else {
                let (m, k) = s.qname()?;
                Some(match m {
                    Some(m) => format!("{m}:{k}"),
                    None => k,
                })
            };
            s.ws();
            if !s.eat('=') {
                return Err(s.error("only equality predicates ([key='value']) are allowed".into()));
            }
            s.ws();
            let value = s.value()?;
            s.ws();
            s.expect(']', "']' closing the predicate")?;
            match key {
                None if step.value.is_some() => {
                    return Err(s.error("a leaf-list value is given twice".into()));
                }
                None => step.value = Some(value),
                Some(k) => step.keys.push((k, value)),
            }
        }
        s.ws();
        if !s.rest.is_empty() && !s.rest.starts_with('/') {
            return Err(s.error("unexpected character".into()));
        }
        steps.push(step);
    }
    Ok(steps)
}
