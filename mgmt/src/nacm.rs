//! NACM (RFC 8341) access control, evaluated once for every protocol.
//!
//! [`Nacm`] is compiled from the `ietf-netconf-acm:nacm` subtree of running
//! and answers the four questions of RFC 8341 §3.4: may this user invoke this
//! protocol operation ([`Nacm::check_rpc`], §3.4.4), read or write this data
//! node ([`Nacm::check_node`], [`Nacm::check_data`], [`Nacm::check_changes`],
//! [`Nacm::check_diff`], §3.4.5), receive this notification
//! ([`Nacm::check_notification`], §3.4.6); and [`Nacm::filter_read`] prunes a
//! reply tree to what the user may read. NETCONF, RESTCONF and gNMI all ask
//! here, so the three doors enforce the same rules.
//!
//! nectar's own rule on top of RFC 8341: a user in the config-file group
//! `admin` ([`ADMIN_GROUP`]) is a superuser and bypasses NACM entirely (the
//! RFC's "recovery session"); every other user gets the RFC defaults (read and
//! exec permit, write deny) until rules in the datastore say otherwise.
//!
//! A `Nacm` is immutable: on a commit that touches `/nacm`, build a new one
//! with [`Nacm::reload`] (which keeps the denial counters) and publish it.
//!
//! Imports: `nectar_yang` (yang2) only. The libyang facts yang2 does not
//! expose live in the `ffi` submodule, the path grammar in `path`.

mod config;
mod ffi;
mod path;

use nectar_yang::print::NodePath;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::{Data, DataDiff, DataDiffOp, DataNodeRef, DataTree};
use nectar_yang::yang2::schema::{SchemaNode, SchemaNodeKind};

use self::config::{Config, Rule, RuleType};
use self::ffi::{DefaultDeny, NodeId};
use self::path::InstStep;

/// The config-file group whose members bypass NACM.
pub const ADMIN_GROUP: &str = "admin";

const NACM_MODULE: &str = "ietf-netconf-acm";
const NETCONF_MODULE: &str = "ietf-netconf";
/// RFC 5277's module; its `replayComplete` and `notificationComplete` are
/// always delivered (RFC 8341 §3.4.6 step 2).
const NOTIFICATIONS_MODULE: &str = "nc-notifications";

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Permit,
    Deny,
}

impl Decision {
    pub fn is_permit(self) -> bool {
        self == Decision::Permit
    }

    fn from_permit(permit: bool) -> Decision {
        if permit {
            Decision::Permit
        } else {
            Decision::Deny
        }
    }
}

/// An access operation (the bits of `access-operations-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Create,
    Read,
    Update,
    Delete,
    Exec,
}

impl Access {
    pub(crate) fn bit(self) -> u8 {
        match self {
            Access::Create => 1,
            Access::Read => 2,
            Access::Update => 4,
            Access::Delete => 8,
            Access::Exec => 16,
        }
    }

    /// Create, update or delete.
    pub fn is_write(self) -> bool {
        matches!(self, Access::Create | Access::Update | Access::Delete)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Create => "create",
            Access::Read => "read",
            Access::Update => "update",
            Access::Delete => "delete",
            Access::Exec => "exec",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking: the authenticated user name, the groups the transport or
/// the config file assigns (NACM's "external groups"), and whether the user is
/// a superuser (config-file group `admin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCtx {
    pub name: String,
    pub groups: Vec<String>,
    pub superuser: bool,
}

impl UserCtx {
    /// A user with its config-file groups; `superuser` is membership of
    /// [`ADMIN_GROUP`].
    pub fn new(name: impl Into<String>, groups: Vec<String>) -> UserCtx {
        let superuser = groups.iter().any(|g| g == ADMIN_GROUP);
        UserCtx {
            name: name.into(),
            groups,
            superuser,
        }
    }
}

/// The `ietf-netconf-acm` state counters, as RFC 8341 reports them
/// (`zero-based-counter32`: they wrap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NacmCounters {
    pub denied_operations: u32,
    pub denied_data_writes: u32,
    pub denied_notifications: u32,
}

#[derive(Debug, Default)]
struct Counters {
    operations: AtomicU32,
    data_writes: AtomicU32,
    notifications: AtomicU32,
}

/// A NACM configuration the evaluator cannot use. Reject the commit that
/// would store it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NacmError {
    #[error("NACM rule-list {rule_list:?} rule {rule:?}: {reason}")]
    Rule {
        rule_list: String,
        rule: String,
        reason: String,
    },
}

