//! Placing entries of `ordered-by user` lists and leaf-lists (RFC 8040
//! §4.8.5-6 `insert`/`point`, RFC 8072 `insert` and `move` edits).
//!
//! The core's edits append new entries at the end of such a list, and its
//! journal replays a creation as a merge, which appends too. So an ordering
//! is expressed in terms both keep exactly: the list's entries under their
//! parent are removed (last first, so that undoing the removals restores
//! the old order) and merged back in the new order, the new or moved entry
//! at its place. Entries that did not move keep their content; providers
//! and the journal see deletions and re-creations of the entries (leaf
//! values that did not change fold away), and NACM checks delete and create
//! access on them. A change that leaves the order as it is becomes the
//! plain edit.

use nectar_mgmt::ly::{self, Tree};
use nectar_mgmt::{EditOp, EditStep};
use nectar_yang::print::NodePath;
use yang2::data::{Data, DataTree};

use crate::error::Error;
use crate::query::Insert;
use crate::tree::select;

/// The entry being placed.
#[derive(Debug)]
pub enum Entry {
    /// A new entry, or one whose content the request replaces: its data
    /// path and a tree holding it with its parents.
    Put { path: String, data: Tree },
    /// An existing entry that moves (YANG Patch `move`).
    Move { path: String },
}

impl Entry {
    fn path(&self) -> &str {
        match self {
            Entry::Put { path, .. } | Entry::Move { path } => path,
        }
    }
}

/// The steps that put `entry` at `insert`/`point` among the entries of its
/// list in `state` (a tree holding at least the list's parent and all its
/// entries, unfiltered). `list_xpath` selects all the list's entries under
/// their parent; `point` is the XPath of the entry to insert before or
/// after. `plain` is the edit to use when the order does not change.
pub fn steps(
    state: &Tree,
    list_xpath: &str,
    entry: Entry,
    insert: Insert,
    point: Option<&str>,
    plain: impl FnOnce(Entry) -> EditStep,
) -> Result<Vec<EditStep>, Error> {
    let current: Vec<String> = select(state, list_xpath)?
        .iter()
        .map(|n| n.data_path())
        .collect();
    let me = entry.path().to_string();
    if matches!(entry, Entry::Move { .. }) && !current.contains(&me) {
        return Err(Error::not_found(format!(
            "the list entry to move does not exist: {me}"
        )));
    }
    let point_path = match point {
        Some(p) => {
            let found = select(state, p)?;
            let Some(node) = found.first() else {
                return Err(Error::invalid(format!(
                    "the insertion point {p} does not exist"
                )));
            };
            let pp = node.data_path();
            if !current.contains(&pp) {
                return Err(Error::invalid(format!(
                    "the insertion point {p} is not an entry of the same list"
                )));
            }
            if pp == me {
                return Err(Error::invalid(
                    "the insertion point is the entry being inserted",
                ));
            }
            Some(pp)
        }
        None => None,
    };
    let mut order: Vec<String> = current.iter().filter(|p| **p != me).cloned().collect();
    let at = match insert {
        Insert::First => 0,
        Insert::Last => order.len(),
        Insert::Before | Insert::After => {
            let pp = point_path
                .ok_or_else(|| Error::invalid("insert=before and insert=after need a point"))?;
            let i = order.iter().position(|p| *p == pp).unwrap_or(order.len());
            if insert == Insert::After { i + 1 } else { i }
        }
    };
    order.insert(at, me.clone());
    let unchanged = if current.contains(&me) {
        order == current
    } else {
        at == current.len()
    };
    if unchanged {
        return Ok(match entry {
            Entry::Move { .. } => Vec::new(),
            e => vec![plain(e)],
        });
    }

    let ctx = state.context();
    let mut merged = DataTree::new(ctx);
    for p in &order {
        let piece = if *p == me {
            match &entry {
                Entry::Put { data, .. } => {
                    let node = ly::find(data, p)?
                        .ok_or_else(|| Error::invalid(format!("the request does not hold {p}")))?;
                    ly::dup_with_parents(&node)?
                }
                Entry::Move { .. } => from_state(state, p)?,
            }
        } else {
            from_state(state, p)?
        };
        merged.merge(&piece).map_err(nectar_yang::Error::from)?;
    }
    let mut out: Vec<EditStep> = current
        .iter()
        .rev()
        .map(|p| EditStep::at(EditOp::Remove, p.clone(), None))
        .collect();
    out.push(EditStep::merge(merged));
    Ok(out)
}

fn from_state(state: &Tree, path: &str) -> Result<Tree, Error> {
    let node = ly::find(state, path)?
        .ok_or_else(|| Error::internal(format!("list entry {path} vanished")))?;
    Ok(ly::dup_with_parents(&node)?)
}
