//! nectar's management core: datastores, transactions, sessions, locks, NACM,
//! commit history and the event bus. Imports `yang` only; the protocol crates
//! and the dataplane northbound import it.

pub mod auth;
pub mod core;
pub mod edit;
pub mod error;
pub mod handle;
pub mod limits;
pub mod ly;
pub mod metrics;
pub mod nacm;
pub mod notify;
pub mod origin;
pub mod provider;
pub mod push;
pub mod request;
pub mod scope;
pub mod store;
pub mod types;
pub mod yanglib;

pub use crate::core::{
    CommitOptions, ConfirmAction, Core, CoreConfig, EditOutcome, LoadFrom, Source,
};
pub use auth::{Authenticator, BoundedChecks, PasswordCache};
pub use edit::{DefaultOp, EditOp, EditStep, ErrorOption};
pub use error::{ErrorTag, ErrorType, Errors, MgmtError};
pub use handle::MgmtHandle;
pub use provider::{Callbacks, Change, ChangeOp, Provider, Registry};
pub use request::{Caller, Edit, Read, ReadReply, SessionSlot, View};
pub use types::{Datastore, Event, SessionId, SessionInfo};
