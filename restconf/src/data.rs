//! Data resources and datastore resources (RFC 8040 §3.5, §4; RFC 8527 §3):
//! GET/HEAD with `content`, `depth`, `fields`, `with-defaults` (and
//! `with-origin` on the operational datastore), PUT, POST (create a child,
//! or invoke an action), PATCH (plain merge, or YANG Patch), DELETE and
//! OPTIONS, with entity-tags and conditional requests.
//!
//! Which datastore a request works on: `{+restconf}/data` reads the
//! operational datastore (running plus state) unless `content=config`, or
//! the target's subtree has no state (then running, which is the same
//! data), and writes running. `{+restconf}/ds/ietf-datastores:<name>` reads
//! and writes that datastore; operational is read-only.

use nectar_yang::print::NodePath;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use nectar_mgmt::ly::{self, Tree};
use nectar_mgmt::{Caller, Datastore, Edit, EditOp, EditStep, Read, ReadReply};
use nectar_yang::encoding::{self, Content as Parse, Format, PrintOptions, WithDefaults};
use nectar_yang::path::{DataPath, NodeKind};
use yang2::data::DataNodeRef;

use crate::conditional::{Conditions, ReadOutcome, Validators};
use crate::error::Error;
use crate::media::{self, BodyKind};
use crate::ordered::Entry;
use crate::query::{Content, Query, Resource};
use crate::resource::{DsSel, Placement, Target, body_format, target, validators, validators_of};
use crate::tree;
use crate::{AppInner, Req};

/// Entry point for data and datastore resources.
pub async fn handle(
    st: &Arc<AppInner>,
    rq: &mut Req,
    ds: DsSel,
    prefix: &str,
    sub: &str,
) -> Result<Response, Error> {
    let t = target(st, ds, prefix, sub)?;
    match t.kind() {
        Some(NodeKind::Rpc) => {
            return Err(Error::invalid(
                "an RPC is invoked at {+restconf}/operations, not as a data resource",
            ));
        }
        Some(NodeKind::Notification) => {
            return Err(Error::invalid("a notification is not a data resource"));
        }
        Some(NodeKind::Action) => {
            if rq.method == Method::POST {
                return crate::ops::invoke(st, rq, &t.path).await;
            }
            if rq.method == Method::OPTIONS {
                return Ok(options("POST, OPTIONS", false));
            }
            return Err(Error::method_not_allowed("POST, OPTIONS"));
        }
        _ => {}
    }
    let read_only = ds == DsSel::Nmda(Datastore::Operational);
    let allow = match (read_only, t.path.is_root()) {
        (true, _) => "GET, HEAD, OPTIONS",
        (false, true) => "GET, HEAD, OPTIONS, POST, PUT, PATCH",
        (false, false) => "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE",
    };
    let method = rq.method.clone();
    match method {
        Method::GET => get(st, rq, &t, false).await,
        Method::HEAD => get(st, rq, &t, true).await,
        Method::OPTIONS => Ok(options(allow, !read_only)),
        Method::PUT if !read_only => put(st, rq, &t).await,
        Method::POST if !read_only => post(st, rq, &t).await,
        Method::PATCH if !read_only => match media::content_type(&rq.headers)? {
            Some(BodyKind::Patch(f)) => crate::patch::yang_patch(st, rq, &t, f).await,
            _ => patch(st, rq, &t).await,
        },
        Method::DELETE if !read_only && !t.path.is_root() => delete(st, rq, &t).await,
        _ => Err(Error::method_not_allowed(allow)),
    }
}

fn options(allow: &str, writable: bool) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::OK)
        .header(header::ALLOW, allow);
    if writable {
        r = r.header("accept-patch", media::ACCEPT_PATCH);
    }
    r.body(Body::empty()).unwrap_or_default()
}

