//! Validation of a transaction by libyang. Running is validated in place,
//! and what validation itself changes (defaults added, nodes whose `when`
//! became false removed) is recorded like any edit, so the transaction can
//! still be undone and journaled exactly.

use yang2::context::Context;
use yang2::data::{DataNodeRef, DataValidationFlags};

use crate::edit::Touched;
use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// Decides how much of the datastore a transaction must validate.
#[derive(Debug, Default)]
pub struct Scope {}

impl Scope {
    /// Studies the schema once at start-up.
    pub fn analyse(_ctx: &'static Context) -> Scope {
        Scope {}
    }

    /// Validates `tree` after the edits in `log`. Returns what validation
    /// changed; on failure also what it changed before failing, so the caller
    /// can undo everything.
    #[allow(clippy::type_complexity)]
    pub fn validate(
        &self,
        tree: &mut Tree,
        _log: &[Touched],
    ) -> Result<Vec<Touched>, (Vec<Touched>, Vec<MgmtError>)> {
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
            path: node.path(),
            implicit: true,
        }),
        Some("delete") => match ly::dup_with_parents(node) {
            Ok(backup) => out.push(Touched::Deleted {
                path: node.path(),
                backup,
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
                path: node.path(),
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
