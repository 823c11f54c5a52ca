//! The resource a data request is about, as the data, operations and YANG Patch handlers
//! share it: the datastore and target node of a URI, where an insert goes (RFC 8040
//! §4.8.5-6), the request body's encoding, and the entity validators (ETag,
//! Last-Modified) of a target.

use std::time::SystemTime;

use axum::http::StatusCode;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::{Datastore, EditStep, View};
use nectar_yang::encoding::Format;
use nectar_yang::path::{DataPath, NodeKind};

use crate::conditional::Validators;
use crate::error::Error;
use crate::media::{self, BodyKind};
use crate::ordered::{self, Entry};
use crate::query::Insert;
use crate::tree;
use crate::{AppInner, Req};

/// The datastore part of a request URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsSel {
    /// `{+restconf}/data`.
    Unified,
    /// `{+restconf}/ds/ietf-datastores:<name>`.
    Nmda(Datastore),
}

impl DsSel {
    /// The datastore written by edits.
    pub(crate) fn write_ds(self) -> Result<Datastore, Error> {
        match self {
            DsSel::Unified => Ok(Datastore::Running),
            DsSel::Nmda(Datastore::Operational) => {
                Err(Error::method_not_allowed("GET, HEAD, OPTIONS"))
            }
            DsSel::Nmda(d) => Ok(d),
        }
    }
}

/// A resolved request target.
#[derive(Debug, Clone)]
pub struct Target {
    pub ds: DsSel,
    pub path: DataPath,
    /// `/restconf/data` or `/restconf/ds/ietf-datastores:<name>`.
    pub prefix: String,
}

impl Target {
    pub fn xpath(&self) -> Option<String> {
        (!self.path.is_root()).then(|| self.path.to_xpath())
    }

    pub(crate) fn kind(&self) -> Option<NodeKind> {
        self.path.last().map(|n| n.kind)
    }

    /// Writes need one instance: keys on every list, a value on a
    /// leaf-list entry.
    pub(crate) fn check_single(&self) -> Result<(), Error> {
        if let Some(last) = self.path.last()
            && (last.is_unkeyed_collection() || !self.path.is_single_instance())
        {
            return Err(Error::invalid(format!(
                "{} {} must be identified by its {} to be written",
                match last.kind {
                    NodeKind::LeafList => "a leaf-list entry",
                    _ => "a list entry",
                },
                last.name,
                match last.kind {
                    NodeKind::LeafList => "value",
                    _ => "keys",
                },
            )));
        }
        Ok(())
    }
}

/// Parses the data path of a request (`sub` is the URI path after the
/// datastore prefix, still percent-encoded).
pub fn target(st: &AppInner, ds: DsSel, prefix: &str, sub: &str) -> Result<Target, Error> {
    let path = if sub.is_empty() || sub == "/" {
        DataPath::root()
    } else {
        st.parse_path(sub)
            .map_err(|e| Error::invalid(e.to_string()))?
    };
    if path.to_xpath().contains('\0') {
        return Err(Error::invalid("a key value must not contain NUL"));
    }
    Ok(Target {
        ds,
        path,
        prefix: prefix.to_string(),
    })
}

// ===== validators =====

/// The validators of the resource at `xpath` (`None`: the datastore) in
/// the configuration datastore `ds`, as the session's user sees it. See
/// `conditional` for the rule.
pub fn validators(
    view: &View<'_>,
    ds: Datastore,
    xpath: Option<&str>,
    started: SystemTime,
) -> Result<Validators, Error> {
    let last_modified = match ds {
        Datastore::Running | Datastore::Operational => Some(
            view.last_commit_time()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .unwrap_or(started),
        ),
        _ => None,
    };
    let ds = if ds == Datastore::Operational {
        Datastore::Running
    } else {
        ds
    };
    match xpath {
        None => {
            let etag = match ds {
                Datastore::Running => format!("\"running-{}\"", view.commit_id()),
                _ => tree::content_etag(&view.get(ds, None)?)?,
            };
            Ok(Validators {
                exists: true,
                etag: Some(etag),
                last_modified,
            })
        }
        Some(x) => {
            let t = view.get(ds, Some(x))?;
            Ok(validators_of(&t, x, last_modified)?)
        }
    }
}

