//! The NETCONF operations mapped onto the management core: RFC 6241 base
//! operations, RFC 6022 get-schema, RFC 8526 get-data/edit-data, RFC 5277
//! create-subscription, and any other YANG RPC (nectar-mgmt's rollback,
//! providers' RPCs) through libyang. Parameters are read from the XML
//! envelope; YANG data is parsed and printed by libyang.

use std::time::Duration;

use nectar_mgmt::error::{ErrorTag, ErrorType, Errors, MgmtError};
use nectar_mgmt::ly::{self, Tree};
use nectar_mgmt::{Caller, CommitOptions, Datastore, DefaultOp, EditOp, ErrorOption, Source};
use nectar_yang::encoding::{self, Content, Format, PrintOptions, WithDefaults};
use tokio::io::AsyncWrite;
use yang2::context::Context;
use yang2::data::DataTree;
use yang2::schema::{SchemaNodeKind, SchemaOutputFormat, SchemaPrinterFlags};

use crate::filter::{self, Selection};
use crate::reply::{self, BASE_NS};
use crate::server::{MONITORING_NS, NMDA_NS, NOTIF_NS, WD_NS};
use crate::session::{Reply, Session};
use crate::xml::{Element, escape_text};

mod leaf_delete;
mod nmda;
mod params;
mod push;

use leaf_delete::{check_operations, extract_leaf_deletes};
pub(crate) use params::{data_error, print_xml, tag_defaults, xml_options};
use params::{
    datastore_in, invalid_param, only, parse_config, parse_config_xml, parse_filter, parse_u32,
    proto, required, single_parameters, with_defaults,
};

type OpResult = Result<Reply, Errors>;

const DS_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-datastores";
const OR_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-origin";
const WD_ATTR_NS: &str = "urn:ietf:params:xml:ns:netconf:default:1.0";

/// Options of a read, shared by get, get-config and get-data.
#[derive(Debug, Clone)]
struct Read {
    ds: Datastore,
    selection: Selection,
    wd: WithDefaults,
    /// NMDA extras.
    config_filter: Option<bool>,
    max_depth: Option<u32>,
    origin_filter: Option<(bool, Vec<String>)>,
    with_origin: bool,
}

impl Read {
    fn new(ds: Datastore, selection: Selection, wd: WithDefaults) -> Self {
        Read {
            ds,
            selection,
            wd,
            config_filter: None,
            max_depth: None,
            origin_filter: None,
            with_origin: false,
        }
    }
}

impl<W: AsyncWrite + Unpin + Send> Session<W> {
    pub(crate) async fn dispatch(&mut self, op: &Element) -> OpResult {
        let ns = op.ns.clone().unwrap_or_default();
        let name = op.local.as_str();
        if [BASE_NS, MONITORING_NS, NMDA_NS, NOTIF_NS].contains(&ns.as_str()) {
            single_parameters(op)?;
        }
        if ns == BASE_NS {
            // The hot operations check NACM in the same call to the core
            // as their work (one thread hop per RPC).
            if !matches!(
                name,
                "close-session" | "get" | "get-config" | "edit-config" | "commit"
            ) {
                self.check_rpc("ietf-netconf", name).await?;
            }
            return match name {
                "get" => self.get(op).await,
                "get-config" => self.get_config(op).await,
                "edit-config" => self.edit_config(op).await,
                "copy-config" => self.copy_config(op).await,
                "delete-config" => self.delete_config(op).await,
                "lock" => self.lock(op, true).await,
                "unlock" => self.lock(op, false).await,
                "close-session" => {
                    only(op, BASE_NS, &[])?;
                    Ok(Reply::CloseOk)
                }
                "kill-session" => self.kill_session(op).await,
                "validate" => self.validate(op).await,
                "commit" => self.commit(op).await,
                "cancel-commit" => self.cancel_commit(op).await,
                "discard-changes" => {
                    only(op, BASE_NS, &[])?;
                    let sid = self.sid;
                    self.shared.mgmt.discard_changes(sid).await?;
                    Ok(Reply::Ok)
                }
                _ => Err(reply::unknown_element(ErrorType::Protocol, name).into()),
            };
        }
        if ns == MONITORING_NS && name == "get-schema" {
            self.check_rpc("ietf-netconf-monitoring", name).await?;
            return self.get_schema(op).await;
        }
        if ns == NMDA_NS && name == "get-data" {
            self.check_rpc("ietf-netconf-nmda", name).await?;
            return self.get_data(op).await;
        }
        if ns == NMDA_NS && name == "edit-data" {
            self.check_rpc("ietf-netconf-nmda", name).await?;
            return self.edit_data(op).await;
        }
        if ns == NOTIF_NS && name == "create-subscription" {
            return self.create_subscription(op).await;
        }
        if ns == push::SN_NS || ns == push::YP_NS {
            return self.push_rpc(op).await;
        }
        self.yang_rpc(op).await
    }

