//! Dynamic subscriptions over NETCONF (RFC 8640): establish-, modify-,
//! delete- and kill-subscription (RFC 8639) and resync-subscription (RFC
//! 8641). The input is parsed by libyang and read by the engine's
//! `push::input`, as RESTCONF's is; what is NETCONF's own is the subtree
//! filter (translated from the XML received) and the XML namespace prefixes
//! of an XPath filter (checked with the filter limits). Several
//! subscriptions may run on one session; their notifications are sent on
//! it, between replies, in the RFC 5277 envelope.

use std::sync::Arc;

use nectar_mgmt::error::{ErrorTag, MgmtError};
use nectar_mgmt::push::{self, Encoding, Mailbox, Owner};
use nectar_yang::encoding::{self, Format};
use tokio::io::AsyncWrite;
use yang2::schema::SchemaNodeKind;

use super::OpResult;
use super::params::{data_error, proto};
use crate::filter::{self, Selection};
use crate::session::{Reply, Session};
use crate::xml::Element;

pub(crate) const SN_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications";
pub(crate) const YP_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-push";

/// `filter-unsupported` with the reason as its hint.
fn unsupported(e: MgmtError) -> MgmtError {
    push::error(
        ErrorTag::InvalidValue,
        push::SN,
        "filter-unsupported",
        e.message.clone(),
    )
    .with_info("filter-failure-hint", e.message)
}

/// What of the filters only the XML can tell: an XPath filter's prefixes
/// and size are checked (so that an undeclared prefix is
/// `filter-unsupported`, not a parse error), and a subtree filter is
/// translated into XPath.
fn xml_filters<W: AsyncWrite + Unpin + Send>(
    s: &Session<W>,
    op: &Element,
) -> Result<push::input::Subtree, MgmtError> {
    let limits = &s.shared.settings.filter;
    let ctx = s.shared.ctx;
    let mut subtree = None;
    for el in op.elements() {
        match (el.ns.as_deref(), el.local.as_str()) {
            (Some(SN_NS), "stream-xpath-filter") | (Some(YP_NS), "datastore-xpath-filter") => {
                let text = el.text();
                filter::xpath(ctx, el, text.trim(), limits).map_err(unsupported)?;
            }
            (Some(SN_NS), "stream-subtree-filter") | (Some(YP_NS), "datastore-subtree-filter") => {
                let xpath = match filter::subtree(ctx, el, limits).map_err(unsupported)? {
                    Selection::All => None,
                    Selection::XPath(x) => Some(x),
                    // Selects nothing: an XPath that no node satisfies.
                    Selection::Nothing => Some("/*[false()]".to_string()),
                };
                if let Some(x) = &xpath {
                    nectar_yang::xpath::count_schema(ctx, x).map_err(|e| {
                        unsupported(MgmtError::invalid_value(format!(
                            "the filter is not a valid XPath over the models: {e}"
                        )))
                    })?;
                }
                subtree = Some(xpath);
            }
            _ => {}
        }
    }
    Ok(subtree)
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
        let subtree = xml_filters(self, op)?;
        let ctx = self.shared.ctx;
        let input = encoding::parse_rpc_with(
            ctx,
            &op.to_xml(),
            Format::Xml,
            &self.shared.settings.document,
        )
        .map_err(data_error)?;
        let node = input
            .traverse()
            .find(|n| n.schema().kind() == SchemaNodeKind::Rpc)
            .ok_or_else(|| MgmtError::operation_failed("no operation in the request"))?;
        match name {
            "establish-subscription" => {
                if self.subscription.is_some() {
                    return Err(proto(
                        ErrorTag::OperationFailed,
                        "this session has an RFC 5277 subscription (create-subscription); \
                         dynamic subscriptions need a session without one (RFC 8640 §2)",
                    )
                    .into());
                }
                // RFC 8640 sends notifications as XML: encode-json is
                // refused (encoding-unsupported).
                let policy = push::input::establish(&node, &[Encoding::Xml], &subtree)?;
                self.establish(&subs, policy).await
            }
            "modify-subscription" => {
                let (id, m) = push::input::modify(&node, &subtree)?;
                subs.modify(self.sid, id, m).await?;
                Ok(Reply::Ok)
            }
            "delete-subscription" => {
                subs.delete(self.sid, push::input::subscription_id(&node)?)
                    .await?;
                Ok(Reply::Ok)
            }
            "kill-subscription" => {
                subs.kill(push::input::subscription_id(&node)?).await?;
                Ok(Reply::Ok)
            }
            _ => {
                subs.resync(self.sid, push::input::subscription_id(&node)?)
                    .await?;
                Ok(Reply::Ok)
            }
        }
    }

    async fn establish(
        &mut self,
        subs: &Arc<push::Subscriptions>,
        policy: push::Policy,
    ) -> OpResult {
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
