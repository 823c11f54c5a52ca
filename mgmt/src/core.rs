//! The datastores and everything that changes them: edits, transactions
//! through the providers, durability, locks, sessions, the candidate,
//! confirmed commits, the commit history and rollback. `Core` is a plain
//! synchronous state machine; `crate::handle` runs it on its own thread as
//! the one owner of the datastores (actor) and gives clients an async handle.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use yang2::context::Context;
use yang2::data::{DataFormat, DataNodeRef, DataPrinterFlags, DataTree, DataValidationFlags};
use yang2::schema::SchemaNodeKind;

use crate::edit::{self, EditStep, ErrorOption, Op, Touched};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::{self, Tree};
use crate::nacm::{self, Nacm, UserCtx};
use crate::provider::{Change, ChangeOp, Registry, RpcArgs};
use crate::scope::Scope;
use crate::store::{CommitRecord, Encoded, PrimOp, Store};
use crate::types::{ConfirmEvent, Datastore, Event, SessionId, SessionInfo, now_rfc3339};

/// Which datastore the daemon boots from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadFrom {
    /// The startup datastore (RFC 6241 :startup); when none was ever saved,
    /// the persisted running.
    #[default]
    Startup,
    /// The persisted running datastore (snapshot + journal).
    Running,
}

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub state_dir: PathBuf,
    pub load: LoadFrom,
    /// Commits kept for rollback.
    pub history: usize,
    /// Journal size that triggers a snapshot.
    pub compact_bytes: u64,
    /// confirm-timeout when a confirmed commit names none (RFC 6241: 600 s).
    pub confirm_timeout: Duration,
    /// Requests that may change a datastore (edits, commits, copies,
    /// rollbacks, RPCs) waiting for the core or running, at most; a further
    /// one is refused with `resource-denied` (see [`crate::MgmtHandle`]).
    pub max_pending_commits: usize,
}

/// The default of [`CoreConfig::max_pending_commits`].
pub const DEFAULT_MAX_PENDING_COMMITS: usize = 128;

impl CoreConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        CoreConfig {
            state_dir: state_dir.into(),
            load: LoadFrom::Startup,
            history: 50,
            compact_bytes: 16 << 20,
            confirm_timeout: Duration::from_secs(600),
            max_pending_commits: DEFAULT_MAX_PENDING_COMMITS,
        }
    }
}

/// Options of a commit.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub confirmed: bool,
    /// confirm-timeout; the configured default when `None`.
    pub timeout: Option<Duration>,
    /// :confirmed-commit:1.1 persist token.
    pub persist: Option<String>,
    /// persist-id confirming or extending a persistent confirmed commit.
    pub persist_id: Option<String>,
    pub comment: Option<String>,
}

/// What an edit did.
#[derive(Debug, Default)]
pub struct EditOutcome {
    /// The commit made, if the target was running and anything changed.
    pub commit: Option<u64>,
    /// Errors of steps skipped under continue-on-error or after which
    /// stop-on-error stopped; the other steps took effect.
    pub errors: Vec<MgmtError>,
}

/// Where a copy-config takes its content from.
#[derive(Debug)]
pub enum Source {
    Datastore(Datastore),
    Inline(Tree),
}

#[derive(Debug)]
struct Candidate {
    /// `None`: identical to running.
    tree: Option<Tree>,
    /// The edits that made `tree` from running at `base`, for a commit that
    /// costs the size of the change.
    steps: Vec<EditStep>,
    base: u64,
}

#[derive(Debug)]
struct PendingConfirm {
    deadline: Instant,
    /// The session whose end rolls back (non-persistent confirmed commits).
    owner: Option<SessionId>,
    persist: Option<String>,
    /// Running is restored to this commit if the confirmation never comes.
    before: u64,
}

#[derive(Debug)]
struct Session {
    info: SessionInfo,
    user: UserCtx,
}

/// The steps of an edit: owned when nothing needs them afterwards (their
/// content is then moved into the datastore instead of copied), borrowed
/// when the caller keeps them (a candidate's steps, kept for a retry).
enum Steps<'a> {
    Owned(Vec<EditStep>),
    Borrowed(&'a [EditStep]),
}

impl Steps<'_> {
    fn len(&self) -> usize {
        match self {
            Steps::Owned(v) => v.len(),
            Steps::Borrowed(v) => v.len(),
        }
    }
}

/// The management core. See the module documentation.
pub struct Core {
    ctx: &'static Context,
    cfg: CoreConfig,
    running: Tree,
    startup: Tree,
    commit_id: u64,
    candidate: Candidate,
    store: Store,
    history: VecDeque<CommitRecord>,
    sessions: BTreeMap<SessionId, Session>,
    next_session: SessionId,
    locks: HashMap<Datastore, SessionId>,
    confirm: Option<PendingConfirm>,
    registry: Registry,
    nacm: Nacm,
    scope: Scope,
    events: broadcast::Sender<Event>,
    /// ietf-yang-library state: the context never changes, so it is made once.
    yang_library: Tree,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("commit_id", &self.commit_id)
            .field("registry", &self.registry)
            .finish()
    }
}

const SYSTEM: &str = "system";
const NACM_TOP: &str = "/ietf-netconf-acm:nacm";

/// Parses RFC 7951 JSON into a tree without validating it.
pub fn parse_json(ctx: &'static Context, json: &str) -> Result<Tree, MgmtError> {
    if json.trim().is_empty() {
        return Ok(DataTree::new(ctx));
    }
    nectar_yang::encoding::parse(
        ctx,
        json,
        nectar_yang::encoding::Format::Json,
        nectar_yang::encoding::Content::Edit,
    )
    .map_err(MgmtError::from)
}

fn print_json(tree: &Tree) -> Result<String, MgmtError> {
    Ok(nectar_yang::print::data(
        tree,
        DataFormat::JSON,
        DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
    )?
    .unwrap_or_else(|| "{}".into()))
}

