//! The data path grammar (`/module:name[key='value']/...`, as libyang
//! prints it): splitting a path into steps, parents and ancestors, schema
//! paths, and data paths printed step by step as a walk goes down a subtree
//! (the same strings as `lyd_path`, without printing every step again for
//! every node).

use nectar_yang::print::NodePath;
use yang2::context::Context;
use yang2::data::{Data, DataNodeRef};
use yang2::ffi;

use super::ctx_raw;

/// The byte ranges of a data path's steps (see [`steps`]), without
/// allocating.
struct StepRanges<'a> {
    path: &'a [u8],
    pos: usize,
    start: usize,
    depth: usize,
    quote: Option<u8>,
}

fn step_ranges(path: &str) -> StepRanges<'_> {
    StepRanges {
        path: path.as_bytes(),
        pos: 0,
        // The first character is the leading `/` (a path not starting with
        // an ASCII character keeps it in its first step).
        start: usize::from(path.as_bytes().first().is_none_or(u8::is_ascii)),
        depth: 0,
        quote: None,
    }
}

impl Iterator for StepRanges<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        // Byte-wise: the delimiters are ASCII, and a UTF-8 continuation byte
        // never equals one. Each state skips to the next byte it cares about.
        let p = self.path;
        while self.pos < p.len() {
            let rest = &p[self.pos..];
            let found = match (self.quote, self.depth) {
                (Some(q), _) => rest.iter().position(|&c| c == q),
                (None, 0) => rest.iter().position(|&c| c == b'/' || c == b'['),
                (None, _) => rest
                    .iter()
                    .position(|&c| matches!(c, b'[' | b']' | b'\'' | b'"')),
            };
            let Some(k) = found else {
                self.pos = p.len();
                break;
            };
            let (i, c) = (self.pos + k, rest[k]);
            self.pos = i + 1;
            match self.quote {
                Some(_) => self.quote = None,
                None => match c {
                    b'[' => self.depth += 1,
                    b']' => self.depth -= 1,
                    b'\'' | b'"' => self.quote = Some(c),
                    _ if i > 0 => {
                        let r = (self.start, i);
                        self.start = i + 1;
                        return Some(r);
                    }
                    _ => {}
                },
            }
        }
        if self.start < p.len() {
            let r = (self.start, p.len());
            self.start = p.len();
            return Some(r);
        }
        None
    }
}

/// Splits a data path into its steps (`module:name[predicates]`), treating
/// `/` inside predicates and quoted key values as part of the step.
pub fn steps(path: &str) -> Vec<&str> {
    step_ranges(path).map(|(a, b)| &path[a..b]).collect()
}

/// The first `n` steps of a data path (the path of an ancestor, the same
/// string as `/` + `steps(path)[..n].join("/")`), or `None` when the path is
/// shorter. Allocation-free for absolute paths.
pub fn truncate_steps(path: &str, n: usize) -> Option<std::borrow::Cow<'_, str>> {
    if n == 0 {
        return Some("/".into());
    }
    let (_, end) = step_ranges(path).nth(n - 1)?;
    Some(if path.starts_with('/') {
        path[..end].into()
    } else {
        format!("/{}", steps(path)[..n].join("/")).into()
    })
}