/// A write that NACM refuses: report `access-denied` with this error-path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access denied: {op} of {path}")]
pub struct Denied {
    /// The data path of the first denied node (libyang format).
    pub path: String,
    pub op: Access,
}

/// One node a transaction creates, deletes or modifies.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// [`Access::Create`], [`Access::Update`] or [`Access::Delete`].
    pub op: Access,
    /// The data path (libyang format, e.g.
    /// `/ietf-interfaces:interfaces/interface[name='eth0']/mtu`).
    pub path: String,
    pub schema: SchemaNode<'a>,
}

/// The compiled NACM rules plus the denial counters.
#[derive(Debug)]
pub struct Nacm {
    config: Config,
    /// (module, rpc) carrying `nacm:default-deny-all`.
    deny_all_rpcs: HashSet<(String, String)>,
    /// (module, notification) carrying `nacm:default-deny-all`.
    deny_all_notifications: HashSet<(String, String)>,
    counters: Arc<Counters>,
}

impl Nacm {
    /// Compiles the `ietf-netconf-acm:nacm` subtree of `tree` (RFC 8341
    /// defaults for what is absent, so an empty tree gives the defaults).
    pub fn from_tree(tree: &DataTree<'_>) -> Result<Nacm, NacmError> {
        Nacm::build(tree, Arc::default())
    }

    /// The RFC 8341 defaults, as with no `/nacm` in running.
    pub fn defaults(ctx: &Context) -> Nacm {
        Nacm::from_tree(&DataTree::new(ctx)).expect("an empty NACM config compiles")
    }

    /// Compiles a new configuration that shares this one's counters.
    pub fn reload(&self, tree: &DataTree<'_>) -> Result<Nacm, NacmError> {
        Nacm::build(tree, Arc::clone(&self.counters))
    }

    fn build(tree: &DataTree<'_>, counters: Arc<Counters>) -> Result<Nacm, NacmError> {
        let ctx = tree.context();
        let nacm = tree.reference().and_then(|top| {
            top.inclusive_siblings().find(|n| {
                ffi::has_schema(n) && {
                    let s = n.schema();
                    s.name() == "nacm" && s.module().name() == NACM_MODULE
                }
            })
        });
        let config = match nacm {
            Some(node) => config::parse_config(ctx, &node)?,
            None => Config::default(),
        };
        let mut deny_all_rpcs = HashSet::new();
        let mut deny_all_notifications = HashSet::new();
        for m in ctx.modules(true).filter(|m| m.is_implemented()) {
            for rpc in m.rpcs() {
                if ffi::default_deny(&rpc) == DefaultDeny::All {
                    deny_all_rpcs.insert((m.name().to_string(), rpc.name().to_string()));
                }
            }
            for n in m.notifications() {
                if ffi::default_deny(&n) == DefaultDeny::All {
                    deny_all_notifications.insert((m.name().to_string(), n.name().to_string()));
                }
            }
        }
        Ok(Nacm {
            config,
            deny_all_rpcs,
            deny_all_notifications,
            counters,
        })
    }

    /// `enable-nacm`.
    pub fn enabled(&self) -> bool {
        self.config.enable
    }

    /// The denial counters since start-up.
    pub fn counters(&self) -> NacmCounters {
        NacmCounters {
            denied_operations: self.counters.operations.load(Ordering::Relaxed),
            denied_data_writes: self.counters.data_writes.load(Ordering::Relaxed),
            denied_notifications: self.counters.notifications.load(Ordering::Relaxed),
        }
    }

    /// Whether NACM does not apply to this user at all.
    pub fn bypass(&self, user: &UserCtx) -> bool {
        !self.config.enable || user.superuser
    }

