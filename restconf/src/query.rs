//! RESTCONF query parameters (RFC 8040 §4.8, RFC 8527 §3.2.2): parsing,
//! value checks, and which methods and resources each one is allowed on.
//! An unknown parameter, a repeated one, a bad value or one used where it
//! does not apply is a 400 invalid-value naming it.

use nectar_yang::encoding::WithDefaults;
use percent_encoding::percent_decode_str;

use crate::error::Error;

/// `content` (RFC 8040 §4.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Content {
    Config,
    Nonconfig,
    #[default]
    All,
}

/// `insert` (RFC 8040 §4.8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    First,
    Last,
    Before,
    After,
}

impl Insert {
    pub fn parse(s: &str) -> Option<Insert> {
        Some(match s {
            "first" => Insert::First,
            "last" => Insert::Last,
            "before" => Insert::Before,
            "after" => Insert::After,
            _ => return None,
        })
    }

    pub fn needs_point(self) -> bool {
        matches!(self, Insert::Before | Insert::After)
    }
}

/// The query parameters of one request, checked.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub content: Option<Content>,
    /// `None` is unbounded.
    pub depth: Option<u32>,
    pub fields: Option<String>,
    pub with_defaults: Option<WithDefaults>,
    pub insert: Option<Insert>,
    /// The `point` value, percent-decoded once: an api-path.
    pub point: Option<String>,
    pub filter: Option<String>,
    pub start_time: Option<std::time::SystemTime>,
    pub stop_time: Option<std::time::SystemTime>,
    pub with_origin: bool,
}

/// Where a request goes, for deciding which parameters apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A data resource or datastore; `operational` for the NMDA
    /// operational datastore.
    Data { operational: bool },
    /// An operation (RPC or action) invocation.
    Operation,
    /// An event stream.
    Stream,
    /// Anything else (root, yang-library-version, operations list, schema).
    Other,
}

