//! What a client document must satisfy before and right after libyang parses
//! it, so that nothing a client sends reaches an assertion or a deep
//! recursion in libyang:
//!
//! - the text is exactly one JSON value (valid escapes, nothing after it) or
//!   a well-formed XML fragment, without NUL characters, nested at most
//!   [`Limits::max_depth`] levels ([`DEFAULT_MAX_DEPTH`] unless a door
//!   configures another bound);
//! - in JSON, no object has two members naming the same node (RFC 7951
//!   names, `name` and `module:name` of the parent's module are the same);
//! - in the parsed tree, no node is given twice where the schema allows one
//!   instance: a leaf or container, a list key within one entry, two entries
//!   of a list with the same keys.
//!
//! libyang's sorted insertion compares list entries by their first children,
//! expecting the keys there exactly once: an entry with a key given twice
//! aborts the process (`rb_compare_lists` assertion, or a NULL dereference
//! without assertions). Such an entry never reaches libyang: in JSON a key
//! given twice is a duplicate member name; XML is scanned against the
//! schema for keys given twice in one entry before it is parsed.
//!
//! Imports serde_json, quick-xml and yang2 only.

use crate::print::NodePath;
use std::cell::RefCell;
use std::collections::HashSet;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use yang2::context::Context;
use yang2::data::DataNodeRef;
use yang2::schema::{SchemaNode, SchemaNodeKind};

use super::Format;
use crate::{Error, Result};

/// The default of [`Limits::max_depth`]: the deepest YANG data nodes of
/// the model set sit about 25 levels down (twice that in JSON, where a list
/// adds an array level).
pub const DEFAULT_MAX_DEPTH: usize = 100;

/// The most [`Limits::max_depth`] may be: serde_json itself refuses JSON
/// nested deeper than 128 levels, and each level is a frame of recursion in
/// libyang's parsers.
pub const MAX_DEPTH_BOUND: usize = 128;

/// What a client document may cost, as a door configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of JSON values or XML elements accepted in a
    /// document (at most [`MAX_DEPTH_BOUND`]).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

fn malformed(message: impl Into<String>) -> Error {
    Error::Malformed(message.into())
}

/// Checks the text of a client document (see the module docs).
pub(super) fn check_text(
    data: &str,
    format: Format,
    root: Root<'_>,
    limits: &Limits,
) -> Result<()> {
    if data.contains('\0') {
        return Err(malformed("the document contains a NUL character"));
    }
    let max_depth = limits.max_depth.min(MAX_DEPTH_BOUND);
    match format {
        Format::Json => check_json(data, max_depth),
        Format::Xml => check_xml(data, root, max_depth),
    }
}

/// A duplicate member found while walking a JSON document.
struct Duplicate(String);

#[derive(Clone, Copy)]
struct Walk<'p> {
    /// The module of the enclosing member (RFC 7951 §4: a member without a
    /// prefix belongs to its parent's module).
    module: Option<&'p str>,
    depth: usize,
    max_depth: usize,
    dup: &'p RefCell<Option<Duplicate>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        // `\u0000`: no YANG value holds a NUL (RFC 7950 §6.1.1 `yang-char`),
        // and libyang keeps values as C strings.
        if s.contains('\0') {
            return Err(E::custom("a string holds a NUL character"));
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        let mut seen: HashSet<(String, String)> = HashSet::new();
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let (module, local) = match name.split_once(':') {
                Some((m, l)) => (Some(m), l),
                None => (self.module, name.as_ref()),
            };
            if !seen.insert((module.unwrap_or("").to_string(), local.to_string())) {
                *self.dup.borrow_mut() = Some(Duplicate(name.to_string()));
                return Err(A::Error::custom("duplicate member"));
            }
            map.next_value_seed(Walk { module, ..inner })?;
        }
        Ok(())
    }
}

impl Walk<'_> {
    fn deeper<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format!(
                "the document is nested deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(Walk {
            depth: self.depth + 1,
            ..self
        })
    }
}

/// Exactly one JSON value (RFC 8259, strict escapes, nothing after it),
/// nested at most `max_depth` levels, without duplicate member names.
fn check_json(data: &str, max_depth: usize) -> Result<()> {
    let dup = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(data);
    let walk = Walk {
        module: None,
        depth: 0,
        max_depth,
        dup: &dup,
    };
    let result = walk.deserialize(&mut de).and_then(|()| de.end());
    if let Some(Duplicate(name)) = dup.into_inner() {
        return Err(Error::Duplicate {
            message: format!(
                "Duplicate instance of \"{name}\": a member is given twice in one object."
            ),
            name,
            path: None,
        });
    }
    result.map_err(|e| malformed(format!("the body is not one valid JSON value: {e}")))
}

