//! RFC 8526 get-data and edit-data on the NMDA datastores.

use super::*;
use params::print_xml_keep;

impl<W: AsyncWrite + Unpin + Send> Session<W> {
    /// RFC 8526 get-data.
    pub(super) async fn get_data(&mut self, op: &Element) -> OpResult {
        only(
            op,
            NMDA_NS,
            &[
                "datastore",
                "subtree-filter",
                "xpath-filter",
                "config-filter",
                "max-depth",
                "origin-filter",
                "negated-origin-filter",
                "with-origin",
            ],
        )?;
        let ctx = self.shared.ctx;
        let ds = nmda_datastore(required(op, "datastore", NMDA_NS)?)?;
        let selection = match (
            op.child("subtree-filter", NMDA_NS),
            op.child("xpath-filter", NMDA_NS),
        ) {
            (Some(_), Some(_)) => {
                return Err(reply::bad_element(
                    ErrorType::Protocol,
                    "xpath-filter",
                    "subtree-filter and xpath-filter exclude each other",
                )
                .into());
            }
            (Some(f), None) => filter::subtree(ctx, f, &self.shared.settings.filter)?,
            (None, Some(x)) => {
                filter::xpath(ctx, x, x.text().trim(), &self.shared.settings.filter)?
            }
            (None, None) => Selection::All,
        };
        let mut r = Read::new(ds, selection, with_defaults(op)?);
        if let Some(c) = op.child("config-filter", NMDA_NS) {
            r.config_filter = Some(match c.text().trim() {
                "true" => true,
                "false" => false,
                other => return Err(invalid_param("config-filter", other).into()),
            });
        }
        if let Some(d) = op.child("max-depth", NMDA_NS) {
            let t = d.text();
            let t = t.trim();
            if t != "unbounded" {
                match t.parse::<u32>() {
                    Ok(n) if (1..=65535).contains(&n) => r.max_depth = Some(n),
                    _ => return Err(invalid_param("max-depth", t).into()),
                }
            }
        }
        let origins =
            |negated: bool, name: &str| -> Result<Option<(bool, Vec<String>)>, MgmtError> {
                let els: Vec<&Element> = op
                    .elements()
                    .filter(|e| e.local == name && e.ns.as_deref() == Some(NMDA_NS))
                    .collect();
                if els.is_empty() {
                    return Ok(None);
                }
                let mut ids = Vec::new();
                for e in els {
                    ids.push(identity(e, OR_NS).ok_or_else(|| invalid_param(name, &e.text()))?);
                }
                Ok(Some((negated, ids)))
            };
        let pos = origins(false, "origin-filter")?;
        let neg = origins(true, "negated-origin-filter")?;
        if pos.is_some() && neg.is_some() {
            return Err(reply::bad_element(
                ErrorType::Protocol,
                "negated-origin-filter",
                "origin-filter and negated-origin-filter exclude each other",
            )
            .into());
        }
        r.origin_filter = pos.or(neg);
        r.with_origin = op.child("with-origin", NMDA_NS).is_some();
        if (r.origin_filter.is_some() || r.with_origin) && ds != Datastore::Operational {
            return Err(MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::InvalidValue,
                "origin filters and with-origin apply to the operational datastore only",
            )
            .into());
        }
        let wd = r.wd;
        let with_origin = r.with_origin;
        let mut tree = self.read(r.clone(), None).await?;
        crate::nmda::shape(
            &mut tree,
            r.config_filter,
            r.max_depth,
            r.origin_filter.as_ref(),
        )?;
        if !with_origin {
            ly::strip_meta(&mut tree);
        }
        let body = print_xml_keep(&tree, wd, r.max_depth.is_some())?;
        Ok(Reply::Body(format!(
            "<data xmlns=\"{NMDA_NS}\">{body}</data>"
        )))
    }

    /// RFC 8526 edit-data.
    pub(super) async fn edit_data(&mut self, op: &Element) -> OpResult {
        only(
            op,
            NMDA_NS,
            &["datastore", "default-operation", "config", "url"],
        )?;
        let ds = nmda_datastore(required(op, "datastore", NMDA_NS)?)?;
        if !matches!(ds, Datastore::Running | Datastore::Candidate) {
            return Err(MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::InvalidValue,
                format!("edit-data cannot write the {} datastore", ds.as_str()),
            )
            .into());
        }
        let default_op = match op.child("default-operation", NMDA_NS) {
            None => DefaultOp::Merge,
            Some(d) => match d.text().trim() {
                "merge" => DefaultOp::Merge,
                "replace" => DefaultOp::Replace,
                "none" => DefaultOp::None,
                other => return Err(invalid_param("default-operation", other).into()),
            },
        };
        if op.child("url", NMDA_NS).is_some() {
            return Err(proto(
                ErrorTag::OperationNotSupported,
                "the :url capability is not supported",
            )
            .into());
        }
        let config = required(op, "config", NMDA_NS)?;
        self.edit(
            None,
            ds,
            default_op,
            ErrorOption::RollbackOnError,
            false,
            config,
        )
        .await
    }
}

/// An identityref value written as `prefix:name` (or `name` in the
/// element's default namespace), if it belongs to `ns`.
pub(super) fn identity(el: &Element, ns: &str) -> Option<String> {
    let t = el.text();
    let t = t.trim();
    let (p, local) = match t.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, t),
    };
    let bound = match p {
        Some(p) => el.resolve_prefix(p),
        None => el
            .decls
            .iter()
            .chain(el.inherited.iter())
            .find(|(p, _)| p.is_none())
            .map(|(_, u)| u.clone()),
    };
    (bound.as_deref() == Some(ns)).then(|| local.to_string())
}

pub(super) fn nmda_datastore(el: &Element) -> Result<Datastore, MgmtError> {
    let name = identity(el, DS_NS).ok_or_else(|| invalid_param("datastore", &el.text()))?;
    Datastore::parse(&name).ok_or_else(|| invalid_param("datastore", &el.text()))
}