pub(crate) fn validators_of(
    t: &Tree,
    xpath: &str,
    last_modified: Option<SystemTime>,
) -> Result<Validators, Error> {
    let etag = tree::resource_etag(t, xpath)?;
    Ok(Validators {
        exists: etag.is_some(),
        last_modified: if etag.is_some() { last_modified } else { None },
        etag,
    })
}

// ===== bodies =====

/// The format of a yang-data request body (415 for anything else).
pub fn body_format(rq: &Req) -> Result<Format, Error> {
    match media::content_type(&rq.headers)? {
        Some(BodyKind::Data(f)) => Ok(f),
        Some(BodyKind::Patch(_)) => Err(Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            nectar_mgmt::MgmtError::protocol(
                nectar_mgmt::ErrorTag::InvalidValue,
                "a YANG Patch body is only accepted by PATCH",
            ),
        )),
        None => Err(Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            nectar_mgmt::MgmtError::protocol(
                nectar_mgmt::ErrorTag::InvalidValue,
                "the request body needs a Content-Type (application/yang-data+json or \
                 application/yang-data+xml)",
            ),
        )),
    }
}

/// An `insert`/`point` request, resolved against the schema.
#[derive(Debug, Clone)]
pub struct Placement {
    insert: Insert,
    /// XPath of the point entry.
    point: Option<String>,
    /// XPath selecting every entry of the list under its parent.
    list_xpath: String,
    /// XPath of the list's parent (`None`: top level).
    parent_xpath: Option<String>,
}

impl Placement {
    /// The steps placing `entry` in the datastore `ds` as it is now.
    pub fn steps(
        &self,
        view: &View<'_>,
        ds: Datastore,
        entry: Entry,
        plain: impl FnOnce(Entry) -> EditStep,
    ) -> Result<Vec<EditStep>, Error> {
        let state = view.get_all(ds, self.parent_xpath.as_deref())?;
        self.steps_on(&state, entry, plain)
    }

    /// The same against a given state of the datastore.
    pub fn steps_on(
        &self,
        state: &Tree,
        entry: Entry,
        plain: impl FnOnce(Entry) -> EditStep,
    ) -> Result<Vec<EditStep>, Error> {
        ordered::steps(
            state,
            &self.list_xpath,
            entry,
            self.insert,
            self.point.as_deref(),
            plain,
        )
    }

    /// Resolves `insert`/`point` for an entry at `entry_path` (a list entry
    /// or leaf-list entry path). `point` is an api-path (RFC 8040 §4.8.6).
    pub fn resolve(
        st: &AppInner,
        entry_path: &DataPath,
        insert: Insert,
        point: Option<&str>,
    ) -> Result<Placement, Error> {
        let last = entry_path
            .last()
            .ok_or_else(|| Error::invalid("insert needs a list entry"))?;
        let info = nectar_yang::path::schema_info(st.ctx, entry_path)?;
        if !matches!(last.kind, NodeKind::List | NodeKind::LeafList) || !info.user_ordered {
            return Err(Error::invalid(format!(
                "insert applies to ordered-by-user lists and leaf-lists; {} is not one",
                last.name
            )));
        }
        let parent = entry_path.parent();
        let parent_xpath = (!parent.is_root()).then(|| parent.to_xpath());
        let list_xpath = format!(
            "{}/{}:{}",
            parent_xpath.as_deref().unwrap_or(""),
            last.module,
            last.name
        );
        let point = match point {
            None => None,
            Some(p) => {
                let pp = DataPath::parse_uri(st.ctx, p)
                    .map_err(|e| Error::invalid(format!("point: {e}")))?;
                let same_list = pp.parent() == parent
                    && pp
                        .last()
                        .is_some_and(|n| n.module == last.module && n.name == last.name)
                    && pp.is_single_instance()
                    && pp.last().is_some_and(|n| !n.is_unkeyed_collection());
                if !same_list {
                    return Err(Error::invalid(format!(
                        "point {p} is not an entry of the list {}",
                        last.name
                    )));
                }
                Some(pp.to_xpath())
            }
        };
        Ok(Placement {
            insert,
            point,
            list_xpath,
            parent_xpath,
        })
    }
}
