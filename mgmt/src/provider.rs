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

impl<P> Clone for NodeCallbacks<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for NodeCallbacks<P> {}

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
    /// The callbacks of every node and subtree, indexed by `nodes` and `subtrees`.
    table: Vec<NodeCallbacks<P>>,
    nodes: HashMap<String, usize>,
    /// Subtrees handled wholesale: every config node under the prefix.
    subtrees: Vec<(String, usize)>,
    state: Vec<(String, StateFn<P>)>,
    rpcs: HashMap<String, RpcFn<P>>,
    /// The entry of `table` the builder is filling.
    current: Option<usize>,
}

impl<P> Default for Callbacks<P> {
    fn default() -> Self {
        Callbacks {
            table: Vec::new(),
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
        let slot = match self.nodes.get(schema_path) {
            Some(slot) => *slot,
            None => {
                self.table.push(NodeCallbacks::default());
                self.nodes
                    .insert(schema_path.to_string(), self.table.len() - 1);
                self.table.len() - 1
            }
        };
        self.current = Some(slot);
        self
    }

    /// Starts callbacks that serve every configuration node under a schema
    /// path (for providers that treat a subtree as one object).
    pub fn subtree(mut self, schema_path: &str) -> Self {
        self.table.push(NodeCallbacks::default());
        self.subtrees
            .push((schema_path.to_string(), self.table.len() - 1));
        self.current = Some(self.table.len() - 1);
        self
    }

    fn cur(&mut self) -> &mut NodeCallbacks<P> {
        let slot = self.current.expect("call path() or subtree() first");
        &mut self.table[slot]
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

    /// The entry of `table` serving a schema path.
    fn lookup(&self, schema_path: &str) -> Option<usize> {
        self.nodes.get(schema_path).copied().or_else(|| {
            self.subtrees
                .iter()
                .find(|(prefix, _)| under(schema_path, prefix))
                .map(|(_, slot)| *slot)
        })
    }

    fn covers(&self, schema_path: &str) -> bool {
        self.lookup(schema_path).is_some()
    }

    /// The changes this table covers, in order, each with its entry of `table`.
    /// `kinds[i]` numbers the distinct schema paths of the changes (equal
    /// numbers, equal schema paths): each is looked up once.
    fn select(&self, changes: &[Change], kinds: &[u32], distinct: usize) -> Vec<(u32, u32)> {
        let mut slots: Vec<Option<Option<usize>>> = vec![None; distinct];
        let mut out = Vec::new();
        for (i, (change, &k)) in changes.iter().zip(kinds).enumerate() {
            let slot = *slots[k as usize].get_or_insert_with(|| self.lookup(&change.schema_path));
            if let Some(slot) = slot {
                out.push((i as u32, slot as u32));
            }
        }
        out
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

/// The changes one provider covers: (index in the changes, entry of its
/// callback table), in change order.
type Picked = [(u32, u32)];

/// A provider with its table, type-erased so the registry can hold many.
trait Erased: Send {
    fn name(&self) -> &'static str;
    fn covers(&self, schema_path: &str) -> bool;
    fn select(&self, changes: &[Change], kinds: &[u32], distinct: usize) -> Vec<(u32, u32)>;
    fn validate(&self, changes: &[Change], picked: &Picked, tree: &Tree) -> Result<(), MgmtError>;
    fn prepare(
        &mut self,
        changes: &[Change],
        picked: &Picked,
        tree: &Tree,
    ) -> Result<(), MgmtError>;
    fn abort(&mut self, changes: &[Change], picked: &Picked, tree: &Tree);
    fn apply(&mut self, changes: &[Change], picked: &Picked, tree: &Tree);
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

    fn select(&self, changes: &[Change], kinds: &[u32], distinct: usize) -> Vec<(u32, u32)> {
        self.callbacks.select(changes, kinds, distinct)
    }

    fn validate(&self, changes: &[Change], picked: &Picked, tree: &Tree) -> Result<(), MgmtError> {
        for &(i, slot) in picked {
            if let Some(f) = self.callbacks.table[slot as usize].validate {
                let change = &changes[i as usize];
                f(&self.provider, &CbArgs { change, tree })?;
            }
        }
        Ok(())
    }

    fn prepare(
        &mut self,
        changes: &[Change],
        picked: &Picked,
        tree: &Tree,
    ) -> Result<(), MgmtError> {
        for (k, &(i, slot)) in picked.iter().enumerate() {
            let change = &changes[i as usize];
            if let Some(f) = self.callbacks.table[slot as usize].prepare
                && let Err(e) = f(&mut self.provider, &CbArgs { change, tree })
            {
                // Release what the earlier nodes of this provider reserved.
                self.abort(changes, &picked[..k], tree);
                return Err(e);
            }
        }
        if let Err(e) = self.provider.prepare_done(tree) {
            self.abort(changes, picked, tree);
            return Err(e);
        }
        Ok(())
    }

    fn abort(&mut self, changes: &[Change], picked: &Picked, tree: &Tree) {
        for &(i, slot) in picked.iter().rev() {
            if let Some(f) = self.callbacks.table[slot as usize].abort {
                let change = &changes[i as usize];
                f(&mut self.provider, &CbArgs { change, tree });
            }
        }
        self.provider.abort_done();
    }

    fn apply(&mut self, changes: &[Change], picked: &Picked, tree: &Tree) {
        for &(i, slot) in picked {
            if let Some(f) = self.callbacks.table[slot as usize].apply {
                let change = &changes[i as usize];
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

/// A transaction's changes with, for every registered provider, the ones it
/// covers ([`Registry::select`]).
#[derive(Debug)]
pub(crate) struct Selection<'c> {
    changes: &'c [Change],
    picked: Vec<Vec<(u32, u32)>>,
}

impl Selection<'_> {
    /// How many changes the transaction has.
    pub(crate) fn len(&self) -> usize {
        self.changes.len()
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

    /// Which provider serves which of a transaction's changes, worked out once
    /// for all its phases. `schemas[i]` identifies the schema node of
    /// `changes[i]` (equal for equal schema nodes): each provider looks up each
    /// schema node once, not each change.
    pub(crate) fn select<'c>(&self, changes: &'c [Change], schemas: &[usize]) -> Selection<'c> {
        debug_assert_eq!(changes.len(), schemas.len());
        // Number the distinct schema nodes; changes come in runs over a few of
        // them, so the last few are compared before the map is asked.
        let mut numbers: HashMap<usize, u32> = HashMap::new();
        let mut recent: [(usize, u32); 8] = [(0, 0); 8];
        let mut next = 0;
        let kinds: Vec<u32> = changes
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let id = schemas.get(i).copied().unwrap_or(usize::MAX - i);
                if id != 0
                    && let Some((_, k)) = recent.iter().find(|(s, _)| *s == id)
                {
                    return *k;
                }
                let n = numbers.len() as u32;
                let k = *numbers.entry(id).or_insert(n);
                recent[next] = (id, k);
                next = (next + 1) % recent.len();
                k
            })
            .collect();
        let distinct = numbers.len();
        Selection {
            changes,
            picked: self
                .providers
                .iter()
                .map(|p| p.select(changes, &kinds, distinct))
                .collect(),
        }
    }

    /// The providers a selection touches (covering at least one change), in
    /// registration order, with their changes.
    fn touched<'s>(sel: &'s Selection<'_>) -> impl DoubleEndedIterator<Item = (usize, &'s Picked)> {
        sel.picked
            .iter()
            .enumerate()
            .filter(|(_, picked)| !picked.is_empty())
            .map(|(i, picked)| (i, picked.as_slice()))
    }

    pub(crate) fn validate(&self, sel: &Selection<'_>, tree: &Tree) -> Result<(), MgmtError> {
        for (i, picked) in Self::touched(sel) {
            let p = &self.providers[i];
            p.validate(sel.changes, picked, tree)
                .map_err(|e| tag_provider(e, p.name()))?;
        }
        Ok(())
    }

    /// Prepares every provider touched by the changes; on a failure aborts
    /// the ones already prepared (and the failing one) and returns the error.
    pub(crate) fn prepare(&mut self, sel: &Selection<'_>, tree: &Tree) -> Result<(), MgmtError> {
        let mut prepared: Vec<usize> = Vec::new();
        for (i, picked) in Self::touched(sel) {
            if let Err(e) = self.providers[i].prepare(sel.changes, picked, tree) {
                let name = self.providers[i].name();
                for j in prepared.into_iter().rev() {
                    self.providers[j].abort(sel.changes, &sel.picked[j], tree);
                }
                return Err(tag_provider(e, name));
            }
            prepared.push(i);
        }
        Ok(())
    }

    pub(crate) fn abort(&mut self, sel: &Selection<'_>, tree: &Tree) {
        for (i, picked) in Self::touched(sel).rev() {
            self.providers[i].abort(sel.changes, picked, tree);
        }
    }

    pub(crate) fn apply(&mut self, sel: &Selection<'_>, tree: &Tree) {
        for (i, picked) in Self::touched(sel) {
            self.providers[i].apply(sel.changes, picked, tree);
        }
    }

    /// Fills operational state for every state root (optionally only the
    /// roots a requested path can reach).
    ///
    /// A union of paths (`/a:x | /b:y`, what a subtree filter with several
    /// top-level elements becomes) reaches the roots of each branch: a root
    /// one branch reaches is asked for that branch, a root several reach is
    /// asked for all of its state (asking once per branch would duplicate
    /// the entries of keyless lists).
    pub(crate) fn state(&self, path: Option<&str>, out: &mut Tree) -> Result<(), MgmtError> {
        let branches: Vec<(&str, String)> = path
            .map(|p| {
                ly::union_branches(p)
                    .into_iter()
                    .map(|b| (b, ly::schema_path_of(b)))
                    .collect()
            })
            .unwrap_or_default();
        for p in &self.providers {
            for root in p.state_roots() {
                let args = if path.is_none() {
                    Some(StateArgs { path: None })
                } else {
                    let mut reaching = branches
                        .iter()
                        .filter(|(_, w)| under(w, &root) || under(&root, w));
                    match (reaching.next(), reaching.next()) {
                        (None, _) => None,
                        (Some((b, _)), None) => Some(StateArgs { path: Some(b) }),
                        (Some(_), Some(_)) => Some(StateArgs { path: None }),
                    }
                };
                if let Some(args) = args {
                    p.state(&root, &args, out)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    struct P;

    impl Provider for P {
        fn name(&self) -> &'static str {
            "p"
        }

        fn callbacks() -> Callbacks<Self> {
            let mut cb = Callbacks::new();
            for i in 0..12 {
                cb = cb.path(&format!("/m:a/n{i}"));
            }
            cb.subtree("/m:s").path("/m:a/n3")
        }
    }

    fn change(schema_path: &str) -> Change {
        Change {
            op: ChangeOp::Create,
            path: schema_path.to_string(),
            schema_path: schema_path.to_string(),
            old: None,
            new: None,
        }
    }

    /// `select` looks each schema node up once, for all the changes of that
    /// node; what it picks must be what a lookup of every change gives,
    /// whatever the order and however many schema nodes take turns (more
    /// than it remembers).
    #[test]
    fn selection_equals_a_lookup_per_change() {
        let mut reg = Registry::new();
        reg.register(P);
        let cb = P::callbacks();
        let mut paths: Vec<String> = Vec::new();
        for round in 0..4 {
            for i in 0..(4 + 4 * round) {
                paths.push(format!("/m:a/n{i}"));
                paths.push(format!("/m:x/n{i}"));
                paths.push(format!("/m:s/n{i}"));
            }
            paths.push("/m:s".into());
            paths.push("/m:sx".into());
        }
        let changes: Vec<Change> = paths.iter().map(|p| change(p)).collect();
        // One identity per distinct schema path, as the schema node would give.
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let schemas: Vec<usize> = paths
            .iter()
            .map(|p| {
                let n = ids.len() + 1;
                *ids.entry(p.as_str()).or_insert(n * 64)
            })
            .collect();
        let want: Vec<(u32, u32)> = changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| cb.lookup(&c.schema_path).map(|s| (i as u32, s as u32)))
            .collect();
        let sel = reg.select(&changes, &schemas);
        assert_eq!(sel.picked.len(), 1);
        assert_eq!(sel.picked[0], want);
        assert!(want.len() > 40);
        // Distinct entries for distinct nodes; the subtree serves what is under it.
        assert_ne!(cb.lookup("/m:a/n1"), cb.lookup("/m:a/n2"));
        assert_eq!(cb.lookup("/m:s/x/y"), cb.lookup("/m:s"));
        assert_eq!(cb.lookup("/m:sx"), None);
    }
}
