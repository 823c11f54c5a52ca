//! nectar's YANG layer: the embedded model set, the one libyang context of the
//! process, and the conversions every protocol shares (path grammars and data
//! encodings). Imports nothing from the rest of nectar.

pub mod encoding;
pub mod error;
pub mod models;
pub mod path;
pub mod print;
pub mod xpath;

pub use error::{Error, Result};
pub use models::{EmbeddedModule, Family, ModelSet, ModuleSpec};
pub use yang2;
