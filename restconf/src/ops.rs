//! Operations (RFC 8040 §3.3.2, §3.6, §4.4.2): the `{+restconf}/operations`
//! list, and invocation of RPCs (`POST {+restconf}/operations/<module:rpc>`)
//! and actions (`POST` on the action's data path) with input and output in
//! either encoding. The core runs them (nectar-mgmt's `rollback`, and every
//! RPC a provider registers), with NACM `exec` checks.
//!
//! The RPCs of the NETCONF protocol modules (ietf-netconf,
//! ietf-netconf-nmda, ietf-netconf-monitoring) are NETCONF operations on
//! NETCONF sessions: they are neither listed nor invocable here, except the
//! candidate's `ietf-netconf:commit`, `discard-changes` and
//! `cancel-commit`, which RESTCONF clients of the NMDA candidate need.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::{Caller, CommitOptions, ErrorTag, MgmtError};
use nectar_yang::encoding::{self, Format, PrintOptions};
use nectar_yang::path::{DataPath, NodeKind};
use yang2::data::DataNodeRef;
use yang2::schema::SchemaNodeKind;

use crate::error::{Error, escape};
use crate::media::{self, BodyKind};
use crate::query::{Query, Resource};
use crate::{AppInner, Req, respond};

/// Modules whose RPCs are NETCONF protocol operations.
const NETCONF_MODULES: &[&str] = &[
    "ietf-netconf",
    "ietf-netconf-nmda",
    "ietf-netconf-monitoring",
];

/// The NETCONF operations RESTCONF serves for the candidate.
const CANDIDATE_OPS: &[&str] = &["commit", "discard-changes", "cancel-commit"];

fn served(module: &str, name: &str) -> bool {
    !NETCONF_MODULES.contains(&module)
        || (module == "ietf-netconf" && CANDIDATE_OPS.contains(&name))
}

/// `GET {+restconf}/operations`: every RPC the user may execute.
pub async fn list(st: &Arc<AppInner>, rq: &Req) -> Result<Response, Error> {
    let head = match rq.method {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Err(Error::method_not_allowed("GET, HEAD")),
    };
    Query::parse(rq.query(), rq.method.as_str(), Resource::Other)?;
    let format = media::accept(&rq.headers, Format::Json)?;
    let mut rpcs: Vec<(String, String, String)> = Vec::new();
    for m in st.ctx.modules(true) {
        if !m.is_implemented() {
            continue;
        }
        for rpc in m.rpcs() {
            if served(m.name(), rpc.name()) {
                rpcs.push((
                    m.name().to_string(),
                    rpc.name().to_string(),
                    m.namespace().to_string(),
                ));
            }
        }
    }
    let check: Vec<(String, String)> = rpcs
        .iter()
        .map(|(m, n, _)| (m.clone(), n.clone()))
        .collect();
    let allowed = st.handle.permitted(Caller::slot(&rq.client), check).await?;
    let rpcs: Vec<_> = rpcs
        .into_iter()
        .zip(allowed)
        .filter(|(_, ok)| *ok)
        .map(|(r, _)| r)
        .collect();
    let body = match format {
        Format::Json => {
            let mut ops = serde_json::Map::new();
            for (m, n, _) in &rpcs {
                ops.insert(format!("{m}:{n}"), serde_json::json!([null]));
            }
            serde_json::json!({ "ietf-restconf:operations": ops }).to_string()
        }
        Format::Xml => {
            let mut s =
                String::from("<operations xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">");
            for (_, n, ns) in &rpcs {
                s.push_str(&format!("<{n} xmlns=\"{}\"/>", escape(ns)));
            }
            s.push_str("</operations>");
            s
        }
    };
    Ok(respond(
        StatusCode::OK,
        media::data_type(format),
        body,
        head,
    ))
}

/// `POST {+restconf}/operations/<module:rpc>`.
pub async fn invoke_rpc(st: &Arc<AppInner>, rq: &mut Req, op: &str) -> Result<Response, Error> {
    let path = DataPath::parse_uri(st.ctx, &format!("/{op}"))
        .map_err(|e| Error::not_found(format!("no operation {op}: {e}")))?;
    if path.nodes().len() != 1 || path.last().map(|n| n.kind) != Some(NodeKind::Rpc) {
        return Err(Error::not_found(format!("{op} is not an RPC")));
    }
    let last = path.last().map(|n| (n.module.clone(), n.name.clone()));
    if let Some((m, n)) = &last
        && !served(m, n)
    {
        return Err(Error::new(
            StatusCode::NOT_IMPLEMENTED,
            MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                format!("{m}:{n} is a NETCONF protocol operation; use NETCONF"),
            ),
        ));
    }
    match rq.method {
        Method::POST => invoke(st, rq, &path).await,
        Method::OPTIONS => Ok(Response::builder()
            .status(StatusCode::OK)
            .header(axum::http::header::ALLOW, "POST, OPTIONS")
            .body(Body::empty())
            .unwrap_or_default()),
        _ => Err(Error::method_not_allowed("POST, OPTIONS")),
    }
}

