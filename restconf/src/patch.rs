//! YANG Patch (RFC 8072): `PATCH` with `application/yang-patch+json` or
//! `+xml` on a datastore or data resource. The edits are applied in order,
//! all or nothing, as one transaction of the core: each edit is first
//! checked against a copy of the datastore as the previous edits left it
//! (so `insert` and `move` are placed against the right list, and a
//! failing edit is named in the `edit-status`), then all of them are
//! committed together, where validation and NACM apply to the whole. The
//! reply is a `yang-patch-status` with `ok`, the failing edit's errors, or
//! `global-errors` for what fails on the whole patch (validation, NACM,
//! locks).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::{Caller, Datastore, Edit, EditOp, EditStep, ErrorTag, MgmtError};
use nectar_yang::encoding::{self, Content as Parse, Format};
use nectar_yang::path::DataPath;
use quick_xml::events::Event;
use yang2::data::Data;

use crate::conditional::Conditions;
use crate::error::{self, Error, escape};
use crate::media;
use crate::ordered::Entry;
use crate::query::{Insert, Query, Resource};
use crate::resource::{Placement, Target};
use crate::{AppInner, Req, respond, tree};

/// One edit of a patch, as sent.
#[derive(Debug, Clone, Default)]
struct RawEdit {
    id: String,
    operation: String,
    target: String,
    point: Option<String>,
    where_: Option<String>,
    /// The `value` content in the patch's encoding (JSON object text, or
    /// the inner XML of `<value>`).
    value: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct RawPatch {
    id: String,
    comment: Option<String>,
    edits: Vec<RawEdit>,
}

const NS: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-patch";

fn parse_json(text: &str) -> Result<RawPatch, Error> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::malformed(format!("the YANG Patch is not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::malformed("a YANG Patch is a JSON object"))?;
    if obj.len() != 1 {
        return Err(Error::malformed(
            "a YANG Patch holds one member, ietf-yang-patch:yang-patch",
        ));
    }
    let p = obj
        .get("ietf-yang-patch:yang-patch")
        .and_then(|p| p.as_object())
        .ok_or_else(|| Error::malformed("the document is not an ietf-yang-patch:yang-patch"))?;
    let string = |o: &serde_json::Map<String, serde_json::Value>,
                  k: &str|
     -> Result<Option<String>, Error> {
        match o.get(k) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid(format!("yang-patch {k} must be a string"))),
        }
    };
    let mut patch = RawPatch {
        id: string(p, "patch-id")?.unwrap_or_default(),
        comment: string(p, "comment")?,
        edits: Vec::new(),
    };
    for k in p.keys() {
        if !matches!(k.as_str(), "patch-id" | "comment" | "edit") {
            return Err(Error::new(
                StatusCode::BAD_REQUEST,
                MgmtError::protocol(
                    ErrorTag::UnknownElement,
                    format!("unknown yang-patch member {k:?}"),
                ),
            ));
        }
    }
    if let Some(edits) = p.get("edit") {
        let list = edits
            .as_array()
            .ok_or_else(|| Error::invalid("yang-patch edit must be a list"))?;
        for e in list {
            let o = e
                .as_object()
                .ok_or_else(|| Error::invalid("a yang-patch edit must be an object"))?;
            for k in o.keys() {
                if !matches!(
                    k.as_str(),
                    "edit-id" | "operation" | "target" | "point" | "where" | "value"
                ) {
                    return Err(Error::new(
                        StatusCode::BAD_REQUEST,
                        MgmtError::protocol(
                            ErrorTag::UnknownElement,
                            format!("unknown yang-patch edit member {k:?}"),
                        ),
                    ));
                }
            }
            patch.edits.push(RawEdit {
                id: string(o, "edit-id")?.unwrap_or_default(),
                operation: string(o, "operation")?.unwrap_or_default(),
                target: string(o, "target")?.unwrap_or_default(),
                point: string(o, "point")?,
                where_: string(o, "where")?,
                value: match o.get("value") {
                    None => None,
                    Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
                    Some(_) => {
                        return Err(Error::invalid(
                            "a yang-patch edit value must be an object of data nodes",
                        ));
                    }
                },
            });
        }
    }
    Ok(patch)
}