impl Core {
    /// Opens the state directory, loads the datastore the configuration says
    /// (startup or running), and replays it into the providers. Fails if the
    /// providers do not cover the model set or refuse the stored
    /// configuration.
    pub fn open(
        ctx: &'static Context,
        cfg: CoreConfig,
        mut registry: Registry,
        events: broadcast::Sender<Event>,
    ) -> Result<Core, MgmtError> {
        registry.register(NacmProvider);
        registry.check_coverage(ctx)?;
        let (mut store, loaded) = Store::open(&cfg.state_dir)?;

        // Running as persisted: snapshot, then the journal's commits.
        let mut running = match &loaded.snapshot {
            Some(json) => parse_json(ctx, json)?,
            None => DataTree::new(ctx),
        };
        let mut commit_id = loaded.last_commit;
        let mut history: VecDeque<CommitRecord> = loaded.history.into_iter().collect();
        for rec in loaded.journal {
            replay(ctx, &mut running, &rec.ops)?;
            commit_id = rec.id;
            history.push_back(rec);
        }
        while history.len() > cfg.history {
            history.pop_front();
        }
        let startup = match &loaded.startup {
            Some(json) => parse_json(ctx, json)?,
            None => DataTree::new(ctx),
        };

        let boot_from_startup = cfg.load == LoadFrom::Startup && loaded.startup.is_some();
        if boot_from_startup {
            running = ly::dup_tree(&startup)?;
        }
        if let (_, Err(errs)) = ly::validate_all(&mut running, DataValidationFlags::NO_STATE) {
            return Err(MgmtError::operation_failed(format!(
                "the stored {} configuration is invalid: {}",
                if boot_from_startup {
                    "startup"
                } else {
                    "running"
                },
                Errors(errs)
            )));
        }
        if boot_from_startup {
            // Running now differs from what the journal describes: make it
            // the new base, and start a new history.
            history.clear();
            store.compact(print_json(&running)?, commit_id, &[])?;
        }

        let nacm =
            Nacm::from_tree(&running).map_err(|e| MgmtError::operation_failed(e.to_string()))?;
        let scope = Scope::analyse(ctx);
        let yang_library = crate::yanglib::yang_library(ctx)?;
        let mut core = Core {
            ctx,
            cfg,
            running,
            startup,
            commit_id,
            candidate: Candidate {
                tree: None,
                steps: Vec::new(),
                base: commit_id,
            },
            store,
            history,
            sessions: BTreeMap::new(),
            next_session: 1,
            locks: HashMap::new(),
            confirm: None,
            registry,
            nacm,
            scope,
            events,
            yang_library,
        };
        core.replay_into_providers()?;
        tracing::info!(commit = core.commit_id, "datastores loaded");
        Ok(core)
    }

    /// Every configured node, as creations, through validate, prepare and
    /// apply: the providers start from what running holds.
    fn replay_into_providers(&mut self) -> Result<(), MgmtError> {
        let log: Vec<Touched> = self
            .running
            .reference()
            .into_iter()
            .flat_map(|r| r.inclusive_siblings())
            .map(|n| Touched::Created {
                path: n.path(),
                implicit: false,
            })
            .collect();
        let (changes, schemas) = changes_with_schema(&self.running, &log);
        let sel = self.registry.select(&changes, &schemas);
        self.registry.validate(&sel, &self.running)?;
        self.registry.prepare(&sel, &self.running)?;
        self.registry.apply(&sel, &self.running);
        Ok(())
    }

    /// The bound on requests that may change a datastore, queued or running.
    pub fn max_pending_commits(&self) -> usize {
        self.cfg.max_pending_commits
    }

