//! The work of one Subscribe RPC: reading the subscribed data through the
//! management core, deciding per leaf what is due (SAMPLE ticks,
//! suppress_redundant, ON_CHANGE differences, heartbeats, deletes), and
//! queueing it in the outbox.
//!
//! Sources of change: configuration commits (`ConfigChanged` on the
//! management bus: the subscription is re-read), operational events
//! (`OperChanged`, e.g. oper-status and link state: the changed node alone
//! is re-read), and for state without events a periodic re-read at the
//! state poll interval. Every read goes through the core as the
//! subscription's session, so NACM applies. Values are compared with what
//! was last sent, so an update goes out only when due; several events that
//! arrive together cost one read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use nectar_mgmt::ly::Tree;
// Which part of a subscription to re-read after events: the same watch
// and coalescing as YANG-Push's.
use nectar_mgmt::push::select::{self, Dirty, Watch};
use nectar_mgmt::{Datastore, Event, SessionId};
use tokio::sync::broadcast;
use tokio::time::sleep_until;
use tonic::Streaming;

use super::{ListSpec, Mode, Outbox, SubSpec};
use crate::context::{CallContext, now_ns};
use crate::data::{self, Content, Leaf};
use crate::error::{Error, Result};
use crate::path::{Located, PathCache};
use crate::proto::gnmi as pb;
use crate::proto::gnmi::subscription_list::Mode as ListMode;
use crate::value::LeafValue;

/// What a subscription last reported for one leaf.
#[derive(Debug)]
struct Cached {
    loc: Arc<Located>,
    value: LeafValue,
    /// Reported by sampling (else on change).
    sample: bool,
}

/// Why data is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// The first read of a STREAM subscription.
    Initial,
    /// A POLL trigger or the ONCE read: everything is sent.
    Snapshot,
    /// A sample tick (or the periodic re-read of an ON_CHANGE subscription).
    Tick,
    /// A change event.
    Event,
}

#[derive(Debug)]
struct Sub {
    spec: SubSpec,
    fetch: Option<String>,
    cache: HashMap<Arc<str>, Cached>,
    next_tick: Option<Instant>,
    next_heartbeat: Option<Instant>,
    /// What events changed of the selection (of the operational datastore).
    watch: Watch,
}

impl Sub {
    fn reacts_to_events(&self) -> bool {
        matches!(self.spec.mode, Mode::OnChange | Mode::TargetDefined)
    }

    fn is_sampled(&self, leaf: &Leaf) -> bool {
        match self.spec.mode {
            Mode::Sample => true,
            Mode::OnChange => false,
            Mode::TargetDefined => leaf.counter,
        }
    }
}

pub struct Engine {
    shared: Arc<CallContext>,
    sid: SessionId,
    list: ListSpec,
    subs: Vec<Sub>,
    outbox: Arc<Outbox>,
    paths: PathCache,
    counters: HashMap<usize, bool>,
    /// Subscriptions holding state leaves (ON_CHANGE re-read periodically).
    has_state: Vec<bool>,
}

impl Engine {
    pub fn new(
        shared: Arc<CallContext>,
        sid: SessionId,
        list: ListSpec,
        outbox: Arc<Outbox>,
    ) -> Self {
        let subs = list
            .subs
            .iter()
            .map(|s| Sub {
                fetch: data::fetch_xpath(&s.xpath),
                watch: Watch::new(Datastore::Operational, vec![data::schema_prefix(&s.xpath)]),
                spec: s.clone(),
                cache: HashMap::new(),
                next_tick: None,
                next_heartbeat: None,
            })
            .collect::<Vec<_>>();
        let n = subs.len();
        Engine {
            shared,
            sid,
            list,
            subs,
            outbox,
            paths: PathCache::new(),
            counters: HashMap::new(),
            has_state: vec![false; n],
        }
    }

    /// Runs until the subscription ends; the caller's task is aborted when
    /// the collector goes away.
    pub async fn run(
        mut self,
        mut requests: Streaming<pb::SubscribeRequest>,
        mut events: broadcast::Receiver<Event>,
    ) {
        if let Err(e) = self.serve(&mut requests, &mut events).await {
            self.outbox.finish(Err(e.into()));
        }
    }

