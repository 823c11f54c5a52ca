//! Errors of the management core, shaped after RFC 6241 `rpc-error` so every
//! protocol maps them to its wire format in one place: NETCONF as
//! `<rpc-error>`, RESTCONF as `ietf-restconf:errors` with the status code of
//! the error-tag (RFC 8040 §7), gNMI as a gRPC status.

use std::fmt;

/// RFC 6241 Appendix A error-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Transport,
    Rpc,
    Protocol,
    Application,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Transport => "transport",
            ErrorType::Rpc => "rpc",
            ErrorType::Protocol => "protocol",
            ErrorType::Application => "application",
        }
    }
}

/// RFC 6241 Appendix A error-tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTag {
    InUse,
    InvalidValue,
    TooBig,
    MissingAttribute,
    BadAttribute,
    UnknownAttribute,
    MissingElement,
    BadElement,
    UnknownElement,
    UnknownNamespace,
    AccessDenied,
    LockDenied,
    ResourceDenied,
    RollbackFailed,
    DataExists,
    DataMissing,
    OperationNotSupported,
    OperationFailed,
    PartialOperation,
    MalformedMessage,
}

impl ErrorTag {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorTag::InUse => "in-use",
            ErrorTag::InvalidValue => "invalid-value",
            ErrorTag::TooBig => "too-big",
            ErrorTag::MissingAttribute => "missing-attribute",
            ErrorTag::BadAttribute => "bad-attribute",
            ErrorTag::UnknownAttribute => "unknown-attribute",
            ErrorTag::MissingElement => "missing-element",
            ErrorTag::BadElement => "bad-element",
            ErrorTag::UnknownElement => "unknown-element",
            ErrorTag::UnknownNamespace => "unknown-namespace",
            ErrorTag::AccessDenied => "access-denied",
            ErrorTag::LockDenied => "lock-denied",
            ErrorTag::ResourceDenied => "resource-denied",
            ErrorTag::RollbackFailed => "rollback-failed",
            ErrorTag::DataExists => "data-exists",
            ErrorTag::DataMissing => "data-missing",
            ErrorTag::OperationNotSupported => "operation-not-supported",
            ErrorTag::OperationFailed => "operation-failed",
            ErrorTag::PartialOperation => "partial-operation",
            ErrorTag::MalformedMessage => "malformed-message",
        }
    }
}

/// One problem, with everything RFC 6241 lets a server say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtError {
    pub error_type: ErrorType,
    pub tag: ErrorTag,
    /// error-app-tag, e.g. libyang's or a model's `error-app-tag`.
    pub app_tag: Option<String>,
    /// error-path: the data node the error refers to (JSON-style instance
    /// identifier, module names as prefixes).
    pub path: Option<String>,
    /// error-message, for people.
    pub message: String,
    /// error-info elements as (name, value), e.g. ("session-id", "7").
    pub info: Vec<(String, String)>,
}

impl MgmtError {
    pub fn new(error_type: ErrorType, tag: ErrorTag, message: impl Into<String>) -> Self {
        MgmtError {
            error_type,
            tag,
            app_tag: None,
            path: None,
            message: message.into(),
            info: Vec::new(),
        }
    }

    /// An application-layer error with the given tag.
    pub fn app(tag: ErrorTag, message: impl Into<String>) -> Self {
        MgmtError::new(ErrorType::Application, tag, message)
    }

    /// A protocol-layer error with the given tag.
    pub fn protocol(tag: ErrorTag, message: impl Into<String>) -> Self {
        MgmtError::new(ErrorType::Protocol, tag, message)
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn with_app_tag(mut self, tag: impl Into<String>) -> Self {
        self.app_tag = Some(tag.into());
        self
    }

    pub fn with_info(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.info.push((name.into(), value.into()));
        self
    }

    pub fn operation_failed(message: impl Into<String>) -> Self {
        MgmtError::app(ErrorTag::OperationFailed, message)
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        MgmtError::app(ErrorTag::InvalidValue, message)
    }

    pub fn access_denied(path: Option<String>) -> Self {
        let e = MgmtError::app(
            ErrorTag::AccessDenied,
            "access to the requested data or operation is denied",
        );
        match path {
            Some(p) => e.with_path(p),
            None => e,
        }
    }

    pub fn lock_denied(holder: u32) -> Self {
        MgmtError::protocol(
            ErrorTag::LockDenied,
            format!("the datastore is locked by session {holder}"),
        )
        .with_info("session-id", holder.to_string())
    }

    pub fn in_use(holder: u32) -> Self {
        MgmtError::protocol(
            ErrorTag::InUse,
            format!("the datastore is locked by session {holder}"),
        )
        .with_info("session-id", holder.to_string())
    }

    /// A libyang validation or parse error, as `invalid-value` unless the
    /// message says what else it is (RFC 6241 / RFC 7950 §15 mapping).
    pub fn from_yang(e: &nectar_yang::Error) -> Self {
        match e {
            nectar_yang::Error::Libyang {
                message,
                path,
                app_tag,
            } => {
                let tag = if app_tag.as_deref() == Some("missing-element")
                    || message.starts_with("Mandatory node")
                    || message.starts_with("Mandatory choice")
                {
                    ErrorTag::MissingElement
                } else if message.contains("not found as a child")
                    || message.starts_with("Node \"") && message.contains("not found")
                {
                    ErrorTag::UnknownElement
                } else {
                    ErrorTag::InvalidValue
                };
                MgmtError {
                    error_type: ErrorType::Application,
                    tag,
                    app_tag: app_tag.clone(),
                    path: path.clone(),
                    message: message.clone(),
                    info: Vec::new(),
                }
            }
            nectar_yang::Error::Path { path, reason } => {
                MgmtError::app(ErrorTag::InvalidValue, reason.clone()).with_path(path.clone())
            }
            nectar_yang::Error::Model(m) => MgmtError::operation_failed(m.clone()),
            // RFC 6241 Appendix A: a message that does not parse (RFC 8040
            // §7.1: error-type protocol for a malformed body).
            nectar_yang::Error::Malformed(m) => {
                MgmtError::protocol(ErrorTag::MalformedMessage, m.clone())
            }
            nectar_yang::Error::Duplicate {
                name,
                path,
                message,
            } => {
                let mut m = MgmtError::protocol(ErrorTag::BadElement, message.clone())
                    .with_info("bad-element", name.clone());
                m.error_type = ErrorType::Application;
                if let Some(p) = path {
                    m = m.with_path(p.clone());
                }
                m
            }
        }
    }
}

impl fmt::Display for MgmtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.tag.as_str(), self.message)?;
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        Ok(())
    }
}

impl std::error::Error for MgmtError {}

impl From<nectar_yang::Error> for MgmtError {
    fn from(e: nectar_yang::Error) -> Self {
        MgmtError::from_yang(&e)
    }
}

impl From<yang2::Error> for MgmtError {
    fn from(e: yang2::Error) -> Self {
        MgmtError::from_yang(&nectar_yang::Error::from(e))
    }
}

/// One or more errors of one request (RFC 6241 sends one `rpc-error` per
/// problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errors(pub Vec<MgmtError>);

impl Errors {
    pub fn first(&self) -> &MgmtError {
        &self.0[0]
    }
}

impl From<MgmtError> for Errors {
    fn from(e: MgmtError) -> Self {
        Errors(vec![e])
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

pub type Result<T, E = MgmtError> = std::result::Result<T, E>;
