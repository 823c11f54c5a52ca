//! Errors of the YANG layer.

/// A libyang error with the details every protocol reports on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// libyang rejected data or a schema: message, data path and app tag as
    /// libyang reported them.
    #[error("{message}")]
    Libyang {
        message: String,
        path: Option<String>,
        app_tag: Option<String>,
    },
    /// A module of the model set is missing or cannot be loaded.
    #[error("model set: {0}")]
    Model(String),
    /// A path in one of the grammars is malformed or names no schema node.
    #[error("invalid path {path:?}: {reason}")]
    Path { path: String, reason: String },
    /// A document that is not exactly one well-formed JSON value or XML
    /// document, or one nested deeper than the parsers accept (RFC 6241 and
    /// RFC 8040 `malformed-message`).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A node given more than once where the schema allows one instance: a
    /// leaf or container twice, a list key twice in one entry, or two entries
    /// of a list with the same keys (RFC 6241 `bad-element`).
    #[error("{message}")]
    Duplicate {
        /// The node's name, as the client wrote it.
        name: String,
        /// The data path of the duplicated node, when known.
        path: Option<String>,
        message: String,
    },
}

impl Error {
    /// The data path the error refers to, if known.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Libyang { path, .. } => path.as_deref(),
            Error::Path { path, .. } => Some(path),
            Error::Duplicate { path, .. } => path.as_deref(),
            Error::Model(_) | Error::Malformed(_) => None,
        }
    }
}

impl From<yang2::Error> for Error {
    fn from(e: yang2::Error) -> Self {
        Error::Libyang {
            message: e
                .msg
                .clone()
                .unwrap_or_else(|| format!("libyang error {}", e.errcode)),
            path: e.path.clone(),
            app_tag: e.apptag.clone(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
