//! The actor: one thread owns the `Core` (and so every datastore) and serves
//! requests in order; clients hold a cheap, cloneable `MgmtHandle` and await
//! replies on oneshot channels. The thread also fires the confirmed-commit
//! timer. Doors talk to it in typed requests (see [`crate::request`]).
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
use yang2::data::DataTree;

use crate::core::{CommitOptions, Core, EditOutcome, Source};
use crate::edit::{EditStep, ErrorOption};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::Tree;
use crate::nacm::UserCtx;
use crate::request::{Caller, Edit, Read, ReadReply, View};
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
    async fn call<T: Send + 'static>(
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
    async fn call_write<T: Send + 'static>(
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

    /// Runs `f` for `caller` (its session entered, its operation
    /// authorized) on the core's thread; `write` counts it as a write.
    async fn run_as<T, E>(
        &self,
        caller: Caller,
        write: bool,
        f: impl FnOnce(&mut Core, Option<SessionId>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<MgmtError> + Send + 'static,
    {
        let job = move |core: &mut Core| -> Result<T, E> {
            let entered = caller.enter(core)?;
            let out = f(core, entered.sid);
            entered.leave(core);
            out
        };
        if write {
            self.call_write(job).await?
        } else {
            self.call(job).await?
        }
    }

    /// Writes queued at the core or running now (bounded by
    /// `max_pending_commits`).
    pub fn pending_writes(&self) -> usize {
        self.writes.pending.load(Ordering::SeqCst)
    }

    // ===== sessions and locks =====

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

    pub async fn lock(&self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        self.call(move |c| c.lock(sid, ds)).await?
    }

    pub async fn unlock(&self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        self.call(move |c| c.unlock(sid, ds)).await?
    }

    /// Who holds the global lock of running, candidate and startup.
    pub async fn lock_holders(&self) -> Result<Vec<(Datastore, Option<SessionId>)>, MgmtError> {
        self.call(|c| {
            [Datastore::Running, Datastore::Candidate, Datastore::Startup]
                .into_iter()
                .map(|d| (d, c.lock_holder(d)))
                .collect()
        })
        .await
    }

    // ===== NACM =====

    /// Only the NACM check of the caller's operation (see
    /// [`Caller::authorizing`]).
    pub async fn authorize(&self, caller: Caller) -> Result<(), MgmtError> {
        self.run_as(caller, false, |_, _| Ok(())).await
    }

    /// For each `(module, rpc)`, whether the caller may execute it.
    pub async fn permitted(
        &self,
        caller: impl Into<Caller>,
        ops: Vec<(String, String)>,
    ) -> Result<Vec<bool>, MgmtError> {
        self.run_as(caller.into(), false, move |c, sid| {
            Ok(ops
                .iter()
                .map(|(m, n)| sid.is_none_or(|sid| c.check_rpc(sid, m, n).is_ok()))
                .collect())
        })
        .await
    }

    /// Whether NACM lets `user` receive the notification `module:name`.
    pub async fn may_receive(&self, user: UserCtx, module: String, name: String) -> bool {
        self.call(move |c| {
            c.nacm()
                .check_notification(&user, &module, &name)
                .is_permit()
        })
        .await
        .unwrap_or(false)
    }

    // ===== reads =====

    /// The commit running is at.
    pub async fn commit_id(&self) -> Result<u64, MgmtError> {
        self.call(|c| c.commit_id()).await
    }

    /// The yang-library `content-id` (RFC 8525).
    pub async fn yang_library_content_id(&self) -> Result<String, MgmtError> {
        self.call(|c| c.yang_library_content_id()).await
    }

    /// What the caller may read of a datastore, optionally only what an
    /// XPath selects.
    pub async fn get(
        &self,
        caller: impl Into<Caller>,
        ds: Datastore,
        xpath: Option<String>,
    ) -> Result<Tree, MgmtError> {
        self.run_as(caller.into(), false, move |c, sid| {
            c.get(sid, ds, xpath.as_deref())
        })
        .await
    }

    /// Several reads of one datastore in one turn (a consistent snapshot),
    /// each with its own outcome.
    pub async fn get_each(
        &self,
        caller: impl Into<Caller>,
        ds: Datastore,
        xpaths: Vec<Option<String>>,
    ) -> Result<Vec<Result<Tree, MgmtError>>, MgmtError> {
        self.run_as(caller.into(), false, move |c, sid| {
            Ok(xpaths
                .iter()
                .map(|x| c.get(sid, ds, x.as_deref()))
                .collect())
        })
        .await
    }

    /// A read as the doors' GET operations need it (see [`Read`]).
    pub async fn read(&self, caller: impl Into<Caller>, r: Read) -> Result<ReadReply, MgmtError> {
        self.run_as(caller.into(), false, move |c, sid| {
            if let Some(opts) = &r.print
                && r.xpath.is_none()
                && r.extra.is_none()
                && !r.with_running
                && r.ds != Datastore::Operational
                && c.nacm().bypass(&c.user(sid))
            {
                return Ok(ReadReply {
                    tree: DataTree::new(c.context()),
                    text: Some(c.print_datastore(r.ds, opts)?),
                    running: None,
                    commit_id: c.commit_id(),
                    last_commit: c.last_commit().map(|r| r.time.clone()),
                });
            }
            let x = r.xpath.as_deref();
            let mut tree = match (x, r.single) {
                (Some(x), true) => c.get_node(sid, r.ds, x)?,
                _ => c.get(sid, r.ds, x)?,
            };
            if let Some(mut extra) = r.extra {
                c.nacm().filter_read(&c.user(sid), &mut extra);
                tree.merge(&extra)?;
            }
            if r.origin && r.ds == Datastore::Operational {
                crate::origin::annotate(&mut tree, c.running())?;
            }
            let running = match r.with_running {
                true => Some(c.get(sid, Datastore::Running, x)?),
                false => None,
            };
            Ok(ReadReply {
                tree,
                text: None,
                running,
                commit_id: c.commit_id(),
                last_commit: c.last_commit().map(|r| r.time.clone()),
            })
        })
        .await
    }

    /// Runs `f` on a read-only [`View`] of the datastores for the caller.
    pub async fn inspect<T, E>(
        &self,
        caller: impl Into<Caller>,
        f: impl FnOnce(&View<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<MgmtError> + Send + 'static,
    {
        self.run_as(caller.into(), false, move |c, sid| f(&View::new(c, sid)))
            .await
    }

    pub async fn history(&self) -> Result<Vec<CommitRecord>, MgmtError> {
        self.call(|c| c.history()).await
    }

    // ===== changes =====

    pub async fn edit(
        &self,
        caller: impl Into<Caller>,
        target: Datastore,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        self.run_as(caller.into(), true, move |c, sid| {
            c.edit(sid, target, steps, error_option, test_only)
        })
        .await
    }

    /// A conditional edit in one turn of the core: `plan` looks at the
    /// datastores and answers the edit to make (or refuses, with its own
    /// error); the edit is applied; `report` sees its outcome and the
    /// datastores after it.
    pub async fn edit_with<P, T, E>(
        &self,
        caller: impl Into<Caller>,
        plan: impl FnOnce(&View<'_>) -> Result<(Edit, P), E> + Send + 'static,
        report: impl FnOnce(&View<'_>, P, Result<EditOutcome, Errors>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<MgmtError> + Send + 'static,
    {
        self.run_as(caller.into(), true, move |c, sid| {
            let (edit, p) = plan(&View::new(c, sid))?;
            let out = match edit.confirm {
                Some(action) if edit.target == Datastore::Running && !edit.test_only => {
                    c.confirmed_edit(sid, action, edit.steps)
                }
                Some(_) => Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "a confirmed commit edits running, and is no test-only edit",
                )
                .into()),
                None => c.edit(
                    sid,
                    edit.target,
                    edit.steps,
                    edit.error_option,
                    edit.test_only,
                ),
            };
            report(&View::new(c, sid), p, out)
        })
        .await
    }

    pub async fn commit(
        &self,
        caller: impl Into<Caller>,
        opts: CommitOptions,
    ) -> Result<Option<u64>, Errors> {
        self.run_as(caller.into(), true, move |c, sid| c.commit(sid, opts))
            .await
    }

    pub async fn cancel_commit(
        &self,
        caller: impl Into<Caller>,
        persist_id: Option<String>,
    ) -> Result<(), MgmtError> {
        self.run_as(caller.into(), true, move |c, sid| {
            c.cancel_commit(sid, persist_id.as_deref())
        })
        .await
    }

    pub async fn discard_changes(&self, caller: impl Into<Caller>) -> Result<(), MgmtError> {
        self.run_as(caller.into(), true, move |c, sid| c.discard_changes(sid))
            .await
    }

    pub async fn validate(&self, caller: impl Into<Caller>, source: Source) -> Result<(), Errors> {
        self.run_as(caller.into(), false, move |c, _| c.validate(source))
            .await
    }

    pub async fn copy_config(
        &self,
        caller: impl Into<Caller>,
        target: Datastore,
        source: Source,
    ) -> Result<(), Errors> {
        self.run_as(caller.into(), true, move |c, sid| {
            c.copy_config(sid, target, source)
        })
        .await
    }

    pub async fn delete_config(
        &self,
        caller: impl Into<Caller>,
        target: Datastore,
    ) -> Result<(), Errors> {
        self.run_as(caller.into(), true, move |c, sid| {
            c.delete_config(sid, target)
        })
        .await
    }

    /// An RPC or action (`input` holds the operation with its input).
    pub async fn rpc(
        &self,
        caller: impl Into<Caller>,
        input: Tree,
    ) -> Result<Option<Tree>, Errors> {
        self.run_as(caller.into(), true, move |c, sid| c.rpc(sid, &input))
            .await
    }

    pub async fn rollback(
        &self,
        caller: impl Into<Caller>,
        id: u64,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        self.run_as(caller.into(), true, move |c, sid| {
            c.rollback_to(sid, id, comment)
        })
        .await
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