    pub fn context(&self) -> &'static Context {
        self.ctx
    }

    pub fn commit_id(&self) -> u64 {
        self.commit_id
    }

    pub fn running(&self) -> &Tree {
        &self.running
    }

    /// Sets where module sources can be downloaded, for the `location`
    /// leaves of the yang library: `template` with `{name}` and `{revision}`
    /// replaced (e.g. `https://host:8443/restconf/schema/{name}/{revision}`;
    /// a module without revision gets an empty `{revision}`).
    pub fn set_schema_location(&mut self, template: &str) -> Result<(), MgmtError> {
        let mut tree = crate::yanglib::yang_library(self.ctx)?;
        crate::yanglib::set_locations(&mut tree, |name, revision| {
            template
                .replace("{name}", name)
                .replace("{revision}", revision.unwrap_or(""))
        })?;
        self.yang_library = tree;
        Ok(())
    }

    /// The yang-library `content-id` (RFC 8525), also sent in the NETCONF
    /// hello (RFC 8526 §2).
    pub fn yang_library_content_id(&self) -> String {
        ly::find(
            &self.yang_library,
            "/ietf-yang-library:yang-library/content-id",
        )
        .ok()
        .flatten()
        .and_then(|n| n.value_canonical())
        .unwrap_or_default()
    }

    pub fn nacm(&self) -> &Nacm {
        &self.nacm
    }

    // ===== sessions and locks =====

    pub fn open_session(
        &mut self,
        user: UserCtx,
        protocol: &str,
        peer: Option<String>,
    ) -> SessionId {
        let id = self.next_session;
        self.next_session = self.next_session.checked_add(1).unwrap_or(1).max(1);
        let info = SessionInfo {
            id,
            user: user.name.clone(),
            protocol: protocol.to_string(),
            peer,
            login_time: now_rfc3339(),
        };
        self.sessions.insert(
            id,
            Session {
                info: info.clone(),
                user,
            },
        );
        let _ = self.events.send(Event::SessionStarted(info));
        id
    }

    /// Whether a session is open (cheap; RESTCONF checks its per-user
    /// session before each request).
    pub fn has_session(&self, id: SessionId) -> bool {
        self.sessions.contains_key(&id)
    }

    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.sessions.values().map(|s| s.info.clone()).collect()
    }

    /// Ends a session: its locks go, a candidate it locked is discarded, and a
    /// non-persistent confirmed commit it made is rolled back (RFC 6241
    /// §7.5, §8.4).
    pub fn close_session(&mut self, id: SessionId, killed_by: Option<SessionId>) {
        let Some(s) = self.sessions.remove(&id) else {
            return;
        };
        if self.locks.get(&Datastore::Candidate) == Some(&id) {
            self.candidate = Candidate {
                tree: None,
                steps: Vec::new(),
                base: self.commit_id,
            };
        }
        self.locks.retain(|_, holder| *holder != id);
        if self.confirm.as_ref().is_some_and(|c| c.owner == Some(id)) {
            self.expire_confirm(ConfirmEvent::Cancel, Some(id));
        }
        let _ = self.events.send(Event::SessionEnded {
            info: s.info,
            killed_by,
        });
    }

    /// RFC 6241 kill-session.
    pub fn kill_session(&mut self, by: SessionId, target: SessionId) -> Result<(), MgmtError> {
        if by == target {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "a session cannot kill itself; use close-session",
            ));
        }
        if !self.sessions.contains_key(&target) {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                format!("no session {target}"),
            ));
        }
        self.check_exec(by, "ietf-netconf", "kill-session")?;
        self.close_session(target, Some(by));
        Ok(())
    }

    fn user(&self, sid: Option<SessionId>) -> UserCtx {
        match sid.and_then(|s| self.sessions.get(&s)) {
            Some(s) => s.user.clone(),
            None => UserCtx {
                name: SYSTEM.into(),
                groups: Vec::new(),
                superuser: true,
            },
        }
    }

    fn check_exec(&self, sid: SessionId, module: &str, rpc: &str) -> Result<(), MgmtError> {
        let user = self.user(Some(sid));
        if self.nacm.check_rpc(&user, module, rpc).is_permit() {
            Ok(())
        } else {
            Err(MgmtError::protocol(
                ErrorTag::AccessDenied,
                format!("{module}:{rpc} is not permitted"),
            ))
        }
    }

    /// NACM (RFC 8341) for a protocol operation, for the protocol crates.
    pub fn check_rpc(&self, sid: SessionId, module: &str, rpc: &str) -> Result<(), MgmtError> {
        self.check_exec(sid, module, rpc)
    }

    pub fn lock(&mut self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        if ds == Datastore::Operational {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore cannot be locked",
            ));
        }
        if let Some(holder) = self.locks.get(&ds) {
            return Err(MgmtError::lock_denied(*holder));
        }
        if ds == Datastore::Candidate && self.candidate.tree.is_some() {
            // RFC 6241 §7.5: not while the candidate holds uncommitted changes.
            return Err(MgmtError::protocol(
                ErrorTag::LockDenied,
                "the candidate has uncommitted changes",
            )
            .with_info("session-id", "0"));
        }
        self.locks.insert(ds, sid);
        Ok(())
    }

    pub fn unlock(&mut self, sid: SessionId, ds: Datastore) -> Result<(), MgmtError> {
        match self.locks.get(&ds) {
            Some(h) if *h == sid => {
                self.locks.remove(&ds);
                Ok(())
            }
            Some(h) => Err(MgmtError::lock_denied(*h)),
            None => Err(MgmtError::protocol(
                ErrorTag::OperationFailed,
                format!("the {} datastore is not locked", ds.as_str()),
            )),
        }
    }

    /// The session holding a lock on `ds`, if any.
    pub fn lock_holder(&self, ds: Datastore) -> Option<SessionId> {
        self.locks.get(&ds).copied()
    }

    fn check_not_locked(&self, sid: Option<SessionId>, ds: Datastore) -> Result<(), MgmtError> {
        match self.locks.get(&ds) {
            Some(h) if Some(*h) != sid => Err(MgmtError::in_use(*h)),
            _ => Ok(()),
        }
    }

    // ===== reads =====

    /// The one node a data path names (every list with all its keys, as
    /// `DataPath::to_xpath` prints it), with its parents, filtered by NACM
    /// for the session's user: what `get` with that path as XPath returns,
    /// found by libyang's path lookup instead of an XPath evaluation (the
    /// RESTCONF GET of one resource). Operational falls back to `get`.
    pub fn get_node(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
        path: &str,
    ) -> Result<Tree, MgmtError> {
        let tree = match ds {
            Datastore::Running => &self.running,
            Datastore::Startup => &self.startup,
            Datastore::Candidate => self.candidate.tree.as_ref().unwrap_or(&self.running),
            Datastore::Operational => return self.get(sid, ds, Some(path)),
        };
        let mut out = match ly::find(tree, path)? {
            Some(node) => ly::dup_with_parents(&node)?,
            None => DataTree::new(self.ctx),
        };
        let user = self.user(sid);
        self.nacm.filter_read(&user, &mut out);
        Ok(out)
    }

    /// The content of a datastore (optionally only the nodes an XPath
    /// selects, with their parents), filtered by NACM for the session's user.
    pub fn get(
        &self,
        sid: Option<SessionId>,
        ds: Datastore,
        xpath: Option<&str>,
    ) -> Result<Tree, MgmtError> {
        let mut out = match ds {
            Datastore::Running => ly::select(&self.running, xpath)?,
            Datastore::Startup => ly::select(&self.startup, xpath)?,
            Datastore::Candidate => {
                ly::select(self.candidate.tree.as_ref().unwrap_or(&self.running), xpath)?
            }
            Datastore::Operational => {
                let mut state = DataTree::new(self.ctx);
                self.registry.state(xpath, &mut state)?;
                if xpath.is_none_or(|x| x.contains("nectar-mgmt:")) {
                    self.history_state(&mut state, &self.user(sid))?;
                }
                if xpath.is_none_or(|x| x.contains("ietf-yang-library:")) {
                    state.merge(&self.yang_library)?;
                }
                let mut tree = ly::dup_tree(&self.running)?;
                tree.merge(&state)?;
                match xpath {
                    Some(x) => ly::select(&tree, Some(x))?,
                    None => tree,
                }
            }
        };
        let user = self.user(sid);
        self.nacm.filter_read(&user, &mut out);
        Ok(out)
    }

    // ===== edits and transactions =====

    /// Edits a datastore (RFC 6241 edit-config semantics). On running this is
    /// a transaction through the providers; on candidate it changes only the
    /// candidate; `test_only` validates without changing anything.
    pub fn edit(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        self.check_not_locked(sid, target)?;
        match target {
            Datastore::Running => {
                self.transaction(sid, Steps::Owned(steps), error_option, test_only, None)
            }
            Datastore::Candidate => self.edit_candidate(sid, steps, error_option, test_only),
            Datastore::Startup => self.edit_startup(sid, &steps, error_option, test_only),
            Datastore::Operational => Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore is read-only",
            )
            .into()),
        }
    }

    fn apply_steps(
        tree: &mut Tree,
        steps: Steps<'_>,
        error_option: ErrorOption,
        log: &mut Vec<Touched>,
    ) -> Result<(Vec<MgmtError>, Vec<bool>), Errors> {
        let mut errors = Vec::new();
        let mut ok = Vec::with_capacity(steps.len());
        let (mut owned, borrowed) = match steps {
            Steps::Owned(v) => (v.into_iter(), &[][..]),
            Steps::Borrowed(v) => (Vec::new().into_iter(), v),
        };
        let mut borrowed = borrowed.iter();
        loop {
            let mut slog = Vec::new();
            let applied = if let Some(step) = owned.next() {
                edit::apply_step_owned(tree, step, &mut slog)
            } else if let Some(step) = borrowed.next() {
                edit::apply_step(tree, step, &mut slog)
            } else {
                break;
            };
            match applied {
                Ok(()) => {
                    log.extend(slog);
                    ok.push(true);
                }
                Err(e) => match error_option {
                    ErrorOption::RollbackOnError => {
                        edit::undo(tree, std::mem::take(log));
                        return Err(e.into());
                    }
                    ErrorOption::StopOnError => {
                        errors.push(e);
                        break;
                    }
                    ErrorOption::ContinueOnError => {
                        errors.push(e);
                        ok.push(false);
                    }
                },
            }
        }
        Ok((errors, ok))
    }

    fn edit_candidate(
        &mut self,
        sid: Option<SessionId>,
        steps: Vec<EditStep>,
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        if self.candidate.tree.is_none() {
            self.candidate = Candidate {
                tree: Some(ly::dup_tree(&self.running)?),
                steps: Vec::new(),
                base: self.commit_id,
            };
        }
        let tree = self.candidate.tree.as_mut().expect("just made");
        let mut log = Vec::new();
        let (errors, ok) =
            Self::apply_steps(tree, Steps::Borrowed(&steps), error_option, &mut log)?;
        if !user.superuser {
            let changes = changes_from_log(tree, &log);
            if let Err(e) = check_nacm(&self.nacm, self.ctx, &user, &changes) {
                edit::undo(tree, log);
                return Err(e.into());
            }
        }
        if test_only {
            let mut probe = ly::dup_tree(tree)?;
            edit::undo(tree, log);
            if let (_, Err(errs)) = ly::validate_all(&mut probe, DataValidationFlags::NO_STATE) {
                return Err(Errors(errs));
            }
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        self.candidate.steps.extend(
            steps
                .into_iter()
                .zip(ok.into_iter().chain(std::iter::repeat(false)))
                .filter(|(_, ok)| *ok)
                .map(|(s, _)| s),
        );
        Ok(EditOutcome {
            commit: None,
            errors,
        })
    }

    fn edit_startup(
        &mut self,
        sid: Option<SessionId>,
        steps: &[EditStep],
        error_option: ErrorOption,
        test_only: bool,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        let mut tree = ly::dup_tree(&self.startup)?;
        let mut log = Vec::new();
        let (errors, _) =
            Self::apply_steps(&mut tree, Steps::Borrowed(steps), error_option, &mut log)?;
        let changes = changes_from_log(&tree, &log);
        check_nacm(&self.nacm, self.ctx, &user, &changes)?;
        if let (_, Err(errs)) = ly::validate_all(&mut tree, DataValidationFlags::NO_STATE) {
            return Err(Errors(errs));
        }
        if !test_only {
            self.store.write_startup(&print_json(&tree)?)?;
            self.startup = tree;
        }
        Ok(EditOutcome {
            commit: None,
            errors,
        })
    }

    /// [`Core::transaction_steps`], timed and counted in [`crate::metrics`].
    fn transaction(
        &mut self,
        sid: Option<SessionId>,
        steps: Steps<'_>,
        error_option: ErrorOption,
        test_only: bool,
        comment: Option<String>,
    ) -> Result<EditOutcome, Errors> {
        let started = std::time::Instant::now();
        let out = self.transaction_steps(sid, steps, error_option, test_only, comment);
        match &out {
            Ok(EditOutcome {
                commit: Some(_), ..
            }) => crate::metrics::commit(started.elapsed(), true),
            Err(_) if !test_only => crate::metrics::commit(started.elapsed(), false),
            _ => {}
        }
        out
    }

    /// The transaction on running: edit in place → validate (libyang, scoped
    /// to what the change can affect) → NACM → provider validate → prepare →
    /// journal (fsync) → apply → history → event. A failure before the
    /// journal write undoes everything: running and the providers are exactly
    /// as before.
    fn transaction_steps(
        &mut self,
        sid: Option<SessionId>,
        steps: Steps<'_>,
        error_option: ErrorOption,
        test_only: bool,
        comment: Option<String>,
    ) -> Result<EditOutcome, Errors> {
        let user = self.user(sid);
        let mut log = Vec::new();
        let (errors, _) = Self::apply_steps(&mut self.running, steps, error_option, &mut log)?;
        if log.is_empty() {
            return if errors.is_empty() {
                Ok(EditOutcome::default())
            } else {
                Err(Errors(errors))
            };
        }

        match self.scope.validate(&mut self.running, &log) {
            Ok(vlog) => log.extend(vlog),
            Err((vlog, errs)) => {
                crate::metrics::validation_failed(crate::metrics::ValidationStage::Yang);
                log.extend(vlog);
                edit::undo(&mut self.running, log);
                return Err(Errors(errs));
            }
        }
        let (changes, schemas) = changes_with_schema(&self.running, &log);
        if changes.is_empty() {
            // Only default flags changed, e.g. a leaf set to its default.
            if test_only {
                edit::undo(&mut self.running, log);
            }
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        if let Err(e) = check_nacm(&self.nacm, self.ctx, &user, &changes) {
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        let sel = self.registry.select(&changes, &schemas);
        if let Err(e) = self.registry.validate(&sel, &self.running) {
            crate::metrics::validation_failed(crate::metrics::ValidationStage::Provider);
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        if test_only {
            edit::undo(&mut self.running, log);
            return Ok(EditOutcome {
                commit: None,
                errors,
            });
        }
        let (prepared, rec) = self.prepare_and_record(&sel, &user, &log, comment);
        if let Err(e) = prepared {
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        let (rec, encoded) = match rec {
            Ok(r) => r,
            Err(e) => {
                self.registry.abort(&sel, &self.running);
                edit::undo(&mut self.running, log);
                return Err(e.into());
            }
        };
        let appended = self.store.append_encoded(&encoded);
        drop(encoded);
        if let Err(e) = appended {
            self.registry.abort(&sel, &self.running);
            edit::undo(&mut self.running, log);
            return Err(e.into());
        }
        self.registry.apply(&sel, &self.running);
        if changes.iter().any(|c| c.schema_path.starts_with(NACM_TOP)) {
            match self.nacm.reload(&self.running) {
                Ok(n) => self.nacm = n,
                Err(e) => {
                    tracing::error!(error = %e, "NACM rules could not be compiled after commit")
                }
            }
        }
        self.commit_id = rec.id;
        self.history.push_back(rec);
        while self.history.len() > self.cfg.history {
            self.history.pop_front();
        }
        let _ = self.events.send(Event::ConfigChanged {
            datastore: Datastore::Running,
            commit_id: Some(self.commit_id),
            user: user.name.clone(),
            session: sid,
            changes: Arc::new(changes),
        });
        if self.store.journal_bytes() >= self.cfg.compact_bytes {
            self.compact();
        }
        Ok(EditOutcome {
            commit: Some(self.commit_id),
            errors,
        })
    }

    /// The providers' prepare, and the journal record of the transaction
    /// (its operations printed from running, read-only). For a large
    /// transaction the record is printed on a thread of its own while the
    /// providers prepare: both only read running, whose values the record
    /// reads are made canonical beforehand, so that no lazy write of libyang
    /// happens on a node both read. The record is written to the journal
    /// only after a successful prepare, as for a small transaction.
    fn prepare_and_record(
        &mut self,
        sel: &crate::provider::Selection<'_>,
        user: &UserCtx,
        log: &[Touched],
        comment: Option<String>,
    ) -> (
        Result<(), MgmtError>,
        Result<(CommitRecord, Encoded), MgmtError>,
    ) {
        let id = self.commit_id + 1;
        let changes = sel.len();
        let running = &self.running;
        let registry = &mut self.registry;
        let one_after_the_other =
            |registry: &mut Registry, comment| match registry.prepare(sel, running) {
                Ok(()) => (Ok(()), record(running, id, user, log, changes, comment)),
                Err(e) => (Err(e), Err(MgmtError::operation_failed("not recorded"))),
            };
        if changes < PARALLEL_RECORD {
            return one_after_the_other(registry, comment);
        }
        ly::canonical_ancestor_keys(
            running,
            log.iter().filter_map(|t| match t {
                Touched::Created {
                    path,
                    implicit: false,
                }
                | Touched::Modified { path, .. } => Some(path.as_str()),
                _ => None,
            }),
        );
        std::thread::scope(|s| {
            let theirs = comment.clone();
            let printing = std::thread::Builder::new()
                .name("mgmt-record".into())
                .spawn_scoped(s, move || record(running, id, user, log, changes, theirs));
            match printing {
                Ok(h) => {
                    let prepared = registry.prepare(sel, running);
                    let rec = h.join().unwrap_or_else(|_| {
                        Err(MgmtError::operation_failed(
                            "printing the journal record panicked",
                        ))
                    });
                    (prepared, rec)
                }
                // No thread to be had: one after the other.
                Err(_) => one_after_the_other(registry, comment),
            }
        })
    }

    /// Rewrites the snapshot and empties the journal. A failure only logs: the
    /// journal still holds every commit.
    pub fn compact(&mut self) {
        let started = Instant::now();
        let history: Vec<CommitRecord> = self.history.iter().cloned().collect();
        let r = print_json(&self.running)
            .and_then(|data| self.store.compact(data, self.commit_id, &history));
        match r {
            Ok(()) => tracing::info!(
                commit = self.commit_id,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "journal compacted"
            ),
            Err(e) => tracing::error!(error = %e, "journal compaction failed"),
        }
    }

    // ===== candidate, commit, confirmed commit =====

    /// RFC 6241 commit of the candidate, with :confirmed-commit:1.1.
    pub fn commit(
        &mut self,
        sid: Option<SessionId>,
        opts: CommitOptions,
    ) -> Result<Option<u64>, Errors> {
        self.check_not_locked(sid, Datastore::Running)?;
        let before = self.commit_id;
        if let Some(pending) = &self.confirm {
            let allowed = match (&pending.persist, &opts.persist_id) {
                (Some(p), Some(given)) => p == given,
                (Some(_), None) => false,
                (None, Some(_)) => false,
                (None, None) => pending.owner == sid,
            };
            if !allowed {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    match &pending.persist {
                        Some(_) => "a persistent confirmed commit is pending: give its persist-id"
                            .to_string(),
                        None => format!(
                            "a confirmed commit of session {} is pending",
                            pending.owner.unwrap_or(0)
                        ),
                    },
                )
                .into());
            }
        } else if opts.persist_id.is_some() {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "no confirmed commit is pending for this persist-id",
            )
            .into());
        }

        let committed = self.commit_candidate(sid, opts.comment.clone())?;
        let user = self.user(sid).name;
        if opts.confirmed {
            let timeout = opts.timeout.unwrap_or(self.cfg.confirm_timeout);
            let event = if self.confirm.is_some() {
                ConfirmEvent::Extend
            } else {
                ConfirmEvent::Start
            };
            let before = self.confirm.as_ref().map(|c| c.before).unwrap_or(before);
            self.confirm = Some(PendingConfirm {
                deadline: Instant::now() + timeout,
                owner: if opts.persist.is_some() { None } else { sid },
                persist: opts.persist.clone(),
                before,
            });
            let _ = self.events.send(Event::ConfirmedCommit {
                event,
                session: sid,
                user,
                timeout_s: Some(timeout.as_secs()),
            });
        } else if self.confirm.take().is_some() {
            let _ = self.events.send(Event::ConfirmedCommit {
                event: ConfirmEvent::Complete,
                session: sid,
                user,
                timeout_s: None,
            });
        }
        Ok(committed)
    }

    fn commit_candidate(
        &mut self,
        sid: Option<SessionId>,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        let Some(tree) = self.candidate.tree.take() else {
            return Ok(None);
        };
        let steps = std::mem::take(&mut self.candidate.steps);
        let fast = self.candidate.base == self.commit_id;
        let result = if fast {
            self.transaction(
                sid,
                Steps::Borrowed(&steps),
                ErrorOption::RollbackOnError,
                false,
                comment,
            )
        } else {
            // Running moved on since the candidate was taken: make running
            // equal to the candidate, touching only what differs.
            let all = vec![EditStep::replace_all(ly::dup_tree(&tree)?)];
            self.transaction(
                sid,
                Steps::Owned(all),
                ErrorOption::RollbackOnError,
                false,
                comment,
            )
        };
        match result {
            Ok(out) => {
                self.candidate = Candidate {
                    tree: None,
                    steps: Vec::new(),
                    base: self.commit_id,
                };
                Ok(out.commit)
            }
            Err(e) => {
                self.candidate.tree = Some(tree);
                self.candidate.steps = steps;
                Err(e)
            }
        }
    }

    /// RFC 6241 cancel-commit.
    pub fn cancel_commit(
        &mut self,
        sid: Option<SessionId>,
        persist_id: Option<&str>,
    ) -> Result<(), MgmtError> {
        let Some(pending) = &self.confirm else {
            return Err(MgmtError::protocol(
                ErrorTag::OperationFailed,
                "no confirmed commit is pending",
            ));
        };
        let allowed = match (&pending.persist, persist_id) {
            (Some(p), Some(given)) => p == given,
            (None, None) => pending.owner == sid,
            _ => false,
        };
        if !allowed {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "this session cannot cancel the pending confirmed commit",
            ));
        }
        self.expire_confirm(ConfirmEvent::Cancel, sid);
        Ok(())
    }

    /// When the confirmed-commit timer fires, if any.
    pub fn confirm_deadline(&self) -> Option<Instant> {
        self.confirm.as_ref().map(|c| c.deadline)
    }

    /// Rolls back an unconfirmed commit whose deadline passed.
    pub fn tick(&mut self, now: Instant) {
        if self.confirm.as_ref().is_some_and(|c| c.deadline <= now) {
            self.expire_confirm(ConfirmEvent::Timeout, None);
        }
    }

    fn expire_confirm(&mut self, event: ConfirmEvent, sid: Option<SessionId>) {
        let Some(pending) = self.confirm.take() else {
            return;
        };
        let comment = format!(
            "confirmed commit {}: rolled back to commit {}",
            if event == ConfirmEvent::Timeout {
                "timed out"
            } else {
                "cancelled"
            },
            pending.before
        );
        if let Err(e) = self.rollback_to(None, pending.before, Some(comment)) {
            tracing::error!(error = %e, "rolling back an unconfirmed commit failed");
        }
        let user = self.user(sid).name;
        let _ = self.events.send(Event::ConfirmedCommit {
            event,
            session: sid,
            user,
            timeout_s: None,
        });
    }

    /// RFC 6241 discard-changes.
    pub fn discard_changes(&mut self, sid: Option<SessionId>) -> Result<(), MgmtError> {
        self.check_not_locked(sid, Datastore::Candidate)?;
        self.candidate = Candidate {
            tree: None,
            steps: Vec::new(),
            base: self.commit_id,
        };
        Ok(())
    }

    /// RFC 6241 validate of a datastore or inline configuration.
    pub fn validate(&self, source: Source) -> Result<(), Errors> {
        let mut tree = match source {
            Source::Inline(t) => t,
            Source::Datastore(Datastore::Candidate) => {
                ly::dup_tree(self.candidate.tree.as_ref().unwrap_or(&self.running))?
            }
            Source::Datastore(Datastore::Startup) => ly::dup_tree(&self.startup)?,
            Source::Datastore(Datastore::Running) => return Ok(()),
            Source::Datastore(Datastore::Operational) => {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "the operational datastore cannot be validated",
                )
                .into());
            }
        };
        match ly::validate_all(&mut tree, DataValidationFlags::NO_STATE) {
            (_, Ok(())) => Ok(()),
            (_, Err(errs)) => {
                crate::metrics::validation_failed(crate::metrics::ValidationStage::Yang);
                Err(Errors(errs))
            }
        }
    }

    /// RFC 6241 copy-config.
    pub fn copy_config(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
        source: Source,
    ) -> Result<(), Errors> {
        if matches!(source, Source::Datastore(s) if s == target) {
            return Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "source and target are the same datastore",
            )
            .into());
        }
        self.check_not_locked(sid, target)?;
        let tree = match source {
            Source::Inline(t) => t,
            Source::Datastore(Datastore::Running) => ly::dup_tree(&self.running)?,
            Source::Datastore(Datastore::Startup) => ly::dup_tree(&self.startup)?,
            Source::Datastore(Datastore::Candidate) => {
                ly::dup_tree(self.candidate.tree.as_ref().unwrap_or(&self.running))?
            }
            Source::Datastore(Datastore::Operational) => {
                return Err(MgmtError::protocol(
                    ErrorTag::InvalidValue,
                    "the operational datastore cannot be copied",
                )
                .into());
            }
        };
        let step = vec![EditStep::replace_all(tree)];
        match target {
            Datastore::Running => self
                .transaction(
                    sid,
                    Steps::Owned(step),
                    ErrorOption::RollbackOnError,
                    false,
                    None,
                )
                .map(|_| ()),
            Datastore::Candidate => {
                self.candidate = Candidate {
                    tree: None,
                    steps: Vec::new(),
                    base: self.commit_id,
                };
                self.edit_candidate(sid, step, ErrorOption::RollbackOnError, false)
                    .map(|_| ())
            }
            Datastore::Startup => self
                .edit_startup(sid, &step, ErrorOption::RollbackOnError, false)
                .map(|_| ()),
            Datastore::Operational => Err(MgmtError::protocol(
                ErrorTag::InvalidValue,
                "the operational datastore is read-only",
            )
            .into()),
        }
    }

    /// RFC 6241 delete-config (startup only; running cannot be deleted).
    pub fn delete_config(
        &mut self,
        sid: Option<SessionId>,
        target: Datastore,
    ) -> Result<(), Errors> {
        if target != Datastore::Startup {
            return Err(MgmtError::protocol(
                ErrorTag::OperationNotSupported,
                "only the startup datastore can be deleted",
            )
            .into());
        }
        self.check_not_locked(sid, target)?;
        if let Some(sid) = sid {
            self.check_exec(sid, "ietf-netconf", "delete-config")?;
        }
        self.store.clear_startup()?;
        self.startup = DataTree::new(self.ctx);
        Ok(())
    }

    // ===== history and rollback =====

    /// The newest commit still in the history, if any (cheap: no copy of
    /// the history; RESTCONF's Last-Modified reads its time).
    pub fn last_commit(&self) -> Option<&CommitRecord> {
        self.history.back()
    }

    /// The commit history, newest first.
    pub fn history(&self) -> Vec<CommitRecord> {
        self.history.iter().rev().cloned().collect()
    }

    /// Restores running to what it was right after commit `id`, as a new
    /// commit. `id` may be any commit still in the history, or the one just
    /// before the oldest.
    pub fn rollback_to(
        &mut self,
        sid: Option<SessionId>,
        id: u64,
        comment: Option<String>,
    ) -> Result<Option<u64>, Errors> {
        self.check_not_locked(sid, Datastore::Running)?;
        if id > self.commit_id {
            return Err(MgmtError::invalid_value(format!(
                "commit {id} does not exist (the last is {})",
                self.commit_id
            ))
            .into());
        }
        if id == self.commit_id {
            return Ok(None);
        }
        let oldest = self
            .history
            .front()
            .map(|r| r.id)
            .unwrap_or(self.commit_id + 1);
        if id + 1 < oldest {
            return Err(MgmtError::invalid_value(format!(
                "commit {id} is no longer in the history (the oldest kept is {oldest})"
            ))
            .into());
        }
        let mut steps = Vec::new();
        for rec in self.history.iter().rev().take_while(|r| r.id > id) {
            for op in &rec.undo {
                steps.push(step_of(self.ctx, op)?);
            }
        }
        let comment = comment.or_else(|| Some(format!("rollback to commit {id}")));
        self.transaction(
            sid,
            Steps::Owned(steps),
            ErrorOption::RollbackOnError,
            false,
            comment,
        )
        .map(|o| o.commit)
    }

    // ===== RPCs =====

    /// Runs an RPC or action whose input is `input` (the operation node with
    /// its input children): nectar-mgmt's own, or a provider's.
    pub fn rpc(&mut self, sid: Option<SessionId>, input: &Tree) -> Result<Option<Tree>, Errors> {
        let Some(op) = input.reference() else {
            return Err(MgmtError::protocol(ErrorTag::MalformedMessage, "empty RPC").into());
        };
        let op = op
            .traverse()
            .find(|n| {
                matches!(
                    n.schema().kind(),
                    SchemaNodeKind::Rpc | SchemaNodeKind::Action
                )
            })
            .unwrap_or(op);
        let schema_path = ly::schema_path_of(&op.path());
        let module = op.schema().module().name().to_string();
        let name = op.schema().name().to_string();
        let user = self.user(sid);
        if !self.nacm.check_rpc(&user, &module, &name).is_permit() {
            return Err(MgmtError::protocol(
                ErrorTag::AccessDenied,
                format!("{module}:{name} is not permitted"),
            )
            .into());
        }
        if schema_path == "/nectar-mgmt:rollback" {
            let id = find_leaf(&op, "id")
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    MgmtError::app(ErrorTag::MissingElement, "rollback needs an id")
                        .with_app_tag("missing-element")
                })?;
            let comment = find_leaf(&op, "comment");
            let made = self.rollback_to(sid, id, comment)?;
            let mut out = DataTree::new(self.ctx);
            if let Some(made) = made {
                out.new_path("/nectar-mgmt:rollback/id", Some(&made.to_string()), true)
                    .map_err(MgmtError::from)?;
            }
            return Ok(Some(out));
        }
        let args = RpcArgs {
            input,
            user: &user.name,
        };
        match self.registry.rpc(&schema_path, &args) {
            Some(r) => r.map_err(Errors::from),
            None => Err(MgmtError::app(
                ErrorTag::OperationNotSupported,
                format!("{module}:{name} is not supported"),
            )
            .into()),
        }
    }

    /// Fills nectar-mgmt's commit-history state into `out`.
    /// The commit history as `nectar-mgmt:commit-history` state, as `user`
    /// may see it: the `diff` of a commit is shown only to a user allowed to
    /// read every node the commit changed, before and after (RFC 8341 read
    /// access), since it quotes their values.
    pub fn history_state(&self, out: &mut Tree, user: &UserCtx) -> Result<(), MgmtError> {
        for rec in self.history.iter().rev() {
            let base = format!("/nectar-mgmt:commit-history/commit[id='{}']", rec.id);
            out.new_path(&format!("{base}/user"), Some(&rec.user), false)?;
            out.new_path(&format!("{base}/timestamp"), Some(&rec.time), false)?;
            if !rec.comment.is_empty() {
                out.new_path(&format!("{base}/comment"), Some(&rec.comment), false)?;
            }
            out.new_path(
                &format!("{base}/changes"),
                Some(&rec.changes.to_string()),
                false,
            )?;
            if self.diff_readable(rec, user) {
                let diff = serde_json::to_string(&rec.ops).unwrap_or_default();
                out.new_path(&format!("{base}/diff"), Some(&diff), false)?;
            }
        }
        Ok(())
    }

    /// Whether `user` may read all the data a commit's diff quotes: the
    /// content it wrote and the content its undo restores. The nodes are
    /// rebuilt in a scratch tree and put through the read filter; a node the
    /// filter removes (or one that cannot be rebuilt) hides the diff.
    fn diff_readable(&self, rec: &CommitRecord, user: &UserCtx) -> bool {
        if self.nacm.bypass(user) {
            return true;
        }
        let mut scratch = DataTree::new(self.ctx);
        for op in rec.ops.iter().chain(rec.undo.iter()) {
            let built = match op {
                PrimOp::Merge(json) => {
                    parse_json(self.ctx, json).and_then(|t| Ok(scratch.merge(&t)?))
                }
                PrimOp::Set(path, value) => scratch
                    .new_path(path, Some(value), false)
                    .map(|_| ())
                    .map_err(MgmtError::from),
                PrimOp::Remove(path) => scratch
                    .new_path(path, None, false)
                    .map(|_| ())
                    .map_err(MgmtError::from),
            };
            if built.is_err() {
                return false;
            }
        }
        let count = |t: &Tree| t.traverse().count();
        let before = count(&scratch);
        self.nacm.filter_read(user, &mut scratch);
        count(&scratch) == before
    }
}

