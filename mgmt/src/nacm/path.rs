//! The two path grammars NACM needs: the rule `path` leaf
//! (`node-instance-identifier`, RFC 8341 §3.5: an instance-identifier whose key
//! predicates are optional, with the `$USER` variable) and libyang's data
//! paths (`/ietf-interfaces:interfaces/interface[name='eth0']/mtu`), plus the
//! match of a compiled rule path against the instance path of a data node.
//!
//! Pure string handling: the module prefixes of a rule path are resolved to
//! module names by the caller (`resolve`), so this file knows no libyang.

use std::fmt;

/// One predicate of a path step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pred {
    /// `[key='value']` (the key's prefix, if any, is dropped: keys live in
    /// their list's module).
    Key(String, Value),
    /// `[.='value']` on a leaf-list.
    Dot(Value),
    /// `[3]`: a position, meaningful only for key-less lists and state
    /// leaf-lists; instance paths may carry it, rule paths may not.
    Pos(u64),
}

/// The right-hand side of a predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Literal(String),
    /// `$USER`: the name of the user of the session (RFC 8341 §3.5).
    User,
}

/// One step as written: optional prefix, name (or `*`), predicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawStep {
    pub prefix: Option<String>,
    pub name: String,
    pub preds: Vec<Pred>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an absolute path: `/` alone (no steps) or `/step/step...`.
pub(crate) fn parse(input: &str) -> Result<Vec<RawStep>, PathError> {
    let s = input.trim();
    let err = |m: &str| PathError(format!("path {input:?}: {m}"));
    if s == "/" {
        return Ok(Vec::new());
    }
    let b = s.as_bytes();
    if b.first() != Some(&b'/') {
        return Err(err("must start with '/'"));
    }
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'/' {
            return Err(err("expected '/'"));
        }
        i += 1;
        let (prefix, name, next) = parse_qname(s, i).ok_or_else(|| err("bad node name"))?;
        i = next;
        let mut preds = Vec::new();
        loop {
            i = skip_ws(b, i);
            if i >= b.len() || b[i] != b'[' {
                break;
            }
            let (pred, next) = parse_pred(s, i + 1).ok_or_else(|| err("bad predicate"))?;
            preds.push(pred);
            i = next;
        }
        steps.push(RawStep {
            prefix,
            name,
            preds,
        });
    }
    Ok(steps)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// `name`, `prefix:name`, `*` or `prefix:*` starting at `i`.
fn parse_qname(s: &str, i: usize) -> Option<(Option<String>, String, usize)> {
    let b = s.as_bytes();
    let ident = |start: usize| {
        if start < b.len() && b[start] == b'*' {
            return Some(start + 1);
        }
        let mut j = start;
        while j < b.len() && is_name_char(b[j]) {
            j += 1;
        }
        (j > start).then_some(j)
    };
    let end = ident(i)?;
    if end < b.len() && b[end] == b':' && &s[i..end] != "*" {
        let end2 = ident(end + 1)?;
        Some((
            Some(s[i..end].to_string()),
            s[end + 1..end2].to_string(),
            end2,
        ))
    } else {
        Some((None, s[i..end].to_string(), end))
    }
}

/// The inside of `[...]`, `i` just after `[`; returns the index after `]`.
fn parse_pred(s: &str, i: usize) -> Option<(Pred, usize)> {
    let b = s.as_bytes();
    let i = skip_ws(b, i);
    if i < b.len() && b[i].is_ascii_digit() {
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let pos = s[i..j].parse().ok()?;
        let j = skip_ws(b, j);
        return (j < b.len() && b[j] == b']').then_some((Pred::Pos(pos), j + 1));
    }
    let (key, j) = if i < b.len() && b[i] == b'.' {
        (None, i + 1)
    } else {
        let (_prefix, name, j) = parse_qname(s, i)?;
        (Some(name), j)
    };
    let j = skip_ws(b, j);
    if j >= b.len() || b[j] != b'=' {
        return None;
    }
    let j = skip_ws(b, j + 1);
    let (value, j) = match b.get(j)? {
        q @ (b'\'' | b'"') => {
            let close = s[j + 1..].find(*q as char)? + j + 1;
            (Value::Literal(s[j + 1..close].to_string()), close + 1)
        }
        b'$' if s[j..].starts_with("$USER") => (Value::User, j + 5),
        _ => return None,
    };
    let j = skip_ws(b, j);
    if j >= b.len() || b[j] != b']' {
        return None;
    }
    let pred = match key {
        Some(k) => Pred::Key(k, value),
        None => Pred::Dot(value),
    };
    Some((pred, j + 1))
}