    /// The rules that apply to the user, in order: those of the rule-lists
    /// naming one of the user's groups (or `*`). A user in no group gets no
    /// rules, only the defaults (RFC 8341 §3.4.4 step 5).
    fn rules_for<'s>(&'s self, user: &UserCtx) -> Vec<&'s Rule> {
        let mut groups: Vec<&str> = self
            .config
            .groups
            .iter()
            .filter(|(_, users)| users.contains(&user.name))
            .map(|(g, _)| g.as_str())
            .collect();
        if self.config.external_groups {
            groups.extend(user.groups.iter().map(String::as_str));
        }
        if groups.is_empty() {
            return Vec::new();
        }
        self.config
            .rule_lists
            .iter()
            .filter(|rl| {
                rl.groups
                    .iter()
                    .any(|g| g == "*" || groups.contains(&g.as_str()))
            })
            .flat_map(|rl| rl.rules.iter())
            .collect()
    }

    /// May `user` invoke protocol operation `rpc` of `module`? (RFC 8341
    /// §3.4.4.) A denial counts in `denied-operations`.
    pub fn check_rpc(&self, user: &UserCtx, module: &str, rpc: &str) -> Decision {
        if self.bypass(user) || (module == NETCONF_MODULE && rpc == "close-session") {
            return Decision::Permit;
        }
        let rule = self.rules_for(user).into_iter().find(|r| {
            r.ops & Access::Exec.bit() != 0
                && r.module_matches(module)
                && match &r.kind {
                    RuleType::Any => true,
                    RuleType::Rpc(name) => name.as_deref().is_none_or(|n| n == rpc),
                    _ => false,
                }
        });
        let decision = match rule {
            Some(r) => Decision::from_permit(r.permit),
            None if self
                .deny_all_rpcs
                .contains(&(module.to_string(), rpc.to_string())) =>
            {
                Decision::Deny
            }
            None if module == NETCONF_MODULE && matches!(rpc, "kill-session" | "delete-config") => {
                Decision::Deny
            }
            None => Decision::from_permit(self.config.exec_default),
        };
        if decision == Decision::Deny {
            self.counters.operations.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(user = %user.name, module, rpc, "nacm: operation denied");
        }
        decision
    }

    /// May `user` receive notification `name` of `module`? (RFC 8341 §3.4.6,
    /// for notifications defined at the top level of a module; one tied to a
    /// data node is [`Nacm::check_node`] with [`Access::Read`].) A denial
    /// counts in `denied-notifications`: call this once per notification and
    /// subscription.
    pub fn check_notification(&self, user: &UserCtx, module: &str, name: &str) -> Decision {
        if self.bypass(user)
            || (module == NOTIFICATIONS_MODULE
                && matches!(name, "replayComplete" | "notificationComplete"))
        {
            return Decision::Permit;
        }
        let rule = self.rules_for(user).into_iter().find(|r| {
            r.ops & Access::Read.bit() != 0
                && r.module_matches(module)
                && match &r.kind {
                    RuleType::Any => true,
                    RuleType::Notification(n) => n.as_deref().is_none_or(|n| n == name),
                    _ => false,
                }
        });
        let decision = match rule {
            Some(r) => Decision::from_permit(r.permit),
            None if self
                .deny_all_notifications
                .contains(&(module.to_string(), name.to_string())) =>
            {
                Decision::Deny
            }
            None => Decision::from_permit(self.config.read_default),
        };
        if decision == Decision::Deny {
            self.counters.notifications.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(user = %user.name, module, name, "nacm: notification dropped");
        }
        decision
    }

    /// May `user` perform `op` on the data node `node` (or, with
    /// [`Access::Exec`], invoke the action `node`)? RFC 8341 §3.4.5. Counts
    /// nothing: a write is counted by [`Nacm::check_changes`] /
    /// [`Nacm::check_diff`], an action by [`Nacm::check_action`].
    pub fn check_node(&self, user: &UserCtx, node: &DataNodeRef<'_, '_>, op: Access) -> Decision {
        if self.bypass(user) {
            return Decision::Permit;
        }
        if !ffi::has_schema(node) {
            return Decision::Deny;
        }
        let schema = node.schema();
        let target = instance_target(node);
        let rules = self.rules_for(user);
        self.decide(&rules, &user.name, &schema, &target, op).0
    }

    /// As [`Nacm::check_node`], for a node known by its schema node and its
    /// data path (libyang format, module names as prefixes). An unparsable
    /// path is denied.
    pub fn check_data(
        &self,
        user: &UserCtx,
        schema: &SchemaNode<'_>,
        path: &str,
        op: Access,
    ) -> Decision {
        if self.bypass(user) {
            return Decision::Permit;
        }
        let target = match path::instance_path(path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "nacm: cannot parse a data path; denying");
                return Decision::Deny;
            }
        };
        let rules = self.rules_for(user);
        self.decide(&rules, &user.name, schema, &target, op).0
    }

    /// May `user` invoke the action at `path` (schema node `schema`)? Exec
    /// access on the action node (RFC 8341 §3.4.4 with data-node rules). A
    /// denial counts in `denied-operations`.
    pub fn check_action(&self, user: &UserCtx, schema: &SchemaNode<'_>, path: &str) -> Decision {
        let decision = self.check_data(user, schema, path, Access::Exec);
        if decision == Decision::Deny {
            self.counters.operations.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(user = %user.name, path, "nacm: action denied");
        }
        decision
    }

    /// Checks every change of a transaction, in order, and returns the first
    /// denied one (report `access-denied` with its path). List every node the
    /// transaction creates or deletes, not only subtree roots, or use
    /// [`Nacm::check_diff`], which expands subtrees. A denial counts once in
    /// `denied-data-writes`.
    pub fn check_changes(&self, user: &UserCtx, changes: &[Change<'_>]) -> Result<(), Denied> {
        if self.bypass(user) {
            return Ok(());
        }
        let rules = self.rules_for(user);
        for c in changes {
            let permitted = match path::instance_path(&c.path) {
                Ok(target) => self
                    .decide(&rules, &user.name, &c.schema, &target, c.op)
                    .0
                    .is_permit(),
                Err(e) => {
                    tracing::warn!(error = %e, "nacm: cannot parse a changed path; denying");
                    false
                }
            };
            if !permitted {
                return Err(self.write_denied(user, c.path.clone(), c.op));
            }
        }
        Ok(())
    }

    /// Checks a libyang diff (as `DataTree::diff` makes it): every node of a
    /// created subtree needs `create`, of a deleted subtree `delete`, and a
    /// replaced node (new value, moved entry) `update`. Returns the first
    /// denied node; a denial counts once in `denied-data-writes`.
    pub fn check_diff(&self, user: &UserCtx, diff: &DataDiff<'_>) -> Result<(), Denied> {
        if self.bypass(user) {
            return Ok(());
        }
        let rules = self.rules_for(user);
        for (op, node) in diff.iter() {
            let access = match op {
                DataDiffOp::Create => Access::Create,
                DataDiffOp::Delete => Access::Delete,
                DataDiffOp::Replace => Access::Update,
            };
            let nodes: Vec<DataNodeRef<'_, '_>> = match op {
                DataDiffOp::Replace => vec![node],
                DataDiffOp::Create | DataDiffOp::Delete => node.traverse().collect(),
            };
            for n in nodes {
                let permitted = ffi::has_schema(&n) && {
                    let schema = n.schema();
                    let target = instance_target(&n);
                    self.decide(&rules, &user.name, &schema, &target, access)
                        .0
                        .is_permit()
                };
                if !permitted {
                    return Err(self.write_denied(user, n.data_path(), access));
                }
            }
        }
        Ok(())
    }

    fn write_denied(&self, user: &UserCtx, path: String, op: Access) -> Denied {
        self.counters.data_writes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(user = %user.name, path, %op, "nacm: write denied");
        Denied { path, op }
    }

    /// Removes from `tree` every node `user` may not read (RFC 8341 §3.4.5:
    /// silently omitted), with its subtree. A denied node is kept, with its
    /// list keys only, when a rule explicitly permits reading one of its
    /// descendants, so the permitted data keeps its place in the tree. A
    /// list entry whose key is explicitly denied goes entirely.
    pub fn filter_read(&self, user: &UserCtx, tree: &mut DataTree<'_>) {
        if self.bypass(user) {
            return;
        }
        let rules: Vec<&Rule> = self
            .rules_for(user)
            .into_iter()
            .filter(|r| {
                r.ops & Access::Read.bit() != 0
                    && matches!(r.kind, RuleType::Any | RuleType::Data(_))
            })
            .collect();
        let mut filter = ReadFilter {
            nacm: self,
            user: &user.name,
            need_target: rules.iter().any(|r| matches!(r.kind, RuleType::Data(_))),
            rules,
            stack: Vec::new(),
            doomed: Vec::new(),
        };
        if let Some(top) = tree.reference() {
            for node in top.inclusive_siblings() {
                filter.visit(&node, false);
            }
        }
        let doomed = std::mem::take(&mut filter.doomed);
        ffi::remove_subtrees(tree, &doomed);
    }

    /// The RFC 8341 §3.4.5 decision for one data node, and whether a rule
    /// (rather than a default) made it. `rules` are the user's rules.
    fn decide(
        &self,
        rules: &[&Rule],
        user: &str,
        schema: &SchemaNode<'_>,
        target: &[InstStep],
        op: Access,
    ) -> (Decision, bool) {
        let module = schema.module();
        let module = module.name();
        let rule = rules.iter().find(|r| {
            r.ops & op.bit() != 0
                && r.module_matches(module)
                && match &r.kind {
                    RuleType::Any => true,
                    RuleType::Data(p) => p.matches(target, user),
                    _ => false,
                }
        });
        if let Some(r) = rule {
            return (Decision::from_permit(r.permit), true);
        }
        (self.default_decision(ffi::default_deny(schema), op), false)
    }

    /// RFC 8341 §3.4.5 steps 9–12 (and §3.4.4 step 10 for actions).
    fn default_decision(&self, dd: DefaultDeny, op: Access) -> Decision {
        let c = &self.config;
        let permit = match op {
            Access::Read => dd != DefaultDeny::All && c.read_default,
            Access::Exec => dd != DefaultDeny::All && c.exec_default,
            Access::Create | Access::Update | Access::Delete => {
                dd == DefaultDeny::None && c.write_default
            }
        };
        Decision::from_permit(permit)
    }
}