impl Query {
    /// Parses and checks the query string of a request with `method` on
    /// `resource`.
    pub fn parse(query: Option<&str>, method: &str, resource: Resource) -> Result<Query, Error> {
        let mut q = Query::default();
        let Some(query) = query.filter(|s| !s.is_empty()) else {
            return Ok(q);
        };
        let read = matches!(method, "GET" | "HEAD");
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&') {
            if pair.is_empty() {
                continue;
            }
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, "parameter name")?;
            let value = decode(raw, &name)?;
            if seen.contains(&name) {
                return Err(Error::invalid(format!(
                    "query parameter {name:?} is given more than once"
                )));
            }
            seen.push(name.clone());
            let misplaced = || {
                Error::invalid(format!(
                    "query parameter {name:?} is not allowed for {method} on this resource"
                ))
            };
            let data = matches!(resource, Resource::Data { .. });
            match name.as_str() {
                "content" => {
                    if !(read && data) {
                        return Err(misplaced());
                    }
                    q.content = Some(match value.as_str() {
                        "config" => Content::Config,
                        "nonconfig" => Content::Nonconfig,
                        "all" => Content::All,
                        _ => return Err(bad(&name, &value, "config, nonconfig or all")),
                    });
                }
                "depth" => {
                    if !(read && data) {
                        return Err(misplaced());
                    }
                    q.depth = match value.as_str() {
                        "unbounded" => None,
                        v => match v.parse::<u32>() {
                            Ok(d) if (1..=65535).contains(&d) => Some(d),
                            _ => return Err(bad(&name, &value, "1..65535 or unbounded")),
                        },
                    };
                }
                "fields" => {
                    if !(read && data) {
                        return Err(misplaced());
                    }
                    if value.is_empty() {
                        return Err(bad(&name, &value, "a fields expression"));
                    }
                    q.fields = Some(value);
                }
                "with-defaults" => {
                    if !(read && data) {
                        return Err(misplaced());
                    }
                    q.with_defaults = Some(WithDefaults::parse(&value).ok_or_else(|| {
                        bad(
                            &name,
                            &value,
                            "report-all, trim, explicit or report-all-tagged",
                        )
                    })?);
                }
                "insert" => {
                    if !(matches!(method, "POST" | "PUT") && data) {
                        return Err(misplaced());
                    }
                    q.insert = Some(
                        Insert::parse(&value)
                            .ok_or_else(|| bad(&name, &value, "first, last, before or after"))?,
                    );
                }
                "point" => {
                    if !(matches!(method, "POST" | "PUT") && data) {
                        return Err(misplaced());
                    }
                    if value.is_empty() {
                        return Err(bad(&name, &value, "the path of a list entry"));
                    }
                    q.point = Some(value);
                }
                "filter" => {
                    if !(read && resource == Resource::Stream) {
                        return Err(misplaced());
                    }
                    q.filter = Some(value);
                }
                "start-time" | "stop-time" => {
                    if !(read && resource == Resource::Stream) {
                        return Err(misplaced());
                    }
                    let t = humantime::parse_rfc3339_weak(&value)
                        .or_else(|_| humantime::parse_rfc3339(&value))
                        .map_err(|_| bad(&name, &value, "a date-and-time (RFC 3339)"))?;
                    if name == "start-time" {
                        q.start_time = Some(t);
                    } else {
                        q.stop_time = Some(t);
                    }
                }
                "with-origin" => {
                    if !(read && resource == Resource::Data { operational: true }) {
                        return Err(misplaced());
                    }
                    if !value.is_empty() {
                        return Err(bad(&name, &value, "no value"));
                    }
                    q.with_origin = true;
                }
                _ => {
                    return Err(Error::invalid(format!("unknown query parameter {name:?}")));
                }
            }
        }
        if q.point.is_some() && !q.insert.is_some_and(Insert::needs_point) {
            return Err(Error::invalid(
                "query parameter \"point\" needs insert=before or insert=after",
            ));
        }
        if q.insert.is_some_and(Insert::needs_point) && q.point.is_none() {
            return Err(Error::invalid(
                "insert=before and insert=after need the \"point\" query parameter",
            ));
        }
        if q.stop_time.is_some() && q.start_time.is_none() {
            return Err(Error::invalid(
                "query parameter \"stop-time\" needs \"start-time\"",
            ));
        }
        if let (Some(a), Some(b)) = (q.start_time, q.stop_time)
            && b < a
        {
            return Err(Error::invalid("stop-time is before start-time"));
        }
        if q.start_time
            .is_some_and(|t| t > std::time::SystemTime::now())
        {
            return Err(Error::invalid("start-time is in the future"));
        }
        Ok(q)
    }
}

fn decode(s: &str, what: &str) -> Result<String, Error> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::invalid(format!("{what}: the percent-decoded value is not UTF-8")))
}

fn bad(name: &str, value: &str, expected: &str) -> Error {
    Error::invalid(format!(
        "invalid value {value:?} of query parameter {name:?} (expected {expected})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: Resource = Resource::Data { operational: false };

    #[test]
    fn parses_and_checks_placement() {
        let q = Query::parse(
            Some("content=config&depth=2&with-defaults=report-all-tagged&fields=a(b;c)"),
            "GET",
            DATA,
        )
        .unwrap();
        assert_eq!(q.content, Some(Content::Config));
        assert_eq!(q.depth, Some(2));
        assert_eq!(q.fields.as_deref(), Some("a(b;c)"));
        assert_eq!(q.with_defaults, Some(WithDefaults::ReportAllTagged));
        for (qs, m) in [
            ("insert=first", "GET"),
            ("depth=1", "PUT"),
            ("with-origin", "GET"),
            ("filter=x", "GET"),
            ("depth=0", "GET"),
            ("depth=2&depth=3", "GET"),
            ("bogus=1", "GET"),
            ("insert=after", "POST"),
            ("insert=first&point=/a:b", "POST"),
        ] {
            let e = Query::parse(Some(qs), m, DATA).unwrap_err();
            assert_eq!(e.status, 400, "{qs}");
        }
        let q = Query::parse(Some("insert=after&point=%2Fm%3Al%3Dx"), "POST", DATA).unwrap();
        assert_eq!(q.point.as_deref(), Some("/m:l=x"));
        assert!(
            Query::parse(
                Some("with-origin"),
                "GET",
                Resource::Data { operational: true }
            )
            .unwrap()
            .with_origin
        );
    }
}
