//! Which part of the schema a selection covers, and whether a change falls
//! in it: shared by the subscription engines of every door (YANG-Push here,
//! gNMI Subscribe in the gnmi crate), so they react to the same changes.

use std::time::{Duration, Instant, SystemTime};

use crate::ly;
use crate::provider::Change;

/// The XPath to read a selection with from the operational datastore: the
/// core fills state only for the providers a path can reach, which it
/// decides by the path's schema prefix, so a path that starts with a
/// wildcard reads everything (and is selected locally).
pub fn fetch_xpath(xpath: &str) -> Option<String> {
    if xpath.starts_with("/*") || xpath.starts_with("//") || xpath == "/" {
        None
    } else {
        Some(xpath.to_string())
    }
}

/// The schema path prefix an XPath is confined to: the steps before the
/// first wildcard, without predicates (empty: anywhere). Changes outside it
/// cannot concern the XPath.
pub fn schema_prefix(xpath: &str) -> String {
    let cut = [xpath.find("/*"), xpath.find("//")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(xpath.len());
    let head = &xpath[..cut];
    if head.is_empty() || !head.starts_with('/') {
        return String::new();
    }
    // In the form of the core's change paths: a step names its module only
    // where it differs from its parent's (`/a:x/a:y` is `/a:x/y`).
    let mut out = String::with_capacity(head.len());
    let mut module = "";
    for step in ly::steps(head) {
        let name = step.split_once('[').map_or(step, |(n, _)| n);
        out.push('/');
        match name.split_once(':') {
            Some((m, local)) if m == module => out.push_str(local),
            Some((m, _)) => {
                module = m;
                out.push_str(name);
            }
            None => out.push_str(name),
        }
    }
    out
}

/// The schema prefixes of each branch of a selection (`[""]`: everything).
pub fn prefixes(xpath: Option<&str>) -> Vec<String> {
    match xpath {
        None => vec![String::new()],
        Some(x) => ly::union_branches(x)
            .into_iter()
            .map(schema_prefix)
            .collect(),
    }
}

/// True when one schema path is an ancestor-or-self of the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    let under =
        |p: &str, q: &str| p == q || (p.starts_with(q) && p.as_bytes().get(q.len()) == Some(&b'/'));
    a.is_empty() || b.is_empty() || under(a, b) || under(b, a)
}

/// Whether a commit's changes may change what a selection (its
/// [`prefixes`]) shows to a user: a change under it, or a change of NACM's
/// rules (which decide what the user may read).
pub fn changes_concern(changes: &[Change], prefixes: &[String]) -> bool {
    changes.iter().any(|c| {
        c.schema_path.starts_with("/ietf-netconf-acm:")
            || prefixes.iter().any(|p| overlaps(&c.schema_path, p))
    })
}

/// What of a subscription's selection must be read again after change
/// events: several events that arrive together cost one read, of the nodes
/// they name while they are few.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Dirty {
    #[default]
    Clean,
    /// Only these data paths (nodes named by operational events,
    /// normalized by [`event_path`]).
    Paths(Vec<String>),
    Full,
}

/// More changed paths than this before a read: the selection is read whole.
pub const MAX_DIRTY_PATHS: usize = 64;

impl Dirty {
    /// The node at `path` changed.
    pub fn add_path(&mut self, path: String) {
        match self {
            Dirty::Full => {}
            Dirty::Paths(ps) if ps.len() >= MAX_DIRTY_PATHS => *self = Dirty::Full,
            Dirty::Paths(ps) => {
                if !ps.contains(&path) {
                    ps.push(path);
                }
            }
            Dirty::Clean => *self = Dirty::Paths(vec![path]),
        }
    }

    /// Anything may have changed.
    pub fn set_full(&mut self) {
        *self = Dirty::Full;
    }
}

/// When a periodic report (a YANG-Push period, a gNMI sample) is next due:
/// with an anchor, at the first anchor + k·period after `now` (RFC 8641
/// §3.1); without, one period after the `previous` one (the first: after
/// `now`), never in the past: a slow read skips reports instead of bunching
/// them.
pub fn next_tick(
    period: Duration,
    anchor: Option<SystemTime>,
    previous: Option<Instant>,
    now: Instant,
) -> Instant {
    let Some(anchor) = anchor else {
        return match previous {
            None => now + period,
            Some(p) => (p + period).max(now),
        };
    };
    let p = period.as_nanos().max(1);
    let wait = match SystemTime::now().duration_since(anchor) {
        Ok(since) => p - since.as_nanos() % p,
        Err(before) => before.duration().as_nanos() % p,
    };
    let wait = if wait == 0 { p } else { wait };
    now + Duration::from_nanos(wait.min(u128::from(u64::MAX)) as u64)
}

/// The data path an operational event names, normalized (libyang's form,
/// so that one node is one dirty path), and its schema path.
pub fn event_path(ctx: &yang2::context::Context, path: &str) -> (String, String) {
    let norm = nectar_yang::path::DataPath::parse_xpath(ctx, path)
        .map(|p| p.to_xpath())
        .unwrap_or_else(|_| path.to_string());
    let schema = ly::schema_path_of(&norm);
    (norm, schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_in_the_form_of_change_paths() {
        assert_eq!(schema_prefix("/a:x/y[k='1']/z"), "/a:x/y/z");
        assert_eq!(schema_prefix("/a:x/a:y[a:k='1']/b:z"), "/a:x/y/b:z");
        assert_eq!(schema_prefix("/a:x/*/z"), "/a:x");
        assert_eq!(schema_prefix("/a:x//a:z"), "/a:x");
        assert_eq!(schema_prefix("/*"), "");
        assert_eq!(prefixes(Some("/a:x | /b:y/b:z")), vec!["/a:x", "/b:y/z"]);
        assert!(overlaps("/a:x/y", "/a:x"));
        assert!(overlaps("/a:x", "/a:x/y/z"));
        assert!(!overlaps("/a:x", "/a:xy"));
        assert!(overlaps("", "/b:q"));
    }

    #[test]
    fn ticks_follow_the_period_or_the_anchor() {
        let now = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(next_tick(s, None, None, now), now + s);
        assert_eq!(next_tick(s, None, Some(now), now), now + s);
        // A late read: the next report is now, not in the past.
        let old = now - Duration::from_secs(5);
        assert_eq!(next_tick(s, None, Some(old), now), now);
        // Anchored half a second off the second: the wait ends on the grid.
        let anchor = SystemTime::now() - Duration::from_millis(100_500);
        let t = next_tick(s, Some(anchor), None, now);
        let wait = t - now;
        assert!(wait <= s, "{wait:?}");
        let on_grid = (SystemTime::now() + wait)
            .duration_since(anchor)
            .unwrap()
            .as_millis()
            % 1000;
        assert!(!(20..980).contains(&on_grid), "{on_grid} ms off the grid");
    }

    #[test]
    fn dirty_paths_coalesce_and_turn_full() {
        let mut d = Dirty::Clean;
        d.add_path("/a:x[k='1']".into());
        d.add_path("/a:x[k='1']".into());
        assert_eq!(d, Dirty::Paths(vec!["/a:x[k='1']".into()]));
        for i in 0..=MAX_DIRTY_PATHS {
            d.add_path(format!("/a:x[k='{i}']"));
        }
        assert_eq!(d, Dirty::Full);
        d.add_path("/a:y".into());
        assert_eq!(d, Dirty::Full);
    }
}
