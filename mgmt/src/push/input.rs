//! The input of establish-subscription and modify-subscription as libyang
//! parsed it (RESTCONF bodies), into the engine's terms.

use std::time::SystemTime;

use yang2::data::{Data, DataNodeRef};

use super::{ChangeType, Encoding, Filter, Modify, Policy, SN, Target, Trigger, YP, error};
use crate::error::{ErrorTag, ErrorType, MgmtError};
use crate::types::Datastore;

fn child<'a>(n: &DataNodeRef<'a, 'static>, name: &str) -> Option<DataNodeRef<'a, 'static>> {
    n.children().find(|c| c.schema().name() == name)
}

fn value(n: &DataNodeRef<'_, 'static>, name: &str) -> Option<String> {
    child(n, name).and_then(|c| c.value_canonical())
}

fn time(n: &DataNodeRef<'_, 'static>, name: &str) -> Result<Option<SystemTime>, MgmtError> {
    match value(n, name) {
        None => Ok(None),
        Some(v) => crate::types::parse_rfc3339(&v).map(Some).ok_or_else(|| {
            MgmtError::invalid_value(format!("{name} is not an RFC 3339 date-and-time"))
                .with_info("bad-element", name)
        }),
    }
}

fn centiseconds(n: &DataNodeRef<'_, 'static>, name: &str) -> Result<Option<u32>, MgmtError> {
    value(n, name)
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                MgmtError::invalid_value(format!("{name} is a number of centiseconds"))
            })
        })
        .transpose()
}

/// A door's translation of the input's subtree filter into XPath (`None`:
/// everything), when it has one: the core has no subtree-to-XPath
/// translation of anydata (NETCONF translates the XML it received).
pub type Subtree = Option<Option<String>>;

/// The filter of the input, if any.
fn filter(
    op: &DataNodeRef<'_, 'static>,
    stream: bool,
    translated: &Subtree,
) -> Result<Option<Filter>, MgmtError> {
    let (by_ref, subtree, xpath) = if stream {
        (
            "stream-filter-name",
            "stream-subtree-filter",
            "stream-xpath-filter",
        )
    } else {
        (
            "selection-filter-ref",
            "datastore-subtree-filter",
            "datastore-xpath-filter",
        )
    };
    if child(op, subtree).is_some() {
        if let Some(xpath) = translated {
            return Ok(Some(Filter {
                xpath: xpath.clone(),
                reference: None,
            }));
        }
        return Err(error(
            ErrorTag::InvalidValue,
            SN,
            "filter-unsupported",
            format!("{subtree} is taken over NETCONF; over RESTCONF give {xpath}"),
        )
        .with_info("filter-failure-hint", format!("use {xpath}")));
    }
    if let Some(name) = value(op, by_ref) {
        return Ok(Some(Filter {
            xpath: None,
            reference: Some(name),
        }));
    }
    match value(op, xpath) {
        None => Ok(None),
        Some(x) => {
            nectar_yang::xpath::count_schema(op.context(), &x).map_err(|e| {
                error(
                    ErrorTag::InvalidValue,
                    SN,
                    "filter-unsupported",
                    format!("the filter is not a valid XPath over the models: {e}"),
                )
                .with_info("filter-failure-hint", e.to_string())
            })?;
            Ok(Some(Filter {
                xpath: Some(x),
                reference: None,
            }))
        }
    }
}

fn trigger(op: &DataNodeRef<'_, 'static>) -> Result<Option<Trigger>, MgmtError> {
    if let Some(p) = child(op, "periodic") {
        let period = centiseconds(&p, "period")?.ok_or_else(|| {
            MgmtError::new(
                ErrorType::Application,
                ErrorTag::MissingElement,
                "periodic needs a period",
            )
            .with_info("bad-element", "period")
        })?;
        return Ok(Some(Trigger::Periodic {
            period,
            anchor: time(&p, "anchor-time")?,
        }));
    }
    if let Some(o) = child(op, "on-change") {
        let excluded = o
            .children()
            .filter(|c| c.schema().name() == "excluded-change")
            .filter_map(|c| c.value_canonical())
            .filter_map(|v| ChangeType::parse(&v))
            .collect();
        return Ok(Some(Trigger::OnChange {
            dampening: centiseconds(&o, "dampening-period")?.unwrap_or(0),
            sync_on_start: value(&o, "sync-on-start").is_none_or(|v| v == "true"),
            excluded,
        }));
    }
    Ok(None)
}

/// The policy of an establish-subscription input (`op` is the RPC node).
/// `encodings`: what the transport offers.
pub fn establish(
    op: &DataNodeRef<'_, 'static>,
    encodings: &[Encoding],
    subtree: &Subtree,
) -> Result<Policy, MgmtError> {
    let target = match (value(op, "stream"), value(op, "datastore")) {
        (Some(name), None) => Target::Stream {
            name,
            replay_start: time(op, "replay-start-time")?,
        },
        (None, Some(ds)) => {
            let local = ds.rsplit(':').next().unwrap_or_default();
            Target::Datastore(Datastore::parse(local).ok_or_else(|| {
                error(
                    ErrorTag::InvalidValue,
                    YP,
                    "datastore-not-subscribable",
                    format!("no datastore {ds}"),
                )
            })?)
        }
        _ => {
            return Err(MgmtError::new(
                ErrorType::Application,
                ErrorTag::MissingElement,
                "establish-subscription needs a stream or a datastore",
            )
            .with_info("bad-element", "stream"));
        }
    };
    let stream = matches!(target, Target::Stream { .. });
    let encoding = match value(op, "encoding") {
        None => encodings.first().copied().unwrap_or(Encoding::Json),
        Some(e) => match Encoding::parse(&e) {
            Some(enc) if encodings.contains(&enc) => enc,
            _ => {
                return Err(error(
                    ErrorTag::InvalidValue,
                    SN,
                    "encoding-unsupported",
                    format!("the encoding {e} is not offered on this transport"),
                ));
            }
        },
    };
    Ok(Policy {
        filter: filter(op, stream, subtree)?.unwrap_or_default(),
        target,
        stop: time(op, "stop-time")?,
        encoding,
        trigger: trigger(op)?,
    })
}

/// The id and changes of a modify-subscription input.
pub fn modify(
    op: &DataNodeRef<'_, 'static>,
    subtree: &Subtree,
) -> Result<(u32, Modify), MgmtError> {
    let id = subscription_id(op)?;
    let given = match (filter(op, true, subtree)?, filter(op, false, subtree)?) {
        (Some(_), Some(_)) => {
            return Err(MgmtError::invalid_value(
                "give one filter: a stream filter or a selection filter",
            ));
        }
        (Some(f), None) => Some((f, true)),
        (None, Some(f)) => Some((f, false)),
        (None, None) => None,
    };
    let mut m = Modify {
        filter: given,
        stop: time(op, "stop-time")?.map(Some),
        ..Default::default()
    };
    match trigger(op)? {
        Some(Trigger::Periodic { period, anchor }) => m.period = Some((period, anchor)),
        Some(Trigger::OnChange { dampening, .. }) => m.dampening = Some(dampening),
        None => {}
    }
    Ok((id, m))
}

/// The `id` of a modify-, delete-, kill- or resync-subscription input.
pub fn subscription_id(op: &DataNodeRef<'_, 'static>) -> Result<u32, MgmtError> {
    value(op, "id")
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            MgmtError::new(
                ErrorType::Application,
                ErrorTag::MissingElement,
                "the subscription id is missing",
            )
            .with_info("bad-element", "id")
        })
}
