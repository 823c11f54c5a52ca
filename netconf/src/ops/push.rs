//! Dynamic subscriptions over NETCONF (RFC 8640): establish-, modify-,
//! delete- and kill-subscription (RFC 8639) and resync-subscription (RFC
//! 8641), read from the XML of the RPC into the engine's terms. Several
//! subscriptions may run on one session; their notifications are sent on it,
//! between replies, in the RFC 5277 envelope.

use std::sync::Arc;
use std::time::SystemTime;

use nectar_mgmt::Datastore;
use nectar_mgmt::error::{ErrorTag, ErrorType, MgmtError};
use nectar_mgmt::push::{
    self, ChangeType, Encoding, Filter, Mailbox, Modify, Owner, Policy, Target, Trigger,
};
use tokio::io::AsyncWrite;

use super::OpResult;
use super::params::{parse_u32, proto};
use crate::filter::{self, Selection};
use crate::notif::parse_time;
use crate::reply;
use crate::session::{Reply, Session};
use crate::xml::Element;

pub(crate) const SN_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications";
pub(crate) const YP_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-push";
const DS_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-datastores";

/// Which parameters an RPC takes, by namespace.
const ESTABLISH: &[(&str, &str)] = &[
    (SN_NS, "stream"),
    (SN_NS, "stream-filter-name"),
    (SN_NS, "stream-subtree-filter"),
    (SN_NS, "stream-xpath-filter"),
    (SN_NS, "replay-start-time"),
    (SN_NS, "stop-time"),
    (SN_NS, "encoding"),
    (YP_NS, "datastore"),
    (YP_NS, "selection-filter-ref"),
    (YP_NS, "datastore-subtree-filter"),
    (YP_NS, "datastore-xpath-filter"),
    (YP_NS, "periodic"),
    (YP_NS, "on-change"),
];

const MODIFY: &[(&str, &str)] = &[
    (SN_NS, "id"),
    (SN_NS, "stream-filter-name"),
    (SN_NS, "stream-subtree-filter"),
    (SN_NS, "stream-xpath-filter"),
    (SN_NS, "stop-time"),
    (YP_NS, "datastore"),
    (YP_NS, "selection-filter-ref"),
    (YP_NS, "datastore-subtree-filter"),
    (YP_NS, "datastore-xpath-filter"),
    (YP_NS, "periodic"),
    (YP_NS, "on-change"),
];

fn bad(name: &str, msg: impl Into<String>) -> MgmtError {
    MgmtError::new(ErrorType::Application, ErrorTag::InvalidValue, msg)
        .with_info("bad-element", name)
}

/// Refuses parameters the RPC does not take and repeated ones.
fn check_params(op: &Element, allowed: &[(&str, &str)]) -> Result<(), MgmtError> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in op.elements() {
        let ns = c.ns.as_deref().unwrap_or("");
        let Some(&(n, l)) = allowed.iter().find(|(n, l)| *n == ns && *l == c.local) else {
            return Err(reply::unknown_element(ErrorType::Application, &c.local));
        };
        if seen.contains(&(n, l)) {
            return Err(MgmtError::new(
                ErrorType::Application,
                ErrorTag::BadElement,
                format!("{} is given more than once", c.local),
            )
            .with_info("bad-element", c.local.clone()));
        }
        seen.push((n, l));
    }
    Ok(())
}

fn time(el: &Element) -> Result<SystemTime, MgmtError> {
    parse_time(&el.text()).ok_or_else(|| {
        bad(
            &el.local,
            format!("{} is not an RFC 3339 date-and-time", el.local),
        )
    })
}

/// An identity value: its local name, when its prefix (if any) is bound to
/// `ns` (or to one of `also`).
fn identity(el: &Element, ns: &[&str]) -> Result<String, MgmtError> {
    let text = el.text();
    let text = text.trim();
    let (prefix, local) = match text.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, text),
    };
    let ok = match prefix {
        None => true,
        Some(p) => el
            .resolve_prefix(p)
            .is_some_and(|bound| ns.contains(&bound.as_str())),
    };
    if !ok || local.is_empty() {
        return Err(bad(
            &el.local,
            format!("{} is not a known identity: {text:?}", el.local),
        ));
    }
    Ok(local.to_string())
}

