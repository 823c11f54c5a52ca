//! nectar-dataplane: a stateful userspace vswitch, VPP style.
//!
//! Packets arrive on [`port`]s, are carried in pooled [`buffer`]s through a [`graph`] of
//! [`nodes`] in vectors of up to 256, and are forwarded using [`tables`] that workers read
//! lock-free and the control side replaces atomically; [`state`] holds connection tracking
//! and NAT sessions. The crate imports nothing from the rest of nectar: it is driven through
//! its control API ([`Dataplane`] with [`control::Op`]s) so it can be tested and benchmarked
//! alone. See ../shared/DESIGN.md.

pub mod buffer;
pub mod clock;
pub mod control;
pub mod dataplane;
pub mod events;
pub mod graph;
pub mod headers;
pub mod nodes;
pub mod offload;
pub mod port;
pub mod probe;
pub mod shared;
pub mod state;
pub mod stats;
pub mod tables;
pub mod types;
pub mod worker;

pub use control::{Error, Op};
pub use dataplane::{Dataplane, DataplaneBuilder};
pub use events::Event;
pub use types::{IpNet, Mac};
