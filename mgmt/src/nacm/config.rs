//! The NACM configuration as the evaluator uses it: compiled once from the
//! `ietf-netconf-acm:nacm` container (RFC 8341 §3.5.2), with rule paths
//! parsed and their prefixes resolved against the libyang context.

use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::DataNodeRef;

use super::path::RulePath;
use super::{Access, NacmError, ffi};

pub(super) const ALL_OPS: u8 = 0x1f;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RuleType {
    /// No rule-type: matches every request.
    Any,
    /// `rpc-name`; `None` is `*`.
    Rpc(Option<String>),
    /// `notification-name`; `None` is `*`.
    Notification(Option<String>),
    Data(RulePath),
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// `None` is `*`.
    pub(super) module: Option<String>,
    pub(super) kind: RuleType,
    pub(super) ops: u8,
    pub(super) permit: bool,
}

impl Rule {
    pub(super) fn module_matches(&self, module: &str) -> bool {
        self.module.as_deref().is_none_or(|m| m == module)
    }
}

#[derive(Debug, Clone)]
pub(super) struct RuleList {
    /// Contains `*` for every group.
    pub(super) groups: Vec<String>,
    pub(super) rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) enable: bool,
    pub(super) read_default: bool,
    pub(super) write_default: bool,
    pub(super) exec_default: bool,
    pub(super) external_groups: bool,
    /// (group, user names).
    pub(super) groups: Vec<(String, Vec<String>)>,
    pub(super) rule_lists: Vec<RuleList>,
}

impl Default for Config {
    /// RFC 8341's defaults for an absent `/nacm`.
    fn default() -> Config {
        Config {
            enable: true,
            read_default: true,
            write_default: false,
            exec_default: true,
            external_groups: true,
            groups: Vec::new(),
            rule_lists: Vec::new(),
        }
    }
}

/// Compiles the `nacm` container.
pub(super) fn parse_config(ctx: &Context, nacm: &DataNodeRef<'_, '_>) -> Result<Config, NacmError> {
    let mut c = Config::default();
    for child in nacm.children().filter(ffi::has_schema) {
        let value = child.value_canonical();
        let is = |v: &str| value.as_deref() == Some(v);
        match child.schema().name() {
            "enable-nacm" => c.enable = is("true"),
            "read-default" => c.read_default = is("permit"),
            "write-default" => c.write_default = is("permit"),
            "exec-default" => c.exec_default = is("permit"),
            "enable-external-groups" => c.external_groups = is("true"),
            "groups" => {
                for group in children_named(&child, "group") {
                    let name = leaf(&group, "name").unwrap_or_default();
                    let users = children_named(&group, "user-name")
                        .filter_map(|u| u.value_canonical())
                        .collect();
                    c.groups.push((name, users));
                }
            }
            "rule-list" => c.rule_lists.push(parse_rule_list(ctx, &child)?),
            _ => {}
        }
    }
    Ok(c)
}

fn parse_rule_list(ctx: &Context, rl: &DataNodeRef<'_, '_>) -> Result<RuleList, NacmError> {
    let rl_name = leaf(rl, "name").unwrap_or_default();
    let groups = children_named(rl, "group")
        .filter_map(|g| g.value_canonical())
        .collect();
    let mut rules = Vec::new();
    for r in children_named(rl, "rule") {
        let name = leaf(&r, "name").unwrap_or_default();
        let err = |reason: String| NacmError::Rule {
            rule_list: rl_name.clone(),
            rule: name.clone(),
            reason,
        };
        let star = |v: Option<String>| v.filter(|v| v != "*");
        let module = star(leaf(&r, "module-name"));
        let kind = if let Some(p) = leaf(&r, "path") {
            RuleType::Data(
                RulePath::compile(&p, |prefix| resolve_prefix(ctx, prefix))
                    .map_err(|e| err(e.0))?,
            )
        } else if let Some(n) = leaf(&r, "rpc-name") {
            RuleType::Rpc(star(Some(n)))
        } else if let Some(n) = leaf(&r, "notification-name") {
            RuleType::Notification(star(Some(n)))
        } else {
            RuleType::Any
        };
        let ops = match leaf(&r, "access-operations").as_deref() {
            None | Some("*") => ALL_OPS,
            Some(bits) => {
                let mut ops = 0;
                for bit in bits.split_whitespace() {
                    ops |= match bit {
                        "create" => Access::Create.bit(),
                        "read" => Access::Read.bit(),
                        "update" => Access::Update.bit(),
                        "delete" => Access::Delete.bit(),
                        "exec" => Access::Exec.bit(),
                        other => return Err(err(format!("unknown access operation {other:?}"))),
                    };
                }
                ops
            }
        };
        let permit = match leaf(&r, "action").as_deref() {
            Some("permit") => true,
            Some("deny") => false,
            other => return Err(err(format!("action must be permit or deny, not {other:?}"))),
        };
        rules.push(Rule {
            module,
            kind,
            ops,
            permit,
        });
    }
    Ok(RuleList { groups, rules })
}

/// A rule path prefix: a module name (RFC 7951, which is what libyang stores
/// for `yang:xpath1.0`) or, for paths written by hand, a module's prefix
/// when exactly one implemented module has it.
fn resolve_prefix(ctx: &Context, prefix: &str) -> Option<String> {
    if ctx.get_module_latest(prefix).is_some() {
        return Some(prefix.to_string());
    }
    let mut found = ctx
        .modules(true)
        .filter(|m| m.is_implemented() && m.prefix() == prefix)
        .map(|m| m.name().to_string());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn children_named<'a, 'b>(
    node: &DataNodeRef<'a, 'b>,
    name: &'static str,
) -> impl Iterator<Item = DataNodeRef<'a, 'b>> {
    node.children()
        .filter(move |c| ffi::has_schema(c) && c.schema().name() == name)
}

fn leaf(node: &DataNodeRef<'_, '_>, name: &str) -> Option<String> {
    node.children()
        .find(|c| ffi::has_schema(c) && c.schema().name() == name)
        .and_then(|c| c.value_canonical())
}
