//! Ties byte spans in the TOML text to dotted key paths and back, so every problem names its
//! key (`users[1].password_hash`) and its line and column.
//!
//! toml's own errors carry a span but not the key path; validation problems carry the key path
//! but no span. Both are resolved against toml's spanned document tree (`DeTable`).

use std::fmt::Write as _;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::{Problem, line_col};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(key);
                } else {
                    let _ = write!(out, "{key:?}");
                }
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// Parses the key paths this module renders (`a.b[2].c`; keys are bare).
fn parse_path(key: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            segs.push(Seg::Key(name.to_owned()));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                segs.push(Seg::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    segs
}

/// Whether `span` (an error location) falls inside `outer`.
fn hits(outer: &Range<usize>, span: &Range<usize>) -> bool {
    (outer.start <= span.start && span.start < outer.end)
        || (outer.start == span.start && span.is_empty())
}

/// The longest key path whose key or value covers `span`.
fn deepest(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    let consider = |candidate: &[Seg], best: &mut Vec<Seg>| {
        if candidate.len() > best.len() {
            *best = candidate.to_vec();
        }
    };
    for (key, value) in table.iter() {
        path.push(Seg::Key(key.get_ref().to_string()));
        if hits(&key.span(), span) || hits(&value.span(), span) {
            consider(path, best);
        }
        match value.get_ref() {
            DeValue::Table(inner) => deepest(inner, span, path, best),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    if hits(&item.span(), span) {
                        consider(path, best);
                    }
                    if let DeValue::Table(inner) = item.get_ref() {
                        deepest(inner, span, path, best);
                    }
                    path.pop();
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// The span of the value at `path`, or of its deepest ancestor present in the text.
fn span_of(table: &DeTable<'_>, path: &[Seg]) -> Option<Range<usize>> {
    let Some((Seg::Key(first), rest)) = path.split_first() else {
        return None;
    };
    let (_, value) = table.iter().find(|(k, _)| k.get_ref() == first)?;
    let mut found = value.span();
    let mut current = value.get_ref();
    let mut rest = rest;
    while let Some((seg, tail)) = rest.split_first() {
        let next = match (seg, current) {
            (Seg::Key(k), DeValue::Table(t)) => {
                t.iter().find(|(key, _)| key.get_ref() == k).map(|(_, v)| v)
            }
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i),
            _ => None,
        };
        let Some(next) = next else { break };
        found = next.span();
        current = next.get_ref();
        rest = tail;
    }
    Some(found)
}

/// Turns a toml deserialization error into a [`Problem`] naming the key at the error's span.
pub(super) fn problem_from_toml(text: &str, err: &toml::de::Error) -> Problem {
    let message = err.message().trim_end();
    let message = if let Some(rest) = message.strip_prefix("unknown field") {
        format!("unknown key{rest}")
    } else if let Some(rest) = message.strip_prefix("missing field") {
        format!("missing key{rest}")
    } else if message == "invalid socket address syntax" {
        format!("{message}: expected IP:port, e.g. \"127.0.0.1:8830\" or \"[::1]:8830\"")
    } else {
        message.to_owned()
    };
    let Some(span) = err.span() else {
        return Problem::new("", message);
    };
    let (doc, _) = DeTable::parse_recoverable(text);
    let mut best = Vec::new();
    deepest(doc.get_ref(), &span, &mut Vec::new(), &mut best);
    Problem {
        key: render(&best),
        position: Some(line_col(text, span.start)),
        message,
    }
}

/// Fills in line and column for problems whose key appears in `text`.
pub(super) fn add_positions(text: &str, problems: &mut [Problem]) {
    let Ok(doc) = DeTable::parse(text) else {
        return;
    };
    for problem in problems.iter_mut().filter(|p| p.position.is_none()) {
        if let Some(span) = span_of(doc.get_ref(), &parse_path(&problem.key)) {
            problem.position = Some(line_col(text, span.start));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for key in [
            "netconf.listen",
            "users[1].ssh_authorized_keys[0]",
            "dataplane.ports[2]",
        ] {
            assert_eq!(render(&parse_path(key)), key);
        }
    }
}