fn validator_headers(r: &mut Response, v: &Validators) {
    if let Some(e) = &v.etag
        && let Ok(h) = HeaderValue::from_str(e)
    {
        r.headers_mut().insert(header::ETAG, h);
    }
    if let Some(t) = v.last_modified
        && let Ok(h) = HeaderValue::from_str(&httpdate::fmt_http_date(t))
    {
        r.headers_mut().insert(header::LAST_MODIFIED, h);
    }
}

fn not_modified(v: &Validators) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::NOT_MODIFIED)
        .body(Body::empty())
        .unwrap_or_default();
    validator_headers(&mut r, v);
    r
}

// ===== GET / HEAD =====

async fn get(st: &Arc<AppInner>, rq: &Req, t: &Target, head: bool) -> Result<Response, Error> {
    let operational = t.ds == DsSel::Nmda(Datastore::Operational);
    let q = Query::parse(
        rq.query(),
        rq.method.as_str(),
        Resource::Data { operational },
    )?;
    let format = media::accept(&rq.headers, Format::Json)?;
    let cond = Conditions::from_headers(&rq.headers);
    let content = q.content.unwrap_or_default();
    let has_state = st.has_state(&t.path);
    let (read_ds, prune) = source_of(t.ds, content, has_state);
    let cacheable = read_ds != Datastore::Operational || content == Content::Config || !has_state;
    let xpath = t.xpath();
    let local = if read_ds == Datastore::Operational {
        crate::discovery::local_state(st, &rq.headers, &rq.uri, xpath.as_deref())?
    } else {
        None
    };
    // One instance (keys everywhere, no concat() in the path): a path lookup
    // instead of an XPath evaluation.
    let single = t.path.is_single_instance()
        && t.path.last().is_some_and(|n| !n.is_unkeyed_collection())
        && !xpath.as_deref().is_some_and(|x| x.contains("concat("));
    // Operational data carries state: the entity-tag is over the
    // configuration behind it, running's.
    let options = PrintOptions {
        format,
        with_defaults: q.with_defaults.unwrap_or(WithDefaults::Explicit),
        siblings: true,
        pretty: false,
        keep_empty_containers: xpath.is_some() || q.depth.is_some() || q.fields.is_some(),
    };
    let mut read = Read::new(read_ds, xpath.clone());
    read.single = single;
    read.extra = local;
    read.with_running = xpath.is_some() && read_ds == Datastore::Operational;
    // All of running as it stands, the entity-tag its commit: the core may
    // print it from the datastore itself, without a copy.
    let whole = xpath.is_none()
        && read_ds == Datastore::Running
        && prune.is_none()
        && q.fields.is_none()
        && q.depth.is_none()
        && !q.with_origin;
    if whole {
        read.print = Some(options);
    }
    // The core only reads; entity-tags are computed here, off its thread.
    let ReadReply {
        tree: mut data,
        text,
        running: config,
        commit_id: commit,
        last_commit,
    } = st.handle.read(Caller::slot(&rq.client), read).await?;
    if read_ds == Datastore::Operational
        && xpath
            .as_deref()
            .is_none_or(|x| x.starts_with("/ietf-yang-library:"))
    {
        crate::discovery::add_schema_locations(st, &rq.headers, &rq.uri, &mut data)?;
    }
    let last_modified = match read_ds {
        Datastore::Running | Datastore::Operational => Some(
            last_commit
                .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
                .unwrap_or(st.started),
        ),
        _ => None,
    };
    // The default representation of a configuration resource is exactly
    // what its entity-tag is computed over: print it once.
    let plain = config.is_none()
        && prune.is_none()
        && q.fields.is_none()
        && q.depth.is_none()
        && !q.with_origin
        && format == Format::Json
        && matches!(q.with_defaults, None | Some(WithDefaults::Explicit));
    if let (Some(x), true) = (&xpath, plain) {
        let body = print_plain(&data, x, single, &t.path)?;
        let v = Validators {
            exists: true,
            etag: Some(tree::etag_of(&body)),
            last_modified,
        };
        if cond.check_read(&v, cacheable)? == ReadOutcome::NotModified {
            return Ok(not_modified(&v));
        }
        return Ok(read_response(body, format, head, &v));
    }
    let v = match &xpath {
        None => Validators {
            exists: true,
            etag: Some(match read_ds {
                Datastore::Running | Datastore::Operational => format!("\"running-{commit}\""),
                _ => tree::content_etag(&data)?,
            }),
            last_modified,
        },
        Some(x) => {
            let mut v = validators_of(config.as_ref().unwrap_or(&data), x, last_modified)?;
            v.exists = true;
            v
        }
    };
    if let Some(x) = &xpath
        && tree::select(&data, x)?.is_empty()
    {
        return Err(Error::not_found(format!(
            "the resource {} does not exist",
            t.path.to_uri()
        )));
    }
    if cond.check_read(&v, cacheable)? == ReadOutcome::NotModified {
        return Ok(not_modified(&v));
    }
    if let Some(printed) = text {
        let empty = match format {
            Format::Json => printed.is_empty() || printed == "{}",
            Format::Xml => printed.is_empty(),
        };
        let printed = if empty && format == Format::Json {
            "{}"
        } else {
            &printed
        };
        return Ok(read_response(
            wrap_datastore(printed, format),
            format,
            head,
            &v,
        ));
    }
    shape(
        st,
        &mut data,
        &q,
        prune,
        t.path.nodes().len().max(1),
        xpath.as_deref(),
    )?;
    if q.with_origin {
        let running = st
            .handle
            .get(Caller::system(), Datastore::Running, None)
            .await?;
        nectar_mgmt::origin::annotate(&mut data, &running)?;
    }
    let targets = tree::extract(data, xpath.as_deref())?;
    let printed = match tree::print_targets(&targets, &options)? {
        Some(p) => p,
        None if xpath.is_none() => match format {
            Format::Json => "{}".to_string(),
            Format::Xml => String::new(),
        },
        None => {
            return Err(Error::not_found(format!(
                "the resource {} has no data of the requested content",
                t.path.to_uri()
            )));
        }
    };
    let body = if xpath.is_none() {
        wrap_datastore(&printed, format)
    } else {
        printed
    };
    Ok(read_response(body, format, head, &v))
}