fn centiseconds(el: &Element) -> Result<u32, MgmtError> {
    parse_u32(el).map_err(|_| {
        bad(
            &el.local,
            format!("{} is a number of centiseconds", el.local),
        )
    })
}

/// The filter of an establish- or modify-subscription, if one is given.
fn filter_of<W: AsyncWrite + Unpin + Send>(
    s: &Session<W>,
    op: &Element,
    stream: bool,
) -> Result<Option<Filter>, MgmtError> {
    let (ns, by_ref, subtree, xpath) = if stream {
        (
            SN_NS,
            "stream-filter-name",
            "stream-subtree-filter",
            "stream-xpath-filter",
        )
    } else {
        (
            YP_NS,
            "selection-filter-ref",
            "datastore-subtree-filter",
            "datastore-xpath-filter",
        )
    };
    let limits = &s.shared.settings.filter;
    let ctx = s.shared.ctx;
    let given: Vec<&Element> = [by_ref, subtree, xpath]
        .iter()
        .filter_map(|n| op.child(n, ns))
        .collect();
    if given.len() > 1 {
        return Err(MgmtError::new(
            ErrorType::Application,
            ErrorTag::BadElement,
            "give one filter: by reference, subtree or XPath",
        )
        .with_info("bad-element", given[1].local.clone()));
    }
    let Some(el) = given.first() else {
        return Ok(None);
    };
    let unsupported = |e: MgmtError| {
        push::error(
            ErrorTag::InvalidValue,
            push::SN,
            "filter-unsupported",
            e.message.clone(),
        )
        .with_info("filter-failure-hint", e.message)
    };
    let selection = if el.local == by_ref {
        return Ok(Some(Filter {
            xpath: None,
            reference: Some(el.text().trim().to_string()),
        }));
    } else if el.local == subtree {
        filter::subtree(ctx, el, limits).map_err(unsupported)?
    } else {
        let text = el.text();
        filter::xpath(ctx, el, text.trim(), limits).map_err(unsupported)?
    };
    let xpath = match selection {
        Selection::All => None,
        Selection::XPath(x) => Some(x),
        // Selects nothing: an XPath that no node satisfies.
        Selection::Nothing => Some("/*[false()]".to_string()),
    };
    if let Some(x) = &xpath
        && let Err(e) = nectar_yang::xpath::count_schema(ctx, x)
    {
        return Err(unsupported(MgmtError::invalid_value(format!(
            "the filter is not a valid XPath over the models: {e}"
        ))));
    }
    Ok(Some(Filter {
        xpath,
        reference: None,
    }))
}

fn trigger_of(op: &Element) -> Result<Option<Trigger>, MgmtError> {
    match (op.child("periodic", YP_NS), op.child("on-change", YP_NS)) {
        (Some(_), Some(_)) => Err(MgmtError::new(
            ErrorType::Application,
            ErrorTag::BadElement,
            "periodic and on-change exclude each other",
        )
        .with_info("bad-element", "on-change")),
        (Some(p), None) => {
            let mut period = None;
            let mut anchor = None;
            for c in p.elements() {
                match (c.ns.as_deref(), c.local.as_str()) {
                    (Some(YP_NS), "period") => period = Some(centiseconds(c)?),
                    (Some(YP_NS), "anchor-time") => anchor = Some(time(c)?),
                    _ => return Err(reply::unknown_element(ErrorType::Application, &c.local)),
                }
            }
            let period =
                period.ok_or_else(|| reply::missing_element(ErrorType::Application, "period"))?;
            Ok(Some(Trigger::Periodic { period, anchor }))
        }
        (None, Some(o)) => {
            let mut dampening = 0;
            let mut sync_on_start = true;
            let mut excluded = Vec::new();
            for c in o.elements() {
                match (c.ns.as_deref(), c.local.as_str()) {
                    (Some(YP_NS), "dampening-period") => dampening = centiseconds(c)?,
                    (Some(YP_NS), "sync-on-start") => {
                        sync_on_start = match c.text().trim() {
                            "true" => true,
                            "false" => false,
                            v => {
                                return Err(bad(
                                    "sync-on-start",
                                    format!("sync-on-start is a boolean, not {v:?}"),
                                ));
                            }
                        }
                    }
                    (Some(YP_NS), "excluded-change") => {
                        let v = c.text();
                        let t = ChangeType::parse(v.trim()).ok_or_else(|| {
                            bad("excluded-change", format!("no change type {:?}", v.trim()))
                        })?;
                        if !excluded.contains(&t) {
                            excluded.push(t);
                        }
                    }
                    _ => return Err(reply::unknown_element(ErrorType::Application, &c.local)),
                }
            }
            Ok(Some(Trigger::OnChange {
                dampening,
                sync_on_start,
                excluded,
            }))
        }
        (None, None) => Ok(None),
    }
}

