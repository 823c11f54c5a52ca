//! NETCONF filters turned into what the management core evaluates: RFC 6241
//! §6 subtree filters become a union of XPath selections (containment,
//! selection and content-match nodes, namespace and attribute matching), and
//! §8.9 XPath filters get their XML prefixes rewritten to the module names
//! libyang's JSON-style XPath uses.

use nectar_mgmt::error::{ErrorTag, ErrorType, MgmtError};
use yang2::context::Context;

use crate::xml::{Element, Node};

/// What a filter selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// No filter: everything.
    All,
    /// A filter that matches nothing (e.g. an empty subtree filter).
    Nothing,
    /// The nodes an XPath expression (JSON-style prefixes) selects, with
    /// their ancestors and descendants.
    XPath(String),
}

impl Selection {
    pub fn xpath(&self) -> Option<&str> {
        match self {
            Selection::XPath(x) => Some(x),
            _ => None,
        }
    }
}

/// XPath string literal for a value.
pub fn quote(value: &str) -> String {
    if !value.contains('\'') {
        format!("'{value}'")
    } else if !value.contains('"') {
        format!("\"{value}\"")
    } else {
        // XPath 1.0 has no escape: concatenate the parts.
        let parts: Vec<String> = value.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Parses a base:1.0 `<filter>` element (RFC 6241 `type` attribute,
/// `subtree` by default; `xpath` with `select`), within the default
/// [`Limits`].
pub fn from_filter(ctx: &Context, filter: &Element) -> Result<Selection, MgmtError> {
    from_filter_with(ctx, filter, &Limits::default())
}

/// [`from_filter`] within `limits`.
pub fn from_filter_with(
    ctx: &Context,
    filter: &Element,
    limits: &Limits,
) -> Result<Selection, MgmtError> {
    let kind = filter.attr("type").map(|a| a.value.as_str());
    match kind {
        None | Some("subtree") => subtree(ctx, filter, limits),
        Some("xpath") => {
            let select = filter.attr("select").ok_or_else(|| {
                MgmtError::new(
                    ErrorType::Protocol,
                    ErrorTag::MissingAttribute,
                    "an xpath filter needs a select attribute",
                )
                .with_info("bad-attribute", "select")
                .with_info("bad-element", "filter")
            })?;
            xpath(ctx, filter, &select.value, limits)
        }
        Some(other) => Err(MgmtError::new(
            ErrorType::Protocol,
            ErrorTag::BadAttribute,
            format!("unknown filter type {other:?}"),
        )
        .with_info("bad-attribute", "type")
        .with_info("bad-element", "filter")),
    }
}

/// The default of [`Limits::max_nodes`].
pub const DEFAULT_MAX_NODES: usize = 10_000;

/// The default of [`Limits::max_xpath_bytes`].
pub const DEFAULT_MAX_XPATH_BYTES: usize = 64 * 1024;

/// What a filter may cost. Each node of a subtree filter becomes part of an
/// XPath the datastore evaluates, so a filter's size bounds the work and
/// memory of a read: a filter listing 200,000 sibling entries cost about
/// 450 MB (issue 17, defect 13). A filter beyond a bound is `too-big`; a
/// client wanting that much reads the parent and filters locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most nodes a subtree filter may hold.
    pub max_nodes: usize,
    /// Longest XPath filter expression accepted, in bytes.
    pub max_xpath_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: DEFAULT_MAX_NODES,
            max_xpath_bytes: DEFAULT_MAX_XPATH_BYTES,
        }
    }
}

fn too_big(what: String) -> MgmtError {
    MgmtError::new(ErrorType::Protocol, ErrorTag::TooBig, what).with_info("bad-element", "filter")
}

/// Counts the elements under `el`, stopping past `limit`.
fn count_elements(el: &Element, limit: usize) -> usize {
    let mut n = 0usize;
    let mut stack: Vec<&Element> = el.elements().collect();
    while let Some(e) = stack.pop() {
        n += 1;
        if n > limit {
            break;
        }
        stack.extend(e.elements());
    }
    n
}