    async fn check_rpc(&self, module: &'static str, name: &str) -> Result<(), MgmtError> {
        let caller = Caller::session(self.sid).authorizing(module, name);
        self.shared.mgmt.authorize(caller).await
    }

    /// The session as a caller, with NACM's check of `op` (an ietf-netconf
    /// operation) when given.
    fn caller(&self, op: Option<&'static str>) -> Caller {
        match op {
            Some(op) => Caller::session(self.sid).authorizing("ietf-netconf", op),
            None => Caller::session(self.sid),
        }
    }

    /// Reads a datastore with the session's NACM view, adding the
    /// NETCONF monitoring state to the operational datastore.
    async fn read(&self, r: Read, nacm_op: Option<&'static str>) -> Result<Tree, MgmtError> {
        if r.selection == Selection::Nothing {
            self.shared.mgmt.authorize(self.caller(nacm_op)).await?;
            return Ok(DataTree::new(self.shared.ctx));
        }
        let request = self.request(&r).await?;
        Ok(self
            .shared
            .mgmt
            .read(self.caller(nacm_op), request)
            .await?
            .tree)
    }

    /// [`Self::read`], printed as XML with the read's with-defaults mode (by
    /// the core, from the datastore itself, where it can).
    async fn read_xml(&self, r: Read, nacm_op: Option<&'static str>) -> Result<String, MgmtError> {
        if r.selection == Selection::Nothing {
            self.shared.mgmt.authorize(self.caller(nacm_op)).await?;
            return Ok(String::new());
        }
        let mut request = self.request(&r).await?;
        request.print = Some(xml_options(r.wd, false));
        let reply = self.shared.mgmt.read(self.caller(nacm_op), request).await?;
        match reply.text {
            Some(text) => Ok(tag_defaults(text, r.wd)),
            None => print_xml(&reply.tree, r.wd),
        }
    }

    /// The core's read request for a NETCONF read.
    async fn request(&self, r: &Read) -> Result<nectar_mgmt::Read, MgmtError> {
        let mgmt = &self.shared.mgmt;
        let xpath = r.selection.xpath();
        let operational = r.ds == Datastore::Operational;
        let extra = if operational && xpath.is_none_or(|x| x.contains("ietf-netconf-monitoring:")) {
            let locks = mgmt.lock_holders().await?;
            let mon = self.shared.monitoring_state(&locks)?;
            Some(match xpath {
                Some(x) => ly::select(&mon, Some(x))?,
                None => mon,
            })
        } else {
            None
        };
        let mut read = nectar_mgmt::Read::new(r.ds, xpath.map(str::to_owned));
        read.extra = extra;
        read.origin = operational && (r.with_origin || r.origin_filter.is_some());
        Ok(read)
    }

