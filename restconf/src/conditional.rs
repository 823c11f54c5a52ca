//! Entity-tags, Last-Modified and conditional requests (RFC 8040 §3.4.1,
//! §3.5.2; RFC 7232 §6 evaluation order).
//!
//! The rule nectar applies:
//! - The datastore resource of running (and `/restconf/data`, and the
//!   operational datastore, whose configuration is running's) has the
//!   entity-tag `"running-N"` where N is the id of running's last commit,
//!   and `Last-Modified` the time of that commit (the daemon's start when
//!   no commit is in the history). Candidate and startup have a content
//!   entity-tag (below) and no `Last-Modified`.
//! - A data resource has a strong entity-tag over its configuration
//!   content: a SHA-256 of the compact RFC 7951 JSON of the subtree (as the
//!   user may read it, with its ancestors' keys) in the configuration
//!   datastore behind the request (running for `/restconf/data`). It is
//!   the same in both encodings and changes exactly when the resource or a
//!   configuration descendant changes. Its `Last-Modified` is its
//!   datastore's (an upper bound: the resource did not change after it).
//! - Write preconditions are checked in the same actor call as the write,
//!   so nothing can change in between. Responses carrying state data are
//!   never answered with 304 (state has no validator).

use std::time::SystemTime;

use axum::http::{HeaderMap, header};

use crate::error::Error;

/// The validators of a resource as it is now.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub exists: bool,
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
}

/// The conditional headers of a request.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    if_match: Option<Vec<String>>,
    if_none_match: Option<Vec<String>>,
    if_modified_since: Option<SystemTime>,
    if_unmodified_since: Option<SystemTime>,
}

/// What a read precondition decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    Proceed,
    NotModified,
}

fn tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

fn date(headers: &HeaderMap, name: header::HeaderName) -> Option<SystemTime> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
}

fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Truncates to whole seconds (HTTP dates have no fraction).
fn seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Conditions {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Conditions {
            if_match: tags(headers, header::IF_MATCH),
            if_none_match: tags(headers, header::IF_NONE_MATCH),
            if_modified_since: date(headers, header::IF_MODIFIED_SINCE),
            if_unmodified_since: date(headers, header::IF_UNMODIFIED_SINCE),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Preconditions of a write (PUT, POST, PATCH, DELETE): 412 when one
    /// fails.
    pub fn check_write(&self, v: &Validators) -> Result<(), Error> {
        self.check_common(v)?;
        if let Some(list) = &self.if_none_match
            && none_match_fails(list, v)
        {
            return Err(Error::precondition_failed(
                "If-None-Match: the resource matches",
            ));
        }
        Ok(())
    }

    /// Preconditions of a read (GET, HEAD): 412 for If-Match and
    /// If-Unmodified-Since, 304 for If-None-Match and If-Modified-Since.
    /// `cacheable` is false when the response carries state data.
    pub fn check_read(&self, v: &Validators, cacheable: bool) -> Result<ReadOutcome, Error> {
        self.check_common(v)?;
        if let Some(list) = &self.if_none_match {
            if cacheable && none_match_fails(list, v) {
                return Ok(ReadOutcome::NotModified);
            }
        } else if let (Some(since), Some(lm)) = (self.if_modified_since, v.last_modified)
            && cacheable
            && seconds(lm) <= seconds(since)
        {
            return Ok(ReadOutcome::NotModified);
        }
        Ok(ReadOutcome::Proceed)
    }

    fn check_common(&self, v: &Validators) -> Result<(), Error> {
        if let Some(list) = &self.if_match {
            let ok = if list.iter().any(|t| t == "*") {
                v.exists
            } else {
                // Strong comparison: weak tags never match.
                v.etag
                    .as_deref()
                    .is_some_and(|cur| list.iter().any(|t| !t.starts_with("W/") && t == cur))
            };
            if !ok {
                return Err(Error::precondition_failed(
                    "If-Match: the resource does not match",
                ));
            }
        } else if let (Some(since), Some(lm)) = (self.if_unmodified_since, v.last_modified)
            && seconds(lm) > seconds(since)
        {
            return Err(Error::precondition_failed(
                "If-Unmodified-Since: the resource was modified since",
            ));
        }
        Ok(())
    }
}

/// True when an If-None-Match list matches the resource (weak comparison),
/// i.e. the condition is false.
fn none_match_fails(list: &[String], v: &Validators) -> bool {
    if list.iter().any(|t| t == "*") {
        return v.exists;
    }
    v.etag
        .as_deref()
        .is_some_and(|cur| list.iter().any(|t| opaque(t) == opaque(cur)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cond(name: header::HeaderName, v: &str) -> Conditions {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(v).unwrap());
        Conditions::from_headers(&h)
    }

    #[test]
    fn rfc7232_evaluation() {
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let v = Validators {
            exists: true,
            etag: Some("\"abc\"".into()),
            last_modified: Some(t0),
        };
        assert!(cond(header::IF_MATCH, "\"abc\"").check_write(&v).is_ok());
        assert_eq!(
            cond(header::IF_MATCH, "\"x\", W/\"abc\"")
                .check_write(&v)
                .unwrap_err()
                .status,
            412
        );
        assert!(cond(header::IF_NONE_MATCH, "*").check_write(&v).is_err());
        assert_eq!(
            cond(header::IF_NONE_MATCH, "W/\"abc\"")
                .check_read(&v, true)
                .unwrap(),
            ReadOutcome::NotModified
        );
        assert_eq!(
            cond(header::IF_NONE_MATCH, "\"abc\"")
                .check_read(&v, false)
                .unwrap(),
            ReadOutcome::Proceed
        );
        let before = httpdate::fmt_http_date(t0 - std::time::Duration::from_secs(5));
        let after = httpdate::fmt_http_date(t0);
        assert!(
            cond(header::IF_UNMODIFIED_SINCE, &before)
                .check_write(&v)
                .is_err()
        );
        assert!(
            cond(header::IF_UNMODIFIED_SINCE, &after)
                .check_write(&v)
                .is_ok()
        );
        assert_eq!(
            cond(header::IF_MODIFIED_SINCE, &after)
                .check_read(&v, true)
                .unwrap(),
            ReadOutcome::NotModified
        );
    }
}