fn id_of(op: &Element) -> Result<u32, MgmtError> {
    let el = op
        .child("id", SN_NS)
        .or_else(|| op.child("id", YP_NS))
        .ok_or_else(|| reply::missing_element(ErrorType::Application, "id"))?;
    parse_u32(el).map_err(|_| bad("id", "id is a subscription id (a 32-bit number)"))
}

impl<W: AsyncWrite + Unpin + Send> Session<W> {
    fn subscriptions(&self) -> Result<Arc<push::Subscriptions>, MgmtError> {
        self.shared.subscriptions.clone().ok_or_else(|| {
            proto(
                ErrorTag::OperationNotSupported,
                "subscriptions are not enabled on this server",
            )
        })
    }

    /// The RPCs of ietf-subscribed-notifications and ietf-yang-push.
    pub(crate) async fn push_rpc(&mut self, op: &Element) -> OpResult {
        let module = if op.ns.as_deref() == Some(YP_NS) {
            "ietf-yang-push"
        } else {
            "ietf-subscribed-notifications"
        };
        let name = op.local.clone();
        match (module, name.as_str()) {
            ("ietf-subscribed-notifications", "establish-subscription")
            | ("ietf-subscribed-notifications", "modify-subscription")
            | ("ietf-subscribed-notifications", "delete-subscription")
            | ("ietf-subscribed-notifications", "kill-subscription")
            | ("ietf-yang-push", "resync-subscription") => {}
            _ => return self.yang_rpc(op).await,
        }
        self.check_rpc(module, &name).await?;
        // Errors carry their reason and hints in the RPC's *-error-info.
        let datastore = op.elements().any(|c| {
            c.ns.as_deref() == Some(YP_NS) && push::DATASTORE_PARAMS.contains(&c.local.as_str())
        });
        self.push_op(op, &name).await.map_err(|errs| {
            nectar_mgmt::Errors(
                errs.0
                    .into_iter()
                    .map(|e| push::with_error_info(e, &name, datastore))
                    .collect(),
            )
        })
    }

    async fn push_op(&mut self, op: &Element, name: &str) -> OpResult {
        let subs = self.subscriptions()?;
        match name {
            "establish-subscription" => self.establish(&subs, op).await,
            "modify-subscription" => {
                check_params(op, MODIFY)?;
                let id = id_of(op)?;
                let filter = match (filter_of(self, op, true)?, filter_of(self, op, false)?) {
                    (Some(_), Some(_)) => {
                        return Err(bad(
                            "datastore-xpath-filter",
                            "give one filter: a stream filter or a selection filter",
                        )
                        .into());
                    }
                    (Some(f), None) => Some((f, true)),
                    (None, Some(f)) => Some((f, false)),
                    (None, None) => None,
                };
                let mut m = Modify {
                    filter,
                    stop: op
                        .child("stop-time", SN_NS)
                        .map(time)
                        .transpose()?
                        .map(Some),
                    ..Default::default()
                };
                match trigger_of(op)? {
                    Some(Trigger::Periodic { period, anchor }) => m.period = Some((period, anchor)),
                    Some(Trigger::OnChange { dampening, .. }) => m.dampening = Some(dampening),
                    None => {}
                }
                subs.modify(self.sid, id, m).await?;
                Ok(Reply::Ok)
            }
            "delete-subscription" => {
                check_params(op, &[(SN_NS, "id")])?;
                let id = id_of(op)?;
                subs.delete(self.sid, id).await?;
                Ok(Reply::Ok)
            }
            "kill-subscription" => {
                check_params(op, &[(SN_NS, "id")])?;
                let id = id_of(op)?;
                subs.kill(id).await?;
                Ok(Reply::Ok)
            }
            _ => {
                check_params(op, &[(YP_NS, "id")])?;
                let id = id_of(op)?;
                subs.resync(self.sid, id).await?;
                Ok(Reply::Ok)
            }
        }
    }

