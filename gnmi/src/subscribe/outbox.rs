//! The bounded, coalescing queue between a subscription's engine and its
//! gRPC response stream.
//!
//! The engine pushes updates and deletes keyed by data path; a path already
//! waiting is overwritten in place with the newer value (its `duplicates`
//! count grows, gNMI §2.1), so a slow collector receives the latest value of
//! every path, never a backlog of stale ones, and the queue never holds more
//! than one entry per path. A hard bound on waiting entries ends the
//! subscription with RESOURCE_EXHAUSTED rather than growing without limit.
//!
//! The response stream pops the queue only when gRPC can send (HTTP/2 flow
//! control), so the queue is the only buffer between the two.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tonic::Status;

use crate::path::Located;
use crate::proto::gnmi as pb;

/// Updates and deletes put into one Notification at most.
const BATCH: usize = 1000;

#[derive(Debug)]
enum Item {
    Update {
        loc: Arc<Located>,
        val: pb::TypedValue,
        ts: i64,
        dups: u32,
    },
    Delete {
        loc: Arc<Located>,
        ts: i64,
    },
    Sync,
}

impl Item {
    /// Updates and deletes of one time and one parent share a Notification.
    fn group(&self) -> Option<(i64, &Arc<pb::Path>)> {
        match self {
            Item::Update { loc, ts, .. } | Item::Delete { loc, ts } => Some((*ts, &loc.parent)),
            Item::Sync => None,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    /// Sequence number of `items[0]`.
    base: u64,
    /// Path → sequence number of its waiting update or delete.
    index: HashMap<Arc<str>, u64>,
    /// How the stream ends once `items` is drained.
    end: Option<Result<(), Status>>,
    /// The end was delivered.
    done: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    notify: Notify,
    max: usize,
    /// The `target` of the request's prefix, echoed on every Notification.
    target: String,
}

/// The queue is full: the subscription has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl Outbox {
    pub fn new(max: usize, target: String) -> Self {
        Outbox {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            max: max.max(1),
            target,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("outbox lock")
    }

    /// Queues a value for a node, replacing a waiting one.
    pub fn update(&self, loc: &Arc<Located>, val: pb::TypedValue, ts: i64) -> Result<(), Overflow> {
        self.put(&loc.key, |old| {
            let dups = match old {
                Some(Item::Update { dups, .. }) => dups + 1,
                Some(_) => 1,
                None => 0,
            };
            Item::Update {
                loc: loc.clone(),
                val,
                ts,
                dups,
            }
        })
    }

    /// Queues a delete of a node, replacing a waiting update.
    pub fn delete(&self, loc: &Arc<Located>, ts: i64) -> Result<(), Overflow> {
        self.put(&loc.key, |_| Item::Delete {
            loc: loc.clone(),
            ts,
        })
    }

    fn put(&self, key: &Arc<str>, make: impl FnOnce(Option<Item>) -> Item) -> Result<(), Overflow> {
        let mut st = self.lock();
        if st.end.is_some() {
            return Err(Overflow);
        }
        if let Some(&seq) = st.index.get(key) {
            let i = (seq - st.base) as usize;
            let old = std::mem::replace(&mut st.items[i], Item::Sync);
            st.items[i] = make(Some(old));
            return Ok(());
        }
        if st.items.len() >= self.max {
            st.end = Some(Err(Status::resource_exhausted(format!(
                "the collector is too slow: more than {} updates are waiting",
                self.max
            ))));
            drop(st);
            self.notify.notify_one();
            return Err(Overflow);
        }
        let seq = st.base + st.items.len() as u64;
        st.items.push_back(make(None));
        st.index.insert(key.clone(), seq);
        drop(st);
        self.notify.notify_one();
        Ok(())
    }

    /// Queues a sync_response after everything queued so far.
    pub fn sync(&self) {
        let mut st = self.lock();
        if st.end.is_none() {
            st.items.push_back(Item::Sync);
        }
        drop(st);
        self.notify.notify_one();
    }

    /// Ends the stream once the queue is drained (`Err`: with that status).
    pub fn finish(&self, result: Result<(), Status>) {
        let mut st = self.lock();
        if st.end.is_none() {
            st.end = Some(result);
        }
        drop(st);
        self.notify.notify_one();
    }

    /// True once the stream has been told to end (finished or overflowed).
    pub fn ended(&self) -> bool {
        self.lock().end.is_some()
    }

    /// Entries waiting.
    pub fn pending(&self) -> usize {
        self.lock().items.len()
    }

    /// The next response to send; `None` ends the stream.
    pub async fn next(&self) -> Option<Result<pb::SubscribeResponse, Status>> {
        loop {
            if let Some(r) = self.take() {
                return r;
            }
            self.notify.notified().await;
        }
    }

    /// `Some(None)`: the stream is over. `None`: nothing to send yet.
    #[allow(clippy::option_option)]
    fn take(&self) -> Option<Option<Result<pb::SubscribeResponse, Status>>> {
        let mut st = self.lock();
        if st.done {
            return Some(None);
        }
        match st.items.front() {
            None => {
                // An overflow error is delivered at once, the rest after the
                // queue drained.
                return match st.end.take() {
                    Some(Ok(())) => {
                        st.done = true;
                        Some(None)
                    }
                    Some(Err(s)) => {
                        st.done = true;
                        Some(Some(Err(s)))
                    }
                    None => None,
                };
            }
            Some(Item::Sync) => {
                st.items.pop_front();
                st.base += 1;
                return Some(Some(Ok(pb::SubscribeResponse {
                    response: Some(pb::subscribe_response::Response::SyncResponse(true)),
                    extension: Vec::new(),
                })));
            }
            Some(_) => {}
        }
        if matches!(&st.end, Some(Err(s)) if s.code() == tonic::Code::ResourceExhausted) {
            let s = st.end.take().and_then(|e| e.err());
            st.done = true;
            return Some(s.map(Err));
        }
        let (ts, parent) = match st.items.front().and_then(Item::group) {
            Some((ts, parent)) => (ts, parent.clone()),
            None => unreachable!("checked above"),
        };
        let mut prefix = (*parent).clone();
        prefix.target.clone_from(&self.target);
        let mut n = pb::Notification {
            prefix: Some(prefix),
            timestamp: ts,
            ..Default::default()
        };
        while n.update.len() + n.delete.len() < BATCH {
            match st.items.front().and_then(Item::group) {
                Some((t, p)) if t == ts && Arc::ptr_eq(p, &parent) => {}
                _ => break,
            }
            let item = st.items.pop_front().expect("front exists");
            st.base += 1;
            match item {
                Item::Update { loc, val, dups, .. } => {
                    st.index.remove(&loc.key);
                    n.update.push(pb::Update {
                        path: Some(loc.leaf.clone()),
                        val: Some(val),
                        duplicates: dups,
                        ..Default::default()
                    });
                }
                Item::Delete { loc, .. } => {
                    st.index.remove(&loc.key);
                    n.delete.push(loc.leaf.clone());
                }
                Item::Sync => unreachable!("checked above"),
            }
        }
        Some(Some(Ok(pb::SubscribeResponse {
            response: Some(pb::subscribe_response::Response::Update(n)),
            extension: Vec::new(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::gnmi::typed_value::Value;

    fn tv(v: u64) -> pb::TypedValue {
        pb::TypedValue {
            value: Some(Value::UintVal(v)),
        }
    }

    fn loc(key: &str, parent: &Arc<pb::Path>) -> Arc<Located> {
        Arc::new(Located {
            key: Arc::from(key),
            full: pb::Path::default(),
            parent: parent.clone(),
            leaf: pb::Path {
                elem: vec![pb::PathElem {
                    name: key.trim_start_matches('/').into(),
                    key: Default::default(),
                }],
                ..Default::default()
            },
        })
    }

    fn notification(r: Option<Result<pb::SubscribeResponse, Status>>) -> pb::Notification {
        match r.unwrap().unwrap().response {
            Some(pb::subscribe_response::Response::Update(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn waiting_values_coalesce_to_the_latest_per_path() {
        let ob = Outbox::new(10, "dut".into());
        let parent = Arc::new(pb::Path {
            origin: "rfc7951".into(),
            ..Default::default()
        });
        let (a, b) = (loc("/a", &parent), loc("/b", &parent));
        for v in 0..100 {
            ob.update(&a, tv(v), 1).unwrap();
            ob.update(&b, tv(v), 1).unwrap();
        }
        assert_eq!(ob.pending(), 2);
        let n = notification(ob.next().await);
        assert_eq!(n.update.len(), 2);
        assert_eq!(n.update[0].val, Some(tv(99)));
        assert_eq!(n.update[0].duplicates, 99);
        let prefix = n.prefix.unwrap();
        assert_eq!(
            (prefix.origin.as_str(), prefix.target.as_str()),
            ("rfc7951", "dut")
        );
        ob.delete(&a, 2).unwrap();
        ob.sync();
        let n = notification(ob.next().await);
        assert_eq!(n.delete.len(), 1);
        assert!(matches!(
            ob.next().await.unwrap().unwrap().response,
            Some(pb::subscribe_response::Response::SyncResponse(true))
        ));
        ob.finish(Ok(()));
        assert!(ob.next().await.is_none());
    }

    #[tokio::test]
    async fn notifications_group_one_time_and_one_parent() {
        let ob = Outbox::new(10, String::new());
        let p1 = Arc::new(pb::Path::default());
        let p2 = Arc::new(pb::Path {
            origin: "x".into(),
            ..Default::default()
        });
        ob.update(&loc("/a", &p1), tv(1), 1).unwrap();
        ob.update(&loc("/b", &p1), tv(1), 1).unwrap();
        ob.update(&loc("/c", &p2), tv(1), 1).unwrap();
        ob.update(&loc("/d", &p2), tv(1), 2).unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(notification(ob.next().await).update.len());
        }
        assert_eq!(got, vec![2, 1, 1]);
    }

    #[tokio::test]
    async fn more_distinct_paths_than_the_bound_end_the_subscription() {
        let ob = Outbox::new(3, String::new());
        let p = Arc::new(pb::Path::default());
        for i in 0..3 {
            ob.update(&loc(&format!("/{i}"), &p), tv(0), 1).unwrap();
        }
        assert_eq!(ob.update(&loc("/x", &p), tv(0), 1), Err(Overflow));
        let err = ob.next().await.unwrap().unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        assert!(ob.next().await.is_none());
    }
}
