//! Edits of a datastore tree with RFC 6241 semantics (merge, replace, create,
//! delete, remove at any depth), applied in place and recorded step by step so
//! that a transaction can be undone, journaled and described to providers in
//! O(size of the change), never by copying or diffing the whole tree.

use nectar_yang::print::NodePath;
use yang2::data::{DataFormat, DataNodeRef, DataPrinterFlags};
use yang2::schema::SchemaNodeKind;

use crate::error::{ErrorTag, MgmtError};
use crate::ly::{self, Tree};

/// An edit operation (RFC 6241 §7.2 `operation` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOp {
    Merge,
    Replace,
    Create,
    Delete,
    Remove,
}

impl EditOp {
    pub fn parse(s: &str) -> Option<EditOp> {
        Some(match s {
            "merge" => EditOp::Merge,
            "replace" => EditOp::Replace,
            "create" => EditOp::Create,
            "delete" => EditOp::Delete,
            "remove" => EditOp::Remove,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EditOp::Merge => "merge",
            EditOp::Replace => "replace",
            EditOp::Create => "create",
            EditOp::Delete => "delete",
            EditOp::Remove => "remove",
        }
    }
}

/// RFC 6241 `default-operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultOp {
    #[default]
    Merge,
    Replace,
    None,
}

/// RFC 6241 `error-option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorOption {
    StopOnError,
    ContinueOnError,
    #[default]
    RollbackOnError,
}

/// One operation on one subtree. `path` is the data path of the target node
/// (JSON style, module names as prefixes); `None` means the whole datastore.
/// `data` holds the new content with all its parents (as a tree of its own)
/// for merge, replace and create.
#[derive(Debug)]
pub struct EditStep {
    pub op: EditOp,
    pub path: Option<String>,
    pub data: Option<Tree>,
    /// With default-operation `none`, the parents of the target must already
    /// exist (RFC 6241 §7.2: data-missing otherwise).
    pub parents_must_exist: bool,
}

impl EditStep {
    /// Merge a tree (any number of top-level nodes) into the datastore.
    pub fn merge(data: Tree) -> Self {
        EditStep {
            op: EditOp::Merge,
            path: None,
            data: Some(data),
            parents_must_exist: false,
        }
    }

    /// Replace the whole datastore with a tree.
    pub fn replace_all(data: Tree) -> Self {
        EditStep {
            op: EditOp::Replace,
            path: None,
            data: Some(data),
            parents_must_exist: false,
        }
    }

    /// An operation on the node at `path`; `data` holds it with its parents.
    pub fn at(op: EditOp, path: impl Into<String>, data: Option<Tree>) -> Self {
        EditStep {
            op,
            path: Some(path.into()),
            data,
            parents_must_exist: false,
        }
    }
}

/// What an edit did, in order: enough to undo it, to journal it and to tell
/// providers about it.
#[derive(Debug)]
pub enum Touched {
    /// A subtree was created at `path`. `implicit` marks default nodes that
    /// validation added (not journaled: validation adds them again).
    Created { path: String, implicit: bool },
    /// The subtree at `path` was removed; `backup` holds it with its parents,
    /// and `slot` where it stood if it is an ordered-by-user entry.
    Deleted {
        path: String,
        backup: Tree,
        slot: Option<ly::Position>,
    },
    /// A leaf's value changed (or an implicit default became explicit).
    Modified {
        path: String,
        old: String,
        old_default: bool,
    },
}

/// The content a step merges: borrowed (copied into the datastore) or owned
/// (its nodes are moved into the datastore, no copy).
enum Content<'a> {
    Borrowed(&'a Tree),
    Owned(Tree),
}

impl Content<'_> {
    fn tree(&self) -> &Tree {
        match self {
            Content::Borrowed(t) => t,
            Content::Owned(t) => t,
        }
    }
}

/// Applies one step to `tree`, appending what it did to `log`. On error the
/// step has changed nothing (its checks run before any change).
pub fn apply_step(
    tree: &mut Tree,
    step: &EditStep,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    apply(tree, step, step.data.as_ref().map(Content::Borrowed), log)
}

/// [`apply_step`] for a step that is not needed afterwards: its content is
/// moved into `tree` instead of being copied.
pub fn apply_step_owned(
    tree: &mut Tree,
    mut step: EditStep,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    let data = step.data.take().map(Content::Owned);
    apply(tree, &step, data, log)
}