fn find_leaf(op: &DataNodeRef<'_, 'static>, name: &str) -> Option<String> {
    op.children()
        .find(|c| c.schema().name() == name)
        .and_then(|c| c.value_canonical())
}

fn check_nacm(
    nacm: &Nacm,
    ctx: &'static Context,
    user: &UserCtx,
    changes: &[Change],
) -> Result<(), MgmtError> {
    if user.superuser {
        return Ok(());
    }
    let mut list = Vec::with_capacity(changes.len());
    // Many changes share a schema node (every entry of a list): each schema
    // path is resolved once.
    let mut schemas = HashMap::new();
    for c in changes {
        let found = schemas
            .entry(c.schema_path.as_str())
            .or_insert_with(|| ctx.find_path(&c.schema_path).ok());
        let Some(schema) = found.clone() else {
            continue;
        };
        let op = match c.op {
            ChangeOp::Create => nacm::Access::Create,
            ChangeOp::Delete => nacm::Access::Delete,
            ChangeOp::Modify => nacm::Access::Update,
        };
        list.push(nacm::Change {
            op,
            path: c.path.clone(),
            schema,
        });
    }
    nacm.check_changes(user, &list)
        .map_err(|d| MgmtError::access_denied(Some(d.path)))
}

/// The node-level changes a log describes, in the order providers want them
/// (parents before children on creation, children first on deletion), with
/// a deletion and re-creation of the same leaf folded into a modification.
pub fn changes_from_log(tree: &Tree, log: &[Touched]) -> Vec<Change> {
    changes_with_schema(tree, log).0
}

