//! Generates `paths.rs`: one Rust module per schema node of the model set the daemon
//! implements (`src/specs.rs`, deviations applied), each with a `PATH` constant holding the
//! node's schema path in libyang's data format (no choice or case steps, a module prefix
//! where the module changes), e.g.
//! `paths::ietf_interfaces::interfaces::interface::ietf_ip_ipv4::mtu::PATH` is
//! `/ietf-interfaces:interfaces/interface/ietf-ip:ipv4/mtu`. libyang loads and compiles the
//! modules here exactly as it does at run time, so a path that the daemon's schema does not
//! have cannot be named.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use yang2::context::{Context, ContextFlags, EmbeddedModuleKey, EmbeddedModules};
use yang2::schema::{SchemaNode, SchemaNodeKind, SchemaPathFormat};

#[path = "../src/specs.rs"]
#[allow(dead_code)]
mod specs;

/// One module text to embed: name, revision, the module a submodule belongs to, the text.
pub struct Source {
    pub name: String,
    pub revision: Option<String>,
    pub belongs_to: Option<String>,
    pub text: String,
}

#[derive(Default)]
struct Tree {
    path: Option<String>,
    children: BTreeMap<String, Tree>,
}

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The Rust module name of a schema node: its name with `-` and `.` as `_`, prefixed by
/// its module's name where that differs from the parent's (an augmentation), and with a
/// trailing `_` for a Rust keyword.
fn ident(node: &SchemaNode<'_>, parent_module: Option<&str>) -> String {
    let mut s = String::new();
    let module = node.module();
    if parent_module != Some(module.name()) && parent_module.is_some() {
        s.push_str(module.name());
        s.push('_');
    }
    s.push_str(node.name());
    let mut s = s.replace(['-', '.'], "_").to_lowercase();
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

fn walk(node: SchemaNode<'_>, parent_module: &str, into: &mut Tree) {
    match node.kind() {
        // Not data steps: their children are children of the parent.
        SchemaNodeKind::Choice | SchemaNodeKind::Case => {
            for c in node.children() {
                walk(c, parent_module, into);
            }
        }
        SchemaNodeKind::Container
        | SchemaNodeKind::List
        | SchemaNodeKind::Leaf
        | SchemaNodeKind::LeafList
        | SchemaNodeKind::AnyData => {
            let name = ident(&node, Some(parent_module));
            let path = node.path(SchemaPathFormat::DATA);
            let t = into.children.entry(name.clone()).or_default();
            if let Some(old) = &t.path {
                assert_eq!(old, &path, "two schema nodes named {name} under one parent");
            }
            t.path = Some(path);
            let module = node.module();
            for c in node.children() {
                walk(c, module.name(), t);
            }
        }
        // RPCs, actions, notifications: not data.
        _ => {}
    }
}

fn print(t: &Tree, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    if let Some(p) = &t.path {
        writeln!(out, "{pad}pub const PATH: &str = {p:?};").unwrap();
    }
    for (name, c) in &t.children {
        writeln!(out, "{pad}pub mod {name} {{").unwrap();
        print(c, depth + 1, out);
        writeln!(out, "{pad}}}").unwrap();
    }
}

/// The generated source of `paths.rs` for the modules in `sources`.
pub fn generate(sources: Vec<Source>) -> String {
    // libyang keeps pointers to the texts for the context's life: a build script may leak.
    let sources: &'static [Source] = Vec::leak(sources);
    let mut map: EmbeddedModules = HashMap::new();
    for m in sources {
        let key = match &m.belongs_to {
            None => EmbeddedModuleKey::new(&m.name, m.revision.as_deref(), None, None),
            Some(parent) => {
                EmbeddedModuleKey::new(parent, None, Some(&m.name), m.revision.as_deref())
            }
        };
        map.insert(key, &m.text);
    }
    let mut ctx = Context::new(
        ContextFlags::NO_YANGLIBRARY
            | ContextFlags::DISABLE_SEARCHDIRS
            | ContextFlags::REF_IMPLEMENTED,
    )
    .expect("libyang context");
    ctx.set_embedded_modules(&map);
    ctx.load_module("ietf-yang-library", None, &[])
        .expect("ietf-yang-library");
    for list in specs::ALL {
        for spec in *list {
            ctx.load_module(spec.name, None, spec.features)
                .unwrap_or_else(|e| panic!("cannot load {}: {e}", spec.name));
        }
    }

    let mut root = Tree::default();
    for module in ctx.modules(true).filter(|m| m.is_implemented()) {
        let name = module.name().replace(['-', '.'], "_");
        let mut t = Tree::default();
        for node in module.data() {
            walk(node, module.name(), &mut t);
        }
        if !t.children.is_empty() {
            root.children.insert(name, t);
        }
    }
    let mut out = String::from("// Generated by yang/build.rs from the model set; do not edit.\n");
    print(&root, 0, &mut out);
    out
}