fn apply(
    tree: &mut Tree,
    step: &EditStep,
    data: Option<Content<'_>>,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    if step.parents_must_exist
        && let Some(path) = &step.path
        && let Some(parent) = ly::parent_path(path)
        && ly::find(tree, &parent)?.is_none()
    {
        return Err(MgmtError::app(
            ErrorTag::DataMissing,
            "the parent of the edited node does not exist",
        )
        .with_path(parent));
    }
    let data_of = |data| need(data, step.op);
    match step.op {
        EditOp::Merge => merge(tree, data_of(data)?, log),
        EditOp::Create => {
            let path = step
                .path
                .as_deref()
                .ok_or_else(|| MgmtError::invalid_value("create needs a target node"))?;
            if let Some(existing) = ly::find(tree, path)?
                && !is_implicit(&existing)
            {
                return Err(MgmtError::app(
                    ErrorTag::DataExists,
                    "the data to create already exists",
                )
                .with_path(path));
            }
            merge(tree, data_of(data)?, log)
        }
        EditOp::Replace => {
            let data = data_of(data)?;
            match &step.path {
                None => {
                    let tops: Vec<String> = top_level(tree)
                        .filter(|n| !is_implicit(n))
                        .map(|n| n.data_path())
                        .collect();
                    for p in tops {
                        prune_absent(tree, data.tree(), &p, log)?;
                    }
                }
                Some(path) => {
                    if ly::find(tree, path)?.is_some() {
                        prune_absent(tree, data.tree(), path, log)?;
                    }
                }
            }
            merge(tree, data, log)
        }
        EditOp::Delete | EditOp::Remove => {
            let path = step
                .path
                .as_deref()
                .ok_or_else(|| MgmtError::invalid_value("delete needs a target node"))?;
            let exists = match ly::find(tree, path)? {
                Some(n) => !is_implicit(&n),
                None => false,
            };
            if !exists {
                if step.op == EditOp::Delete {
                    return Err(MgmtError::app(
                        ErrorTag::DataMissing,
                        "the data to delete does not exist",
                    )
                    .with_path(path));
                }
                return Ok(());
            }
            delete(tree, path, log)
        }
    }
}

fn need(data: Option<Content<'_>>, op: EditOp) -> Result<Content<'_>, MgmtError> {
    data.ok_or_else(|| MgmtError::invalid_value(format!("{} needs data", op.as_str())))
}

fn top_level(tree: &Tree) -> impl Iterator<Item = DataNodeRef<'_, 'static>> {
    tree.reference()
        .into_iter()
        .flat_map(|r| r.inclusive_siblings())
}

/// A leaf or leaf-list whose value is the schema default and was never set
/// explicitly, or a non-presence container holding only such nodes.
pub fn is_implicit(node: &DataNodeRef<'_, 'static>) -> bool {
    match node.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => node.is_default(),
        SchemaNodeKind::Container if node.schema().is_np_container() => {
            node.children().all(|c| is_implicit(&c))
        }
        _ => false,
    }
}

fn delete(tree: &mut Tree, path: &str, log: &mut Vec<Touched>) -> Result<(), MgmtError> {
    if let Some(t) = Touched::delete(tree, path)? {
        log.push(t);
    }
    Ok(())
}

impl Touched {
    /// Removes the subtree at `path` (if it exists) and says so, with what
    /// undoing it needs.
    pub fn delete(tree: &mut Tree, path: &str) -> Result<Option<Touched>, MgmtError> {
        let (backup, slot) = match ly::find(tree, path)? {
            Some(n) => (ly::dup_with_parents(&n)?, ly::slot_of(&n)),
            None => return Ok(None),
        };
        ly::remove(tree, path)?;
        Ok(Some(Touched::Deleted {
            path: path.to_string(),
            backup,
            slot,
        }))
    }
}

/// Records what merging `data` into `tree` will do, then merges.
fn merge(tree: &mut Tree, data: Content<'_>, log: &mut Vec<Touched>) -> Result<(), MgmtError> {
    for top in top_level(data.tree()) {
        scan_merge(tree, &top, log)?;
    }
    match data {
        Content::Borrowed(data) => tree.merge(data).map_err(MgmtError::from),
        Content::Owned(data) => ly::merge_owned(tree, data),
    }
}