/// [`changes_from_log`], with the schema node of each change (as an opaque
/// identity: equal for changes of the same schema node, whose schema paths
/// are then equal too), for the provider selection.
fn changes_with_schema(tree: &Tree, log: &[Touched]) -> (Vec<Change>, Vec<usize>) {
    let mut out: Vec<Change> = Vec::new();
    let mut schemas: Vec<usize> = Vec::new();
    // Deletions folded away (a leaf re-created with the same value).
    let mut gone: Vec<usize> = Vec::new();
    let mut deleted_leaf: HashMap<String, usize> = HashMap::new();
    let leaf_value = |n: &DataNodeRef<'_, 'static>| match n.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => n.value_canonical(),
        _ => None,
    };
    let schema_of = |n: &DataNodeRef<'_, 'static>| n.schema().as_raw() as usize;
    for t in log {
        match t {
            Touched::Created { path, .. } => {
                let Ok(Some(root)) = ly::find(tree, path) else {
                    continue;
                };
                // One change per node: room for them all at once (a subtree may
                // hold most of the datastore).
                let count = root.traverse().count();
                out.reserve(count);
                schemas.reserve(count);
                ly::walk_paths(&root, |n, p, schema_path| {
                    let new = leaf_value(n);
                    if !deleted_leaf.is_empty()
                        && let Some(i) = deleted_leaf.remove(p)
                    {
                        let c = &mut out[i];
                        if c.old != new {
                            c.op = ChangeOp::Modify;
                            c.new = new;
                        } else {
                            gone.push(i);
                        }
                        return;
                    }
                    out.push(Change {
                        op: ChangeOp::Create,
                        schema_path: schema_path.to_string(),
                        path: p.to_string(),
                        old: None,
                        new,
                    });
                    schemas.push(schema_of(n));
                });
            }
            Touched::Deleted { path, backup } => {
                let Ok(Some(root)) = ly::find(backup, path) else {
                    continue;
                };
                let mut nodes = Vec::new();
                ly::walk_paths(&root, |n, p, schema_path| {
                    nodes.push((
                        leaf_value(n),
                        p.to_string(),
                        schema_path.to_string(),
                        schema_of(n),
                    ));
                });
                for (old, p, schema_path, schema) in nodes.into_iter().rev() {
                    if old.is_some() {
                        deleted_leaf.insert(p.clone(), out.len());
                    }
                    out.push(Change {
                        op: ChangeOp::Delete,
                        schema_path,
                        path: p,
                        old,
                        new: None,
                    });
                    schemas.push(schema);
                }
            }
            Touched::Modified { path, old, .. } => {
                let Ok(Some(n)) = ly::find(tree, path) else {
                    continue;
                };
                let new = n.value_canonical();
                if new.as_deref() != Some(old.as_str()) {
                    out.push(Change {
                        op: ChangeOp::Modify,
                        schema_path: ly::schema_path_of(path),
                        path: path.clone(),
                        old: Some(old.clone()),
                        new,
                    });
                    schemas.push(schema_of(&n));
                }
            }
        }
    }
    if !gone.is_empty() {
        gone.sort_unstable();
        let mut keep = vec![true; out.len()];
        for i in gone {
            keep[i] = false;
        }
        let mut k = keep.iter();
        out.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        schemas.retain(|_| *k.next().unwrap_or(&true));
    }
    (out, schemas)
}

