//! Providers: the code behind the models. Each provider declares a table of
//! callbacks keyed by YANG schema path (STYLE.md): per-node validate (pure),
//! prepare (may fail, reserves resources), apply (cannot fail; only updates
//! the provider's own config structs) and abort; then whole-transaction hooks
//! that run the side effects once. Also operational-state and RPC callbacks.
//! At start-up `Registry::check_coverage` refuses a model set in which a
//! configuration node has no callback and is not deviated away.

use std::collections::HashMap;

use yang2::context::Context;
use yang2::data::DataNodeRef;
use yang2::schema::{SchemaNode, SchemaNodeKind, SchemaPathFormat};

use crate::error::MgmtError;
use crate::ly::{self, Tree};

/// What happened to one data node in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Create,
    Delete,
    Modify,
}

/// One changed data node. Parents come before children for creations and
/// after them for deletions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub op: ChangeOp,
    /// Data path (JSON style).
    pub path: String,
    /// Schema path: the data path without predicates; the callback key.
    pub schema_path: String,
    /// Old canonical value of a leaf (delete, modify).
    pub old: Option<String>,
    /// New canonical value of a leaf (create, modify).
    pub new: Option<String>,
}

/// Arguments of a per-node callback.
#[derive(Debug)]
pub struct CbArgs<'a> {
    pub change: &'a Change,
    /// The datastore as it will be after the transaction.
    pub tree: &'a Tree,
}

impl<'a> CbArgs<'a> {
    /// The changed node in the new tree (`None` for a deletion).
    pub fn node(&self) -> Option<DataNodeRef<'a, 'static>> {
        ly::find(self.tree, &self.change.path).ok().flatten()
    }
}

/// Arguments of an operational-state callback.
#[derive(Debug)]
pub struct StateArgs<'a> {
    /// The data path the reader asked for, if narrower than the callback's
    /// root: a provider serves only that part when it can.
    pub path: Option<&'a str>,
}

/// Arguments of an RPC or action callback.
#[derive(Debug)]
pub struct RpcArgs<'a> {
    /// The RPC's input tree (the rpc node with its input children).
    pub input: &'a Tree,
    pub user: &'a str,
}