fn parse_xml(text: &str) -> Result<RawPatch, Error> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::malformed(format!("the YANG Patch is not well-formed XML: {e}"))
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut patch = RawPatch::default();
    // Element names from the root down.
    let mut stack: Vec<String> = Vec::new();
    let mut leaf_text = String::new();
    let mut value_start: Option<usize> = None;
    let mut value_depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| bad(&e))?;
        if value_start.is_some() {
            match &ev {
                Event::Start(_) => value_depth += 1,
                Event::End(_) if value_depth > 0 => value_depth -= 1,
                Event::End(_) => {
                    let start = value_start.take().unwrap_or(before);
                    if let Some(e) = patch.edits.last_mut() {
                        e.value = Some(text[start..before].to_string());
                    }
                    stack.pop();
                }
                Event::Eof => return Err(bad(&"unterminated <value>")),
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                check_element(&stack, &name, &e)?;
                if stack.len() == 1 && name == "edit" {
                    patch.edits.push(RawEdit::default());
                }
                stack.push(name.clone());
                leaf_text.clear();
                if stack.len() == 3 && name == "value" {
                    value_start = Some(reader.buffer_position() as usize);
                    value_depth = 0;
                }
            }
            Event::Empty(e) => {
                let name = e.local_name().as_ref().to_string();
                check_element(&stack, &name, &e)?;
                if stack.len() == 1 && name == "edit" {
                    patch.edits.push(RawEdit::default());
                }
                stack.push(name);
                leaf_text.clear();
                set_leaf(&mut patch, &stack, String::new())?;
                stack.pop();
            }
            Event::Text(t) => leaf_text.push_str(&t.xml10_content()),
            Event::CData(t) => leaf_text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| bad(&e))? {
                    Some(c) => c,
                    None => match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(bad(&format!("unknown entity &{other};"))),
                    },
                };
                leaf_text.push(c);
            }
            Event::End(_) => {
                set_leaf(&mut patch, &stack, std::mem::take(&mut leaf_text))?;
                stack.pop();
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad(&"unterminated element"));
    }
    Ok(patch)
}