/// From this many changes on, a transaction's journal record is printed
/// while the providers prepare ([`Core::prepare_and_record`]).
const PARALLEL_RECORD: usize = 4096;

/// The journal record of a transaction (commit `id`) on `running`, and its
/// encoding for the journal.
fn record(
    running: &Tree,
    id: u64,
    user: &UserCtx,
    log: &[Touched],
    changes: usize,
    comment: Option<String>,
) -> Result<(CommitRecord, Encoded), MgmtError> {
    let rec = CommitRecord {
        id,
        user: user.name.clone(),
        time: now_rfc3339(),
        comment: comment.unwrap_or_default(),
        changes: changes as u32,
        ops: forward_ops(running, log)?,
        undo: undo_ops(log)?,
    };
    let encoded = Encoded::new(&rec)?;
    Ok((rec, encoded))
}

/// The operations that replay a logged transaction onto the content before
/// it (journal).
fn forward_ops(tree: &Tree, log: &[Touched]) -> Result<Vec<PrimOp>, MgmtError> {
    let mut ops = Vec::new();
    for t in log {
        match t {
            Touched::Created { implicit: true, .. } => {}
            Touched::Created {
                path,
                implicit: false,
            } => {
                if let Some(json) = edit::subtree_json(tree, path)? {
                    ops.push(PrimOp::Merge(json));
                }
            }
            Touched::Deleted { path, .. } => ops.push(PrimOp::Remove(path.clone())),
            Touched::Modified { path, .. } => {
                if let Some(n) = ly::find(tree, path)?
                    && !n.is_default()
                {
                    ops.push(PrimOp::Set(
                        path.clone(),
                        n.value_canonical().unwrap_or_default(),
                    ));
                }
            }
        }
    }
    Ok(ops)
}