fn scan_merge(
    tree: &Tree,
    src: &DataNodeRef<'_, 'static>,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    let path = src.data_path();
    match ly::find(tree, &path)? {
        None => log.push(Touched::Created {
            path,
            implicit: false,
        }),
        Some(existing) => match src.schema().kind() {
            SchemaNodeKind::Leaf => {
                let old = existing.value_canonical().unwrap_or_default();
                let old_default = existing.is_default();
                if old_default || Some(&old) != src.value_canonical().as_ref() {
                    log.push(Touched::Modified {
                        path,
                        old,
                        old_default,
                    });
                }
            }
            SchemaNodeKind::LeafList => {
                if existing.is_default() {
                    let old = existing.value_canonical().unwrap_or_default();
                    log.push(Touched::Modified {
                        path,
                        old,
                        old_default: true,
                    });
                }
            }
            _ => {
                for child in src.children() {
                    scan_merge(tree, &child, log)?;
                }
            }
        },
    }
    Ok(())
}

/// For a replace: removes every explicit descendant of `path` in `tree` that
/// `data` does not have, recursively, so that the following merge leaves
/// exactly `data`'s content there. Only what differs is touched.
fn prune_absent(
    tree: &mut Tree,
    data: &Tree,
    path: &str,
    log: &mut Vec<Touched>,
) -> Result<(), MgmtError> {
    if ly::find(data, path)?.is_none() {
        return delete(tree, path, log);
    }
    let children: Vec<(String, bool)> = match ly::find(tree, path)? {
        Some(n) => n
            .children()
            .filter(|c| !is_implicit(c) && !c.schema().is_list_key())
            .map(|c| {
                let inner = !matches!(
                    c.schema().kind(),
                    SchemaNodeKind::Leaf | SchemaNodeKind::LeafList
                );
                (c.data_path(), inner)
            })
            .collect(),
        None => return Ok(()),
    };
    for (child, inner) in children {
        if inner {
            prune_absent(tree, data, &child, log)?;
        } else if ly::find(data, &child)?.is_none() {
            delete(tree, &child, log)?;
        }
    }
    Ok(())
}

/// Reverts what `log` records, newest first. Cannot fail on a log produced
/// by `apply_step` on the same tree.
pub fn undo(tree: &mut Tree, log: Vec<Touched>) {
    for t in log.into_iter().rev() {
        let r = match t {
            Touched::Created { path, .. } => ly::remove(tree, &path).map(|_| ()),
            Touched::Deleted { path, backup, slot } => {
                let restored = tree.merge(&backup).map_err(MgmtError::from);
                match (restored, &slot) {
                    (Ok(()), Some(slot)) => ly::restore_slot(tree, &path, slot),
                    (r, _) => r,
                }
            }
            Touched::Modified {
                path,
                old,
                old_default,
            } => ly::set_value(tree, &path, Some(&old)).and_then(|_| {
                if old_default {
                    ly::mark_default(tree, &path)
                } else {
                    Ok(())
                }
            }),
        };
        if let Err(e) = r {
            // Undo of our own log on our own tree: a failure is a bug.
            tracing::error!(error = %e, "undo step failed");
        }
    }
}

/// Turns a NETCONF `<config>` tree whose nodes may carry the
/// `ietf-netconf:operation` annotation into steps, in document order
/// (RFC 6241 §7.2): one step for the tree under `default-operation`, then one
/// per node with an explicit operation, each without the nested subtrees that
/// carry operations of their own.
///
/// The tree is taken by value: the step under `default-operation` is the tree
/// itself once the explicit operations are cut out of it (a bulk edit is not
/// copied).
pub fn steps_from_netconf(edit: Tree, default_op: DefaultOp) -> Result<Vec<EditStep>, MgmtError> {
    // (path, op, op of the nearest ancestor with one)
    let mut explicit: Vec<(String, EditOp, Option<EditOp>)> = Vec::new();
    for node in edit.traverse() {
        let Some(op) = node_op(&node)? else { continue };
        if node.schema().is_list_key() {
            return Err(MgmtError::protocol(
                ErrorTag::BadAttribute,
                "an operation on a list key is not allowed",
            )
            .with_path(node.data_path())
            .with_info("bad-attribute", "operation"));
        }
        let mut inherited = None;
        for anc in node.ancestors() {
            if let Some(aop) = node_op(&anc)? {
                inherited = Some(aop);
                break;
            }
        }
        if matches!(inherited, Some(EditOp::Delete | EditOp::Remove)) {
            return Err(MgmtError::protocol(
                ErrorTag::BadAttribute,
                "an operation inside a subtree being deleted or removed is not allowed",
            )
            .with_path(node.data_path())
            .with_info("bad-attribute", "operation"));
        }
        explicit.push((node.data_path(), op, inherited));
    }

    let strip = |tree: &mut Tree, keep: Option<&str>| -> Result<(), MgmtError> {
        for (p, _, _) in &explicit {
            if Some(p.as_str()) != keep && keep.is_none_or(|k| p.starts_with(k)) {
                ly::remove(tree, p)?;
            }
        }
        Ok(())
    };

    let mut steps = Vec::with_capacity(explicit.len() + 1);
    for (path, op, inherited) in &explicit {
        let data = match op {
            EditOp::Merge | EditOp::Replace | EditOp::Create => {
                let node = ly::find(&edit, path)?.expect("node found by traversal");
                let mut d = ly::dup_with_parents(&node)?;
                strip(&mut d, Some(path))?;
                Some(d)
            }
            EditOp::Delete | EditOp::Remove => None,
        };
        let parents_must_exist = inherited.is_none() && default_op == DefaultOp::None;
        steps.push(EditStep {
            op: *op,
            path: Some(path.clone()),
            data,
            parents_must_exist,
        });
    }
    match default_op {
        DefaultOp::Merge | DefaultOp::Replace => {
            let mut data = edit;
            ly::strip_meta(&mut data);
            strip(&mut data, None)?;
            if default_op == DefaultOp::Replace {
                steps.insert(0, EditStep::replace_all(data));
            } else if data.reference().is_some() {
                steps.insert(0, EditStep::merge(data));
            }
        }
        DefaultOp::None => {}
    }
    Ok(steps)
}

