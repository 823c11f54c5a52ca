//! The control API's vocabulary: operations ([`ops`]), the desired configuration they edit
//! ([`config`]), and the one error type. The [`crate::Dataplane`] methods `check`,
//! `open_ports` and `apply` take batches of [`Op`]s.

pub mod config;
pub mod ops;

pub use config::{Config, IfKind, MAX_INTERFACES};
pub use ops::*;

/// Why a batch of operations was refused. Nothing of a refused batch is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No interface by that name.
    #[error("unknown interface {0}")]
    UnknownInterface(String),
    /// No VRF by that name.
    #[error("unknown vrf {0}")]
    UnknownVrf(String),
    /// No bridge domain by that name.
    #[error("unknown bridge domain {0}")]
    UnknownBridgeDomain(String),
    /// No ACL by that name.
    #[error("unknown acl {0}")]
    UnknownAcl(String),
    /// The object to delete does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The object to create already exists.
    #[error("already exists: {0}")]
    Exists(String),
    /// A value is out of range or inconsistent.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A table would exceed its limit.
    #[error("table full: {0}")]
    TableFull(String),
    /// A port created on demand ([`Op::AddHostPort`]) could not be opened on its host
    /// resource.
    #[error("cannot open port {name} ({spec}): {reason}")]
    PortOpen {
        /// Interface name.
        name: String,
        /// What it was to be opened on.
        spec: HostPort,
        /// The system's reason.
        reason: String,
        /// The host interface does not exist (rather than another failure).
        not_found: bool,
    },
}