/// The operations that revert a logged transaction (history, rollback).
fn undo_ops(log: &[Touched]) -> Result<Vec<PrimOp>, MgmtError> {
    let mut ops = Vec::new();
    for t in log.iter().rev() {
        match t {
            Touched::Created { implicit: true, .. } => {}
            Touched::Created {
                path,
                implicit: false,
            } => ops.push(PrimOp::Remove(path.clone())),
            Touched::Deleted { backup, .. } => {
                let json = print_json(backup)?;
                if json != "{}" {
                    ops.push(PrimOp::Merge(json));
                }
            }
            Touched::Modified {
                path,
                old,
                old_default,
            } => {
                if *old_default {
                    ops.push(PrimOp::Remove(path.clone()));
                } else {
                    ops.push(PrimOp::Set(path.clone(), old.clone()));
                }
            }
        }
    }
    Ok(ops)
}

/// A primitive operation as an edit step.
fn step_of(ctx: &'static Context, op: &PrimOp) -> Result<EditStep, MgmtError> {
    Ok(match op {
        PrimOp::Remove(p) => EditStep::at(Op::Remove, p.clone(), None),
        PrimOp::Merge(json) => EditStep::merge(parse_json(ctx, json)?),
        PrimOp::Set(p, v) => {
            let mut t = DataTree::new(ctx);
            ly::set_value(&mut t, p, Some(v))?;
            EditStep::merge(t)
        }
    })
}