pub type ValidateFn<P> = fn(&P, &CbArgs<'_>) -> Result<(), MgmtError>;
pub type PrepareFn<P> = fn(&mut P, &CbArgs<'_>) -> Result<(), MgmtError>;
pub type ApplyFn<P> = fn(&mut P, &CbArgs<'_>);
pub type StateFn<P> = fn(&P, &StateArgs<'_>, &mut Tree) -> Result<(), MgmtError>;
pub type RpcFn<P> = fn(&mut P, &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError>;

/// Callbacks of one schema node.
#[derive(Debug)]
pub struct NodeCallbacks<P> {
    pub validate: Option<ValidateFn<P>>,
    pub prepare: Option<PrepareFn<P>>,
    pub apply: Option<ApplyFn<P>>,
    pub abort: Option<ApplyFn<P>>,
}

impl<P> Default for NodeCallbacks<P> {
    fn default() -> Self {
        NodeCallbacks {
            validate: None,
            prepare: None,
            apply: None,
            abort: None,
        }
    }
}

/// A provider's callback table, built with a small builder:
/// `Callbacks::new().path(P).validate(f).apply(g).path(Q).apply(h)`.
#[derive(Debug)]
pub struct Callbacks<P> {
    nodes: HashMap<String, NodeCallbacks<P>>,
    /// Subtrees handled wholesale: every config node under the prefix.
    subtrees: Vec<(String, NodeCallbacks<P>)>,
    state: Vec<(String, StateFn<P>)>,
    rpcs: HashMap<String, RpcFn<P>>,
    current: Option<Current>,
}

#[derive(Debug, Clone)]
enum Current {
    Node(String),
    Subtree(usize),
}

impl<P> Default for Callbacks<P> {
    fn default() -> Self {
        Callbacks {
            nodes: HashMap::new(),
            subtrees: Vec::new(),
            state: Vec::new(),
            rpcs: HashMap::new(),
            current: None,
        }
    }
}

impl<P> Callbacks<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the callbacks of one schema node (data path without predicates).
    pub fn path(mut self, schema_path: &str) -> Self {
        self.nodes.entry(schema_path.to_string()).or_default();
        self.current = Some(Current::Node(schema_path.to_string()));
        self
    }

    /// Starts callbacks that serve every configuration node under a schema
    /// path (for providers that treat a subtree as one object).
    pub fn subtree(mut self, schema_path: &str) -> Self {
        self.subtrees
            .push((schema_path.to_string(), NodeCallbacks::default()));
        self.current = Some(Current::Subtree(self.subtrees.len() - 1));
        self
    }

    fn cur(&mut self) -> &mut NodeCallbacks<P> {
        match self
            .current
            .clone()
            .expect("call path() or subtree() first")
        {
            Current::Node(p) => self.nodes.get_mut(&p).expect("registered"),
            Current::Subtree(i) => &mut self.subtrees[i].1,
        }
    }

    pub fn validate(mut self, f: ValidateFn<P>) -> Self {
        self.cur().validate = Some(f);
        self
    }

    pub fn prepare(mut self, f: PrepareFn<P>) -> Self {
        self.cur().prepare = Some(f);
        self
    }

    pub fn apply(mut self, f: ApplyFn<P>) -> Self {
        self.cur().apply = Some(f);
        self
    }

    pub fn abort(mut self, f: ApplyFn<P>) -> Self {
        self.cur().abort = Some(f);
        self
    }

    /// Operational state under a schema path.
    pub fn state(mut self, schema_path: &str, f: StateFn<P>) -> Self {
        self.state.push((schema_path.to_string(), f));
        self
    }

    /// An RPC or action, by schema path (e.g. `/nectar-mgmt:rollback`).
    pub fn rpc(mut self, schema_path: &str, f: RpcFn<P>) -> Self {
        self.rpcs.insert(schema_path.to_string(), f);
        self
    }

    fn lookup(&self, schema_path: &str) -> Option<&NodeCallbacks<P>> {
        self.nodes.get(schema_path).or_else(|| {
            self.subtrees
                .iter()
                .find(|(prefix, _)| under(schema_path, prefix))
                .map(|(_, cb)| cb)
        })
    }

    fn covers(&self, schema_path: &str) -> bool {
        self.lookup(schema_path).is_some()
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// A provider: the owner of some part of the models.
pub trait Provider: Send + 'static {
    /// A short name for logs and errors.
    fn name(&self) -> &'static str;

    /// The provider's callback table, asked for once at registration.
    fn callbacks() -> Callbacks<Self>
    where
        Self: Sized;

    /// After every per-node prepare of a transaction succeeded: check or
    /// reserve what the transaction needs as a whole. May fail.
    fn prepare_done(&mut self, _tree: &Tree) -> Result<(), MgmtError> {
        Ok(())
    }

    /// After every apply callback: perform the side effects once. Cannot fail.
    fn apply_done(&mut self, _tree: &Tree) {}

    /// The transaction is abandoned after a successful prepare: release what
    /// was reserved. Cannot fail.
    fn abort_done(&mut self) {}
}

/// A provider with its table, type-erased so the registry can hold many.
trait Erased: Send {
    fn name(&self) -> &'static str;
    fn covers(&self, schema_path: &str) -> bool;
    fn handles_any(&self, changes: &[Change]) -> bool;
    fn validate(&self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError>;
    fn prepare(&mut self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError>;
    fn abort(&mut self, changes: &[Change], tree: &Tree);
    fn apply(&mut self, changes: &[Change], tree: &Tree);
    fn state_roots(&self) -> Vec<String>;
    fn state(&self, root: &str, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError>;
    fn has_rpc(&self, schema_path: &str) -> bool;
    fn rpc(&mut self, schema_path: &str, args: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError>;
}

struct Registered<P: Provider> {
    provider: P,
    callbacks: Callbacks<P>,
}

impl<P: Provider> Erased for Registered<P> {
    fn name(&self) -> &'static str {
        self.provider.name()
    }

    fn covers(&self, schema_path: &str) -> bool {
        self.callbacks.covers(schema_path)
    }

    fn handles_any(&self, changes: &[Change]) -> bool {
        changes
            .iter()
            .any(|c| self.callbacks.covers(&c.schema_path))
    }

    fn validate(&self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError> {
        for change in changes {
            if let Some(f) = self
                .callbacks
                .lookup(&change.schema_path)
                .and_then(|c| c.validate)
            {
                f(&self.provider, &CbArgs { change, tree })?;
            }
        }
        Ok(())
    }

    fn prepare(&mut self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError> {
        let mut done = 0;
        for (i, change) in changes.iter().enumerate() {
            if let Some(f) = self
                .callbacks
                .lookup(&change.schema_path)
                .and_then(|c| c.prepare)
                && let Err(e) = f(&mut self.provider, &CbArgs { change, tree })
            {
                // Release what the earlier nodes of this provider reserved.
                self.abort(&changes[..done], tree);
                return Err(e);
            }
            done = i + 1;
        }
        if let Err(e) = self.provider.prepare_done(tree) {
            self.abort(changes, tree);
            return Err(e);
        }
        Ok(())
    }

    fn abort(&mut self, changes: &[Change], tree: &Tree) {
        for change in changes.iter().rev() {
            if let Some(f) = self
                .callbacks
                .lookup(&change.schema_path)
                .and_then(|c| c.abort)
            {
                f(&mut self.provider, &CbArgs { change, tree });
            }
        }
        self.provider.abort_done();
    }

    fn apply(&mut self, changes: &[Change], tree: &Tree) {
        for change in changes {
            if let Some(f) = self
                .callbacks
                .lookup(&change.schema_path)
                .and_then(|c| c.apply)
            {
                f(&mut self.provider, &CbArgs { change, tree });
            }
        }
        self.provider.apply_done(tree);
    }

    fn state_roots(&self) -> Vec<String> {
        self.callbacks
            .state
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn state(&self, root: &str, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
        for (p, f) in &self.callbacks.state {
            if p == root {
                f(&self.provider, args, out)?;
            }
        }
        Ok(())
    }

    fn has_rpc(&self, schema_path: &str) -> bool {
        self.callbacks.rpcs.contains_key(schema_path)
    }

    fn rpc(&mut self, schema_path: &str, args: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
        match self.callbacks.rpcs.get(schema_path) {
            Some(f) => f(&mut self.provider, args),
            None => Err(MgmtError::app(
                crate::error::ErrorTag::OperationNotSupported,
                "no handler for this operation",
            )),
        }
    }
}

/// All providers of the process, in registration order.
#[derive(Default)]
pub struct Registry {
    providers: Vec<Box<dyn Erased>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.name()))
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register<P: Provider>(&mut self, provider: P) -> &mut Self {
        self.providers.push(Box::new(Registered {
            callbacks: P::callbacks(),
            provider,
        }));
        self
    }

    /// Every configuration node of every implemented module that no provider
    /// covers, as schema paths. List keys (served with their list entry),
    /// non-presence containers (no data of their own), choices and cases are
    /// exempt; nodes deviated `not-supported` do not exist in the compiled
    /// schema and so are never reported. An empty result means the daemon may
    /// start.
    pub fn uncovered(&self, ctx: &Context) -> Vec<String> {
        let mut out = Vec::new();
        for module in ctx.modules(true) {
            if !module.is_implemented() {
                continue;
            }
            for top in module.data() {
                for node in top.traverse() {
                    if needs_callback(&node) {
                        let p = node.path(SchemaPathFormat::DATA);
                        if !self.providers.iter().any(|pr| pr.covers(&p)) {
                            out.push(p);
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Refuses a model set with uncovered configuration nodes (see
    /// `uncovered`).
    pub fn check_coverage(&self, ctx: &Context) -> Result<(), MgmtError> {
        let missing = self.uncovered(ctx);
        if missing.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        Err(MgmtError::operation_failed(format!(
            "{} configuration node(s) have no provider callback and are not deviated not-supported: {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )))
    }

    pub(crate) fn validate(&self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError> {
        for p in &self.providers {
            if p.handles_any(changes) {
                p.validate(changes, tree)
                    .map_err(|e| tag_provider(e, p.name()))?;
            }
        }
        Ok(())
    }

    /// Prepares every provider touched by the changes; on a failure aborts
    /// the ones already prepared (and the failing one) and returns the error.
    pub(crate) fn prepare(&mut self, changes: &[Change], tree: &Tree) -> Result<(), MgmtError> {
        let mut prepared: Vec<usize> = Vec::new();
        for i in 0..self.providers.len() {
            if !self.providers[i].handles_any(changes) {
                continue;
            }
            if let Err(e) = self.providers[i].prepare(changes, tree) {
                let name = self.providers[i].name();
                for j in prepared.into_iter().rev() {
                    self.providers[j].abort(changes, tree);
                }
                return Err(tag_provider(e, name));
            }
            prepared.push(i);
        }
        Ok(())
    }

    pub(crate) fn abort(&mut self, changes: &[Change], tree: &Tree) {
        for p in self.providers.iter_mut().rev() {
            if p.handles_any(changes) {
                p.abort(changes, tree);
            }
        }
    }

    pub(crate) fn apply(&mut self, changes: &[Change], tree: &Tree) {
        for p in self.providers.iter_mut() {
            if p.handles_any(changes) {
                p.apply(changes, tree);
            }
        }
    }

    /// Fills operational state for every state root (optionally only the
    /// roots a requested path can reach).
    pub(crate) fn state(&self, path: Option<&str>, out: &mut Tree) -> Result<(), MgmtError> {
        let wanted_schema = path.map(ly::schema_path_of);
        for p in &self.providers {
            for root in p.state_roots() {
                let relevant = match &wanted_schema {
                    None => true,
                    Some(w) => under(w, &root) || under(&root, w),
                };
                if relevant {
                    p.state(&root, &StateArgs { path }, out)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn rpc(
        &mut self,
        schema_path: &str,
        args: &RpcArgs<'_>,
    ) -> Option<Result<Option<Tree>, MgmtError>> {
        self.providers
            .iter_mut()
            .find(|p| p.has_rpc(schema_path))
            .map(|p| p.rpc(schema_path, args))
    }
}

fn tag_provider(e: MgmtError, name: &str) -> MgmtError {
    tracing::debug!(provider = name, error = %e, "provider refused the transaction");
    e
}

fn needs_callback(node: &SchemaNode<'_>) -> bool {
    if !node.is_config() || node.is_list_key() {
        return false;
    }
    match node.kind() {
        SchemaNodeKind::Leaf
        | SchemaNodeKind::LeafList
        | SchemaNodeKind::List
        | SchemaNodeKind::AnyData => true,
        SchemaNodeKind::Container => !node.is_np_container(),
        _ => false,
    }
}
