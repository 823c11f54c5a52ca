//! gNMI extensions (`gnmi_ext.proto`, openconfig/gnmi v0.10 with the
//! commit-confirmed extension 0.1.0 and the depth extension 0.1.0): which
//! RPC takes which, checked before anything is done.
//!
//! - `commit` (Set only) maps onto the core's confirmed commit (see
//!   [`nectar_mgmt::ConfirmAction`]);
//! - `depth` (Get and Subscribe only) bounds the levels of data returned
//!   below each requested path (see [`crate::data::limit_depth`]);
//! - `registered_ext`, `master_arbitration` and `history` are refused with
//!   UNIMPLEMENTED rather than ignored: a client relying on one must not get
//!   an answer that silently lacks it.

use std::time::Duration;

use nectar_mgmt::ConfirmAction;

use crate::error::{Error, Result};
use crate::proto::gnmi_ext::{self as pb, commit::Action, extension::Ext};

/// The RPC the extensions came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    Capabilities,
    Get,
    Set,
    Subscribe,
}

/// The extensions of one request, checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extensions {
    pub commit: Option<ConfirmAction>,
    /// Levels of data below each path (none: no limit).
    pub depth: Option<u32>,
}

/// The longest rollback duration: RFC 6241's confirm-timeout is a uint32 of
/// seconds, and both protocols share one confirmed commit.
const MAX_ROLLBACK: Duration = Duration::from_secs(u32::MAX as u64);

/// Checks the extensions of a request of `rpc`.
pub fn parse(ext: &[pb::Extension], rpc: Rpc) -> Result<Extensions> {
    let mut out = Extensions::default();
    let (mut commit, mut depth) = (false, false);
    for e in ext {
        match &e.ext {
            None => {}
            Some(Ext::RegisteredExt(r)) => {
                return Err(Error::unimplemented(format!(
                    "the registered extension {} is not supported",
                    r.id
                )));
            }
            Some(Ext::MasterArbitration(_)) => {
                return Err(Error::unimplemented(
                    "the master_arbitration extension is not supported (nectar has no redundant clients to arbitrate)",
                ));
            }
            Some(Ext::History(_)) => {
                return Err(Error::unimplemented(
                    "the history extension is not supported (nectar keeps no time series)",
                ));
            }
            Some(Ext::Commit(c)) => {
                if rpc != Rpc::Set {
                    return Err(Error::invalid("the commit extension applies to Set only"));
                }
                if std::mem::replace(&mut commit, true) {
                    return Err(Error::invalid("the commit extension is given twice"));
                }
                out.commit = Some(commit_action(c)?);
            }
            Some(Ext::Depth(d)) => {
                if !matches!(rpc, Rpc::Get | Rpc::Subscribe) {
                    return Err(Error::invalid(
                        "the depth extension applies to Get and Subscribe only",
                    ));
                }
                if std::mem::replace(&mut depth, true) {
                    return Err(Error::invalid("the depth extension is given twice"));
                }
                out.depth = (d.level > 0).then_some(d.level);
            }
        }
    }
    Ok(out)
}

fn commit_action(c: &pb::Commit) -> Result<ConfirmAction> {
    if c.id.is_empty() {
        return Err(Error::invalid("the commit extension needs an id"));
    }
    let id = c.id.clone();
    Ok(match &c.action {
        None => return Err(Error::invalid("the commit extension has no action")),
        Some(Action::Commit(r)) => ConfirmAction::Start {
            id,
            timeout: r
                .rollback_duration
                .as_ref()
                .map(|d| duration(d, "rollback_duration"))
                .transpose()?,
        },
        Some(Action::Confirm(_)) => ConfirmAction::Confirm { id },
        Some(Action::Cancel(_)) => ConfirmAction::Cancel { id },
        Some(Action::SetRollbackDuration(r)) => ConfirmAction::SetTimeout {
            id,
            timeout: duration(
                r.rollback_duration.as_ref().ok_or_else(|| {
                    Error::invalid("set_rollback_duration needs a rollback_duration")
                })?,
                "rollback_duration",
            )?,
        },
    })
}

/// A positive duration of at most [`MAX_ROLLBACK`].
fn duration(d: &prost_types::Duration, name: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(format!(
            "{name} must be positive and at most {} s",
            MAX_ROLLBACK.as_secs()
        ))
    };
    if d.seconds < 0 || d.nanos < 0 || (d.seconds == 0 && d.nanos == 0) {
        return Err(bad());
    }
    let d = Duration::new(d.seconds as u64, d.nanos as u32);
    if d > MAX_ROLLBACK || d.subsec_nanos() >= 1_000_000_000 {
        return Err(bad());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn ext(e: Ext) -> pb::Extension {
        pb::Extension { ext: Some(e) }
    }

    fn commit(id: &str, a: Action) -> pb::Extension {
        ext(Ext::Commit(pb::Commit {
            id: id.into(),
            action: Some(a),
        }))
    }

    fn code(r: Result<Extensions>) -> Code {
        tonic::Status::from(r.unwrap_err()).code()
    }

    #[test]
    fn each_rpc_takes_its_extensions() {
        let depth = ext(Ext::Depth(pb::Depth { level: 2 }));
        assert_eq!(
            parse(std::slice::from_ref(&depth), Rpc::Get).unwrap().depth,
            Some(2)
        );
        assert_eq!(
            parse(std::slice::from_ref(&depth), Rpc::Subscribe)
                .unwrap()
                .depth,
            Some(2)
        );
        assert_eq!(
            code(parse(std::slice::from_ref(&depth), Rpc::Set)),
            Code::InvalidArgument
        );
        assert_eq!(
            code(parse(std::slice::from_ref(&depth), Rpc::Capabilities)),
            Code::InvalidArgument
        );
        assert_eq!(
            code(parse(&[depth.clone(), depth], Rpc::Get)),
            Code::InvalidArgument
        );
        let zero = ext(Ext::Depth(pb::Depth { level: 0 }));
        assert_eq!(parse(&[zero], Rpc::Get).unwrap().depth, None);

        let start = commit(
            "c1",
            Action::Commit(pb::CommitRequest {
                rollback_duration: None,
            }),
        );
        assert_eq!(
            parse(std::slice::from_ref(&start), Rpc::Set)
                .unwrap()
                .commit,
            Some(ConfirmAction::Start {
                id: "c1".into(),
                timeout: None
            })
        );
        assert_eq!(code(parse(&[start], Rpc::Get)), Code::InvalidArgument);
        let anon = commit("", Action::Confirm(pb::CommitConfirm {}));
        assert_eq!(code(parse(&[anon], Rpc::Set)), Code::InvalidArgument);
        let retime = |s: i64, n: i32| {
            commit(
                "c1",
                Action::SetRollbackDuration(pb::CommitSetRollbackDuration {
                    rollback_duration: Some(prost_types::Duration {
                        seconds: s,
                        nanos: n,
                    }),
                }),
            )
        };
        assert_eq!(
            parse(&[retime(5, 0)], Rpc::Set).unwrap().commit,
            Some(ConfirmAction::SetTimeout {
                id: "c1".into(),
                timeout: Duration::from_secs(5)
            })
        );
        for (s, n) in [(0, 0), (-1, 0), (1, -1), (i64::MAX, 0)] {
            assert_eq!(
                code(parse(&[retime(s, n)], Rpc::Set)),
                Code::InvalidArgument,
                "{s} {n}"
            );
        }
        let history = ext(Ext::History(pb::History { request: None }));
        assert_eq!(code(parse(&[history], Rpc::Get)), Code::Unimplemented);
    }
}