/// A subtree filter: the children of `filter` are the top-level filter nodes.
pub fn subtree(ctx: &Context, filter: &Element, limits: &Limits) -> Result<Selection, MgmtError> {
    let max = limits.max_nodes;
    if count_elements(filter, max) > max {
        return Err(too_big(format!(
            "the subtree filter has more than {max} nodes"
        )));
    }
    let mut alternatives: Vec<String> = Vec::new();
    let mut any = false;
    for top in filter.elements() {
        any = true;
        let modules: Vec<String> = match &top.ns {
            Some(ns) => ctx
                .get_module_implemented_ns(ns)
                .map(|m| vec![m.name().to_string()])
                .unwrap_or_default(),
            // No namespace: every module with such a top-level node.
            None => ctx
                .modules(false)
                .filter(|m| m.is_implemented())
                .filter(|m| m.data().any(|n| n.name() == top.local))
                .map(|m| m.name().to_string())
                .collect(),
        };
        for m in modules {
            node_paths(ctx, "", &m, top, &mut alternatives);
        }
    }
    if !any {
        return Ok(Selection::Nothing);
    }
    // Alternatives naming nodes the schema does not have match nothing.
    alternatives
        .retain(|x| nectar_yang::xpath::count_schema(ctx, &schema_of(x)).is_ok_and(|n| n > 0));
    if alternatives.is_empty() {
        return Ok(Selection::Nothing);
    }
    alternatives.dedup();
    Ok(Selection::XPath(alternatives.join(" | ")))
}

