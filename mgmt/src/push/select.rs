//! Which part of the schema a selection covers, whether a change falls in
//! it, what to read again after changes, and when periodic reports are due:
//! shared by the subscription engines of every door (YANG-Push here, gNMI
//! Subscribe in the gnmi crate), so they react to the same changes in the
//! same way. A [`Watch`] is one selection's view of the event bus;
//! [`recv_batch`] takes the events that arrived together.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::broadcast;

use crate::ly;
use crate::provider::Change;
use crate::types::{Datastore, Event};

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

    /// Notes what an event changed.
    pub fn mark(&mut self, c: Concern) {
        match c {
            Concern::No => {}
            Concern::All => self.set_full(),
            Concern::Path(p) => self.add_path(p),
        }
    }
}

/// How an event concerns a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    No,
    /// The node at this data path changed.
    Path(String),
    All,
}

/// What an event of the bus says to the watches, worked out once however
/// many watches look at it (an operational event's path is parsed here).
#[derive(Debug)]
pub enum Seen<'e> {
    Config {
        datastore: Datastore,
        changes: &'e [Change],
    },
    /// The node at this data path (normalized by [`event_path`]) changed.
    Oper { path: String, schema: String },
    /// Events were lost (the receiver fell behind the bus).
    Lost,
    /// Nothing a selection shows.
    Other,
}

/// The [`Seen`] of a received event (`None`: events were lost).
pub fn seen<'e>(ctx: &yang2::context::Context, ev: Option<&'e Event>) -> Seen<'e> {
    match ev {
        None => Seen::Lost,
        Some(Event::ConfigChanged {
            datastore, changes, ..
        }) => Seen::Config {
            datastore: *datastore,
            changes,
        },
        Some(Event::OperChanged { path, .. }) => {
            let (path, schema) = event_path(ctx, path);
            Seen::Oper { path, schema }
        }
        Some(_) => Seen::Other,
    }
}

/// Whether an event may change what a selection of datastore `ds` (its
/// [`prefixes`]) shows to its subscriber.
pub fn concerns(seen: &Seen<'_>, ds: Datastore, prefixes: &[String]) -> Concern {
    match seen {
        Seen::Lost => Concern::All,
        Seen::Config { datastore, changes } => {
            // Operational shows running's configuration; NACM's rules, in
            // running, decide what every datastore shows the user.
            let source = match ds {
                Datastore::Operational => Datastore::Running,
                other => other,
            };
            let nacm = *datastore == Datastore::Running
                && changes
                    .iter()
                    .any(|c| c.schema_path.starts_with("/ietf-netconf-acm:"));
            // Candidate and startup changes may come without their list
            // (anything may have changed); the candidate also follows
            // running, which it is made from.
            let from = *datastore == source
                || (ds == Datastore::Candidate && *datastore == Datastore::Running);
            if nacm || (from && (changes.is_empty() || changes_concern(changes, prefixes))) {
                Concern::All
            } else {
                Concern::No
            }
        }
        Seen::Oper { path, schema } if ds == Datastore::Operational => {
            if prefixes.iter().any(|p| overlaps(schema, p)) {
                Concern::Path(path.clone())
            } else {
                Concern::No
            }
        }
        _ => Concern::No,
    }
}

/// One selection's watch over the event bus: what of it must be read again.
#[derive(Debug, Clone)]
pub struct Watch {
    ds: Datastore,
    prefixes: Vec<String>,
    dirty: Dirty,
}

impl Watch {
    /// A selection of `ds` covering `prefixes` (see [`prefixes`]).
    pub fn new(ds: Datastore, prefixes: Vec<String>) -> Self {
        Watch {
            ds,
            prefixes,
            dirty: Dirty::Clean,
        }
    }

    /// The selection changed (a modified filter).
    pub fn set_prefixes(&mut self, prefixes: Vec<String>) {
        self.prefixes = prefixes;
    }