/// The branches of an XPath union (`/a:x | /b:y`), split at the top-level
/// `|` (outside predicates, parentheses and literals), trimmed. A path
/// without a union is its only branch.
pub fn union_branches(xpath: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    for (i, c) in xpath.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth = depth.saturating_sub(1),
            (None, '|') if depth == 0 => {
                out.push(xpath[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(xpath[start..].trim());
    out
}

/// The schema path of a data path: predicates dropped.
pub fn schema_path_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for step in steps(path) {
        out.push('/');
        out.push_str(step.split_once('[').map_or(step, |(name, _)| name));
    }
    out
}

/// The data path of a node's parent, `None` for a top-level node.
pub fn parent_path(path: &str) -> Option<String> {
    let (mut count, mut parent_end, mut last_end) = (0usize, 0usize, 0usize);
    for (_, end) in step_ranges(path) {
        count += 1;
        parent_end = last_end;
        last_end = end;
    }
    if count < 2 {
        return None;
    }
    if path.starts_with('/') {
        Some(path[..parent_end].to_string())
    } else {
        let s = steps(path);
        Some(format!("/{}", s[..s.len() - 1].join("/")))
    }
}

/// Appends the path step of `node` (`/module:name[key='v']...`) to `path` and
/// its schema step (`/module:name`) to `schema`, exactly as libyang's
/// `lyd_path` (`LYD_PATH_STD`, what [`DataNodeRef::path`] prints) writes that
/// step after its parent's path. Returns `false`, having appended nothing,
/// for the steps it does not print itself: opaque nodes (or children of
/// one), keyless lists and state leaf-lists (libyang prints their position).
fn push_step(path: &mut String, schema: &mut String, node: &DataNodeRef<'_, 'static>) -> bool {
    use std::ffi::CStr;
    // SAFETY: `node` is a live node of a tree borrowed for the call; its
    // schema node, the parent's schema node, their modules and the
    // canonical strings of its keys live as long as the tree and the
    // context. Only fields are read.
    unsafe {
        let raw = node.as_raw();
        let snode = (*raw).schema;
        if snode.is_null() {
            return false;
        }
        let parent = (*raw).parent;
        let parent_mod = if parent.is_null() {
            std::ptr::null_mut()
        } else {
            let ps = (*parent).__bindgen_anon_1.node.schema;
            if ps.is_null() {
                return false;
            }
            (*ps).module
        };
        let nodetype = u32::from((*snode).nodetype);
        let flags = u32::from((*snode).flags);
        let list = nodetype == ffi::LYS_LIST;
        let leaf_list = nodetype == ffi::LYS_LEAFLIST;
        if (list && flags & ffi::LYS_KEYLESS != 0) || (leaf_list && flags & ffi::LYS_CONFIG_W == 0)
        {
            return false;
        }
        let name = CStr::from_ptr((*snode).name).to_string_lossy();
        let module = (*snode).module;
        let start = (path.len(), schema.len());
        for out in [&mut *path, &mut *schema] {
            out.push('/');
            if module != parent_mod {
                out.push_str(&CStr::from_ptr((*module).name).to_string_lossy());
                out.push(':');
            }
            out.push_str(&name);
        }
        let mut predicate = |key: &str, value: *const std::os::raw::c_char| -> bool {
            if value.is_null() {
                return false;
            }
            let value = CStr::from_ptr(value).to_string_lossy();
            let quote = if value.contains('\'') { '"' } else { '\'' };
            path.push('[');
            path.push_str(key);
            path.push('=');
            path.push(quote);
            path.push_str(&value);
            path.push(quote);
            path.push(']');
            true
        };
        let ok = if list {
            let mut ok = true;
            let mut key = (*(raw as *mut ffi::lyd_node_inner)).child;
            while ok && !key.is_null() {
                let ks = (*key).schema;
                if ks.is_null() || u32::from((*ks).flags) & ffi::LYS_KEY == 0 {
                    break;
                }
                let kname = CStr::from_ptr((*ks).name).to_string_lossy();
                ok = predicate(&kname, term_value(node.context(), key));
                key = (*key).next;
            }
            ok
        } else if leaf_list {
            predicate(".", term_value(node.context(), raw))
        } else {
            true
        };
        if !ok {
            path.truncate(start.0);
            schema.truncate(start.1);
        }
        ok
    }
}

/// The canonical value of a terminal node, as `lyd_get_value` gives it.
///
/// # Safety
/// `node` must be a live terminal (leaf or leaf-list) data node of `ctx`.
unsafe fn term_value(ctx: &Context, node: *mut ffi::lyd_node) -> *const std::os::raw::c_char {
    // SAFETY: per the contract, `node` is a lyd_node_term.
    unsafe {
        let value = &(*(node as *mut ffi::lyd_node_term)).value;
        if value._canonical.is_null() {
            ffi::lyd_value_get_canonical(ctx_raw(ctx), value)
        } else {
            value._canonical
        }
    }
}

/// The data path of `node` whose parent's data path is `parent_path`: the
/// same string as `node.path()`, built from the parent's instead of walking
/// up to the root and printing every step again.
pub fn child_path(parent_path: &str, node: &DataNodeRef<'_, 'static>) -> String {
    let mut path = String::with_capacity(parent_path.len() + 48);
    child_path_into(&mut path, parent_path, node);
    path
}

/// [`child_path`] written into `out` (cleared first), to reuse one buffer
/// over many nodes.
pub fn child_path_into(out: &mut String, parent_path: &str, node: &DataNodeRef<'_, 'static>) {
    out.clear();
    out.push_str(parent_path);
    let mut schema = String::new();
    if !push_step(out, &mut schema, node) {
        *out = node.data_path();
    }
}

/// Calls `f` on `root` and every node below it, in the order of
/// `root.traverse()` (depth first, parents before children), with each
/// node's data path (the string `DataNodeRef::path` returns) and its schema
/// path (the string [`schema_path_of`] makes of the data path). The paths
/// are built step by step as the walk goes down, so a subtree of n nodes
/// costs O(n) steps printed, not O(n × depth).
pub fn walk_paths<'t>(
    root: &DataNodeRef<'t, 'static>,
    mut f: impl FnMut(&DataNodeRef<'t, 'static>, &str, &str),
) {
    let mut path = root.data_path();
    let mut schema = schema_path_of(&path);
    walk_below(root, &mut path, &mut schema, &mut f);
}

fn walk_below<'t>(
    node: &DataNodeRef<'t, 'static>,
    path: &mut String,
    schema: &mut String,
    f: &mut impl FnMut(&DataNodeRef<'t, 'static>, &str, &str),
) {
    f(node, path, schema);
    for child in node.children() {
        let mark = (path.len(), schema.len());
        if push_step(path, schema, &child) {
            walk_below(&child, path, schema, f);
            path.truncate(mark.0);
            schema.truncate(mark.1);
        } else {
            // A step libyang prints by position: take its whole path from it.
            let mut cpath = child.data_path();
            let mut cschema = schema_path_of(&cpath);
            walk_below(&child, &mut cpath, &mut cschema, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{child_path, parent_path, schema_path_of, walk_paths};
    use nectar_yang::print::NodePath;

    use crate::ly::test_ctx as ctx;

    /// Every node's path as `walk_paths` and `child_path` build it must be
    /// the very string libyang prints (and its schema path the one
    /// `schema_path_of` makes of it): keys quoted either way, several keys,
    /// identityref keys, augmenting modules, config leaf-lists by value,
    /// state leaf-lists and lists by position (the fallback), non-canonical
    /// input values.
    fn assert_paths_match(tree: &crate::ly::Tree) -> usize {
        let mut seen = 0;
        for top in tree.reference().unwrap().inclusive_siblings() {
            let mut walked = Vec::new();
            walk_paths(&top, |n, p, s| {
                walked.push((n.as_raw(), p.to_string(), s.to_string()))
            });
            let expected: Vec<_> = top
                .traverse()
                .map(|n| {
                    let p = n.data_path();
                    (n.as_raw(), schema_path_of(&p), p)
                })
                .collect();
            assert_eq!(walked.len(), expected.len());
            for ((wn, wp, ws), (en, es, ep)) in walked.iter().zip(&expected) {
                assert_eq!(wn, en, "same order as traverse()");
                assert_eq!(wp, ep);
                assert_eq!(ws, es);
            }
            for n in top.traverse() {
                if let Some(parent) = n.ancestors().next() {
                    assert_eq!(child_path(&parent.data_path(), &n), n.data_path());
                    let mut buf = String::from("/left:over[x='y']");
                    super::child_path_into(&mut buf, &parent.data_path(), &n);
                    assert_eq!(buf, n.data_path());
                }
            }
            seen += walked.len();
        }
        seen
    }

    #[test]
    fn walked_paths_are_the_paths_libyang_prints() {
        let json = r#"{
          "ietf-interfaces:interfaces": {"interface": [
            {"name": "it's", "type": "iana-if-type:ethernetCsmacd", "description": "q",
             "ietf-ip:ipv4": {"address": [{"ip": "10.0.0.1", "prefix-length": 24}]},
             "ietf-ip:ipv6": {"address": [{"ip": "2001:DB8:0:0::1", "prefix-length": 64}]}},
            {"name": "a\"b/[c]", "type": "iana-if-type:softwareLoopback"}
          ]},
          "ietf-routing:routing": {"control-plane-protocols": {"control-plane-protocol": [
            {"type": "ietf-routing:static", "name": "st",
             "static-routes": {"ietf-ipv4-unicast-routing:ipv4": {"route": [
               {"destination-prefix": "11.0.0.0/24", "next-hop": {"next-hop-address": "10.0.0.2"}}
             ]}}}
          ]}},
          "ietf-netconf-acm:nacm": {"groups": {"group": [
            {"name": "ops", "user-name": ["alice", "o'neil", "b\"c"]}
          ]}}
        }"#;
        let tree = crate::core::parse_json(ctx(), json).unwrap();
        assert!(assert_paths_match(&tree) > 20);
        // State data: leaf-lists (features) that libyang prints by position.
        let lib = crate::yanglib::yang_library(ctx()).unwrap();
        let mut positional = 0;
        for n in lib.traverse() {
            if n.data_path().ends_with("]")
                && n.data_path()
                    .rsplit('[')
                    .next()
                    .unwrap()
                    .starts_with(|c: char| c.is_ascii_digit())
            {
                positional += 1;
            }
        }
        assert!(positional > 0, "the fallback is exercised");
        assert!(assert_paths_match(&lib) > 20);
    }

    #[test]
    fn parent_path_respects_predicates() {
        assert_eq!(
            parent_path("/m:a/b[k='x/y']/c"),
            Some("/m:a/b[k='x/y']".into())
        );
        assert_eq!(parent_path("/m:a"), None);
        assert_eq!(parent_path("/m:a/b[k=\"]\"]"), Some("/m:a".into()));
    }

    /// The step splitting as first written (one char at a time): the fast
    /// scanner must split every string the same way.
    fn steps_reference(path: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let (mut depth, mut quote, mut start) = (0usize, None::<char>, 1usize);
        for (i, c) in path.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '[' => depth += 1,
                    ']' => depth = depth.saturating_sub(1),
                    '\'' | '"' if depth > 0 => quote = Some(c),
                    '/' if depth == 0 && i > 0 => {
                        out.push(&path[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                },
            }
        }
        if start < path.len() {
            out.push(&path[start..]);
        }
        out
    }

    /// Every string of up to 6 characters over the delimiters (and a
    /// letter and a non-ASCII one) splits as the reference splits it.
    #[test]
    fn fast_step_scanner_splits_like_the_reference() {
        let alphabet = ['/', '[', ']', '\'', '"', 'a', 'é'];
        let mut count = 0;
        let mut word: Vec<usize> = Vec::new();
        loop {
            let s: String = word.iter().map(|&i| alphabet[i]).collect();
            // (The reference panics on a leading non-ASCII character.)
            if s.starts_with(|c: char| c.is_ascii()) {
                assert_eq!(super::steps(&s), steps_reference(&s), "{s:?}");
                count += 1;
            }
            // Next word: counting in base 7, growing the length.
            let mut k = 0;
            loop {
                if k == word.len() {
                    word.push(0);
                    break;
                }
                word[k] += 1;
                if word[k] < alphabet.len() {
                    break;
                }
                word[k] = 0;
                k += 1;
            }
            if word.len() > 6 {
                break;
            }
        }
        assert!(count > 90_000);
    }

    /// The allocation-free `parent_path` and `truncate_steps` give the
    /// strings their definitions over `steps` give, odd paths included.
    #[test]
    fn parent_and_truncation_agree_with_steps() {
        let paths = [
            "/m:a",
            "/m:a/b[k='x/y']/c",
            "/m:a/b[k=\"]\"]/c[d='it''s']/e",
            "/m:a/b[k='[/]'][l=\"'/'\"]/c",
            "/m:a//b",
            "/m:a/b/",
            "m:a/b/c",
            "/",
            "",
            "/m:ll[.='v/w']",
            "/m:é/ü[k='ß/']/x",
        ];
        for p in paths {
            let s = super::steps(p);
            let want_parent = (s.len() > 1).then(|| format!("/{}", s[..s.len() - 1].join("/")));
            assert_eq!(parent_path(p), want_parent, "parent of {p:?}");
            for n in 0..5 {
                let want = (s.len() >= n).then(|| format!("/{}", s[..n].join("/")));
                assert_eq!(
                    super::truncate_steps(p, n).map(|c| c.into_owned()),
                    want,
                    "{n} steps of {p:?}"
                );
            }
        }
    }

    #[test]
    fn schema_path_drops_predicates_with_quoted_brackets() {
        assert_eq!(
            schema_path_of("/a:x/y[name='p]q'][k=\"z'\"]/leaf"),
            "/a:x/y/leaf"
        );
        assert_eq!(schema_path_of("/a:ll[.='v']"), "/a:ll");
    }
}