/// One step of a compiled rule path: module resolved (`None` = any module,
/// only for an unprefixed first step), name or `*`, predicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleStep {
    pub module: Option<String>,
    pub name: String,
    pub preds: Vec<Pred>,
}

/// A compiled rule path. No steps = `/`, every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RulePath {
    pub steps: Vec<RuleStep>,
}

impl RulePath {
    /// Compiles a rule path; `resolve` maps a prefix (module name or module
    /// prefix) to a module name. An unprefixed step is in the module of the
    /// step before it, as in RFC 7951 (the first step then matches any module).
    pub(crate) fn compile(
        input: &str,
        resolve: impl Fn(&str) -> Option<String>,
    ) -> Result<RulePath, PathError> {
        let mut steps = Vec::new();
        let mut module: Option<String> = None;
        for raw in parse(input)? {
            if let Some(p) = &raw.prefix {
                module =
                    Some(resolve(p).ok_or_else(|| {
                        PathError(format!("path {input:?}: unknown prefix {p:?}"))
                    })?);
            }
            if raw.preds.iter().any(|p| matches!(p, Pred::Pos(_))) {
                return Err(PathError(format!(
                    "path {input:?}: positional predicates are not allowed"
                )));
            }
            steps.push(RuleStep {
                module: module.clone(),
                name: raw.name,
                preds: raw.preds,
            });
        }
        Ok(RulePath { steps })
    }

    /// Whether the rule names `target` or one of its ancestors (RFC 8341
    /// §3.4.5: a path matches the node it names and all its descendants).
    pub(crate) fn matches(&self, target: &[InstStep], user: &str) -> bool {
        self.steps.len() <= target.len()
            && self
                .steps
                .iter()
                .zip(target)
                .all(|(r, t)| step_matches(r, t, user))
    }

    /// Whether the rule could name a strict descendant of `target`.
    pub(crate) fn may_match_below(&self, target: &[InstStep], user: &str) -> bool {
        self.steps.len() > target.len()
            && self
                .steps
                .iter()
                .zip(target)
                .all(|(r, t)| step_matches(r, t, user))
    }
}

fn step_matches(r: &RuleStep, t: &InstStep, user: &str) -> bool {
    if r.name != "*" && r.name != t.name {
        return false;
    }
    if let Some(m) = &r.module
        && *m != t.module
    {
        return false;
    }
    let value = |v: &Value| -> String {
        match v {
            Value::Literal(s) => s.clone(),
            Value::User => user.to_string(),
        }
    };
    r.preds.iter().all(|p| match p {
        Pred::Key(k, v) => t.keys.iter().any(|(tk, tv)| tk == k && *tv == value(v)),
        Pred::Dot(v) => t.value.as_deref() == Some(value(v).as_str()),
        // Rejected at compile time.
        Pred::Pos(_) => false,
    })
}

/// One step of the instance path of a data node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct InstStep {
    pub module: String,
    pub name: String,
    /// List keys (name, canonical value).
    pub keys: Vec<(String, String)>,
    /// A leaf-list entry's value.
    pub value: Option<String>,
}