/// Invokes the RPC or action `path` names with the request body as input.
pub async fn invoke(st: &Arc<AppInner>, rq: &mut Req, path: &DataPath) -> Result<Response, Error> {
    Query::parse(rq.query(), "POST", Resource::Operation)?;
    let text = rq.text().await?;
    let in_format = if text.trim().is_empty() {
        None
    } else {
        match media::content_type(&rq.headers)? {
            Some(BodyKind::Data(f)) => Some(f),
            _ => return Err(crate::resource::body_format(rq).unwrap_err()),
        }
    };
    let out_format = media::accept(&rq.headers, in_format.unwrap_or(Format::Json))?;
    let input = encoding::parse_restconf_input_with(
        st.ctx,
        path,
        &text,
        in_format.unwrap_or(Format::Json),
        &st.limits.document,
    )?;
    let (module, name) = path
        .last()
        .map(|n| (n.module.clone(), n.name.clone()))
        .unwrap_or_default();
    // An action runs on a data node, which must exist (RFC 7950 §7.15).
    let parent = path.parent();
    if !parent.is_root() {
        let x = parent.to_xpath();
        let uri = parent.to_uri();
        let exists = st
            .handle
            .inspect(
                Caller::slot(&rq.client),
                move |view| -> Result<bool, Error> {
                    let t = view.get(nectar_mgmt::Datastore::Operational, Some(&x))?;
                    Ok(!crate::tree::select(&t, &x)?.is_empty())
                },
            )
            .await?;
        if !exists {
            return Err(Error::not_found(format!(
                "the data node {uri} of the action {name} does not exist"
            )));
        }
    }
    if module == "ietf-subscribed-notifications" || module == "ietf-yang-push" {
        return crate::push::rpc(
            st,
            rq,
            &module,
            &name,
            input,
            in_format.unwrap_or(Format::Json),
            out_format,
        )
        .await;
    }
    let output = if module == "ietf-netconf" {
        candidate_op(st, rq, &name, input).await?
    } else {
        st.handle
            .rpc(Caller::slot(&rq.client), input)
            .await
            .map_err(|e| AppInner::busy(e.into()))?
    };
    let Some(output) = output else {
        return Ok(no_content());
    };
    match render_output(&output, out_format)? {
        None => Ok(no_content()),
        Some(body) => Ok(respond(
            StatusCode::OK,
            media::data_type(out_format),
            body,
            false,
        )),
    }
}

fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

fn leaf(op: &DataNodeRef<'_, 'static>, name: &str) -> Option<String> {
    op.children()
        .find(|c| c.schema().name() == name)
        .and_then(|c| c.value_canonical())
}

/// ietf-netconf `commit`, `discard-changes`, `cancel-commit` for the
/// candidate.
async fn candidate_op(
    st: &Arc<AppInner>,
    rq: &Req,
    name: &str,
    input: Tree,
) -> Result<Option<Tree>, Error> {
    let op = input
        .traverse()
        .find(|n| n.schema().kind() == SchemaNodeKind::Rpc)
        .ok_or_else(|| Error::malformed("no operation in the request"))?;
    let name = name.to_string();
    let persist_id = leaf(&op, "persist-id");
    let opts = CommitOptions {
        confirmed: op.children().any(|c| c.schema().name() == "confirmed"),
        timeout: leaf(&op, "confirm-timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs),
        persist: leaf(&op, "persist"),
        persist_id: persist_id.clone(),
        comment: None,
    };
    let caller = Caller::slot(&rq.client).authorizing("ietf-netconf", name.as_str());
    let done = match name.as_str() {
        "commit" => st.handle.commit(caller, opts).await.map(|_| ()),
        "discard-changes" => st.handle.discard_changes(caller).await.map_err(Into::into),
        "cancel-commit" => st
            .handle
            .cancel_commit(caller, persist_id)
            .await
            .map_err(Into::into),
        other => {
            // NACM first, as for the operations served.
            st.handle.authorize(caller).await?;
            return Err(Error::from(MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                format!("ietf-netconf:{other} is not served over RESTCONF"),
            )));
        }
    };
    done.map_err(|e| AppInner::busy(e.into()))?;
    Ok(None)
}

/// The `module:output` document of an operation's output (RFC 8040
/// §3.6.2); `None` when there is no output data.
fn render_output(output: &Tree, format: Format) -> Result<Option<String>, Error> {
    let Some(op) = output.traverse().find(|n| {
        matches!(
            n.schema().kind(),
            SchemaNodeKind::Rpc | SchemaNodeKind::Action
        )
    }) else {
        return Ok(None);
    };
    if op.children().next().is_none() {
        return Ok(None);
    }
    let module = op.schema().module().name().to_string();
    let name = op.schema().name().to_string();
    let printed = encoding::print_node(&op, &PrintOptions::new(format).siblings(false))?;
    match format {
        Format::Json => {
            let v: serde_json::Value = serde_json::from_str(&printed).map_err(Error::internal)?;
            let inner = v
                .as_object()
                .and_then(|o| o.values().next().cloned())
                .unwrap_or(serde_json::Value::Null);
            Ok(Some(
                serde_json::json!({ format!("{module}:output"): inner }).to_string(),
            ))
        }
        Format::Xml => {
            let open = format!("<{name}");
            let close = format!("</{name}>");
            let body = printed.trim();
            match (body.strip_prefix(&open), body.strip_suffix(&close)) {
                (Some(_), Some(_)) => {
                    let inner = &body[open.len()..body.len() - close.len()];
                    Ok(Some(format!("<output{inner}</output>")))
                }
                _ => Err(Error::internal(format!(
                    "unexpected XML output of {module}:{name}"
                ))),
            }
        }
    }
}
