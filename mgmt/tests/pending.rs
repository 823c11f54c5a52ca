//! The bound on requests that may change a datastore (`max_pending_commits`),
//! through the handle every door uses: with the core busy, writes beyond the
//! bound are refused at once with `resource-denied` instead of queueing; reads
//! are not counted; once the queue drains, writes are served again.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Caller, CommitOptions, CoreConfig, ErrorTag, ErrorType, MgmtError, MgmtHandle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_beyond_the_bound_are_refused_until_the_queue_drains() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = CoreConfig::new(dir.path());
    cfg.max_pending_commits = 2;
    let (events, _) = tokio::sync::broadcast::channel(64);
    let core = nectar_mgmt::Core::open(ctx(), cfg, registry(&calls), events.clone()).unwrap();
    let h = MgmtHandle::spawn(core, events);
    let admin = UserCtx::new("admin", vec!["admin".to_string()]);
    let sid = h.open_session(admin, "test", None).await.unwrap();

    // The core is busy with a long request (a read: not counted).
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let (running, started) = tokio::sync::oneshot::channel::<()>();
    let busy = tokio::spawn({
        let h = h.clone();
        async move {
            h.inspect(Caller::system(), move |_| {
                let _ = running.send(());
                Ok::<_, MgmtError>(wait.recv().ok())
            })
            .await
        }
    });
    // (Only once it holds the core: commits sent before would just run.)
    started.await.unwrap();
    // Two commits queue behind it: the bound.
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.commit(sid, CommitOptions::default()).await })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while h.pending_writes() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the writes did not queue"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A third is refused at once, by any path that writes.
    let e = h.commit(sid, CommitOptions::default()).await.unwrap_err();
    let e = e.first().clone();
    assert_eq!(
        (e.error_type, e.tag),
        (ErrorType::Protocol, ErrorTag::ResourceDenied)
    );
    assert!(
        e.message.contains("datastore.max_pending_commits"),
        "{}",
        e.message
    );
    let e = h.discard_changes(sid).await.unwrap_err();
    assert_eq!(e.tag, ErrorTag::ResourceDenied);
    assert_eq!(h.pending_writes(), 2, "a refused write is not counted");

    release.send(()).unwrap();
    busy.await.unwrap().unwrap();
    for q in queued {
        q.await.unwrap().unwrap();
    }
    assert_eq!(h.pending_writes(), 0);
    // Served again.
    h.commit(sid, CommitOptions::default()).await.unwrap();
    h.discard_changes(sid).await.unwrap();
}
