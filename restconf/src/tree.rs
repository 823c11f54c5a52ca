//! Shaping a datastore subtree into a RESTCONF response: the `content`,
//! `depth` and `fields` selections (RFC 8040 §4.8.1-3), extraction of the
//! target nodes as the top level of the response, and the entity-tag of
//! a resource.
//!
//! The trees handled here come from `Core::get`: the selected nodes with all
//! their ancestors (and the ancestors' list keys), so every node can be
//! addressed by its data path until [`extract`] detaches the targets.

use nectar_mgmt::ly::{self, Tree};
use nectar_yang::encoding::{self, DEFAULT_MAX_DEPTH, PrintOptions};
use nectar_yang::path::{DataPath, is_identifier};
use nectar_yang::print::NodePath;
use sha2::{Digest, Sha256};
use yang2::context::Context;
use yang2::data::{DataNodeRef, DataTree};
use yang2::schema::{SchemaNode, SchemaNodeKind};

use crate::error::Error;
use crate::query::Content;

/// The nodes an XPath selects (none in an empty tree).
pub fn select<'t>(tree: &'t Tree, xpath: &str) -> Result<Vec<DataNodeRef<'t, 'static>>, Error> {
    Ok(nectar_mgmt::ly::find_all(tree, xpath)?)
}

fn level(node: &DataNodeRef<'_, '_>) -> usize {
    node.ancestors().count() + 1
}

fn top_level(tree: &Tree) -> Vec<DataNodeRef<'_, 'static>> {
    tree.reference()
        .map(|r| r.inclusive_siblings().collect())
        .unwrap_or_default()
}

fn remove_paths(tree: &mut Tree, paths: Vec<String>) -> Result<(), Error> {
    for p in paths {
        ly::remove(tree, &p)?;
    }
    Ok(())
}

fn is_terminal(node: &DataNodeRef<'_, '_>) -> bool {
    matches!(
        node.schema().kind(),
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList | SchemaNodeKind::AnyData
    )
}

/// Removes every node deeper than `max_level` (1 is the top level), except
/// list keys, which identify their entries.
pub fn prune_levels(tree: &mut Tree, max_level: usize) -> Result<(), Error> {
    fn walk(node: &DataNodeRef<'_, 'static>, lvl: usize, max: usize, out: &mut Vec<String>) {
        for child in node.children() {
            if lvl + 1 > max {
                if !child.schema().is_list_key() {
                    out.push(child.data_path());
                }
            } else {
                walk(&child, lvl + 1, max, out);
            }
        }
    }
    let mut out = Vec::new();
    for top in top_level(tree) {
        if max_level == 0 {
            out.push(top.data_path());
        } else {
            walk(&top, 1, max_level, &mut out);
        }
    }
    remove_paths(tree, out)
}

/// Keeps only configuration (`Content::Config`) or only state
/// (`Content::Nonconfig`) nodes, with the ancestors and keys that locate
/// them.
pub fn prune_content(tree: &mut Tree, content: Content) -> Result<(), Error> {
    fn keep(node: &DataNodeRef<'_, 'static>, content: Content) -> bool {
        let config = node.schema().is_config();
        match content {
            Content::All => true,
            Content::Config => config,
            Content::Nonconfig => {
                if !config {
                    true
                } else if is_terminal(node) {
                    false
                } else {
                    node.children()
                        .any(|c| !c.schema().is_list_key() && keep(&c, content))
                }
            }
        }
    }
    fn walk(node: &DataNodeRef<'_, 'static>, content: Content, out: &mut Vec<String>) {
        for child in node.children() {
            if child.schema().is_list_key() {
                continue;
            }
            if !keep(&child, content) {
                out.push(child.data_path());
            } else if child.schema().is_config() || content == Content::Config {
                walk(&child, content, out);
            }
        }
    }
    if content == Content::All {
        return Ok(());
    }
    let mut out = Vec::new();
    for top in top_level(tree) {
        if !keep(&top, content) {
            out.push(top.data_path());
        } else {
            walk(&top, content, &mut out);
        }
    }
    remove_paths(tree, out)
}

/// The `fields` expression (RFC 8040 §4.8.3) expanded into paths relative
/// to the target: `a(b;c/d);e` gives `a/b`, `a/c/d`, `e`. Each step is an
/// api-identifier (`[module:]name`). Nesting is bounded by the default
/// document depth; [`expand_fields_with`] takes a door's.
pub fn expand_fields(expr: &str) -> Result<Vec<String>, Error> {
    expand_fields_with(expr, DEFAULT_MAX_DEPTH)
}