/// The path of an alternative without predicates, to check it against the
/// schema.
fn schema_of(xpath: &str) -> String {
    let mut out = String::with_capacity(xpath.len());
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in xpath.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '\'' | '"' if depth > 0 => quote = Some(c),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Module of a filter element: its namespace's, or the parent's.
fn module_of(ctx: &Context, el: &Element, parent_module: &str) -> Option<String> {
    match &el.ns {
        Some(ns) => ctx
            .get_module_implemented_ns(ns)
            .or_else(|| ctx.get_module_latest_ns(ns))
            .map(|m| m.name().to_string()),
        None => Some(parent_module.to_string()),
    }
}

fn is_content_match(el: &Element) -> bool {
    el.elements().next().is_none() && el.has_text()
}

fn node_paths(ctx: &Context, prefix: &str, module: &str, el: &Element, out: &mut Vec<String>) {
    let mut path = format!("{prefix}/{module}:{}", el.local);
    // Attribute matching (RFC 6241 §6.2.3): YANG data carries only
    // namespace-qualified metadata annotations.
    for a in &el.attrs {
        match &a.ns {
            Some(ns) => match ctx.get_module_latest_ns(ns) {
                Some(m) => {
                    path.push_str(&format!("[@{}:{}={}]", m.name(), a.local, quote(&a.value)))
                }
                None => return,
            },
            // An unqualified attribute can never match YANG data.
            None => return,
        }
    }
    let children: Vec<&Element> = el.elements().collect();
    if children.is_empty() {
        if el.has_text() {
            // A content-match node at the top: select it if equal.
            out.push(format!("{path}[.={}]", quote(el.text().trim())));
        } else {
            out.push(path);
        }
        return;
    }
    let mut matches = Vec::new();
    let mut selections = Vec::new();
    let mut containments = Vec::new();
    let mut dropped = false;
    for c in &children {
        let Some(m) = module_of(ctx, c, module) else {
            // Unknown namespace: the sibling set can never match.
            return;
        };
        // An unqualified attribute never matches YANG data.
        if c.attrs.iter().any(|a| a.ns.is_none()) {
            if is_content_match(c) {
                return;
            }
            dropped = true;
            continue;
        }
        if is_content_match(c) {
            matches.push((m, *c));
        } else if c.elements().next().is_none() {
            selections.push((m, *c));
        } else {
            containments.push((m, *c));
        }
    }
    for (m, c) in &matches {
        path.push_str(&format!("[{m}:{}={}]", c.local, quote(c.text().trim())));
    }
    if selections.is_empty() && containments.is_empty() && !dropped {
        out.push(path);
        return;
    }
    for (m, c) in &matches {
        out.push(format!("{path}/{m}:{}", c.local));
    }
    for (m, c) in &selections {
        let mut p = format!("{path}/{m}:{}", c.local);
        for a in &c.attrs {
            if let Some(ns) = &a.ns
                && let Some(am) = ctx.get_module_latest_ns(ns)
            {
                p.push_str(&format!("[@{}:{}={}]", am.name(), a.local, quote(&a.value)));
            }
        }
        out.push(p);
    }
    for (m, c) in &containments {
        node_paths(ctx, &path, m, c, out);
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Whether the name starting at `at` is the first step of an absolute
/// location path (`/name`, at the start or after an operator).
fn starts_absolute_path(chars: &[char], at: usize) -> bool {
    if at == 0 || chars[at - 1] != '/' {
        return false;
    }
    let before = chars[..at - 1].iter().rev().find(|c| !c.is_whitespace());
    !matches!(before, Some(c) if is_name_char(*c) || matches!(c, ']' | ')' | '*' | '/' | '.'))
}

/// An XPath filter: rewrites the XML namespace prefixes of `select` (bound
/// on the filter element or its ancestors) into module names.
pub fn xpath(
    ctx: &Context,
    scope: &Element,
    select: &str,
    limits: &Limits,
) -> Result<Selection, MgmtError> {
    let max = limits.max_xpath_bytes;
    if select.len() > max {
        return Err(too_big(format!(
            "the XPath filter is longer than {max} bytes"
        )));
    }
    let module_for = |prefix: &str| -> Result<String, MgmtError> {
        let ns = scope.resolve_prefix(prefix).ok_or_else(|| {
            MgmtError::new(
                ErrorType::Application,
                ErrorTag::InvalidValue,
                format!("the XPath filter uses the undeclared prefix {prefix:?}"),
            )
        })?;
        ctx.get_module_implemented_ns(&ns)
            .or_else(|| ctx.get_module_latest_ns(&ns))
            .map(|m| m.name().to_string())
            .ok_or_else(|| {
                MgmtError::new(
                    ErrorType::Application,
                    ErrorTag::InvalidValue,
                    format!("no module has the namespace {ns:?}"),
                )
            })
    };
    let chars: Vec<char> = select.chars().collect();
    let mut out = String::with_capacity(select.len() + 32);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            // A literal: rewrite an identity written as prefix:name.
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == c)
                .map(|p| i + 1 + p)
                .ok_or_else(|| {
                    MgmtError::invalid_value("unterminated literal in the XPath filter")
                })?;
            let lit: String = chars[i + 1..end].iter().collect();
            let rewritten = match lit.split_once(':') {
                Some((p, n))
                    if !p.is_empty()
                        && p.chars().all(is_name_char)
                        && is_name_start(p.chars().next().unwrap_or('0'))
                        && !n.is_empty()
                        && n.chars().all(is_name_char)
                        && scope.resolve_prefix(p).is_some() =>
                {
                    format!("{}:{n}", module_for(p)?)
                }
                _ => lit,
            };
            out.push(c);
            out.push_str(&rewritten);
            out.push(c);
            i = end + 1;
            continue;
        }
        if is_name_start(c) && (i == 0 || !is_name_char(chars[i - 1])) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let is_prefix = i + 1 < chars.len()
                && chars[i] == ':'
                && chars[i + 1] != ':'
                && (is_name_start(chars[i + 1]) || chars[i + 1] == '*');
            if is_prefix {
                out.push_str(&module_for(&name)?);
            } else if starts_absolute_path(&chars, start)
                && chars.get(i) != Some(&'(')
                && chars.get(i) != Some(&':')
            {
                // An unprefixed top-level name: the one module that has
                // such a top-level node (clients such as netconf-console
                // send `/interfaces/...`).
                let mut modules = ctx
                    .modules(false)
                    .filter(|m| m.is_implemented() && m.data().any(|n| n.name() == name));
                match (modules.next(), modules.next()) {
                    (Some(m), None) => {
                        out.push_str(m.name());
                        out.push(':');
                        out.push_str(&name);
                    }
                    _ => out.push_str(&name),
                }
            } else {
                out.push_str(&name);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    Ok(Selection::XPath(out))
}

/// The top-level elements of a filter given as an anydata/anyxml child
/// (NMDA `subtree-filter`): same rules as a base filter.
pub fn subtree_children(
    ctx: &Context,
    el: &Element,
    limits: &Limits,
) -> Result<Selection, MgmtError> {
    subtree(ctx, el, limits)
}

/// Whether an element has only whitespace text and no element children.
pub fn is_empty(el: &Element) -> bool {
    el.children.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        Node::Element(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    fn ctx() -> &'static Context {
        use std::sync::OnceLock;
        static CTX: OnceLock<&'static Context> = OnceLock::new();
        CTX.get_or_init(|| nectar_yang::ModelSet::management().build().unwrap())
    }

    fn sub(f: &str) -> Selection {
        let el = xml::parse(f).unwrap();
        subtree(ctx(), &el, &Limits::default()).unwrap()
    }

    const ACM: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm";

    #[test]
    fn selection_and_containment() {
        assert_eq!(
            sub(&format!("<filter><nacm xmlns=\"{ACM}\"/></filter>")),
            Selection::XPath("/ietf-netconf-acm:nacm".into())
        );
        assert_eq!(
            sub(&format!(
                "<filter><nacm xmlns=\"{ACM}\"><groups><group><name>ops</name></group></groups><enable-nacm/></nacm></filter>"
            )),
            Selection::XPath(
                "/ietf-netconf-acm:nacm/ietf-netconf-acm:enable-nacm | /ietf-netconf-acm:nacm/ietf-netconf-acm:groups/ietf-netconf-acm:group[ietf-netconf-acm:name='ops']".into()
            )
        );
    }

    #[test]
    fn content_match_with_selection() {
        assert_eq!(
            sub(&format!(
                "<filter><nacm xmlns=\"{ACM}\"><groups><group><name>ops</name><user-name/></group></groups></nacm></filter>"
            )),
            Selection::XPath(
                "/ietf-netconf-acm:nacm/ietf-netconf-acm:groups/ietf-netconf-acm:group[ietf-netconf-acm:name='ops']/ietf-netconf-acm:name | /ietf-netconf-acm:nacm/ietf-netconf-acm:groups/ietf-netconf-acm:group[ietf-netconf-acm:name='ops']/ietf-netconf-acm:user-name".into()
            )
        );
    }

    #[test]
    fn unknown_namespace_and_empty() {
        assert_eq!(
            sub("<filter><x xmlns=\"urn:nope\"/></filter>"),
            Selection::Nothing
        );
        assert_eq!(sub("<filter/>"), Selection::Nothing);
        assert_eq!(
            sub(&format!(
                "<filter><nacm xmlns=\"{ACM}\"><bogus/></nacm></filter>"
            )),
            Selection::Nothing
        );
        assert_eq!(
            sub("<filter><nacm/></filter>"),
            Selection::XPath("/ietf-netconf-acm:nacm".into())
        );
    }

    #[test]
    fn xpath_prefixes_rewritten() {
        let el = xml::parse(&format!(
            "<filter xmlns:a=\"{ACM}\" type=\"xpath\" select=\"/a:nacm/a:groups/a:group[a:name='x:y']\"/>"
        ))
        .unwrap();
        assert_eq!(
            from_filter(ctx(), &el).unwrap(),
            Selection::XPath(
                "/ietf-netconf-acm:nacm/ietf-netconf-acm:groups/ietf-netconf-acm:group[ietf-netconf-acm:name='x:y']".into()
            )
        );
        let el = xml::parse("<filter type=\"xpath\" select=\"/b:nacm\"/>").unwrap();
        assert!(from_filter(ctx(), &el).is_err());
        let el =
            xml::parse("<filter type=\"xpath\" select=\"/nacm/groups | count(/nacm/x) > 1\"/>")
                .unwrap();
        assert_eq!(
            from_filter(ctx(), &el).unwrap(),
            Selection::XPath(
                "/ietf-netconf-acm:nacm/groups | count(/ietf-netconf-acm:nacm/x) > 1".into()
            )
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a"), "'a'");
        assert_eq!(quote("a'b"), "\"a'b\"");
        assert_eq!(quote("a'b\"c"), "concat('a', \"'\", 'b\"c')");
    }
}