fn node_op(node: &DataNodeRef<'_, 'static>) -> Result<Option<EditOp>, MgmtError> {
    for m in node.meta() {
        if m.name() == "operation" {
            return EditOp::parse(m.value()).map(Some).ok_or_else(|| {
                MgmtError::protocol(
                    ErrorTag::BadAttribute,
                    format!("unknown operation {:?}", m.value()),
                )
                .with_path(node.data_path())
                .with_info("bad-attribute", "operation")
            });
        }
    }
    Ok(None)
}

/// How [`subtree_json`] prints a subtree.
#[derive(Debug, PartialEq, Eq)]
enum InPlace {
    /// From a copy with its parents.
    No,
    /// A top-level subtree, as it stands.
    TopLevel,
    /// Set into a copy of its parents ([`ly::print_json_in_parents`]).
    InParents,
}

/// Below this many nodes, a nested subtree is copied and printed: the copy
/// costs less than printing it and its parents apart.
const IN_PLACE_MIN: usize = 64;

/// A subtree without metadata prints the same in place as its copy would: no
/// copy of what may be most of the datastore.
fn in_place(node: &DataNodeRef<'_, 'static>) -> InPlace {
    if ly::has_printable_meta(node) {
        InPlace::No
    } else if node.ancestors().next().is_none() {
        InPlace::TopLevel
    } else if node.traverse().nth(IN_PLACE_MIN).is_some() {
        InPlace::InParents
    } else {
        InPlace::No
    }
}

