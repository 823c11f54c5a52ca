//! The actor: one thread owns the `Core` (and so every datastore) and serves
//! requests in order; clients hold a cheap, cloneable `MgmtHandle` and await
//! replies on oneshot channels. The thread also fires the confirmed-commit
//! timer.
//!
//! Requests that may change a datastore (edits, commits, copies, deletes,
//! rollbacks, RPCs) are bounded: at most `CoreConfig::max_pending_commits`
//! of them wait for the core or run at once, over every door; a further one
//! is refused at once with `resource-denied` instead of queueing without
//! bound (each holds its parsed edit while it waits). Reads are not counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot};
use yang2::context::Context;

use crate::core::{CommitOptions, Core, EditOutcome, Source};
use crate::edit::{EditStep, ErrorOption};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::Tree;
use crate::nacm::UserCtx;
use crate::store::CommitRecord;
use crate::types::{Datastore, Event, SessionId, SessionInfo};

type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// A client's handle on the management core. Cloning is cheap.
#[derive(Clone)]
pub struct MgmtHandle {
    tx: mpsc::Sender<Job>,
    events: broadcast::Sender<Event>,
    ctx: &'static Context,
    writes: Arc<Writes>,
}

/// Requests that may change a datastore, queued at the core or running.
#[derive(Debug)]
struct Writes {
    pending: AtomicUsize,
    max: usize,
}

impl Writes {
    /// A ticket for one more write, or `resource-denied` at the bound.
    fn enter(self: &Arc<Self>) -> Result<WriteTicket, MgmtError> {
        let before = self.pending.fetch_add(1, Ordering::SeqCst);
        if before >= self.max {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(MgmtError::protocol(
                ErrorTag::ResourceDenied,
                format!(
                    "{} requests that change a datastore are already waiting for it, the \
                     most allowed (datastore.max_pending_commits); retry when they are done",
                    self.max
                ),
            ));
        }
        Ok(WriteTicket(Arc::clone(self)))
    }
}

/// Counts one write from the moment it is queued until it has run (or is
/// dropped unrun when the core stops).
struct WriteTicket(Arc<Writes>);

impl Drop for WriteTicket {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for MgmtHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MgmtHandle")
    }
}

/// The core has stopped (the daemon is shutting down).
fn gone() -> MgmtError {
    MgmtError::operation_failed("the management core is not running")
}

impl MgmtHandle {
    /// Starts the actor thread that owns `core`.
    pub fn spawn(core: Core, events: broadcast::Sender<Event>) -> MgmtHandle {
        let ctx = core.context();
        let writes = Arc::new(Writes {
            pending: AtomicUsize::new(0),
            max: core.max_pending_commits().max(1),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("nectar-mgmt".into())
            .spawn(move || run(core, rx))
            .expect("spawn the management thread");
        MgmtHandle {
            tx,
            events,
            ctx,
            writes,
        }
    }

    /// A bus of datastore, session and commit events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn context(&self) -> &'static Context {
        self.ctx
    }

    /// Runs `f` on the core's thread and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, MgmtError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |core: &mut Core| {
                let _ = reply.send(f(core));
            }))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// [`call`](Self::call) for work that may change a datastore: counted
    /// against `max_pending_commits` from now until it has run; refused with
    /// `resource-denied` (error-type protocol) when that many are pending.
    pub async fn call_write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, MgmtError> {
        let ticket = self.writes.enter()?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |core: &mut Core| {
                let out = f(core);
                // Counted until it has run, not until its reply is read: a client that
                // sends its next write as soon as this one answers finds the room free.
                drop(ticket);
                let _ = reply.send(out);
            }))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Writes queued at the core or running now (see
    /// [`call_write`](Self::call_write)).
    pub fn pending_writes(&self) -> usize {
        self.writes.pending.load(Ordering::SeqCst)
    }

    pub async fn open_session(
        &self,
        user: UserCtx,
        protocol: &str,
        peer: Option<String>,
    ) -> Result<SessionId, MgmtError> {
        let protocol = protocol.to_string();
        self.call(move |c| c.open_session(user, &protocol, peer))
            .await
    }

    pub async fn close_session(&self, id: SessionId) -> Result<(), MgmtError> {
        self.call(move |c| c.close_session(id, None)).await
    }

    pub async fn kill_session(&self, by: SessionId, target: SessionId) -> Result<(), MgmtError> {
        self.call(move |c| c.kill_session(by, target)).await?
    }

    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, MgmtError> {
        self.call(|c| c.sessions()).await
    }

    pub async fn get(
        &self,
        sid: SessionId,
        ds: Datastore,
        xpath: Option<String>,
    ) -> Result<Tree, MgmtError> {
        self.call(move |c| c.get(Some(sid), ds, xpath.as_deref()))
            .await?
    }

    pub async fn edit(
        &self,
        sid: SessionId,
        target: Datastore,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        self.call_write(move |c| c.edit(Some(sid), target, steps, error_option, test_only))
            .await?
    }

    pub async fn commit(&self, sid: SessionId, opts: CommitOptions) -> Result<Option<u64>, Errors> {
        self.call_write(move |c| c.commit(Some(sid), opts)).await?
    }

    pub async fn cancel_commit(
        &self,
        sid: SessionId,
        persist_id: Option<String>,
    ) -> Result<(), MgmtError> {
        self.call_write(move |c| c.cancel_commit(Some(sid), persist_id.as_deref()))
            .await?
    }

    pub async fn discard_changes(&self, sid: SessionId) -> Result<(), MgmtError> {
        self.call_write(move |c| c.discard_changes(Some(sid)))
            .await?
    }

    pub async fn validate(&self, source: Source) -> Result<(), Errors> {
        self.call(move |c| c.validate(source)).await?
    }

    pub async fn copy_config(
        &self,
        sid: SessionId,
        target: Datastore,
        source: Source,
    ) -> Result<(), Errors> {
        self.call_write(move |c| c.copy_config(Some(sid), target, source))
            .await?
    }

    pub async fn delete_config(&self, sid: SessionId, target: Datastore) -> Result<(), Errors> {
        self.call_write(move |c| c.delete_config(Some(sid), target))
            .await?
    }

    pub async fn lock(&self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        self.call(move |c| c.lock(sid, ds)).await?
    }

    pub async fn unlock(&self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        self.call(move |c| c.unlock(sid, ds)).await?
    }

    pub async fn rpc(&self, sid: SessionId, input: Tree) -> Result<Option<Tree>, Errors> {
        self.call_write(move |c| c.rpc(Some(sid), &input)).await?
    }

    pub async fn history(&self) -> Result<Vec<CommitRecord>, MgmtError> {
        self.call(|c| c.history()).await
    }

    pub async fn rollback(
        &self,
        sid: SessionId,
        id: u64,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        self.call_write(move |c| c.rollback_to(Some(sid), id, comment))
            .await?
    }
}

fn run(mut core: Core, rx: mpsc::Receiver<Job>) {
    loop {
        let job = match core.confirm_deadline() {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
                    Ok(job) => Some(job),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match rx.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            },
        };
        if let Some(job) = job {
            job(&mut core);
        }
        core.tick(Instant::now());
    }
    tracing::info!("management core stopped");
}
