//! Discovery (RFC 8040 §3.1-3.3): `/.well-known/host-meta`, the API root
//! `{+restconf}`, `yang-library-version`, the YANG text of the modules
//! (`/yang/<module>[@<revision>].yang`, the `location` the yang library
//! gives), and the server's own state merged into operational reads: the
//! ietf-yang-library of the context and ietf-restconf-monitoring
//! (capabilities and streams).

use nectar_yang::print::NodePath;
use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use nectar_mgmt::ly::{self, Tree};
use nectar_yang::encoding::Format;
use yang2::data::DataTree;

use crate::error::{Error, escape};
use crate::query::{Query, Resource};
use crate::{AppInner, Req, media, respond, tree};

/// RFC 8040 §3.1: the XRD naming the RESTCONF root.
pub async fn host_meta(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "allowed: GET, HEAD\n".into(),
            false,
        );
        r.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET, HEAD"),
        );
        return r;
    }
    respond(
        StatusCode::OK,
        "application/xrd+xml",
        "<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\
         <Link rel=\"restconf\" href=\"/restconf\"/></XRD>"
            .into(),
        method == Method::HEAD,
    )
}

fn read_only(rq: &Req) -> Result<bool, Error> {
    match rq.method {
        Method::GET => Ok(false),
        Method::HEAD => Ok(true),
        _ => Err(Error::method_not_allowed("GET, HEAD")),
    }
}

/// The revision of ietf-yang-library the context implements.
fn yang_library_revision(st: &AppInner) -> String {
    st.ctx
        .get_module_implemented("ietf-yang-library")
        .and_then(|m| m.revision().map(str::to_string))
        .unwrap_or_default()
}

/// RFC 8040 §3.3: the `ietf-restconf:restconf` container.
pub fn root(st: &Arc<AppInner>, rq: &Req) -> Result<Response, Error> {
    let head = read_only(rq)?;
    Query::parse(rq.query(), rq.method.as_str(), Resource::Other)?;
    let format = media::accept(&rq.headers, Format::Json)?;
    let rev = yang_library_revision(st);
    let body = match format {
        Format::Json => serde_json::json!({
            "ietf-restconf:restconf": {
                "data": {},
                "operations": {},
                "yang-library-version": rev,
            }
        })
        .to_string(),
        Format::Xml => format!(
            "<restconf xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\"><data/><operations/>\
             <yang-library-version>{}</yang-library-version></restconf>",
            escape(&rev)
        ),
    };
    Ok(respond(
        StatusCode::OK,
        media::data_type(format),
        body,
        head,
    ))
}

/// RFC 8040 §3.3.3.
pub fn yang_library_version(st: &Arc<AppInner>, rq: &Req) -> Result<Response, Error> {
    let head = read_only(rq)?;
    Query::parse(rq.query(), rq.method.as_str(), Resource::Other)?;
    let format = media::accept(&rq.headers, Format::Json)?;
    let rev = yang_library_revision(st);
    let body = match format {
        Format::Json => {
            serde_json::json!({ "ietf-restconf:yang-library-version": rev }).to_string()
        }
        Format::Xml => format!(
            "<yang-library-version xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">{}\
             </yang-library-version>",
            escape(&rev)
        ),
    };
    Ok(respond(
        StatusCode::OK,
        media::data_type(format),
        body,
        head,
    ))
}

/// The URL path of a module's YANG text.
pub fn schema_path(name: &str, revision: Option<&str>) -> String {
    match revision {
        Some(r) => format!("/yang/{name}@{r}.yang"),
        None => format!("/yang/{name}.yang"),
    }
}

/// `GET /yang/<name>[@<revision>].yang`: the YANG text of a module or
/// submodule of the context (`application/yang`, RFC 6020 §14).
pub fn schema(st: &Arc<AppInner>, rq: &Req, file: &str) -> Result<Response, Error> {
    let head = read_only(rq)?;
    Query::parse(rq.query(), rq.method.as_str(), Resource::Other)?;
    let missing = || Error::not_found(format!("no YANG module {file}"));
    let stem = file.strip_suffix(".yang").ok_or_else(missing)?;
    let (name, revision) = match stem.split_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (stem, None),
    };
    if name.is_empty() || name.contains('\0') || revision.is_some_and(|r| r.contains('\0')) {
        return Err(missing());
    }
    let text = match nectar_yang::models::embedded(name) {
        // The pinned text of the model set, for a module (or submodule) of
        // the context.
        Some(m) if revision == m.revision => {
            let owner = m.belongs_to.unwrap_or(name);
            st.ctx.get_module_latest(owner).ok_or_else(missing)?;
            m.text.to_string()
        }
        Some(_) => return Err(missing()),
        // libyang's own modules (e.g. `yang`), printed from the context.
        None => st
            .ctx
            .get_module(name, revision)
            .filter(|m| m.revision() == revision)
            .ok_or_else(missing)
            .and_then(|m| {
                nectar_yang::print::module(
                    &m,
                    yang2::schema::SchemaOutputFormat::YANG,
                    yang2::schema::SchemaPrinterFlags::empty(),
                )
                .map_err(Error::internal)
            })?,
    };
    Ok(respond(StatusCode::OK, "application/yang", text, head))
}

