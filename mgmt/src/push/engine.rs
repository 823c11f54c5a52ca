//! The work of one subscription: reading its source, deciding what is due,
//! rendering it and queueing it for the receiver, with suspension when the
//! receiver falls behind.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio::time::sleep_until;

use nectar_yang::encoding::{self, Format, PrintOptions};

use super::select::{Dirty, Watch};
use super::{
    Control, Counters, Encoding, Mailbox, Out, Owner, Policy, SN, Subscriptions, Target, Trigger,
    YP, notification, patch,
};
use crate::ly::{self, Tree};
use crate::notify::Notification;
use crate::types::Datastore;

pub(super) struct Engine {
    pub id: u32,
    pub subs: Arc<Subscriptions>,
    pub owner: Owner,
    pub policy: Policy,
    pub counters: Arc<Counters>,
    pub mailbox: Arc<Mailbox>,
    /// Resumed after a suspension: an on-change subscription owes its
    /// receiver the whole selection.
    pub resynced: std::sync::atomic::AtomicBool,
}

/// Why the engine stopped: the `subscription-terminated` reason to send, if
/// any.
type Ending = Option<&'static str>;

/// A far deadline for branches that are off.
fn never() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The instant of a wall-clock time (now if past).
fn instant_of(t: SystemTime) -> Instant {
    let now_sys = SystemTime::now();
    let now = Instant::now();
    match t.duration_since(now_sys) {
        Ok(d) => now + d,
        Err(_) => now,
    }
}

impl Engine {
    pub(super) async fn run(mut self, mut control: mpsc::Receiver<Control>) {
        let ending = match self.policy.target.clone() {
            Target::Stream { .. } => self.stream(&mut control).await,
            Target::Datastore(ds) => self.datastore(ds, &mut control).await,
        };
        if let Some(reason) = ending {
            let mut body = Map::new();
            body.insert("id".into(), json!(self.id));
            body.insert("reason".into(), json!(format!("{SN}:{reason}")));
            let text = notification(SN, "subscription-terminated", body);
            if let Some(out) = self.render(&text) {
                self.mailbox.put(out, true);
            }
        }
        self.subs.remove(self.id);
        self.mailbox.close(self.id);
    }

