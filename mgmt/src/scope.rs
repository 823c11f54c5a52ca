//! Validation of a transaction by libyang, scoped to what the change can
//! affect. libyang validates a whole tree (O(datastore)); nectar picks the
//! smallest tree whose validation is equivalent and lets libyang validate
//! that: for a change confined to entries of an outermost list whose
//! constraints stay inside the entry (by libyang's own atomization of every
//! must/when/leafref, see `analysis`), only those entries with their parents.
//! Anything else is validated whole. What validation itself changes
//! (defaults added, nodes whose `when` became false removed) is recorded like
//! any edit, so the transaction can still be undone and journaled exactly.

mod analysis;

use nectar_yang::print::NodePath;
use std::collections::{BTreeSet, HashMap, HashSet};

use yang2::context::Context;
use yang2::data::{Data, DataNodeRef, DataTree, DataValidationFlags};
use yang2::schema::{SchemaNodeKind, SchemaPathFormat};

use crate::edit::Touched;
use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// A list whose entries can be validated on their own: an outermost list, or
/// a list inside list entries whose constraints read no more of those entries
/// than their keys (the static routes of a routing protocol instance).
#[derive(Debug, Default)]
struct Unit {
    /// Nodes under the list that leafrefs outside it point to: deleting or
    /// changing them needs the whole datastore validated.
    leafref_targets: HashSet<String>,
}

/// Decides how much of the datastore a transaction must validate.
#[derive(Debug, Default)]
pub struct Scope {
    units: HashMap<String, Unit>,
    /// Leafrefs inside units whose path is a plain absolute path (an
    /// interface reference, a bridge-domain reference), by the schema path of
    /// the leaf, with the schema path of their target. Their targets may lie
    /// outside the entries validated: a sparse validation's "no target
    /// instance" error on one is checked again against the whole datastore.
    checked_refs: HashMap<String, String>,
}

