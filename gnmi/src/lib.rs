//! nectar-gnmi: the gNMI 0.10 door for telemetry collectors and automation
//! (Capabilities, Get, Set and a complete Subscribe: ONCE, POLL, STREAM with
//! SAMPLE, ON_CHANGE and TARGET_DEFINED), served with tonic over TLS by
//! default, authenticated by the daemon's users, with NACM applied by the
//! management core.
//!
//! Imports `nectar_yang` (path translation and encodings, shared with the
//! other doors) and `nectar_mgmt` (the core handle, the event bus, NACM and
//! errors); never another protocol crate or the dataplane.
//!
//! Modules: `service` (the tonic service, authentication and serving),
//! `get` (Capabilities and Get), `set`, `ext` (extensions), `gnoi` (gNOI
//! System and Healthz), `subscribe` (engine and outbox),
//! `data` (reading trees: Get types, models, leaves), `value` (encodings and
//! TypedValues), `path` (protobuf paths), `auth`, `error` (the one mapping to
//! gRPC status codes).

pub mod auth;
pub mod context;
pub mod data;
pub mod error;
pub mod ext;
pub mod get;
pub mod gnoi;
pub mod path;
pub mod service;
pub mod set;
pub mod subscribe;
pub mod value;

/// Code generated from `proto/gnmi.proto` and `proto/gnmi_ext.proto`.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod proto {
    pub mod gnmi {
        tonic::include_proto!("gnmi");
    }
    pub mod gnmi_ext {
        tonic::include_proto!("gnmi_ext");
    }
    pub mod gnoi {
        pub mod types {
            tonic::include_proto!("gnoi.types");
        }
        pub mod common {
            tonic::include_proto!("gnoi.common");
        }
        pub mod system {
            tonic::include_proto!("gnoi.system");
        }
        pub mod healthz {
            tonic::include_proto!("gnoi.healthz");
        }
        pub mod file {
            tonic::include_proto!("gnoi.file");
        }
    }
}

pub use context::Options;
pub use error::Error;
pub use service::{GnmiService, TlsPem, serve};