/// Prints a subtree (with parents) as compact RFC 7951 JSON, explicit nodes
/// only.
pub fn subtree_json(tree: &Tree, path: &str) -> Result<Option<String>, MgmtError> {
    let Some(node) = ly::find(tree, path)? else {
        return Ok(None);
    };
    let in_place = match in_place(&node) {
        InPlace::No => None,
        InPlace::TopLevel => {
            nectar_yang::print::data(&node, DataFormat::JSON, DataPrinterFlags::SHRINK)?
        }
        InPlace::InParents => ly::print_json_in_parents(&node)?,
    };
    let text = match in_place {
        Some(text) => Some(text),
        None => nectar_yang::print::data(
            &ly::dup_with_parents(&node)?,
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
        )?,
    };
    Ok(text.filter(|s| s != "{}" && !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::subtree_json;
    use crate::ly;
    use nectar_yang::print::NodePath;
    use yang2::data::{Data, DataFormat, DataPrinterFlags};

    fn via_copy(tree: &ly::Tree, path: &str) -> Option<String> {
        let node = ly::find(tree, path).unwrap()?;
        ly::dup_with_parents(&node)
            .unwrap()
            .print_string(
                DataFormat::JSON,
                DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
            )
            .unwrap()
    }

    /// Subtrees are printed in place (no copy): for every node of a tree
    /// (top-level, nested containers and list entries, members of another
    /// module and of the same one, keys needing either quote, several
    /// entries per list, defaults) the text must be what printing its copy
    /// with parents gives, and nested containers and list entries must take
    /// the in-place path.
    #[test]
    fn subtree_json_in_place_equals_the_copy() {
        let ctx = ly::test_ctx();
        let json = r#"{
          "ietf-interfaces:interfaces": {"interface": [
            {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "d",
             "ietf-ip:ipv4": {"mtu": 1400, "address": [{"ip": "10.0.0.1", "prefix-length": 24},
                                                       {"ip": "10.0.1.1", "prefix-length": 16}]},
             "ietf-ip:ipv6": {"address": [{"ip": "2001:db8::1", "prefix-length": 64}]}},
            {"name": "it's", "type": "iana-if-type:softwareLoopback"},
            {"name": "a\"b", "type": "iana-if-type:softwareLoopback"},
            {"name": "b", "type": "iana-if-type:softwareLoopback", "enabled": false}]},
          "ietf-routing:routing": {"control-plane-protocols": {"control-plane-protocol": [
            {"type": "ietf-routing:static", "name": "st",
             "static-routes": {"ietf-ipv4-unicast-routing:ipv4": {"route": [
               ROUTES
               {"destination-prefix": "11.0.0.0/24", "next-hop": {"next-hop-address": "10.0.0.2"}},
               {"destination-prefix": "11.0.1.0/24", "next-hop": {"next-hop-list": {"next-hop": [
                  {"index": "a", "next-hop-address": "10.0.0.3"},
                  {"index": "b", "outgoing-interface": "eth0"}]}}}]}}},
            {"type": "ietf-routing:static", "name": "other"}]}},
          "ietf-netconf-acm:nacm": {"groups": {"group": [{"name": "g", "user-name": ["u1", "u2"]}]}}
        }"#;
        let routes: String = (0..30)
            .map(|i| {
                format!(
                    r#"{{"destination-prefix": "12.0.{i}.0/24", "next-hop": {{"next-hop-address": "10.0.0.2"}}}},"#
                )
            })
            .collect();
        let json = json.replace("ROUTES", &routes);
        let mut tree = crate::ly::parse_json(ctx, &json).unwrap();
        tree.validate(yang2::data::DataValidationFlags::NO_STATE)
            .unwrap();
        // Large subtrees are printed in place, nested or not; small nested
        // ones from a copy.
        let decision = |p: &str| super::in_place(&ly::find(&tree, p).unwrap().unwrap());
        let st = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol[type='ietf-routing:static'][name='st']";
        assert_eq!(decision(st), super::InPlace::InParents);
        assert_eq!(
            decision(&format!("{st}/static-routes")),
            super::InPlace::InParents
        );
        assert_eq!(decision("/ietf-routing:routing"), super::InPlace::TopLevel);
        assert_eq!(
            decision("/ietf-interfaces:interfaces/interface[name='b']"),
            super::InPlace::No
        );
        let (mut checked, mut in_place) = (0, 0);
        for node in tree.traverse() {
            let path = node.data_path();
            assert_eq!(
                subtree_json(&tree, &path).unwrap(),
                via_copy(&tree, &path),
                "{path}"
            );
            checked += 1;
            let inner = matches!(
                node.schema().kind(),
                yang2::schema::SchemaNodeKind::Container | yang2::schema::SchemaNodeKind::List
            );
            // What subtree_json checks before printing in place: only
            // internal metadata (sorted lists) here.
            assert!(!ly::has_printable_meta(&node), "{path}");
            if inner && node.ancestors().next().is_some() && !super::is_implicit(&node) {
                assert!(
                    ly::print_json_in_parents(&node).unwrap().is_some(),
                    "{path} printed in place"
                );
                in_place += 1;
            }
        }
        assert!(checked > 60 && in_place > 20, "{checked} {in_place}");
        // Defaults added by validation are not printed either way.
        assert!(
            !subtree_json(&tree, "/ietf-interfaces:interfaces")
                .unwrap()
                .unwrap()
                .contains("enabled\":true")
        );
        let mut with_meta = crate::ly::parse_json(
            ctx,
            r#"{"ietf-interfaces:interfaces": {"interface": [{"name": "lo",
                "@": {"ietf-netconf:operation": "merge"}}]}}"#,
        )
        .unwrap();
        let top = with_meta.reference().unwrap();
        assert!(ly::has_printable_meta(&top));
        let got = subtree_json(&with_meta, "/ietf-interfaces:interfaces").unwrap();
        assert_eq!(got, via_copy(&with_meta, "/ietf-interfaces:interfaces"));
        assert!(!got.unwrap().contains("operation"));
        ly::strip_meta(&mut with_meta);
        assert!(!ly::has_printable_meta(&with_meta.reference().unwrap()));
    }
}