/// Where the top-level elements of an XML document sit in the schema.
#[derive(Clone)]
pub(super) enum Root<'a> {
    /// Top-level data nodes (or an RPC, action or notification).
    Top(&'a Context),
    /// Children of this node.
    Under(SchemaNode<'a>),
}

/// A well-formed XML fragment (elements, text, comments; no DTD), nested at
/// most `max_depth` levels, where no list entry holds one of its keys
/// twice: libyang's sorted insertion of such an entry aborts the process.
fn check_xml(data: &str, root: Root<'_>, max_depth: usize) -> Result<()> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    struct Frame<'a> {
        schema: Option<SchemaNode<'a>>,
        /// The keys seen so far, when this is a list entry.
        keys: Vec<usize>,
    }
    let mut reader = quick_xml::NsReader::from_str(data);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.allow_unmatched_ends = false;
    let mut stack: Vec<Frame<'_>> = Vec::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| malformed(format!("the body is not well-formed XML: {e}")))?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::DocType(_) => {
                return Err(malformed("a document type declaration is not allowed"));
            }
            Event::Eof if stack.is_empty() => return Ok(()),
            Event::Eof => {
                return Err(malformed(
                    "the body is not well-formed XML: unclosed element",
                ));
            }
            _ => continue,
        };
        if stack.len() >= max_depth {
            return Err(malformed(format!(
                "the document is nested deeper than {max_depth} levels"
            )));
        }
        let local = e.local_name();
        let local: &str = local.as_ref();
        let ns = match &ns {
            ResolveResult::Bound(n) => Some(<str as AsRef<str>>::as_ref(n.as_ref())),
            _ => None,
        };
        let schema = match (stack.last(), ns) {
            (_, None) => None,
            (None, Some(ns)) => match &root {
                Root::Top(ctx) => ctx.get_module_latest_ns(ns).and_then(|m| {
                    find_child(m.data().chain(m.rpcs()).chain(m.notifications()), ns, local)
                }),
                Root::Under(parent) => find_child(parent.children(), ns, local),
            },
            (
                Some(Frame {
                    schema: Some(p), ..
                }),
                Some(ns),
            ) => find_child(p.children(), ns, local),
            (Some(Frame { schema: None, .. }), Some(_)) => None,
        };
        if let (Some(parent), Some(child)) = (stack.last_mut(), &schema)
            && child.is_list_key()
        {
            let id = child.as_raw() as usize;
            if parent.keys.contains(&id) {
                return Err(Error::Duplicate {
                    name: local.to_string(),
                    path: None,
                    message: format!(
                        "Duplicate instance of \"{local}\": a list key is given twice in one entry."
                    ),
                });
            }
            parent.keys.push(id);
        }
        if !empty {
            stack.push(Frame {
                schema,
                keys: Vec::new(),
            });
        }
    }
}

/// The schema child named `local` in namespace `ns` among `nodes`, looking
/// through choices, cases and RPC/action input.
fn find_child<'a>(
    nodes: impl Iterator<Item = SchemaNode<'a>>,
    ns: &str,
    local: &str,
) -> Option<SchemaNode<'a>> {
    for node in nodes {
        match node.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case | SchemaNodeKind::Input => {
                if let Some(found) = find_child(node.children(), ns, local) {
                    return Some(found);
                }
            }
            SchemaNodeKind::Output => {}
            _ if node.name() == local && node.module().namespace() == ns => return Some(node),
            _ => {}
        }
    }
    None
}

/// Checks a parsed tree (its top-level siblings from `first` on) for nodes
/// given more than once where the schema allows one instance.
pub(super) fn check_instances(first: Option<DataNodeRef<'_, '_>>) -> Result<()> {
    let Some(first) = first else { return Ok(()) };
    check_siblings(first.inclusive_siblings())
}

fn check_siblings<'a, 'b: 'a>(nodes: impl Iterator<Item = DataNodeRef<'a, 'b>>) -> Result<()> {
    let mut single: HashSet<usize> = HashSet::new();
    let mut entries: HashSet<(usize, Vec<String>)> = HashSet::new();
    for node in nodes {
        let schema = node.schema();
        let id = schema.as_raw() as usize;
        let unique = match schema.kind() {
            SchemaNodeKind::LeafList => true,
            SchemaNodeKind::List if schema.is_keyless_list() => true,
            SchemaNodeKind::List => {
                let keys: Vec<String> = node
                    .list_keys()
                    .map(|k| k.value_canonical().unwrap_or_default())
                    .collect();
                entries.insert((id, keys))
            }
            _ => single.insert(id),
        };
        if !unique {
            return Err(duplicate(&node));
        }
        if matches!(
            schema.kind(),
            SchemaNodeKind::Container
                | SchemaNodeKind::List
                | SchemaNodeKind::Rpc
                | SchemaNodeKind::Action
                | SchemaNodeKind::Input
                | SchemaNodeKind::Output
                | SchemaNodeKind::Notification
        ) {
            check_siblings(node.children())?;
        }
    }
    Ok(())
}

fn duplicate(node: &DataNodeRef<'_, '_>) -> Error {
    let name = node.schema().name().to_string();
    let what = if node.schema().kind() == SchemaNodeKind::List {
        "list entry (the same keys twice)"
    } else {
        "node"
    };
    Error::Duplicate {
        message: format!("Duplicate instance of \"{name}\": this {what} is given more than once."),
        path: Some(node.data_path()),
        name,
    }
}