    async fn serve(
        &mut self,
        requests: &mut Streaming<pb::SubscribeRequest>,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<()> {
        match self.list.mode {
            ListMode::Once => {
                self.snapshot().await?;
                self.outbox.finish(Ok(()));
                Ok(())
            }
            ListMode::Poll => {
                self.snapshot().await?;
                loop {
                    match requests.message().await {
                        Ok(Some(r)) => match r.request {
                            Some(pb::subscribe_request::Request::Poll(_)) => {
                                self.snapshot().await?;
                            }
                            _ => {
                                return Err(Error::invalid(
                                    "a POLL subscription takes only poll requests after its SubscriptionList",
                                ));
                            }
                        },
                        // The client closed its side: nothing more can be asked.
                        Ok(None) => {
                            self.outbox.finish(Ok(()));
                            return Ok(());
                        }
                        Err(s) => return Err(Error::from_request(&s)),
                    }
                }
            }
            ListMode::Stream => self.stream(requests, events).await,
        }
    }

    /// ONCE and POLL: every subscription read and sent whole, then sync.
    async fn snapshot(&mut self) -> Result<()> {
        if !self.list.updates_only {
            let scopes: Vec<(usize, Option<String>)> =
                (0..self.subs.len()).map(|i| (i, None)).collect();
            self.refresh(&scopes, Reason::Snapshot).await?;
        }
        self.outbox.sync();
        Ok(())
    }

    async fn stream(
        &mut self,
        requests: &mut Streaming<pb::SubscribeRequest>,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<()> {
        let all: Vec<(usize, Option<String>)> = (0..self.subs.len()).map(|i| (i, None)).collect();
        self.refresh(&all, Reason::Initial).await?;
        self.outbox.sync();
        let now = Instant::now();
        for (i, s) in self.subs.iter_mut().enumerate() {
            s.next_heartbeat = s.spec.heartbeat.map(|h| now + h);
            // ON_CHANGE re-reads periodically only state, which can change
            // without an event; configuration always comes with one.
            let ticks = s.spec.mode != Mode::OnChange || self.has_state[i];
            s.next_tick = ticks.then(|| now + s.spec.interval);
        }
        let mut requests_open = true;
        let mut events_open = true;
        loop {
            if self.outbox.ended() {
                return Ok(());
            }
            let deadline = self
                .subs
                .iter()
                .flat_map(|s| [s.next_tick, s.next_heartbeat])
                .flatten()
                .min();
            tokio::select! {
                r = requests.message(), if requests_open => match r {
                    Ok(Some(_)) => {
                        return Err(Error::invalid(
                            "a STREAM subscription takes no further requests",
                        ));
                    }
                    // Half-closed: the subscription goes on (gNMI §3.5.1.5.2).
                    Ok(None) => requests_open = false,
                    Err(s) => return Err(Error::from_request(&s)),
                },
                batch = select::recv_batch(events), if events_open => {
                    match batch {
                        Some(batch) => {
                            for ev in &batch {
                                self.note(ev.as_ref());
                            }
                        }
                        None => events_open = false,
                    }
                    self.refresh_dirty().await?;
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {
                    self.due(Instant::now()).await?;
                },
            }
        }
    }

    /// Marks the subscriptions an event concerns (`None`: events were lost,
    /// so everything that reacts to events is read again).
    fn note(&mut self, ev: Option<&Event>) {
        // Worked out once (an operational event's path parsed once), then
        // looked at by every subscription of the list.
        let seen = select::seen(self.shared.handle.context(), ev);
        for s in self.subs.iter_mut().filter(|s| s.reacts_to_events()) {
            s.watch.note(&seen);
        }
    }

    async fn refresh_dirty(&mut self) -> Result<()> {
        let mut scopes = Vec::new();
        for (i, s) in self.subs.iter_mut().enumerate() {
            match s.watch.take() {
                Dirty::Clean => {}
                Dirty::Full => scopes.push((i, None)),
                Dirty::Paths(ps) => scopes.extend(ps.into_iter().map(|p| (i, Some(p)))),
            }
        }
        if scopes.is_empty() {
            return Ok(());
        }
        self.refresh(&scopes, Reason::Event).await?;
        // State that appeared since the first read is re-read periodically
        // from now on, like state present from the start.
        let now = Instant::now();
        for (i, s) in self.subs.iter_mut().enumerate() {
            if s.spec.mode == Mode::OnChange && s.next_tick.is_none() && self.has_state[i] {
                s.next_tick = Some(now + s.spec.interval);
            }
        }
        Ok(())
    }

    /// Sample ticks and heartbeats that are due.
    async fn due(&mut self, now: Instant) -> Result<()> {
        let ticks: Vec<(usize, Option<String>)> = self
            .subs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.next_tick.is_some_and(|t| t <= now))
            .map(|(i, _)| (i, None))
            .collect();
        if !ticks.is_empty() {
            self.refresh(&ticks, Reason::Tick).await?;
            let after = Instant::now();
            for (i, _) in &ticks {
                let s = &mut self.subs[*i];
                // The next tick one interval after this one, never in the
                // past: a slow read skips ticks instead of bunching them.
                s.next_tick = Some(select::next_tick(s.spec.interval, None, s.next_tick, after));
            }
        }
        let ts = now_ns();
        for s in self.subs.iter_mut() {
            let Some(hb) = s.next_heartbeat.filter(|t| *t <= now) else {
                continue;
            };
            s.next_heartbeat = s.spec.heartbeat.map(|h| (hb + h).max(now));
            // SAMPLE without suppress_redundant already sends every value.
            if s.spec.mode == Mode::Sample && !s.spec.suppress_redundant {
                continue;
            }
            for c in s.cache.values() {
                if self
                    .outbox
                    .update(&c.loc, c.value.typed(self.list.encoding), ts)
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Reads the given scopes (a subscription, whole or under one data path)
    /// in one core call and applies what they hold.
    async fn refresh(&mut self, scopes: &[(usize, Option<String>)], reason: Reason) -> Result<()> {
        let fetch: Vec<Option<String>> = scopes
            .iter()
            .map(|(i, p)| match p {
                Some(p) => Some(p.clone()),
                None => self.subs[*i].fetch.clone(),
            })
            .collect();
        let sid = self.sid;
        let trees: Vec<std::result::Result<Tree, nectar_mgmt::MgmtError>> = self
            .shared
            .handle
            .get_each(sid, Datastore::Operational, fetch)
            .await?;
        let ts = now_ns();
        for ((i, scope), tree) in scopes.iter().zip(trees) {
            let mut tree = tree?;
            data::prune(&mut tree, Content::All, self.list.models.as_ref())?;
            if let Some(level) = self.list.depth {
                data::limit_depth(&mut tree, &self.subs[*i].spec.xpath, level)?;
            }
            let leaves = self.collect(&tree, *i)?;
            if self
                .apply(*i, leaves, scope.as_deref(), reason, ts)
                .is_err()
            {
                // The outbox overflowed: the subscription is over.
                return Ok(());
            }
        }
        Ok(())
    }

    fn collect(&mut self, tree: &Tree, i: usize) -> Result<Vec<Leaf>> {
        let xpath = &self.subs[i].spec.xpath;
        let nodes = data::select(tree, xpath)?;
        // Nodes selected with `//` may contain one another; others cannot.
        let mut seen = (nodes.len() > 1 && xpath.contains("//")).then(HashSet::new);
        let mut out = Vec::new();
        for n in &nodes {
            data::leaves_under(n, seen.as_mut(), &mut self.counters, &mut out)?;
        }
        Ok(out)
    }

    /// Compares the leaves read with what was sent and queues what is due.
    fn apply(
        &mut self,
        i: usize,
        leaves: Vec<Leaf>,
        scope: Option<&str>,
        reason: Reason,
        ts: i64,
    ) -> std::result::Result<(), super::Overflow> {
        let ctx = self.shared.handle.context();
        let enc = self.list.encoding;
        let updates_only = self.list.updates_only;
        let sub = &mut self.subs[i];
        let mut present: HashSet<Arc<str>> = HashSet::with_capacity(leaves.len());
        for leaf in leaves {
            let loc = match self.paths.get(ctx, &leaf.path) {
                Ok(loc) => loc,
                Err(e) => {
                    tracing::warn!(path = %leaf.path, error = %e, "gnmi: leaf not reported");
                    continue;
                }
            };
            if !leaf.config {
                self.has_state[i] = true;
            }
            present.insert(loc.key.clone());
            let sample = sub.is_sampled(&leaf);
            let send = match sub.cache.get_mut(&loc.key) {
                Some(c) => {
                    let changed = c.value != leaf.value;
                    let send = match reason {
                        Reason::Initial => !updates_only,
                        Reason::Snapshot => true,
                        Reason::Tick if c.sample => !sub.spec.suppress_redundant || changed,
                        Reason::Tick | Reason::Event => !c.sample && changed,
                    };
                    // A sampled leaf keeps the value last sent until its tick.
                    if reason != Reason::Event || !c.sample {
                        c.value = leaf.value;
                    }
                    send.then(|| c.value.typed(enc))
                }
                None => {
                    if reason == Reason::Event && sample {
                        // Picked up (and sent) at its next sample.
                        continue;
                    }
                    let send = match reason {
                        Reason::Initial => !updates_only,
                        _ => true,
                    };
                    let typed = send.then(|| leaf.value.typed(enc));
                    sub.cache.insert(
                        loc.key.clone(),
                        Cached {
                            loc: loc.clone(),
                            value: leaf.value,
                            sample,
                        },
                    );
                    typed
                }
            };
            if let Some(v) = send {
                self.outbox.update(&loc, v, ts)?;
            }
        }
        // Leaves sent before and now gone (within what was read) are deleted.
        let within = |k: &str| match scope {
            None => true,
            Some(s) => {
                k == s || (k.starts_with(s) && matches!(k.as_bytes().get(s.len()), Some(b'/')))
            }
        };
        let gone: Vec<Arc<str>> = sub
            .cache
            .keys()
            .filter(|k| !present.contains(*k) && within(k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(c) = sub.cache.remove(&k) {
                if reason != Reason::Initial || !updates_only {
                    self.outbox.delete(&c.loc, ts)?;
                }
                self.paths.forget(&k);
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("sid", &self.sid).finish()
    }
}