/// The instance path of a libyang data path (module names as prefixes,
/// unprefixed steps inherit the module of the step before).
pub(crate) fn instance_path(input: &str) -> Result<Vec<InstStep>, PathError> {
    let mut module = String::new();
    let mut out = Vec::new();
    for raw in parse(input)? {
        if let Some(p) = raw.prefix {
            module = p;
        } else if out.is_empty() {
            return Err(PathError(format!(
                "path {input:?}: the first node needs a module prefix"
            )));
        }
        let mut step = InstStep {
            module: module.clone(),
            name: raw.name,
            ..InstStep::default()
        };
        for p in raw.preds {
            match p {
                Pred::Key(k, Value::Literal(v)) => step.keys.push((k, v)),
                Pred::Dot(Value::Literal(v)) => step.value = Some(v),
                Pred::Pos(_) => {}
                Pred::Key(_, Value::User) | Pred::Dot(Value::User) => {
                    return Err(PathError(format!("path {input:?}: $USER in a data path")));
                }
            }
        }
        out.push(step);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(p: &str) -> Option<String> {
        Some(match p {
            "if" => "ietf-interfaces".into(),
            "ip" => "ietf-ip".into(),
            "x" => return None,
            other => other.into(),
        })
    }

    fn inst(p: &str) -> Vec<InstStep> {
        instance_path(p).unwrap()
    }

    #[test]
    fn parses_prefixes_predicates_and_root() {
        assert!(parse("/").unwrap().is_empty());
        let s = parse("/if:interfaces/if:interface[if:name = \"it's\"][.='x']/*").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].prefix.as_deref(), Some("if"));
        assert_eq!(
            s[1].preds,
            vec![
                Pred::Key("name".into(), Value::Literal("it's".into())),
                Pred::Dot(Value::Literal("x".into()))
            ]
        );
        assert_eq!(s[2].name, "*");
        assert!(parse("interfaces").is_err());
        assert!(parse("/a[name='x'").is_err());
        assert!(parse("/a[name=x]").is_err());
        assert!(parse("/a//b").is_err());
    }

    #[test]
    fn rule_prefixes_resolve_and_inherit() {
        let r = RulePath::compile("/if:interfaces/interface/ip:ipv4", same).unwrap();
        let mods: Vec<_> = r.steps.iter().map(|s| s.module.clone().unwrap()).collect();
        assert_eq!(mods, ["ietf-interfaces", "ietf-interfaces", "ietf-ip"]);
        assert!(RulePath::compile("/x:a", same).is_err());
        assert!(RulePath::compile("/if:a[1]", same).is_err());
    }

    #[test]
    fn matches_node_and_descendants_only() {
        let r = RulePath::compile("/if:interfaces/if:interface", same).unwrap();
        let iface = inst("/ietf-interfaces:interfaces/interface[name='eth0']");
        let mtu = inst("/ietf-interfaces:interfaces/interface[name='eth0']/mtu");
        let top = inst("/ietf-interfaces:interfaces");
        assert!(r.matches(&iface, "u"));
        assert!(r.matches(&mtu, "u"));
        assert!(!r.matches(&top, "u"));
        assert!(r.may_match_below(&top, "u"));
        assert!(!r.may_match_below(&iface, "u"));
        let other = inst("/ietf-ip:interfaces/interface[name='eth0']");
        assert!(!r.matches(&other, "u"));
    }

    #[test]
    fn key_predicates_and_user_variable() {
        let eth0 = RulePath::compile("/if:interfaces/if:interface[if:name='eth0']", same).unwrap();
        let mine = RulePath::compile("/if:interfaces/interface[name=$USER]", same).unwrap();
        let p = inst("/ietf-interfaces:interfaces/interface[name='eth0']/enabled");
        let q = inst("/ietf-interfaces:interfaces/interface[name='bob']/enabled");
        assert!(eth0.matches(&p, "bob"));
        assert!(!eth0.matches(&q, "bob"));
        assert!(mine.matches(&q, "bob"));
        assert!(!mine.matches(&p, "bob"));
    }

    #[test]
    fn root_and_wildcards() {
        let all = RulePath::compile("/", same).unwrap();
        assert!(all.matches(&inst("/ietf-interfaces:interfaces"), "u"));
        let any_top = RulePath::compile("/if:*", same).unwrap();
        assert!(any_top.matches(
            &inst("/ietf-interfaces:interfaces/interface[name='a']"),
            "u"
        ));
        assert!(!any_top.matches(&inst("/ietf-ip:foo"), "u"));
        let unprefixed = RulePath::compile("/interfaces", same).unwrap();
        assert!(unprefixed.matches(&inst("/ietf-interfaces:interfaces"), "u"));
    }

    #[test]
    fn leaf_list_values() {
        let r = RulePath::compile("/m:ll[.='a']", same).unwrap();
        assert!(r.matches(&inst("/m:ll[.='a']"), "u"));
        assert!(!r.matches(&inst("/m:ll[.='b']"), "u"));
    }
}