    fn ctx(&self) -> &'static yang2::context::Context {
        self.subs.ctx
    }

    /// Renders notification JSON in the subscription's encoding (validated
    /// against the models by libyang).
    fn render(&self, json: &str) -> Option<Out> {
        let n = Notification {
            seq: 0,
            time: SystemTime::now(),
            json: Arc::from(json),
        };
        self.render_at(&n)
    }

    fn render_at(&self, n: &Notification) -> Option<Out> {
        match n.render(self.ctx(), self.policy.encoding.format()) {
            Ok(content) => Some(self.out(n.time, content)),
            Err(e) => {
                tracing::warn!(subscription = self.id, error = %e, "notification not rendered");
                None
            }
        }
    }

    fn out(&self, time: SystemTime, content: String) -> Out {
        Out {
            id: self.id,
            time,
            encoding: self.policy.encoding,
            content,
        }
    }

    fn suspended(&self) -> bool {
        self.counters.suspended.load(Ordering::Relaxed)
    }

    /// Queues a notification unless the subscription is suspended; a full
    /// queue suspends it. True when queued.
    fn emit(&self, out: Out) -> bool {
        if self.suspended() && !self.try_resume() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if self.mailbox.put(out, false) {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.counters.suspended.store(true, Ordering::Relaxed);
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert(
            "reason".into(),
            json!(format!("{SN}:insufficient-resources")),
        );
        if let Some(n) = self.render(&notification(SN, "subscription-suspended", body)) {
            self.mailbox.put(n, true);
        }
        tracing::info!(
            subscription = self.id,
            "subscription suspended: its receiver is more than subscriptions.queue behind"
        );
        false
    }

    /// A state change notification of the subscription itself: always
    /// queued (the queue's bound is for pushes).
    fn emit_state(&self, name: &str, body: Map<String, Value>) {
        if let Some(out) = self.render(&notification(SN, name, body)) {
            self.mailbox.put(out, true);
        }
    }

    /// Resumes a suspended subscription once its receiver has taken half of
    /// its queue; true when it did.
    fn try_resume(&self) -> bool {
        if !self.suspended() || self.mailbox.waiting(self.id) > self.mailbox.cap / 2 {
            return false;
        }
        self.counters.suspended.store(false, Ordering::Relaxed);
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        self.emit_state("subscription-resumed", body);
        self.resynced.store(true, Ordering::Relaxed);
        true
    }

    /// `subscription-modified` with the policy now in force.
    fn emit_modified(&self) {
        let mut body = super::state::policy_json(&self.policy);
        body.insert("id".into(), json!(self.id));
        self.emit_state("subscription-modified", body);
    }

    // ---- the NETCONF stream ----

    async fn stream(&mut self, control: &mut mpsc::Receiver<Control>) -> Ending {
        let replay_start = match &self.policy.target {
            Target::Stream { replay_start, .. } => *replay_start,
            Target::Datastore(_) => None,
        };
        let (replay, mut live) = self.subs.log.subscribe(replay_start);
        for n in replay {
            if self.policy.stop.is_some_and(|s| n.time > s) {
                return None;
            }
            // The replay is bounded: it waits for room in the queue instead
            // of suspending the subscription and dropping what it replays.
            loop {
                match control.try_recv() {
                    Ok(Control::End(r)) => return r,
                    Ok(Control::Modify(p)) => {
                        self.policy = p;
                        self.emit_modified();
                    }
                    Ok(Control::Resync) | Err(mpsc::error::TryRecvError::Empty) => {}
                    Err(mpsc::error::TryRecvError::Disconnected) => return None,
                }
                let taken = self.mailbox.taken.notified();
                tokio::pin!(taken);
                taken.as_mut().enable();
                if self.mailbox.waiting(self.id) < self.mailbox.cap {
                    break;
                }
                tokio::select! {
                    _ = &mut taken => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            self.deliver(&n).await;
        }
        if replay_start.is_some() {
            let mut body = Map::new();
            body.insert("id".into(), json!(self.id));
            self.emit_state("replay-completed", body);
        }
        loop {
            let stop = self.policy.stop.map(instant_of);
            let taken = self.mailbox.taken.notified();
            tokio::pin!(taken);
            // Registered before the check, so no take between is missed.
            taken.as_mut().enable();
            self.try_resume();
            tokio::select! {
                c = control.recv() => match c {
                    None | Some(Control::End(None)) => return None,
                    Some(Control::End(r)) => return r,
                    Some(Control::Modify(p)) => {
                        self.policy = p;
                        self.emit_modified();
                    }
                    Some(Control::Resync) => {}
                },
                n = live.recv() => match n {
                    Ok(n) => {
                        if self.policy.stop.is_some_and(|s| n.time > s) {
                            return None;
                        }
                        self.deliver(&n).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(k)) => {
                        self.counters.dropped.fetch_add(k, Ordering::Relaxed);
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Some("stream-unavailable");
                    }
                },
                _ = sleep_until(stop.unwrap_or_else(never).into()), if stop.is_some() => return None,
                _ = &mut taken, if self.suspended() => {}
            }
        }
    }

    /// One notification of the stream: NACM, the filter, then the queue.
    async fn deliver(&self, n: &Notification) {
        if let Some(name) = n.name()
            && let Some((module, local)) = name.split_once(':')
            && !self.owner.user.superuser
        {
            let permit = self
                .subs
                .mgmt
                .may_receive(
                    self.owner.user.clone(),
                    module.to_string(),
                    local.to_string(),
                )
                .await;
            if !permit {
                self.counters.excluded.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if let Some(x) = &self.policy.filter.xpath {
            let matched = encoding::parse_notification(self.ctx(), &n.json, Format::Json)
                .ok()
                .is_some_and(|t| nectar_yang::xpath::find_all(&t, x).is_ok_and(|s| !s.is_empty()));
            if !matched {
                self.counters.excluded.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if let Some(out) = self.render_at(n) {
            self.emit(out);
        }
    }

    // ---- datastores ----

    async fn read(&self, ds: Datastore) -> Result<Tree, crate::error::MgmtError> {
        let xpath = self.policy.filter.xpath.clone();
        let mut tree = self.subs.mgmt.get(self.owner.session, ds, xpath).await?;
        ly::strip_meta(&mut tree);
        Ok(tree)
    }

    /// `push-update` with the whole selection.
    fn push_update(&self, tree: &Tree) -> bool {
        let format = self.policy.encoding.format();
        let contents = match encoding::print_tree(tree, &PrintOptions::new(format)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(subscription = self.id, error = %e, "push-update not printed");
                return false;
            }
        };
        // The selection printed by libyang is the anydata's content: no
        // second parse of what may be a large document.
        let content = match self.policy.encoding {
            Encoding::Xml => format!(
                "<push-update xmlns=\"urn:ietf:params:xml:ns:yang:{YP}\"><id>{}</id>\
                 <datastore-contents>{contents}</datastore-contents></push-update>",
                self.id
            ),
            Encoding::Json => format!(
                "{{\"{YP}:push-update\":{{\"id\":{},\"datastore-contents\":{contents}}}}}",
                self.id
            ),
        };
        self.emit(self.out(SystemTime::now(), content))
    }

    async fn datastore(&mut self, ds: Datastore, control: &mut mpsc::Receiver<Control>) -> Ending {
        // Subscribed before the first read, so no change falls between.
        let mut events = self.subs.mgmt.subscribe();
        let mut last = match self.read(ds).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(subscription = self.id, error = %e, "datastore read failed");
                return Some("filter-unavailable");
            }
        };
        let mut watch = Watch::new(
            ds,
            super::select::prefixes(self.policy.filter.xpath.as_deref()),
        );
        let on_change = matches!(self.policy.trigger, Some(Trigger::OnChange { .. }));
        if let Some(Trigger::OnChange { sync_on_start, .. }) = &self.policy.trigger
            && *sync_on_start
        {
            self.push_update(&last);
        }
        let mut next_tick = self.next_tick(None);
        let poll = self.subs.limits.state_poll;
        let mut next_poll =
            (on_change && ds == Datastore::Operational).then(|| Instant::now() + poll);
        let mut next_push = Instant::now();
        let mut patch_no: u64 = 0;
        loop {
            let stop = self.policy.stop.map(instant_of);
            let due = watch.is_dirty().then_some(next_push);
            let taken = self.mailbox.taken.notified();
            tokio::pin!(taken);
            taken.as_mut().enable();
            self.try_resume();
            if on_change && self.resynced.swap(false, Ordering::Relaxed) {
                // What was dropped while suspended is lost: the receiver
                // gets the whole selection again.
                if let Ok(t) = self.read(ds).await {
                    last = t;
                    self.push_update(&last);
                }
            }
            tokio::select! {
                c = control.recv() => match c {
                    None | Some(Control::End(None)) => return None,
                    Some(Control::End(r)) => return r,
                    Some(Control::Modify(p)) => {
                        let refilter = p.filter != self.policy.filter;
                        self.policy = p;
                        watch.set_prefixes(super::select::prefixes(self.policy.filter.xpath.as_deref()));
                        next_tick = self.next_tick(None);
                        self.emit_modified();
                        if refilter && on_change {
                            // The new selection is compared from now on.
                            match self.read(ds).await {
                                Ok(t) => last = t,
                                Err(_) => return Some("filter-unavailable"),
                            }
                        }
                    }
                    Some(Control::Resync) => {
                        match self.read(ds).await {
                            Ok(t) => last = t,
                            Err(_) => return Some("filter-unavailable"),
                        }
                        self.push_update(&last);
                        watch.take();
                    }
                },
                batch = super::select::recv_batch(&mut events), if on_change => {
                    let Some(batch) = batch else { return Some("stream-unavailable") };
                    for ev in &batch {
                        watch.note(&super::select::seen(self.ctx(), ev.as_ref()));
                    }
                }
                _ = sleep_until(next_poll.unwrap_or_else(never).into()), if next_poll.is_some() => {
                    watch.set_full();
                    next_poll = Some(Instant::now() + poll);
                }
                _ = sleep_until(due.unwrap_or_else(never).into()), if due.is_some() => {
                    let excluded = match &self.policy.trigger {
                        Some(Trigger::OnChange { excluded, .. }) => excluded.clone(),
                        _ => Vec::new(),
                    };
                    let format = self.policy.encoding.format();
                    let dirt = watch.take();
                    let (edits, skipped) = match self.changes(ds, &mut last, dirt, &excluded, format).await {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(subscription = self.id, error = %e, "change not computed");
                            continue;
                        }
                    };
                    if skipped > 0 {
                        self.counters.excluded.fetch_add(skipped, Ordering::Relaxed);
                    }
                    if !edits.is_empty() {
                        patch_no += 1;
                        match patch::notification(self.id, patch_no, edits, format) {
                            Ok(content) => {
                                self.emit(self.out(SystemTime::now(), content));
                            }
                            Err(e) => tracing::warn!(subscription = self.id, error = %e, "change not printed"),
                        }
                        let damp = match &self.policy.trigger {
                            Some(Trigger::OnChange { dampening, .. }) => *dampening,
                            _ => 0,
                        };
                        next_push = Instant::now() + Duration::from_millis(u64::from(damp) * 10);
                    }
                }
                _ = sleep_until(next_tick.unwrap_or_else(never).into()), if next_tick.is_some() => {
                    match self.read(ds).await {
                        Ok(t) => { self.push_update(&t); }
                        Err(e) => tracing::warn!(subscription = self.id, error = %e, "datastore read failed"),
                    }
                    next_tick = self.next_tick(next_tick);
                }
                _ = sleep_until(stop.unwrap_or_else(never).into()), if stop.is_some() => return None,
                _ = &mut taken, if self.suspended() => {}
            }
        }
    }

    /// The edits since `last`, which becomes the selection as it is now.
    /// After events that name nodes, only those nodes are read and compared
    /// (an event costs the size of what it names, not of the selection);
    /// otherwise the selection is read and compared whole.
    async fn changes(
        &self,
        ds: Datastore,
        last: &mut Tree,
        dirty: Dirty,
        excluded: &[super::ChangeType],
        format: Format,
    ) -> Result<(Vec<patch::Edit>, u64), crate::error::MgmtError> {
        let ctx = self.ctx();
        let paths = match dirty {
            Dirty::Paths(paths) => paths,
            _ => {
                let new = self.read(ds).await?;
                let out = patch::edits(ctx, last, &new, excluded, format)?;
                *last = new;
                return Ok(out);
            }
        };
        let reads = self
            .subs
            .mgmt
            .get_each(
                self.owner.session,
                ds,
                paths.iter().cloned().map(Some).collect(),
            )
            .await?;
        let (mut edits, mut skipped) = (Vec::new(), 0);
        for (path, part) in paths.iter().zip(reads) {
            let part = part?;
            let mut new = match &self.policy.filter.xpath {
                Some(x) => ly::select(&part, Some(x))?,
                None => part,
            };
            ly::strip_meta(&mut new);
            // Both sides hold the node's ancestors, so the comparison is
            // of the node alone (a node gone does not read as its
            // ancestors gone).
            let mut old = ly::select(last, Some(path))?;
            let mut scoped = ly::dup_tree(&new)?;
            if let Some(parent) = ly::parent_path(path) {
                for t in [&mut old, &mut scoped] {
                    if ly::find(t, &parent)?.is_none() {
                        t.new_path(&parent, None, false)?;
                    }
                }
            }
            let (e, s) = patch::edits(ctx, &old, &scoped, excluded, format)?;
            edits.extend(e);
            skipped += s;
            ly::remove(last, path)?;
            ly::merge_owned(last, new)?;
        }
        Ok((edits, skipped))
    }

    /// The next periodic push after `previous` (none: the first), per
    /// [`super::select::next_tick`].
    fn next_tick(&self, previous: Option<Instant>) -> Option<Instant> {
        let Some(Trigger::Periodic { period, anchor }) = &self.policy.trigger else {
            return None;
        };
        let period = Duration::from_millis(u64::from(*period) * 10).max(Duration::from_millis(10));
        Some(super::select::next_tick(
            period,
            *anchor,
            previous,
            Instant::now(),
        ))
    }
}