/// The walk of [`Nacm::filter_read`].
struct ReadFilter<'n, 'r> {
    nacm: &'n Nacm,
    user: &'r str,
    /// The user's rules that can match a read of a data node.
    rules: Vec<&'n Rule>,
    /// Whether any of them has a path (else the instance path is not needed).
    need_target: bool,
    /// The instance path of the node being visited (when `need_target`).
    stack: Vec<InstStep>,
    /// Subtrees to free, none inside another.
    doomed: Vec<NodeId>,
}

impl ReadFilter<'_, '_> {
    /// Visits `node`, scheduling what must go; returns whether it stays.
    /// `parent_denied`: an ancestor was denied and is kept only as the way to
    /// an explicitly permitted descendant, so a default permit does not hold.
    fn visit(&mut self, node: &DataNodeRef<'_, '_>, parent_denied: bool) -> bool {
        if !ffi::has_schema(node) {
            self.doomed.push(NodeId::of(node));
            return false;
        }
        if self.need_target {
            self.stack.push(inst_step(node));
        }
        let kept = self.visit_inner(node, parent_denied);
        if self.need_target {
            self.stack.pop();
        }
        kept
    }

    fn visit_inner(&mut self, node: &DataNodeRef<'_, '_>, parent_denied: bool) -> bool {
        let schema = node.schema();
        let (decision, by_rule) =
            self.nacm
                .decide(&self.rules, self.user, &schema, &self.stack, Access::Read);
        let denied = if by_rule {
            decision == Decision::Deny
        } else {
            parent_denied || decision == Decision::Deny
        };
        if denied && !self.may_permit_below() {
            self.doomed.push(NodeId::of(node));
            return false;
        }
        let mark = self.doomed.len();
        let mut content = false;
        for child in node.children() {
            if ffi::has_schema(&child) && child.schema().is_list_key() {
                // Keys stay with their entry: a permitted entry goes
                // whole if a rule denies one of its keys; a denied entry
                // kept as the way to a permitted descendant keeps them.
                if !denied && self.key_denied(&child) {
                    self.doomed.truncate(mark);
                    self.doomed.push(NodeId::of(node));
                    return false;
                }
                continue;
            }
            content |= self.visit(&child, denied);
        }
        if denied && !content {
            self.doomed.truncate(mark);
            self.doomed.push(NodeId::of(node));
            return false;
        }
        true
    }