    async fn get(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["filter"])?;
        let selection = parse_filter(self.shared.ctx, op, &self.shared.settings.filter)?;
        let wd = with_defaults(op)?;
        let xml = self
            .read_xml(
                Read::new(Datastore::Operational, selection, wd),
                Some("get"),
            )
            .await?;
        Ok(Reply::Body(format!("<data>{xml}</data>")))
    }

    async fn get_config(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["source", "filter"])?;
        let ds = datastore_in(required(op, "source", BASE_NS)?)?;
        let selection = parse_filter(self.shared.ctx, op, &self.shared.settings.filter)?;
        let wd = with_defaults(op)?;
        let xml = self
            .read_xml(Read::new(ds, selection, wd), Some("get-config"))
            .await?;
        Ok(Reply::Body(format!("<data>{xml}</data>")))
    }

    async fn edit(
        &mut self,
        nacm_op: Option<&'static str>,
        target: Datastore,
        default_op: DefaultOp,
        error_option: ErrorOption,
        test_only: bool,
        config: &Element,
    ) -> OpResult {
        let ctx = self.shared.ctx;
        check_operations(config)?;
        let mut leaf_deletes = Vec::new();
        let mut cut = std::collections::HashSet::new();
        extract_leaf_deletes(ctx, config, "", "", false, &mut leaf_deletes, &mut cut);
        let xml = config.children_xml_without(&cut);
        let tree = parse_config_xml(ctx, &xml, &self.shared.settings.document)?;
        drop(xml);
        let mut steps = nectar_mgmt::edit::steps_from_netconf(tree, default_op)?;
        for (path, op, inherited) in leaf_deletes {
            let mut step = nectar_mgmt::EditStep::at(op, path, None);
            step.parents_must_exist = !inherited && default_op == DefaultOp::None;
            steps.push(step);
        }
        let out = self
            .shared
            .mgmt
            .edit(self.caller(nacm_op), target, steps, error_option, test_only)
            .await?;
        if out.errors.is_empty() {
            Ok(Reply::Ok)
        } else {
            Err(Errors(out.errors))
        }
    }

    async fn edit_config(&mut self, op: &Element) -> OpResult {
        only(
            op,
            BASE_NS,
            &[
                "target",
                "default-operation",
                "test-option",
                "error-option",
                "config",
                "url",
            ],
        )?;
        let target = datastore_in(required(op, "target", BASE_NS)?)?;
        let default_op = match op.child("default-operation", BASE_NS) {
            None => DefaultOp::Merge,
            Some(d) => match d.text().trim() {
                "merge" => DefaultOp::Merge,
                "replace" => DefaultOp::Replace,
                "none" => DefaultOp::None,
                other => {
                    return Err(invalid_param("default-operation", other).into());
                }
            },
        };
        let test_only = match op.child("test-option", BASE_NS) {
            None => false,
            Some(t) => match t.text().trim() {
                // Validation always runs before a change is applied:
                // `set` is served as test-then-set.
                "test-then-set" | "set" => false,
                "test-only" => true,
                other => return Err(invalid_param("test-option", other).into()),
            },
        };
        let error_option = match op.child("error-option", BASE_NS) {
            None => ErrorOption::StopOnError,
            Some(e) => match e.text().trim() {
                "stop-on-error" => ErrorOption::StopOnError,
                "continue-on-error" => ErrorOption::ContinueOnError,
                "rollback-on-error" => ErrorOption::RollbackOnError,
                other => return Err(invalid_param("error-option", other).into()),
            },
        };
        if op.child("url", BASE_NS).is_some() {
            return Err(proto(
                ErrorTag::OperationNotSupported,
                "the :url capability is not supported",
            )
            .into());
        }
        let config = required(op, "config", BASE_NS)?;
        self.edit(
            Some("edit-config"),
            target,
            default_op,
            error_option,
            test_only,
            config,
        )
        .await
    }

    /// The source of copy-config and validate: a datastore or inline config.
    fn source(&self, op: &Element) -> Result<Source, MgmtError> {
        let src = required(op, "source", BASE_NS)?;
        if let Some(cfg) = src.child("config", BASE_NS) {
            let tree = parse_config(self.shared.ctx, cfg, &self.shared.settings.document)?;
            if tree
                .traverse()
                .any(|n| n.meta().any(|m| m.name() == "operation"))
            {
                return Err(MgmtError::new(
                    ErrorType::Protocol,
                    ErrorTag::BadAttribute,
                    "operation attributes are only allowed in edit-config",
                )
                .with_info("bad-attribute", "operation")
                .with_info("bad-element", "config"));
            }
            return Ok(Source::Inline(tree));
        }
        Ok(Source::Datastore(datastore_in(src)?))
    }

    async fn copy_config(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["target", "source"])?;
        let target = datastore_in(required(op, "target", BASE_NS)?)?;
        with_defaults(op)?;
        let source = self.source(op)?;
        self.shared
            .mgmt
            .copy_config(self.sid, target, source)
            .await?;
        Ok(Reply::Ok)
    }

    async fn delete_config(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["target"])?;
        let target = datastore_in(required(op, "target", BASE_NS)?)?;
        self.shared.mgmt.delete_config(self.sid, target).await?;
        Ok(Reply::Ok)
    }

    async fn lock(&mut self, op: &Element, lock: bool) -> OpResult {
        only(op, BASE_NS, &["target"])?;
        let ds = datastore_in(required(op, "target", BASE_NS)?)?;
        if lock {
            self.shared.mgmt.lock(self.sid, ds).await?;
            if let Ok(mut m) = self.shared.lock_times.lock() {
                m.insert(ds, (self.sid, nectar_mgmt::types::now_rfc3339()));
            }
        } else {
            self.shared.mgmt.unlock(self.sid, ds).await?;
            if let Ok(mut m) = self.shared.lock_times.lock() {
                m.remove(&ds);
            }
        }
        Ok(Reply::Ok)
    }

    async fn kill_session(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["session-id"])?;
        let target = parse_u32(required(op, "session-id", BASE_NS)?)?;
        if target == 0 {
            return Err(invalid_param("session-id", "0").into());
        }
        self.shared.mgmt.kill_session(self.sid, target).await?;
        let entry = self
            .shared
            .sessions
            .lock()
            .ok()
            .and_then(|m| m.get(&target).cloned());
        if let Some(e) = entry {
            e.kill.notify_one();
        }
        Ok(Reply::Ok)
    }

    async fn validate(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["source"])?;
        let source = self.source(op)?;
        self.shared.mgmt.validate(self.sid, source).await?;
        Ok(Reply::Ok)
    }

    async fn commit(&mut self, op: &Element) -> OpResult {
        only(
            op,
            BASE_NS,
            &["confirmed", "confirm-timeout", "persist", "persist-id"],
        )?;
        let confirmed = op.child("confirmed", BASE_NS).is_some();
        let timeout = match op.child("confirm-timeout", BASE_NS) {
            Some(t) => {
                let s = parse_u32(t)?;
                if s == 0 {
                    return Err(invalid_param("confirm-timeout", "0").into());
                }
                Some(Duration::from_secs(s.into()))
            }
            None => None,
        };
        let persist = op.child("persist", BASE_NS).map(|p| p.text());
        let persist_id = op.child("persist-id", BASE_NS).map(|p| p.text());
        if !confirmed && (timeout.is_some() || persist.is_some()) {
            return Err(MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::MissingElement,
                "confirm-timeout and persist need confirmed",
            )
            .with_info("bad-element", "confirmed")
            .into());
        }
        let opts = CommitOptions {
            confirmed,
            timeout,
            persist,
            persist_id,
            comment: None,
        };
        self.shared
            .mgmt
            .commit(self.caller(Some("commit")), opts)
            .await?;
        Ok(Reply::Ok)
    }

    async fn cancel_commit(&mut self, op: &Element) -> OpResult {
        only(op, BASE_NS, &["persist-id"])?;
        let persist_id = op.child("persist-id", BASE_NS).map(|p| p.text());
        self.shared.mgmt.cancel_commit(self.sid, persist_id).await?;
        Ok(Reply::Ok)
    }

    /// RFC 6022 get-schema.
    async fn get_schema(&mut self, op: &Element) -> OpResult {
        only(op, MONITORING_NS, &["identifier", "version", "format"])?;
        let id = required(op, "identifier", MONITORING_NS)?.text();
        let id = id.trim();
        let version = op
            .child("version", MONITORING_NS)
            .map(|v| v.text().trim().to_string())
            .filter(|v| !v.is_empty());
        let format = match op.child("format", MONITORING_NS) {
            None => "yang".to_string(),
            Some(f) => {
                let t = f.text();
                let t = t.trim();
                match t.split_once(':') {
                    Some((p, local)) if f.resolve_prefix(p).as_deref() == Some(MONITORING_NS) => {
                        local.to_string()
                    }
                    None => t.to_string(),
                    Some(_) => t.to_string(),
                }
            }
        };
        let not_found = || {
            MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::InvalidValue,
                format!(
                    "no schema {id:?}{}",
                    version
                        .as_deref()
                        .map(|v| format!(" revision {v}"))
                        .unwrap_or_default()
                ),
            )
        };
        if id.is_empty()
            || id.contains('\0')
            || version.as_deref().is_some_and(|v| v.contains('\0'))
        {
            return Err(not_found().into());
        }
        let ctx = self.shared.ctx;
        let text = match ctx.get_module(id, version.as_deref()).or_else(|| {
            version
                .is_none()
                .then(|| ctx.get_module_latest(id))
                .flatten()
        }) {
            Some(m) => {
                let embedded = nectar_yang::models::embedded(id)
                    .filter(|e| e.revision == m.revision() && e.belongs_to.is_none());
                match (format.as_str(), embedded) {
                    ("yang", Some(e)) => e.text.to_string(),
                    ("yang", None) => nectar_yang::print::module(
                        &m,
                        SchemaOutputFormat::YANG,
                        SchemaPrinterFlags::empty(),
                    )
                    .map_err(MgmtError::from)?,
                    ("yin", _) => nectar_yang::print::module(
                        &m,
                        SchemaOutputFormat::YIN,
                        SchemaPrinterFlags::empty(),
                    )
                    .map_err(MgmtError::from)?,
                    _ => {
                        return Err(MgmtError::new(
                            ErrorType::Protocol,
                            ErrorTag::InvalidValue,
                            format!("unsupported schema format {format:?}"),
                        )
                        .with_info("bad-element", "format")
                        .into());
                    }
                }
            }
            None => match nectar_yang::models::embedded(id) {
                Some(e)
                    if e.belongs_to.is_some()
                        && format == "yang"
                        && (version.is_none() || version.as_deref() == e.revision) =>
                {
                    e.text.to_string()
                }
                _ => return Err(not_found().into()),
            },
        };
        Ok(Reply::Body(format!(
            "<data xmlns=\"{MONITORING_NS}\">{}</data>",
            escape_text(&text)
        )))
    }

    /// RFC 5277 create-subscription.
    async fn create_subscription(&mut self, op: &Element) -> OpResult {
        // RFC 5277 allows one subscription per session: a second one is a
        // resource the session does not have (resource-denied), not a
        // failure of the operation; another session can subscribe.
        if self.mailbox.as_ref().is_some_and(|m| m.is_active()) {
            return Err(proto(
                ErrorTag::OperationFailed,
                "this session has dynamic subscriptions (establish-subscription); \
                 create-subscription needs a session without them (RFC 8640 §2)",
            )
            .into());
        }
        if self.subscription.is_some() {
            return Err(proto(
                ErrorTag::ResourceDenied,
                "this session already has a subscription (one per session, RFC 5277); \
                 open another session for another subscription",
            )
            .into());
        }
        let Some(log) = self.shared.notifications.clone() else {
            return Err(proto(
                ErrorTag::OperationNotSupported,
                "notifications are not enabled",
            )
            .into());
        };
        let sub = crate::notif::subscribe(
            self.shared.ctx,
            self.shared.mgmt.clone(),
            self.user.clone(),
            log,
            op,
            &self.shared.settings.filter,
        )?;
        Ok(Reply::Subscribed(sub))
    }

    /// Any other operation: a YANG RPC of an implemented module.
    async fn yang_rpc(&mut self, op: &Element) -> OpResult {
        let ctx = self.shared.ctx;
        let ns = op.ns.clone().unwrap_or_default();
        let Some(module) = ctx.get_module_implemented_ns(&ns) else {
            return Err(MgmtError::new(
                ErrorType::Protocol,
                ErrorTag::UnknownNamespace,
                format!("no module has the namespace {ns:?}"),
            )
            .with_info("bad-element", op.local.clone())
            .with_info("bad-namespace", ns)
            .into());
        };
        if !module.rpcs().any(|r| r.name() == op.local) {
            return Err(reply::unknown_element(ErrorType::Protocol, &op.local).into());
        }
        let input = encoding::parse_rpc_with(
            ctx,
            &op.to_xml(),
            Format::Xml,
            &self.shared.settings.document,
        )
        .map_err(data_error)?;
        let output = self.shared.mgmt.rpc(self.sid, input).await?;
        let Some(out) = output else {
            return Ok(Reply::Ok);
        };
        let mut body = String::new();
        if let Some(top) = out.reference() {
            let rpc_node = top
                .traverse()
                .find(|n| n.schema().name() == op.local)
                .unwrap_or(top);
            for c in rpc_node.children() {
                body.push_str(
                    &encoding::print_node(&c, &PrintOptions::xml().siblings(false))
                        .map_err(MgmtError::from)?,
                );
            }
        }
        if body.is_empty() {
            Ok(Reply::Ok)
        } else {
            Ok(Reply::Body(body))
        }
    }
}