/// Applies journaled operations to a tree (no validation: the caller
/// validates once at the end).
fn replay(ctx: &'static Context, tree: &mut Tree, ops: &[PrimOp]) -> Result<(), MgmtError> {
    for op in ops {
        match op {
            PrimOp::Remove(p) => {
                ly::remove(tree, p)?;
            }
            PrimOp::Merge(json) => tree.merge(&parse_json(ctx, json)?)?,
            PrimOp::Set(p, v) => ly::set_value(tree, p, Some(v))?,
        }
    }
    Ok(())
}

/// The NACM rules live in running; mgmt itself is their provider: it accepts
/// any change libyang validated and recompiles the rules after the commit.
struct NacmProvider;

impl crate::provider::Provider for NacmProvider {
    fn name(&self) -> &'static str {
        "nacm"
    }

    fn callbacks() -> crate::provider::Callbacks<Self> {
        crate::provider::Callbacks::new().subtree(NACM_TOP)
    }

    /// Rules the evaluator cannot use are refused before the commit, not
    /// after it: the new rules are compiled once per transaction.
    fn prepare_done(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        Nacm::from_tree(tree)
            .map(|_| ())
            .map_err(|e| MgmtError::invalid_value(e.to_string()).with_path(NACM_TOP))
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeOp, changes_from_log, parse_json};
    use crate::edit::Touched;
    use crate::ly;

    const IF: &str = "/ietf-interfaces:interfaces/interface";

    fn iface(name: &str, rest: &str) -> String {
        format!(
            r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"{rest}}}]}}}}"#
        )
    }

    /// A leaf deleted then re-created (validation putting a default back)
    /// becomes one modification, or nothing when its value is the same; the
    /// other changes keep their order around the ones folded away.
    #[test]
    fn deleted_then_recreated_leaves_fold() {
        let ctx = ly::test_ctx();
        let before = parse_json(ctx, &iface("a", r#","enabled":true,"description":"x""#)).unwrap();
        let after = parse_json(
            ctx,
            r#"{"ietf-interfaces:interfaces":{"interface":[
                {"name":"a","type":"iana-if-type:ethernetCsmacd","enabled":true,"description":"y"},
                {"name":"b","type":"iana-if-type:ethernetCsmacd"}]}}"#,
        )
        .unwrap();
        let a = format!("{IF}[name='a']");
        let b = format!("{IF}[name='b']");
        let backup = |leaf: &str| {
            let n = ly::find(&before, &format!("{a}/{leaf}")).unwrap().unwrap();
            ly::dup_with_parents(&n).unwrap()
        };
        let log = vec![
            Touched::Deleted {
                path: format!("{a}/enabled"),
                backup: backup("enabled"),
            },
            Touched::Deleted {
                path: format!("{a}/description"),
                backup: backup("description"),
            },
            Touched::Created {
                path: b.clone(),
                implicit: false,
            },
            Touched::Created {
                path: format!("{a}/enabled"),
                implicit: true,
            },
            Touched::Created {
                path: format!("{a}/description"),
                implicit: false,
            },
        ];
        let got: Vec<(ChangeOp, String, Option<String>, Option<String>)> =
            changes_from_log(&after, &log)
                .into_iter()
                .map(|c| (c.op, c.path, c.old, c.new))
                .collect();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            got,
            vec![
                (ChangeOp::Modify, format!("{a}/description"), s("x"), s("y")),
                (ChangeOp::Create, b.clone(), None, None),
                (ChangeOp::Create, format!("{b}/name"), None, s("b")),
                (
                    ChangeOp::Create,
                    format!("{b}/type"),
                    None,
                    s("iana-if-type:ethernetCsmacd")
                ),
            ]
        );
    }
}