fn check_element(
    stack: &[String],
    name: &str,
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<(), Error> {
    let allowed = match stack.len() {
        0 => name == "yang-patch",
        1 => matches!(name, "patch-id" | "comment" | "edit"),
        2 if stack[1] == "edit" => {
            matches!(
                name,
                "edit-id" | "operation" | "target" | "point" | "where" | "value"
            )
        }
        _ => false,
    };
    if !allowed {
        return Err(Error::new(
            StatusCode::BAD_REQUEST,
            MgmtError::protocol(
                ErrorTag::UnknownElement,
                format!("unexpected element <{name}> in a YANG Patch"),
            ),
        ));
    }
    if stack.is_empty() {
        let ns = e
            .attributes()
            .flatten()
            .find(|a| a.key.as_ref() == "xmlns")
            .map(|a| a.value.to_string());
        if ns.as_deref() != Some(NS) {
            return Err(Error::new(
                StatusCode::BAD_REQUEST,
                MgmtError::protocol(
                    ErrorTag::UnknownNamespace,
                    format!("<yang-patch> must be in the namespace {NS}"),
                ),
            ));
        }
    }
    Ok(())
}

fn set_leaf(patch: &mut RawPatch, stack: &[String], text: String) -> Result<(), Error> {
    match stack.len() {
        2 => match stack[1].as_str() {
            "patch-id" => patch.id = text,
            "comment" => patch.comment = Some(text),
            _ => {}
        },
        3 => {
            let Some(e) = patch.edits.last_mut() else {
                return Ok(());
            };
            match stack[2].as_str() {
                "edit-id" => e.id = text,
                "operation" => e.operation = text,
                "target" => e.target = text,
                "point" => e.point = Some(text),
                "where" => e.where_ = Some(text),
                "value" => e.value = Some(text),
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// An edit checked against the schema, ready to become steps.
#[derive(Debug)]
struct Prepared {
    id: String,
    op: String,
    xpath: Option<String>,
    data: Option<Tree>,
    placement: Option<Placement>,
}

/// Joins a target-resource-offset to the request target's api-path.
fn join(base: &DataPath, offset: &str) -> String {
    let base = if base.is_root() {
        String::new()
    } else {
        base.to_uri()
    };
    let offset = offset.trim_end_matches('/');
    format!("{base}{offset}")
}

fn prepare(st: &AppInner, t: &Target, e: &RawEdit, format: Format) -> Result<Prepared, Error> {
    if !e.target.starts_with('/') {
        return Err(Error::invalid(format!(
            "edit target {:?} must start with '/'",
            e.target
        )));
    }
    let uri = join(&t.path, &e.target);
    let path = if uri.is_empty() {
        DataPath::root()
    } else {
        DataPath::parse_uri(st.ctx, &uri).map_err(|err| Error::invalid(err.to_string()))?
    };
    let needs_value = matches!(
        e.operation.as_str(),
        "create" | "insert" | "merge" | "replace"
    );
    let takes_where = matches!(e.operation.as_str(), "insert" | "move");
    if !matches!(
        e.operation.as_str(),
        "create" | "delete" | "insert" | "merge" | "move" | "replace" | "remove"
    ) {
        return Err(Error::invalid(format!(
            "unknown edit operation {:?}",
            e.operation
        )));
    }
    if needs_value && e.value.is_none() {
        return Err(Error::protocol(
            ErrorTag::MissingElement,
            format!("the {} edit needs a value", e.operation),
        ));
    }
    if !needs_value && e.value.is_some() {
        return Err(Error::invalid(format!(
            "the {} edit takes no value",
            e.operation
        )));
    }
    if !takes_where && (e.where_.is_some() || e.point.is_some()) {
        return Err(Error::invalid(format!(
            "where and point apply to insert and move, not {}",
            e.operation
        )));
    }
    if path.is_root() && e.operation != "merge" && e.operation != "replace" {
        return Err(Error::invalid(format!(
            "the {} edit needs a target below the datastore",
            e.operation
        )));
    }
    if let Some(last) = path.last()
        && (last.is_unkeyed_collection() || !path.is_single_instance())
    {
        return Err(Error::invalid(
            "an edit target must be one node (list entries with their keys)",
        ));
    }
    let placement = if takes_where {
        let insert = match e.where_.as_deref() {
            Some(w) => Insert::parse(w).ok_or_else(|| {
                Error::invalid(format!("unknown where {w:?} (before, after, first, last)"))
            })?,
            None => {
                return Err(Error::protocol(
                    ErrorTag::MissingElement,
                    format!("the {} edit needs where", e.operation),
                ));
            }
        };
        let point = match (&e.point, insert.needs_point()) {
            (Some(p), true) => Some(join(&t.path, p)),
            (None, true) => {
                return Err(Error::protocol(
                    ErrorTag::MissingElement,
                    "where before and after need a point",
                ));
            }
            (Some(_), false) => {
                return Err(Error::invalid(
                    "point applies to where before and after only",
                ));
            }
            (None, false) => None,
        };
        Some(Placement::resolve(st, &path, insert, point.as_deref())?)
    } else {
        None
    };
    let data = match &e.value {
        None => None,
        Some(v) => {
            let tree = if path.is_root() {
                encoding::parse_with(st.ctx, v, format, Parse::Edit, &st.limits.document)?
            } else {
                let parent = path.parent();
                let tree = encoding::parse_at_with(
                    st.ctx,
                    &parent,
                    v,
                    format,
                    Parse::Edit,
                    &st.limits.document,
                )?;
                if tree::select(&tree, &path.to_xpath())?.is_empty() {
                    return Err(Error::invalid(
                        "the edit value must hold the target node, with the target's key values",
                    ));
                }
                tree
            };
            Some(tree)
        }
    };
    Ok(Prepared {
        id: e.id.clone(),
        op: e.operation.clone(),
        xpath: (!path.is_root()).then(|| path.to_xpath()),
        data,
        placement,
    })
}

/// The steps of one prepared edit against `state` (the datastore as the
/// previous edits left it, unfiltered).
fn steps_of(p: Prepared, state: &Tree) -> Result<Vec<EditStep>, Error> {
    let x = p.xpath.clone();
    let exists = match &x {
        Some(x) => !tree::select(state, x)?.is_empty(),
        None => true,
    };
    let data_exists = |x: &str| {
        Error::from(
            MgmtError::app(ErrorTag::DataExists, "the data to create already exists")
                .with_path(x.to_string()),
        )
    };
    Ok(match (p.op.as_str(), x) {
        ("merge", _) => vec![EditStep::merge(
            p.data.unwrap_or_else(|| Tree::new(state.context())),
        )],
        ("replace", None) => vec![EditStep::replace_all(
            p.data.unwrap_or_else(|| Tree::new(state.context())),
        )],
        ("replace", Some(x)) => vec![EditStep::at(EditOp::Replace, x, p.data)],
        ("create", Some(x)) => vec![EditStep::at(EditOp::Create, x, p.data)],
        ("delete", Some(x)) => vec![EditStep::at(EditOp::Delete, x, None)],
        ("remove", Some(x)) => vec![EditStep::at(EditOp::Remove, x, None)],
        ("insert", Some(x)) => {
            if exists {
                return Err(data_exists(&x));
            }
            let placement = p
                .placement
                .ok_or_else(|| Error::internal("insert without placement"))?;
            let data = p
                .data
                .ok_or_else(|| Error::internal("insert without value"))?;
            placement.steps_on(state, Entry::Put { path: x, data }, |e| match e {
                Entry::Put { path, data } => EditStep::at(EditOp::Create, path, Some(data)),
                Entry::Move { path } => EditStep::at(EditOp::Merge, path, None),
            })?
        }
        ("move", Some(x)) => {
            let placement = p
                .placement
                .ok_or_else(|| Error::internal("move without placement"))?;
            placement.steps_on(state, Entry::Move { path: x }, |e| match e {
                Entry::Put { path, data } => EditStep::at(EditOp::Replace, path, Some(data)),
                Entry::Move { path } => EditStep::at(EditOp::Merge, path, None),
            })?
        }
        (op, _) => return Err(Error::invalid(format!("the {op} edit needs a target node"))),
    })
}

/// The outcome of a patch.
enum Outcome {
    Ok,
    Edit(String, Vec<MgmtError>),
    Global(Vec<MgmtError>),
}

pub async fn yang_patch(
    st: &Arc<AppInner>,
    rq: &mut Req,
    t: &Target,
    format: Format,
) -> Result<Response, Error> {
    Query::parse(rq.query(), "PATCH", Resource::Data { operational: false })?;
    let out_format = media::accept(&rq.headers, format)?;
    let text = rq.text().await?;
    let raw = match format {
        Format::Json => parse_json(&text)?,
        Format::Xml => parse_xml(&text)?,
    };
    if raw.id.is_empty() {
        return Err(Error::protocol(
            ErrorTag::MissingElement,
            "the YANG Patch needs a patch-id",
        ));
    }
    let mut ids: Vec<&str> = Vec::new();
    for e in &raw.edits {
        if e.id.is_empty() {
            return Err(Error::protocol(
                ErrorTag::MissingElement,
                "every edit needs an edit-id",
            ));
        }
        if ids.contains(&e.id.as_str()) {
            return Err(Error::invalid(format!("edit-id {:?} is used twice", e.id)));
        }
        ids.push(&e.id);
    }
    let ds = match t.ds {
        crate::resource::DsSel::Unified => Datastore::Running,
        crate::resource::DsSel::Nmda(Datastore::Operational) => {
            return Err(Error::method_not_allowed("GET, HEAD, OPTIONS"));
        }
        crate::resource::DsSel::Nmda(d) => d,
    };
    let mut prepared = Vec::with_capacity(raw.edits.len());
    for e in &raw.edits {
        match prepare(st, t, e, format) {
            Ok(p) => prepared.push(p),
            Err(err) => {
                return Ok(status_response(
                    st,
                    &raw.id,
                    Outcome::Edit(e.id.clone(), err.errors),
                    err.status,
                    out_format,
                ));
            }
        }
    }
    let cond = Conditions::from_headers(&rq.headers);
    let started = st.started;
    let xpath = t.xpath();
    let exists_needed = !t.path.is_root();
    let planned = st
        .handle
        .edit_with(
            Caller::slot(&rq.client),
            move |view| -> Result<_, Refusal> {
                let v = crate::resource::validators(view, ds, xpath.as_deref(), started)?;
                if exists_needed && !v.exists {
                    return Err(Error::not_found(
                        "the target resource of the YANG Patch does not exist",
                    )
                    .into());
                }
                cond.check_write(&v)?;
                // Each edit is tried on a copy of the datastore in turn, so a
                // failing one is reported by its edit-id.
                let mut state = view.get_all(ds, None)?;
                let mut all = Vec::new();
                for p in prepared {
                    let id = p.id.clone();
                    let steps = match steps_of(p, &state) {
                        Ok(s) => s,
                        Err(e) => {
                            return Err(Refusal::Outcome(Outcome::Edit(id, e.errors), e.status));
                        }
                    };
                    let mut log = Vec::new();
                    for s in &steps {
                        if let Err(e) = nectar_mgmt::edit::apply_step(&mut state, s, &mut log) {
                            let status = error::status_of(e.tag);
                            return Err(Refusal::Outcome(Outcome::Edit(id, vec![e]), status));
                        }
                    }
                    all.extend(steps);
                }
                Ok((Edit::atomic(ds, all), ()))
            },
            |_, (), out| {
                Ok(match out {
                    Ok(_) => (Outcome::Ok, StatusCode::OK),
                    Err(errs) => {
                        let status = Error::from(errs.clone()).status;
                        (Outcome::Global(errs.0), status)
                    }
                })
            },
        )
        .await;
    let outcome = match planned {
        Ok(o) => o,
        Err(Refusal::Outcome(o, status)) => (o, status),
        Err(Refusal::Refused(e)) => return Err(AppInner::busy(e)),
    };
    let (outcome, status) = outcome;
    Ok(status_response(st, &raw.id, outcome, status, out_format))
}

/// Why a YANG Patch is not applied: an error of the request as a whole, or
/// an edit that fails (reported in the yang-patch-status by its edit-id).
enum Refusal {
    Refused(Error),
    Outcome(Outcome, StatusCode),
}

impl<E: Into<Error>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal::Refused(e.into())
    }
}

fn status_response(
    st: &AppInner,
    patch_id: &str,
    outcome: Outcome,
    status: StatusCode,
    format: Format,
) -> Response {
    let body = match format {
        Format::Json => {
            let mut m = serde_json::Map::new();
            m.insert("patch-id".into(), patch_id.into());
            match &outcome {
                Outcome::Ok => {
                    m.insert("ok".into(), serde_json::json!([null]));
                }
                Outcome::Global(errs) => {
                    m.insert(
                        "errors".into(),
                        serde_json::json!({ "error": errs.iter().map(error::error_json).collect::<Vec<_>>() }),
                    );
                }
                Outcome::Edit(id, errs) => {
                    m.insert(
                        "edit-status".into(),
                        serde_json::json!({ "edit": [{
                            "edit-id": id,
                            "errors": { "error": errs.iter().map(error::error_json).collect::<Vec<_>>() },
                        }]}),
                    );
                }
            }
            serde_json::json!({ "ietf-yang-patch:yang-patch-status": m }).to_string()
        }
        Format::Xml => {
            let mut s = format!(
                "<yang-patch-status xmlns=\"{NS}\"><patch-id>{}</patch-id>",
                escape(patch_id)
            );
            match &outcome {
                Outcome::Ok => s.push_str("<ok/>"),
                Outcome::Global(errs) => {
                    s.push_str("<errors>");
                    s.push_str(&error::render_errors(st.ctx, errs, Format::Xml, false));
                    s.push_str("</errors>");
                }
                Outcome::Edit(id, errs) => {
                    s.push_str(&format!(
                        "<edit-status><edit><edit-id>{}</edit-id><errors>",
                        escape(id)
                    ));
                    s.push_str(&error::render_errors(st.ctx, errs, Format::Xml, false));
                    s.push_str("</errors></edit></edit-status>");
                }
            }
            s.push_str("</yang-patch-status>");
            s
        }
    };
    respond(status, media::data_type(format), body, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_patch_keeps_value_markup() {
        let p = parse_xml(
            "<yang-patch xmlns=\"urn:ietf:params:xml:ns:yang:ietf-yang-patch\">\
             <patch-id>p&amp;1</patch-id><edit><edit-id>e1</edit-id>\
             <operation>create</operation><target>/a=x</target>\
             <value><a xmlns=\"urn:x\"><k>x</k><b/></a></value></edit></yang-patch>",
        )
        .unwrap();
        assert_eq!(p.id, "p&1");
        assert_eq!(p.edits.len(), 1);
        assert_eq!(p.edits[0].operation, "create");
        assert_eq!(
            p.edits[0].value.as_deref(),
            Some("<a xmlns=\"urn:x\"><k>x</k><b/></a>")
        );
        assert!(parse_xml("<yang-patch><patch-id>x</patch-id></yang-patch>").is_err());
        assert!(parse_xml("<yang-patch xmlns=\"urn:ietf:params:xml:ns:yang:ietf-yang-patch\"><bogus/></yang-patch>").is_err());
    }
}
