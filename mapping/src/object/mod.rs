//! One module per vswitch object: for each, its readers of both model families (IETF and
//! OpenConfig configuration into facts), its effective plan and operations, and its
//! operational state in both models.

pub mod acl;
pub mod bridge;
pub mod graph;
pub mod interface;
pub mod nat;
pub mod network_instance;
pub mod routing;
