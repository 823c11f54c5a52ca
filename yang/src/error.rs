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
}

impl Error {
    /// The data path the error refers to, if known.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Libyang { path, .. } => path.as_deref(),
            Error::Path { path, .. } => Some(path),
            Error::Model(_) => None,
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
