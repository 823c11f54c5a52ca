//! The datastores and everything that changes them: edits, transactions
//! through the providers, durability, locks, sessions, the candidate,
//! confirmed commits, the commit history and rollback. `Core` is a plain
//! synchronous state machine; `crate::handle` runs it on its own thread as
//! the one owner of the datastores (actor) and gives clients an async handle.
//!
//! The state and start-up are here; the operations are in rooms of their own:
//! `sessions` (sessions, NACM checks of operations, locks), `editing` (reads
//! and edits), `transaction` (changes to running through the providers),
//! `commit` (the candidate, confirmed commit, validate, copy and delete),
//! `history` (commit history and rollback).

use nectar_yang::print::NodePath;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use yang2::context::Context;
use yang2::data::{DataFormat, DataPrinterFlags, DataTree, DataValidationFlags};
use yang2::schema::SchemaNodeKind;

use crate::edit::{EditStep, Touched};
use crate::error::{ErrorTag, Errors, MgmtError};
use crate::ly::{self, Tree};
use crate::nacm::{Nacm, UserCtx};
use crate::provider::{Registry, RpcArgs};
use crate::scope::Scope;
use crate::store::{CommitRecord, Store};
use crate::types::{Datastore, Event, SessionId, SessionInfo};

mod commit;
mod editing;
mod history;
mod sessions;
mod transaction;

pub use transaction::changes_from_log;
use transaction::{changes_with_schema, check_nacm, find_leaf, replay, step_of};

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
    /// Bytes the kept commits may hold in all (see [`CommitRecord::bytes`]): the oldest go
    /// first beyond it, the newest always stays.
    pub history_bytes: usize,
    /// Journal size that triggers a snapshot.
    pub compact_bytes: u64,
    /// confirm-timeout when a confirmed commit names none (RFC 6241: 600 s).
    pub confirm_timeout: Duration,
    /// Requests that may change a datastore (edits, commits, copies,
    /// rollbacks, RPCs) waiting for the core or running, at most; a further
    /// one is refused with `resource-denied` (see [`crate::MgmtHandle`]).
    pub max_pending_commits: usize,
}

/// The default of [`CoreConfig::history_bytes`].
pub const DEFAULT_HISTORY_BYTES: usize = 64 << 20;

/// The default of [`CoreConfig::max_pending_commits`].
pub const DEFAULT_MAX_PENDING_COMMITS: usize = 128;

impl CoreConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        CoreConfig {
            state_dir: state_dir.into(),
            load: LoadFrom::Startup,
            history: 50,
            history_bytes: DEFAULT_HISTORY_BYTES,
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

/// A confirmed-commit action carried by an edit of running, without the
/// candidate: gNMI's commit-confirmed extension. The commit is an RFC 6241
/// persistent confirmed commit whose persist-id is the client's `id`, so it
/// and a NETCONF confirmed commit exclude each other (one is pending at a
/// time) and either protocol can see, confirm or cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    /// Apply the edit and start the rollback timer (the configured default
    /// when `None`).
    Start {
        id: String,
        timeout: Option<Duration>,
    },
    Confirm {
        id: String,
    },
    Cancel {
        id: String,
    },
    /// Restart the timer with a new duration.
    SetTimeout {
        id: String,
        timeout: Duration,
    },
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

/// The shared candidate (RFC 6241 §8.3). Without a tree of its own it is
/// running plus `steps` (none: identical to running): an edit and its commit
/// then cost the size of the change, not of the datastore. It gets a tree
/// when running moves under pending edits, for an edit the lazy form does not
/// take (see [`LAZY_CANDIDATE_STEPS`]) and for a `test-only` edit.
#[derive(Debug)]
struct Candidate {
    tree: Option<Tree>,
    /// The edits that made the candidate from running at `base`, for a
    /// commit that costs the size of the change.
    steps: Vec<EditStep>,
    base: u64,
}

impl Candidate {
    fn empty(base: u64) -> Candidate {
        Candidate {
            tree: None,
            steps: Vec::new(),
            base,
        }
    }

    /// Whether an edit has been made since the last commit or discard.
    fn is_modified(&self) -> bool {
        self.tree.is_some() || !self.steps.is_empty()
    }

    /// Keeps the steps of an edit that applied (`ok` says which did).
    fn keep(&mut self, steps: Vec<EditStep>, ok: Vec<bool>) {
        self.steps.extend(
            steps
                .into_iter()
                .zip(ok.into_iter().chain(std::iter::repeat(false)))
                .filter(|(_, ok)| *ok)
                .map(|(s, _)| s),
        );
    }
}

/// Pending edits up to which the candidate stays running plus its edits:
/// each edit re-applies them to running and undoes them, so their number
/// bounds its cost.
const LAZY_CANDIDATE_STEPS: usize = 64;

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
    /// [`CommitRecord::bytes`] of `history`, in all.
    history_bytes: usize,
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

pub use crate::ly::parse_json;

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
        let mut history_bytes = trim_history(&mut history, &cfg, None);
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
            history_bytes = 0;
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
            candidate: Candidate::empty(commit_id),
            store,
            history,
            history_bytes,
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
                path: n.data_path(),
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
        let schema_path = ly::schema_path_of(&op.data_path());
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
}

/// Drops the oldest commits of `history` beyond `cfg.history` of them or
/// `cfg.history_bytes` bytes (the newest stays whatever its size); returns the bytes
/// left. `total` is the bytes of `history` when known.
fn trim_history(
    history: &mut VecDeque<CommitRecord>,
    cfg: &CoreConfig,
    total: Option<usize>,
) -> usize {
    let mut total = total.unwrap_or_else(|| history.iter().map(CommitRecord::bytes).sum());
    while history.len() > cfg.history || (total > cfg.history_bytes && history.len() > 1) {
        if let Some(old) = history.pop_front() {
            total -= old.bytes();
        }
    }
    total
}

/// From this many changes on, a transaction's journal record is printed
/// while the providers prepare ([`Core::prepare_and_record`]).
const PARALLEL_RECORD: usize = 4096;

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