/// The capabilities of `ietf-restconf-monitoring` (RFC 8040 §9.1.1).
pub fn capabilities(st: &AppInner) -> Vec<&'static str> {
    let mut caps = vec![
        "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit",
        "urn:ietf:params:restconf:capability:depth:1.0",
        "urn:ietf:params:restconf:capability:fields:1.0",
        "urn:ietf:params:restconf:capability:with-defaults:1.0",
        "urn:ietf:params:restconf:capability:yang-patch:1.0",
        "urn:ietf:params:restconf:capability:with-origin:1.0",
    ];
    if st.notifications.is_some() {
        caps.push("urn:ietf:params:restconf:capability:filter:1.0");
        caps.push("urn:ietf:params:restconf:capability:replay:1.0");
    }
    caps
}

/// The server's own state for an operational read at `xpath` (`None`: the
/// whole datastore): ietf-restconf-monitoring (capabilities and streams).
/// `None` when the read does not reach it.
pub fn local_state(
    st: &AppInner,
    headers: &HeaderMap,
    uri: &Uri,
    xpath: Option<&str>,
) -> Result<Option<Tree>, Error> {
    if !xpath.is_none_or(|x| x.starts_with("/ietf-restconf-monitoring:")) {
        return Ok(None);
    }
    let base = st.base_url(headers, uri);
    let mut out = DataTree::new(st.ctx);
    let top = "/ietf-restconf-monitoring:restconf-state";
    for cap in capabilities(st) {
        out.new_path(&format!("{top}/capabilities/capability"), Some(cap), false)
            .map_err(nectar_yang::Error::from)?;
    }
    if let Some(n) = &st.notifications {
        for stream in crate::streams::STREAMS {
            let s = format!("{top}/streams/stream[name='{}']", stream.name);
            let mut set = |leaf: &str, v: Option<&str>| {
                out.new_path(&format!("{s}/{leaf}"), v, false)
                    .map(|_| ())
                    .map_err(nectar_yang::Error::from)
            };
            set("description", Some(stream.description))?;
            set("replay-support", Some("true"))?;
            let created = humantime::format_rfc3339_seconds(n.created()).to_string();
            set("replay-log-creation-time", Some(&created))?;
            for enc in ["json", "xml"] {
                set(
                    &format!("access[encoding='{enc}']/location"),
                    Some(&format!("{base}/restconf/streams/{}/{enc}", stream.name)),
                )?;
            }
        }
    }
    let Some(x) = xpath else {
        return Ok(Some(out));
    };
    let mut sel = DataTree::new(st.ctx);
    for n in tree::select(&out, x)? {
        sel.merge(&ly::dup_with_parents(&n)?)
            .map_err(nectar_yang::Error::from)?;
    }
    Ok(Some(sel))
}

/// Gives every module and submodule of the yang library in `data` (the
/// core's) that has no `location` the URL where this server serves its
/// YANG text, `/yang/<name>@<revision>.yang` on the host the client used
/// (RFC 8525 `location`; `schema` in the deprecated modules-state).
pub fn add_schema_locations(
    st: &AppInner,
    headers: &HeaderMap,
    uri: &Uri,
    data: &mut Tree,
) -> Result<(), Error> {
    let base = st.base_url(headers, uri);
    let mut missing: Vec<(String, &'static str, String)> = Vec::new();
    for node in data.traverse() {
        let schema = node.schema();
        if schema.module().name() != "ietf-yang-library"
            || !matches!(schema.name(), "module" | "submodule" | "import-only-module")
        {
            continue;
        }
        let child = |n: &str| node.children().find(|c| c.schema().name() == n);
        let leaf = if node
            .data_path()
            .starts_with("/ietf-yang-library:modules-state")
        {
            "schema"
        } else {
            "location"
        };
        if child(leaf).is_some() {
            continue;
        }
        let Some(name) = child("name").and_then(|c| c.value_canonical()) else {
            continue;
        };
        let revision = child("revision")
            .and_then(|c| c.value_canonical())
            .filter(|r| !r.is_empty());
        let url = format!("{base}{}", schema_path(&name, revision.as_deref()));
        missing.push((node.data_path(), leaf, url));
    }
    for (path, leaf, url) in missing {
        data.new_path(&format!("{path}/{leaf}"), Some(&url), false)
            .map_err(nectar_yang::Error::from)?;
    }
    Ok(())
}