/// [`expand_fields`] with parentheses nested at most `max_depth` levels
/// (the document depth bound: no data node sits deeper).
pub fn expand_fields_with(expr: &str, max_depth: usize) -> Result<Vec<String>, Error> {
    fn bad(expr: &str, why: &str) -> Error {
        Error::invalid(format!("invalid fields expression {expr:?}: {why}"))
    }
    struct P<'a> {
        s: &'a [u8],
        expr: &'a str,
        max: usize,
    }
    fn parse_list(p: &P<'_>, i: &mut usize, depth: usize) -> Result<Vec<String>, Error> {
        // Each level is a frame of this recursive parser: bound it.
        if depth > p.max {
            return Err(bad(p.expr, &format!("nested deeper than {} levels", p.max)));
        }
        let s = p.s;
        let mut out = Vec::new();
        loop {
            out.extend(parse_item(p, i, depth)?);
            if *i < s.len() && s[*i] == b';' {
                *i += 1;
                continue;
            }
            return Ok(out);
        }
    }
    fn parse_item(p: &P<'_>, i: &mut usize, depth: usize) -> Result<Vec<String>, Error> {
        let (s, expr) = (p.s, p.expr);
        let start = *i;
        while *i < s.len() && !matches!(s[*i], b'(' | b')' | b';') {
            *i += 1;
        }
        let path = std::str::from_utf8(&s[start..*i]).unwrap_or("");
        if path.is_empty() {
            return Err(bad(expr, "empty path"));
        }
        for step in path.split('/') {
            let name = step.rsplit_once(':').map_or(step, |(_, n)| n);
            let module_ok = step.split_once(':').is_none_or(|(m, _)| is_identifier(m));
            if !is_identifier(name) || !module_ok || step.matches(':').count() > 1 {
                return Err(bad(expr, &format!("{step:?} is not an api-identifier")));
            }
        }
        if *i < s.len() && s[*i] == b'(' {
            *i += 1;
            let inner = parse_list(p, i, depth + 1)?;
            if *i >= s.len() || s[*i] != b')' {
                return Err(bad(expr, "missing ')'"));
            }
            *i += 1;
            Ok(inner.into_iter().map(|q| format!("{path}/{q}")).collect())
        } else {
            Ok(vec![path.to_string()])
        }
    }
    let p = P {
        s: expr.as_bytes(),
        expr,
        max: max_depth.min(encoding::MAX_DEPTH_BOUND),
    };
    let mut i = 0;
    let out = parse_list(&p, &mut i, 0)?;
    if i != p.s.len() {
        return Err(bad(expr, &format!("unexpected {:?}", &expr[i..])));
    }
    Ok(out)
}

/// Applies `fields` and `depth` to a tree holding the targets selected by
/// `target` (an XPath, or `None` for the datastore root) at `target_level`.
/// Returns the new tree: each target with its keys, plus every node the
/// fields select, each with its subtree cut to `depth` levels.
pub fn apply_fields(
    ctx: &'static Context,
    tree: &Tree,
    target: Option<&str>,
    target_level: usize,
    fields: &[String],
    depth: Option<u32>,
) -> Result<Tree, Error> {
    let mut out = DataTree::new(ctx);
    if let Some(xpath) = target {
        for t in select(tree, xpath)? {
            let mut d = ly::dup_with_parents(&t)?;
            prune_levels(&mut d, target_level)?;
            out.merge(&d).map_err(nectar_yang::Error::from)?;
        }
    }
    for f in fields {
        let xpath = format!("{}/{f}", target.unwrap_or(""));
        DataPath::parse_xpath(ctx, &xpath).map_err(|e| {
            Error::invalid(format!(
                "fields: {f:?} does not name a node below the target: {e}"
            ))
        })?;
        for m in select(tree, &xpath)? {
            let lvl = level(&m);
            let mut d = ly::dup_with_parents(&m)?;
            if let Some(depth) = depth {
                prune_levels(&mut d, lvl + depth as usize - 1)?;
            }
            out.merge(&d).map_err(nectar_yang::Error::from)?;
        }
    }
    Ok(out)
}

/// The targets of a response, detached from their ancestors: one tree per
/// selected node (none when nothing is selected). For the datastore root
/// (`xpath` `None`) the tree itself.
pub fn extract(tree: Tree, xpath: Option<&str>) -> Result<Vec<Tree>, Error> {
    match xpath {
        None => Ok(vec![tree]),
        Some(x) => extract_nodes(&tree, x),
    }
}

