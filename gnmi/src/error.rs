//! The crate's error type and its one mapping to the wire: a gRPC status.
//!
//! The management core reports problems in RFC 6241 terms (error-tag,
//! error-path, error-message); gNMI reports a gRPC status code with a message
//! (gNMI §2.5). [`code_of`] is the single table from error-tag to code, so Get,
//! Set and Subscribe answer the same problem with the same code.

use nectar_mgmt::{ErrorTag, Errors, MgmtError};
use tonic::{Code, Status};

/// A failed gNMI request, as the client will see it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(Code::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(Code::NotFound, message)
    }

    pub fn unimplemented(message: impl Into<String>) -> Self {
        Error::new(Code::Unimplemented, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(Code::Internal, message)
    }

    /// The status of a failed read of the client's request stream. tonic
    /// answers a message above the decoding limit with OUT_OF_RANGE; gRPC's
    /// status code table gives RESOURCE_EXHAUSTED for a message larger than
    /// the configured limit, and so does this server (the limit is
    /// `gnmi.max_message_bytes`).
    pub fn from_request(s: &Status) -> Self {
        if is_too_large(s) {
            return Error::new(Code::ResourceExhausted, too_large_message(s));
        }
        Error::new(s.code(), s.message())
    }

    /// A path the schema does not know (gNMI §3.3.4, §3.4.7: NOT_FOUND).
    pub fn path(e: nectar_yang::Error) -> Self {
        match e {
            nectar_yang::Error::Path { path, reason } => {
                Error::not_found(format!("path {path}: {reason}"))
            }
            other => Error::invalid(other.to_string()),
        }
    }
}

/// Whether tonic refused a request message above the decoding limit.
pub fn is_too_large(s: &Status) -> bool {
    s.code() == Code::OutOfRange
        && s.message()
            .starts_with("Error, decoded message length too large")
}

fn too_large_message(s: &Status) -> String {
    format!(
        "the request message is too large (gnmi.max_message_bytes): {}",
        s.message()
    )
}

/// A [`Status`] for a refused request message (see [`Error::from_request`]);
/// any other status unchanged.
pub fn too_large_as_resource_exhausted(s: Status) -> Status {
    if is_too_large(&s) {
        Status::resource_exhausted(too_large_message(&s))
    } else {
        s
    }
}

/// A client over a bound of the door (sessions, subscriptions):
/// RESOURCE_EXHAUSTED, the message naming the bound and its key.
impl From<nectar_mgmt::limits::Refused> for Error {
    fn from(r: nectar_mgmt::limits::Refused) -> Self {
        Error::new(Code::ResourceExhausted, r.to_string())
    }
}

/// The gRPC code for an RFC 6241 error-tag.
pub fn code_of(tag: ErrorTag) -> Code {
    match tag {
        ErrorTag::InvalidValue
        | ErrorTag::MissingAttribute
        | ErrorTag::BadAttribute
        | ErrorTag::UnknownAttribute
        | ErrorTag::MissingElement
        | ErrorTag::BadElement
        | ErrorTag::UnknownElement
        | ErrorTag::UnknownNamespace
        | ErrorTag::MalformedMessage => Code::InvalidArgument,
        ErrorTag::AccessDenied => Code::PermissionDenied,
        ErrorTag::DataMissing => Code::NotFound,
        ErrorTag::DataExists => Code::AlreadyExists,
        ErrorTag::InUse | ErrorTag::LockDenied => Code::Aborted,
        ErrorTag::ResourceDenied | ErrorTag::TooBig => Code::ResourceExhausted,
        ErrorTag::OperationNotSupported => Code::Unimplemented,
        ErrorTag::OperationFailed => Code::FailedPrecondition,
        ErrorTag::RollbackFailed | ErrorTag::PartialOperation => Code::Internal,
    }
}

/// One management error as text: tag, message, path and app-tag.
fn describe(e: &MgmtError) -> String {
    let mut s = format!("{}: {}", e.tag.as_str(), e.message);
    if let Some(p) = &e.path {
        s.push_str(&format!(" (path {p})"));
    }
    if let Some(t) = &e.app_tag {
        s.push_str(&format!(" [error-app-tag {t}]"));
    }
    for (k, v) in &e.info {
        s.push_str(&format!(" [{k}: {v}]"));
    }
    s
}

impl From<MgmtError> for Error {
    fn from(e: MgmtError) -> Self {
        Error::new(code_of(e.tag), describe(&e))
    }
}

/// Several errors of one request: the code of the first, every message.
impl From<Errors> for Error {
    fn from(e: Errors) -> Self {
        let message = e.0.iter().map(describe).collect::<Vec<_>>().join("; ");
        Error::new(code_of(e.first().tag), message)
    }
}

/// The longest message sent in a status (it travels in the `grpc-message`
/// trailer, and messages echo client paths and values: a client's metadata
/// limit must not turn the answer into another error).
pub const MAX_MESSAGE: usize = 1024;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        Status::new(e.code, bounded(e.message))
    }
}

/// `message` cut to [`MAX_MESSAGE`] bytes (at a character boundary), with
/// an ellipsis when cut.
pub fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE - '…'.len_utf8();
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