    async fn establish(&mut self, subs: &Arc<push::Subscriptions>, op: &Element) -> OpResult {
        if self.subscription.is_some() {
            return Err(proto(
                ErrorTag::OperationFailed,
                "this session has an RFC 5277 subscription (create-subscription); \
                 dynamic subscriptions need a session without one (RFC 8640 §2)",
            )
            .into());
        }
        check_params(op, ESTABLISH)?;
        let target = match (op.child("stream", SN_NS), op.child("datastore", YP_NS)) {
            (Some(_), Some(_)) => {
                return Err(MgmtError::new(
                    ErrorType::Application,
                    ErrorTag::BadElement,
                    "a subscription is to a stream or to a datastore, not both",
                )
                .with_info("bad-element", "datastore")
                .into());
            }
            (Some(s), None) => Target::Stream {
                name: s.text().trim().to_string(),
                replay_start: op.child("replay-start-time", SN_NS).map(time).transpose()?,
            },
            (None, Some(d)) => {
                let local = identity(d, &[DS_NS])?;
                let ds = Datastore::parse(&local).ok_or_else(|| {
                    push::error(
                        ErrorTag::InvalidValue,
                        push::YP,
                        "datastore-not-subscribable",
                        format!("no datastore {local:?}"),
                    )
                })?;
                if op.child("replay-start-time", SN_NS).is_some() {
                    return Err(bad(
                        "replay-start-time",
                        "replay-start-time is for stream subscriptions",
                    )
                    .into());
                }
                Target::Datastore(ds)
            }
            (None, None) => {
                return Err(reply::missing_element(ErrorType::Application, "stream").into());
            }
        };
        let stream = matches!(target, Target::Stream { .. });
        if stream
            && [
                "selection-filter-ref",
                "datastore-subtree-filter",
                "datastore-xpath-filter",
            ]
            .iter()
            .any(|n| op.child(n, YP_NS).is_some())
        {
            return Err(bad(
                "datastore-xpath-filter",
                "a datastore filter needs a datastore",
            )
            .into());
        }
        let encoding = match op.child("encoding", SN_NS) {
            None => Encoding::Xml,
            Some(e) => {
                let local = identity(e, &[SN_NS])?;
                match Encoding::parse(&local) {
                    Some(Encoding::Xml) => Encoding::Xml,
                    Some(Encoding::Json) => {
                        return Err(push::error(
                            ErrorTag::InvalidValue,
                            push::SN,
                            "encoding-unsupported",
                            "NETCONF carries notifications as XML (RFC 8640 §2); \
                             encode-json is offered over RESTCONF",
                        )
                        .into());
                    }
                    None => {
                        return Err(push::error(
                            ErrorTag::InvalidValue,
                            push::SN,
                            "encoding-unsupported",
                            format!("no encoding {local:?}"),
                        )
                        .into());
                    }
                }
            }
        };
        let policy = Policy {
            filter: filter_of(self, op, stream)?.unwrap_or_default(),
            target,
            stop: op.child("stop-time", SN_NS).map(time).transpose()?,
            encoding,
            trigger: trigger_of(op)?,
        };
        let mailbox = self
            .mailbox
            .get_or_insert_with(|| Mailbox::new(subs.limits()))
            .clone();
        let owner = Owner {
            session: self.sid,
            user: self.user.clone(),
            transport: "netconf",
        };
        let (id, revision) = subs.establish(owner, policy, &mailbox).await?;
        let mut body = format!("<id xmlns=\"{SN_NS}\">{id}</id>");
        if let Some(r) = revision {
            body.push_str(&format!(
                "<replay-start-time-revision xmlns=\"{SN_NS}\">{}</replay-start-time-revision>",
                push::rfc3339(r)
            ));
        }
        Ok(Reply::Body(body))
    }
}