    fn key_denied(&mut self, key: &DataNodeRef<'_, '_>) -> bool {
        if self.need_target {
            self.stack.push(inst_step(key));
        }
        let (decision, by_rule) = self.nacm.decide(
            &self.rules,
            self.user,
            &key.schema(),
            &self.stack,
            Access::Read,
        );
        if self.need_target {
            self.stack.pop();
        }
        by_rule && decision == Decision::Deny
    }

    /// Whether a permit rule may name a descendant of the current node.
    fn may_permit_below(&self) -> bool {
        self.rules.iter().any(|r| {
            r.permit
                && match &r.kind {
                    RuleType::Any => true,
                    RuleType::Data(p) => {
                        p.steps.is_empty() || p.may_match_below(&self.stack, self.user)
                    }
                    _ => false,
                }
        })
    }
}

/// The instance path step of one data node.
fn inst_step(node: &DataNodeRef<'_, '_>) -> InstStep {
    let schema = node.schema();
    let mut step = InstStep {
        module: schema.module().name().to_string(),
        name: schema.name().to_string(),
        ..InstStep::default()
    };
    match schema.kind() {
        SchemaNodeKind::List => {
            step.keys = node
                .list_keys()
                .map(|k| {
                    let name = k.schema().name().to_string();
                    (name, k.value_canonical().unwrap_or_default())
                })
                .collect();
        }
        SchemaNodeKind::LeafList => step.value = node.value_canonical(),
        _ => {}
    }
    step
}

/// The instance path of a data node, from the top.
fn instance_target(node: &DataNodeRef<'_, '_>) -> Vec<InstStep> {
    let mut steps: Vec<InstStep> = node
        .inclusive_ancestors()
        .filter(ffi::has_schema)
        .map(|n| inst_step(&n))
        .collect();
    steps.reverse();
    steps
}