    /// Notes an event (see [`seen`]).
    pub fn note(&mut self, seen: &Seen<'_>) {
        self.dirty.mark(concerns(seen, self.ds, &self.prefixes));
    }

    /// Anything may have changed (state without events, polled).
    pub fn set_full(&mut self) {
        self.dirty.set_full();
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty != Dirty::Clean
    }

    /// What to read again, leaving the watch clean.
    pub fn take(&mut self) -> Dirty {
        std::mem::take(&mut self.dirty)
    }
}

/// Waits for the next event of the bus and takes every event already
/// waiting with it, so a burst costs one read: `None` in the batch stands
/// for events lost (the receiver fell behind the bus). `None` when the bus
/// is closed.
pub async fn recv_batch(events: &mut broadcast::Receiver<Event>) -> Option<Vec<Option<Event>>> {
    let first = match events.recv().await {
        Ok(ev) => Some(ev),
        Err(broadcast::error::RecvError::Lagged(_)) => None,
        Err(broadcast::error::RecvError::Closed) => return None,
    };
    let mut batch = vec![first];
    loop {
        match events.try_recv() {
            Ok(ev) => batch.push(Some(ev)),
            Err(broadcast::error::TryRecvError::Lagged(_)) => batch.push(None),
            Err(_) => return Some(batch),
        }
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

    #[test]
    fn events_concern_the_datastore_they_change() {
        use crate::provider::ChangeOp;
        use std::sync::Arc;
        let ctx = nectar_yang::ModelSet::management().build().unwrap();
        let change = |ds: Datastore, path: &str| Event::ConfigChanged {
            datastore: ds,
            commit_id: None,
            user: "u".into(),
            session: None,
            changes: Arc::new(vec![Change {
                op: ChangeOp::Create,
                path: path.into(),
                schema_path: path.into(),
                old: None,
                new: Some("x".into()),
            }]),
        };
        let mine = vec!["/ietf-yang-library:modules-state".to_string()];
        let under = "/ietf-yang-library:modules-state/module";
        let other = "/ietf-netconf-monitoring:netconf-state";
        let nacm = "/ietf-netconf-acm:nacm/enable-nacm";
        use Datastore::*;
        let c = |ev: &Event, ds| concerns(&seen(ctx, Some(ev)), ds, &mine);
        // Operational follows running's configuration, not candidate's.
        assert_eq!(c(&change(Running, under), Operational), Concern::All);
        assert_eq!(c(&change(Running, other), Operational), Concern::No);
        assert_eq!(c(&change(Candidate, under), Operational), Concern::No);
        // The candidate follows its own edits and running's commits.
        assert_eq!(c(&change(Candidate, under), Candidate), Concern::All);
        assert_eq!(c(&change(Running, under), Candidate), Concern::All);
        assert_eq!(c(&change(Startup, under), Candidate), Concern::No);
        // NACM in running decides what every datastore shows.
        for ds in [Running, Candidate, Startup, Operational] {
            assert_eq!(c(&change(Running, nacm), ds), Concern::All);
        }
        assert_eq!(c(&change(Candidate, nacm), Operational), Concern::No);
        // An operational event names its node, for operational only.
        let oper = Event::OperChanged {
            path: format!("{under}[name='m'][revision='']"),
            value: None,
            time: SystemTime::now(),
        };
        assert!(matches!(c(&oper, Operational), Concern::Path(_)));
        assert_eq!(c(&oper, Running), Concern::No);
        // A watch coalesces, and a lost batch reads everything again.
        let mut w = Watch::new(Operational, mine.clone());
        w.note(&seen(ctx, Some(&change(Running, other))));
        assert!(!w.is_dirty());
        w.note(&seen(ctx, Some(&oper)));
        w.note(&seen(ctx, Some(&oper)));
        assert!(matches!(w.take(), Dirty::Paths(p) if p.len() == 1));
        w.note(&seen(ctx, None));
        assert_eq!(w.take(), Dirty::Full);
        assert!(!w.is_dirty());
    }
}