/// The one node a single-instance data path names (every list with its
/// keys), found by libyang's path lookup (no XPath evaluation), detached.
pub fn extract_single(tree: &Tree, path: &str) -> Result<Vec<Tree>, Error> {
    match ly::find(tree, path)? {
        Some(n) => Ok(vec![n.duplicate(false).map_err(nectar_yang::Error::from)?]),
        None => Ok(Vec::new()),
    }
}

/// The nodes `xpath` selects, each detached as a tree of its own.
pub fn extract_nodes(tree: &Tree, xpath: &str) -> Result<Vec<Tree>, Error> {
    select(tree, xpath)?
        .into_iter()
        .map(|n| Ok(n.duplicate(false).map_err(nectar_yang::Error::from)?))
        .collect()
}

/// Prints extracted targets as one document: several entries of one list or
/// leaf-list become one JSON array (and consecutive XML elements). `None`
/// when the printer leaves nothing (e.g. a default value that the
/// with-defaults mode does not report).
pub fn print_targets(targets: &[Tree], options: &PrintOptions) -> Result<Option<String>, Error> {
    let mut printed = Vec::with_capacity(targets.len());
    for t in targets {
        let p = encoding::print_tree(t, options)?;
        let empty = match options.format {
            encoding::Format::Json => p == "{}",
            encoding::Format::Xml => p.is_empty(),
        };
        if !empty {
            printed.push(p);
        }
    }
    if printed.len() <= 1 {
        return Ok(printed.pop());
    }
    match options.format {
        encoding::Format::Xml => Ok(Some(printed.concat())),
        encoding::Format::Json => {
            let mut key = String::new();
            let mut all = Vec::new();
            for p in &printed {
                let v: serde_json::Value = serde_json::from_str(p).map_err(Error::internal)?;
                let Some((k, items)) = v.as_object().and_then(|o| o.iter().next()) else {
                    continue;
                };
                key = k.clone();
                match items {
                    serde_json::Value::Array(a) => all.extend(a.iter().cloned()),
                    other => all.push(other.clone()),
                }
            }
            Ok(Some(serde_json::json!({ key: all }).to_string()))
        }
    }
}

/// A strong entity-tag over a tree's content (its compact RFC 7951 JSON,
/// explicit nodes only): for a whole datastore.
pub fn content_etag(tree: &Tree) -> Result<String, Error> {
    Ok(etag_of(&encoding::print_tree(tree, &PrintOptions::json())?))
}

/// How a data resource is printed for its entity-tag: compact RFC 7951 JSON
/// of the targets, explicit nodes only, empty containers kept (the default
/// GET representation).
pub fn etag_print_options() -> PrintOptions {
    PrintOptions {
        format: encoding::Format::Json,
        with_defaults: encoding::WithDefaults::Explicit,
        siblings: true,
        pretty: false,
        keep_empty_containers: true,
    }
}

/// The entity-tag of printed content.
pub fn etag_of(printed: &str) -> String {
    let digest = Sha256::digest(printed.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// The entity-tag of the data resource `xpath` selects in `tree` (`None`
/// when it selects nothing).
pub fn resource_etag(tree: &Tree, xpath: &str) -> Result<Option<String>, Error> {
    let targets = extract_nodes(tree, xpath)?;
    if targets.is_empty() {
        return Ok(None);
    }
    let printed = print_targets(&targets, &etag_print_options())?.unwrap_or_default();
    Ok(Some(etag_of(&printed)))
}

/// True when the schema subtree at `node` (the node included) has a
/// `config false` node.
pub fn has_state(node: &SchemaNode<'_>) -> bool {
    if !node.is_config() {
        return true;
    }
    node.children().any(|c| match c.kind() {
        SchemaNodeKind::Rpc
        | SchemaNodeKind::Action
        | SchemaNodeKind::Notification
        | SchemaNodeKind::Input
        | SchemaNodeKind::Output => false,
        _ => has_state(&c),
    })
}

#[cfg(test)]
mod tests {
    use super::expand_fields;

    #[test]
    fn fields_grammar() {
        assert_eq!(expand_fields("a").unwrap(), ["a"]);
        assert_eq!(
            expand_fields("m:a/b(c;d/e(f;g));h").unwrap(),
            ["m:a/b/c", "m:a/b/d/e/f", "m:a/b/d/e/g", "h"]
        );
        for bad in [
            "", "a(", "a)", "a;;b", "a(b", "1a", "a//b", "a(b)c", "m:n:o",
        ] {
            assert!(expand_fields(bad).is_err(), "{bad}");
        }
    }
}