/// A leafref whose path is absolute with no predicate and no step up: its
/// target set is the same from anywhere, so it can be checked on its own.
fn plain_ref(c: &analysis::Constraint) -> bool {
    c.leafref && c.text.starts_with('/') && !c.text.contains('[') && !c.text.contains("..")
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// XPath that can reach other entries of the same list without naming an
/// ancestor (axes), or nodes atomization cannot follow (deref, id).
fn escapes_entry(text: &str) -> bool {
    [
        "sibling::",
        "preceding::",
        "following::",
        "ancestor",
        "deref(",
        "id(",
    ]
    .iter()
    .any(|t| text.contains(t))
}

impl Scope {
    /// Studies the schema once at start-up: which outermost lists are units.
    pub fn analyse(ctx: &'static Context) -> Scope {
        let cons = analysis::constraints(ctx);
        let mut units = HashMap::new();
        for module in ctx.modules(true).filter(|m| m.is_implemented()) {
            let tops: Vec<_> = module.data().collect();
            for top in &tops {
                for list in top.traverse() {
                    if list.kind() != SchemaNodeKind::List || !list.is_config() {
                        continue;
                    }
                    let ancestors: Vec<_> = list.ancestors().collect();
                    if ancestors.is_empty() {
                        continue; // top-level: not a unit
                    }
                    let p = list.path(SchemaPathFormat::DATA);
                    if let Some(unit) = Self::unit_for(&list, &ancestors, &tops, &p, &cons) {
                        units.insert(p, unit);
                    }
                }
            }
        }
        let checked_refs = cons
            .iter()
            .filter(|c| plain_ref(c))
            .filter_map(|c| {
                let target = c.atoms.as_ref()?.iter().max_by_key(|a| a.len())?;
                Some((c.owner.clone(), target.clone()))
            })
            .collect();
        tracing::debug!(
            units = units.len(),
            constraints = cons.len(),
            "validation scope analysed"
        );
        Scope {
            units,
            checked_refs,
        }
    }

    fn unit_for(
        list: &yang2::schema::SchemaNode<'_>,
        ancestors: &[yang2::schema::SchemaNode<'_>],
        tops: &[yang2::schema::SchemaNode<'_>],
        p: &str,
        cons: &[analysis::Constraint],
    ) -> Option<Unit> {
        if analysis::list_has_set_constraints(list) {
            return None;
        }
        // What a sparse tree holds of the ancestors: the nodes themselves and
        // the keys of ancestor list entries. Constraints may read those.
        let mut fixed: HashSet<String> = HashSet::new();
        for a in ancestors {
            fixed.insert(a.path(SchemaPathFormat::DATA));
            if a.kind() == SchemaNodeKind::List {
                if analysis::list_has_set_constraints(a) {
                    return None;
                }
                fixed.extend(
                    a.children()
                        .filter(|c| c.is_list_key())
                        .map(|c| c.path(SchemaPathFormat::DATA)),
                );
            }
        }
        // An ancestor's constraint that reads only the ancestors and their
        // keys, by a relative path (an absolute one, or a count, may reach
        // other entries of an ancestor list, which the sparse tree lacks).
        let reads_fixed = |c: &analysis::Constraint| {
            !c.text.trim_start().starts_with('/')
                && !c.text.contains("count(")
                && !c.text.contains("sum(")
                && !escapes_entry(&c.text)
                && c.atoms
                    .as_ref()
                    .is_some_and(|atoms| atoms.iter().all(|a| fixed.contains(a)))
        };
        // Siblings along the path must not hold mandatory data (a sparse tree
        // lacks them), nor may the ancestors carry constraints reading more
        // than the sparse tree holds of them.
        // (The keys of ancestor lists are in the sparse tree too, so their own
        // constraints, OpenConfig's key leafrefs to `../config/name`, count.)
        let mut child_path = list.path(SchemaPathFormat::DATA);
        for a in ancestors {
            let ap = a.path(SchemaPathFormat::DATA);
            let owned = |c: &analysis::Constraint| {
                c.owner == ap
                    || (fixed.contains(&c.owner)
                        && ly::parent_path(&c.owner).as_deref() == Some(ap.as_str()))
            };
            if cons.iter().any(|c| owned(c) && !reads_fixed(c)) {
                return None;
            }
            for c in a.children() {
                if c.path(SchemaPathFormat::DATA) != child_path
                    && !c.is_list_key()
                    && analysis::has_mandatory(&c)
                {
                    return None;
                }
            }
            child_path = ap;
        }
        for t in tops {
            if t.path(SchemaPathFormat::DATA) != child_path && analysis::has_mandatory(t) {
                return None;
            }
        }
        let mut unit = Unit::default();
        for c in cons {
            let inside = under(&c.owner, p);
            let Some(atoms) = &c.atoms else { return None };
            if inside {
                if plain_ref(c) {
                    // Checked against the whole datastore if need be; a reference to
                    // other entries of this list makes their deletion a whole
                    // validation, as one from outside does.
                    unit.leafref_targets
                        .extend(atoms.iter().filter(|a| under(a, p)).cloned());
                    continue;
                }
                if escapes_entry(&c.text) || atoms.iter().any(|a| !under(a, p)) {
                    return None;
                }
            } else if under(p, &c.owner) && reads_fixed(c) {
                // An ancestor's constraint on what the sparse tree holds.
            } else if atoms.iter().any(|a| under(a, p)) {
                if !c.leafref {
                    return None;
                }
                unit.leafref_targets
                    .extend(atoms.iter().filter(|a| under(a, p)).cloned());
            }
        }
        Some(unit)
    }

    /// The unit and the data path of the unit entry a touched path lies in.
    fn entry_of(&self, path: &str) -> Option<(&Unit, String)> {
        // The innermost unit: the smallest entry to validate (a unit's
        // analysis already accounts for what enclosing entries read of it).
        let data = ly::steps(path);
        let mut schema = String::new();
        let mut found = None;
        for (k, step) in data.iter().enumerate() {
            schema.push('/');
            schema.push_str(&ly::schema_path_of(&format!("/{step}"))[1..]);
            if let Some(unit) = self.units.get(&schema) {
                found = Some((unit, k));
            }
        }
        found.map(|(unit, k)| (unit, format!("/{}", data[..=k].join("/"))))
    }

    /// Validates `tree` after the edits in `log`. Returns what validation
    /// changed; on failure also what it changed before failing, so the caller
    /// can undo everything.
    #[allow(clippy::type_complexity)]
    pub fn validate(
        &self,
        tree: &mut Tree,
        log: &[Touched],
    ) -> Result<Vec<Touched>, (Vec<Touched>, Vec<MgmtError>)> {
        match self.entries(log) {
            Some(entries) => self
                .validate_entries(tree, &entries)
                .map_err(|e| (Vec::new(), e)),
            None => Self::validate_whole(tree),
        }
    }

    /// The unit entries a log touches, or `None` when the change reaches
    /// outside the units (whole validation needed).
    fn entries(&self, log: &[Touched]) -> Option<BTreeSet<String>> {
        let mut entries = BTreeSet::new();
        for t in log {
            let path = match t {
                Touched::Created { path, .. }
                | Touched::Deleted { path, .. }
                | Touched::Modified { path, .. } => path,
            };
            let (unit, entry) = self.entry_of(path)?;
            match t {
                Touched::Deleted { .. } if !unit.leafref_targets.is_empty() => return None,
                Touched::Modified { path, .. }
                    if unit.leafref_targets.contains(&ly::schema_path_of(path)) =>
                {
                    return None;
                }
                _ => {}
            }
            entries.insert(entry);
        }
        Some(entries)
    }

    fn validate_entries(
        &self,
        tree: &mut Tree,
        entries: &BTreeSet<String>,
    ) -> Result<Vec<Touched>, Vec<MgmtError>> {
        let mut sparse = DataTree::new(tree.context());
        for e in entries {
            if let Some(n) = ly::find(tree, e).map_err(|e| vec![e])? {
                sparse
                    .merge(&ly::dup_with_parents(&n).map_err(|e| vec![e])?)
                    .map_err(|e| vec![MgmtError::from(e)])?;
            }
        }
        if sparse.reference().is_none() {
            return Ok(Vec::new());
        }
        let (diff, result) = ly::validate_all(
            &mut sparse,
            DataValidationFlags::NO_STATE | DataValidationFlags::PRESENT,
        );
        if let Err(errors) = result {
            let left = self.recheck_refs(tree, &sparse, errors)?;
            if !left.is_empty() {
                return Err(left);
            }
        }
        // Carry what validation did to the entries over to running.
        let mut out = Vec::new();
        let Some(diff) = diff else { return Ok(out) };
        for t in touched_from_diff(&diff) {
            match t {
                Touched::Created { path, .. } => {
                    if ly::find(tree, &path).map_err(|e| vec![e])?.is_none()
                        && let Some(n) = ly::find(&sparse, &path).map_err(|e| vec![e])?
                    {
                        let d = ly::dup_with_parents(&n).map_err(|e| vec![e])?;
                        tree.merge(&d).map_err(|e| vec![MgmtError::from(e)])?;
                        out.push(Touched::Created {
                            path,
                            implicit: true,
                        });
                    }
                }
                Touched::Deleted { path, .. } => {
                    if let Some(t) = Touched::delete(tree, &path).map_err(|e| vec![e])? {
                        out.push(t);
                    }
                }
                Touched::Modified {
                    path,
                    old,
                    old_default,
                } => {
                    if let Some(n) = ly::find(&sparse, &path).map_err(|e| vec![e])? {
                        let v = n.value_canonical();
                        ly::set_value(tree, &path, v.as_deref()).map_err(|e| vec![e])?;
                        out.push(Touched::Modified {
                            path,
                            old,
                            old_default,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The errors of a sparse validation less the unresolved
    /// [`checked_refs`](Scope) whose target does exist in the whole
    /// datastore `tree` (it was only missing from the sparse tree).
    fn recheck_refs(
        &self,
        tree: &Tree,
        sparse: &Tree,
        errors: Vec<MgmtError>,
    ) -> Result<Vec<MgmtError>, Vec<MgmtError>> {
        let mut left = Vec::new();
        for e in errors {
            let target = match (&e.app_tag, &e.path) {
                (Some(tag), Some(path)) if tag == "instance-required" => self
                    .checked_refs
                    .get(&ly::schema_path_of(path))
                    .map(|t| (t, path)),
                _ => None,
            };
            let Some((target, path)) = target else {
                left.push(e);
                continue;
            };
            let value = ly::find(sparse, path)
                .map_err(|e| vec![e])?
                .and_then(|n| n.value_canonical());
            let found = match &value {
                Some(v) => {
                    let x = format!("{target}[.={}]", nectar_yang::path::quote_literal(v));
                    !ly::find_all(tree, &x).map_err(|e| vec![e])?.is_empty()
                }
                None => false,
            };
            if !found {
                left.push(e);
            }
        }
        Ok(left)
    }

    #[allow(clippy::type_complexity)]
    fn validate_whole(tree: &mut Tree) -> Result<Vec<Touched>, (Vec<Touched>, Vec<MgmtError>)> {
        let (diff, result) = ly::validate_all(tree, DataValidationFlags::NO_STATE);
        let touched = match &diff {
            Some(d) => touched_from_diff(d),
            None => Vec::new(),
        };
        match result {
            Ok(()) => Ok(touched),
            Err(errs) => Err((touched, errs)),
        }
    }

    /// Whether a schema path is the list of a unit (for tests and logs).
    pub fn is_unit(&self, schema_path: &str) -> bool {
        self.units.contains_key(schema_path)
    }
}

/// Reads a libyang diff tree (nodes annotated with `yang:operation`) as a
/// log of what happened.
pub fn touched_from_diff(diff: &Tree) -> Vec<Touched> {
    let mut out = Vec::new();
    for top in diff
        .reference()
        .into_iter()
        .flat_map(|r| r.inclusive_siblings())
    {
        walk(&top, &mut out);
    }
    out
}

fn walk(node: &DataNodeRef<'_, 'static>, out: &mut Vec<Touched>) {
    let op = node
        .meta()
        .find(|m| m.name() == "operation")
        .map(|m| m.value().to_string());
    match op.as_deref() {
        Some("create") => out.push(Touched::Created {
            path: node.data_path(),
            implicit: true,
        }),
        Some("delete") => match ly::dup_with_parents(node) {
            Ok(backup) => out.push(Touched::Deleted {
                path: node.data_path(),
                backup,
                slot: ly::slot_of(node),
            }),
            Err(e) => tracing::error!(error = %e, "cannot keep a node validation removed"),
        },
        Some("replace") => {
            let old = node
                .meta()
                .find(|m| m.name() == "orig-value")
                .map(|m| m.value().to_string())
                .unwrap_or_default();
            let old_default = node
                .meta()
                .any(|m| m.name() == "orig-default" && m.value() == "true");
            out.push(Touched::Modified {
                path: node.data_path(),
                old,
                old_default,
            });
        }
        _ => {
            for c in node.children() {
                walk(&c, out);
            }
        }
    }
}