/// The datastore a GET reads for the `content` asked, and what to prune from
/// it afterwards.
fn source_of(ds: DsSel, content: Content, has_state: bool) -> (Datastore, Option<Content>) {
    match ds {
        DsSel::Unified => match content {
            Content::Config => (Datastore::Running, None),
            Content::Nonconfig => (Datastore::Operational, Some(Content::Nonconfig)),
            Content::All if has_state => (Datastore::Operational, None),
            Content::All => (Datastore::Running, None),
        },
        DsSel::Nmda(d) => (d, (content != Content::All).then_some(content)),
    }
}

/// 200 with a representation, its validators and `Cache-Control: no-cache`.
fn read_response(body: String, format: Format, head: bool, v: &Validators) -> Response {
    let mut r = crate::respond(StatusCode::OK, media::data_type(format), body, head);
    validator_headers(&mut r, v);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The default JSON representation of the resource `x` names in `data`,
/// exactly what its entity-tag is computed over.
fn print_plain(data: &Tree, x: &str, single: bool, path: &DataPath) -> Result<String, Error> {
    let targets = if single {
        tree::extract_single(data, x)?
    } else {
        tree::extract_nodes(data, x)?
    };
    if targets.is_empty() {
        return Err(Error::not_found(format!(
            "the resource {} does not exist",
            path.to_uri()
        )));
    }
    tree::print_targets(&targets, &tree::etag_print_options())?.ok_or_else(|| {
        Error::not_found(format!(
            "the resource {} has no data of the requested content",
            path.to_uri()
        ))
    })
}

/// Applies the query's `content` pruning, `fields` and `depth` (RFC 8040
/// §4.8) to what was read; `level` is the depth of the target resource.
fn shape(
    st: &AppInner,
    data: &mut Tree,
    q: &Query,
    prune: Option<Content>,
    level: usize,
    xpath: Option<&str>,
) -> Result<(), Error> {
    if let Some(c) = prune {
        tree::prune_content(data, c)?;
    }
    if let Some(fields) = &q.fields {
        let fields = tree::expand_fields_with(fields, st.limits.document.max_depth)?;
        *data = tree::apply_fields(st.ctx, data, xpath, level, &fields, q.depth)?;
    } else if let Some(depth) = q.depth {
        tree::prune_levels(data, level + depth as usize - 1)?;
    }
    Ok(())
}

/// The datastore resource's representation: the `ietf-restconf:data`
/// container (RFC 8040 §3.3.1).
fn wrap_datastore(printed: &str, format: Format) -> String {
    match format {
        Format::Json => format!("{{\"ietf-restconf:data\":{printed}}}"),
        Format::Xml => {
            format!("<data xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">{printed}</data>")
        }
    }
}

fn children_of<'t>(
    tree: &'t Tree,
    parent: Option<&str>,
) -> Result<Vec<DataNodeRef<'t, 'static>>, Error> {
    Ok(match parent {
        None => tree
            .reference()
            .map(|r| r.inclusive_siblings().collect())
            .unwrap_or_default(),
        Some(p) => match ly::find(tree, p)? {
            Some(n) => n.children().filter(|c| !c.schema().is_list_key()).collect(),
            None => Vec::new(),
        },
    })
}

/// Parses a PUT or PATCH body: exactly the target node, with key values
/// equal to the URI's (RFC 8040 §4.5). Returns the tree from the top level.
fn parse_replacement(st: &AppInner, t: &Target, text: &str, format: Format) -> Result<Tree, Error> {
    if text.trim().is_empty() {
        return Err(Error::malformed("the request body is empty"));
    }
    if t.path.is_root() {
        return Ok(encoding::parse_with(
            st.ctx,
            text,
            format,
            Parse::Edit,
            &st.limits.document,
        )?);
    }
    let parent = t.path.parent();
    let tree = encoding::parse_at_with(
        st.ctx,
        &parent,
        text,
        format,
        Parse::Edit,
        &st.limits.document,
    )?;
    let parent_x = (!parent.is_root()).then(|| parent.to_xpath());
    let under = children_of(&tree, parent_x.as_deref())?;
    let xpath = t.path.to_xpath();
    let matches = tree::select(&tree, &xpath)?;
    if under.len() != 1 || matches.len() != 1 {
        let last = t.path.last().map(|n| n.name.as_str()).unwrap_or("");
        return Err(Error::invalid(if matches.is_empty() {
            format!(
                "the request body must hold the target resource {last} with the key values \
                 of the request URI"
            )
        } else {
            format!("the request body must hold exactly one node: the target resource {last}")
        }));
    }
    Ok(tree)
}

// ===== PUT =====

async fn put(st: &Arc<AppInner>, rq: &mut Req, t: &Target) -> Result<Response, Error> {
    let q = Query::parse(rq.query(), "PUT", Resource::Data { operational: false })?;
    t.check_single()?;
    let format = body_format(rq)?;
    let text = rq.text().await?;
    let data = parse_replacement(st, t, &text, format)?;
    let ds = t.ds.write_ds()?;
    let cond = Conditions::from_headers(&rq.headers);
    let placement = match q.insert {
        None => None,
        Some(insert) => Some(Placement::resolve(st, &t.path, insert, q.point.as_deref())?),
    };
    let started = st.started;
    let xpath = t.xpath();
    let (created, v) = st
        .handle
        .edit_with(
            Caller::slot(&rq.client),
            move |view| -> Result<_, Error> {
                let v = validators(view, ds, xpath.as_deref(), started)?;
                cond.check_write(&v)?;
                let steps = match &xpath {
                    None => vec![EditStep::replace_all(data)],
                    Some(x) => {
                        let plain = |e: Entry| match e {
                            Entry::Put { path, data } => {
                                EditStep::at(EditOp::Replace, path, Some(data))
                            }
                            Entry::Move { path } => EditStep::at(EditOp::Merge, path, None),
                        };
                        let entry = Entry::Put {
                            path: x.clone(),
                            data,
                        };
                        match &placement {
                            Some(p) => p.steps(view, ds, entry, plain)?,
                            None => vec![plain(entry)],
                        }
                    }
                };
                let existed = match &xpath {
                    None => true,
                    Some(x) => !tree::select(&view.get_all(ds, Some(x))?, x)?.is_empty(),
                };
                Ok((Edit::atomic(ds, steps), (existed, xpath)))
            },
            move |view, (existed, xpath), out| {
                out?;
                let v = validators(view, ds, xpath.as_deref(), started)?;
                Ok((!existed, v))
            },
        )
        .await
        .map_err(AppInner::busy)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    let mut r = Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_default();
    validator_headers(&mut r, &v);
    Ok(r)
}

// ===== POST =====

async fn post(st: &Arc<AppInner>, rq: &mut Req, t: &Target) -> Result<Response, Error> {
    let q = Query::parse(rq.query(), "POST", Resource::Data { operational: false })?;
    t.check_single()?;
    if matches!(
        t.kind(),
        Some(NodeKind::Leaf | NodeKind::LeafList | NodeKind::AnyData)
    ) {
        return Err(Error::invalid(
            "POST creates a child resource; a leaf or leaf-list has none",
        ));
    }
    let format = body_format(rq)?;
    let text = rq.text().await?;
    if text.trim().is_empty() {
        return Err(Error::malformed("the request body is empty"));
    }
    let data = if t.path.is_root() {
        encoding::parse_with(st.ctx, &text, format, Parse::Edit, &st.limits.document)?
    } else {
        encoding::parse_at_with(
            st.ctx,
            &t.path,
            &text,
            format,
            Parse::Edit,
            &st.limits.document,
        )?
    };
    let txpath = t.xpath();
    let children = children_of(&data, txpath.as_deref())?;
    if children.len() != 1 {
        return Err(Error::invalid(format!(
            "the request body must hold exactly one child resource to create, not {}",
            children.len()
        )));
    }
    let child_path = children[0].data_path();
    drop(children);
    let child = DataPath::parse_xpath(st.ctx, &child_path)?;
    let placement = match q.insert {
        None => None,
        Some(insert) => Some(Placement::resolve(st, &child, insert, q.point.as_deref())?),
    };
    let ds = t.ds.write_ds()?;
    let cond = Conditions::from_headers(&rq.headers);
    let started = st.started;
    let parent_np = parent_is_np_chain(st, &t.path);
    let cx = child.to_xpath();
    let v = st
        .handle
        .edit_with(
            Caller::slot(&rq.client),
            move |view| -> Result<_, Error> {
                if let Some(x) = &txpath
                    && tree::select(&view.get_all(ds, Some(x))?, x)?.is_empty()
                    && !parent_np
                {
                    return Err(Error::not_found(
                        "the target resource of the POST does not exist",
                    ));
                }
                let v = validators(view, ds, txpath.as_deref(), started)?;
                cond.check_write(&v)?;
                if !tree::select(&view.get_all(ds, Some(&cx))?, &cx)?.is_empty() {
                    return Err(Error::from(
                        nectar_mgmt::MgmtError::app(
                            nectar_mgmt::ErrorTag::DataExists,
                            "the resource to create already exists",
                        )
                        .with_path(cx.clone()),
                    ));
                }
                let plain = |e: Entry| match e {
                    Entry::Put { path, data } => EditStep::at(EditOp::Create, path, Some(data)),
                    Entry::Move { path } => EditStep::at(EditOp::Merge, path, None),
                };
                let entry = Entry::Put {
                    path: cx.clone(),
                    data,
                };
                let steps = match &placement {
                    Some(p) => p.steps(view, ds, entry, plain)?,
                    None => vec![plain(entry)],
                };
                Ok((Edit::atomic(ds, steps), cx))
            },
            move |view, cx, out| {
                out?;
                validators(view, ds, Some(&cx), started)
            },
        )
        .await
        .map_err(AppInner::busy)?;
    let location = format!(
        "{}{}{}",
        st.base_url(&rq.headers, &rq.uri),
        t.prefix,
        child.to_uri()
    );
    let mut r = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap_or_default();
    validator_headers(&mut r, &v);
    Ok(r)
}

/// True when the path is a chain of non-presence containers from the top
/// (they exist implicitly, so a POST may create under them).
fn parent_is_np_chain(st: &AppInner, path: &DataPath) -> bool {
    let mut p = path.clone();
    while !p.is_root() {
        match nectar_yang::path::schema_info(st.ctx, &p) {
            Ok(info) if info.kind == NodeKind::Container && !info.presence => {}
            _ => return false,
        }
        p = p.parent();
    }
    true
}

// ===== PATCH (plain merge) =====

async fn patch(st: &Arc<AppInner>, rq: &mut Req, t: &Target) -> Result<Response, Error> {
    Query::parse(rq.query(), "PATCH", Resource::Data { operational: false })?;
    t.check_single()?;
    let format = body_format(rq)?;
    let text = rq.text().await?;
    let data = parse_replacement(st, t, &text, format)?;
    let ds = t.ds.write_ds()?;
    let cond = Conditions::from_headers(&rq.headers);
    let started = st.started;
    let xpath = t.xpath();
    let parent_np = parent_is_np_chain(st, &t.path);
    let t2 = t.clone();
    let v = st
        .handle
        .edit_with(
            Caller::slot(&rq.client),
            move |view| -> Result<_, Error> {
                let v = validators(view, ds, xpath.as_deref(), started)?;
                if !v.exists && !parent_np {
                    return Err(Error::not_found(format!(
                        "the resource {} does not exist; PATCH does not create it",
                        t2.path.to_uri()
                    )));
                }
                cond.check_write(&v)?;
                Ok((Edit::atomic(ds, vec![EditStep::merge(data)]), xpath))
            },
            move |view, xpath, out| {
                out?;
                validators(view, ds, xpath.as_deref(), started)
            },
        )
        .await
        .map_err(AppInner::busy)?;
    let mut r = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default();
    validator_headers(&mut r, &v);
    Ok(r)
}

// ===== DELETE =====

async fn delete(st: &Arc<AppInner>, rq: &mut Req, t: &Target) -> Result<Response, Error> {
    Query::parse(rq.query(), "DELETE", Resource::Data { operational: false })?;
    t.check_single()?;
    let ds = t.ds.write_ds()?;
    let cond = Conditions::from_headers(&rq.headers);
    let started = st.started;
    let xpath = t.path.to_xpath();
    let uri = t.path.to_uri();
    st.handle
        .edit_with(
            Caller::slot(&rq.client),
            move |view| -> Result<_, Error> {
                let v = validators(view, ds, Some(&xpath), started)?;
                if !v.exists {
                    return Err(Error::not_found(format!(
                        "the resource {uri} does not exist"
                    )));
                }
                cond.check_write(&v)?;
                let step = EditStep::at(EditOp::Delete, xpath, None);
                Ok((Edit::atomic(ds, vec![step]), ()))
            },
            |_, (), out| out.map(|_| ()).map_err(Error::from),
        )
        .await
        .map_err(AppInner::busy)?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default())
}
