//! nectar's telemetry: the Prometheus exporter on its own listener ([`metrics`], with the
//! dataplane counters of [`dataplane`] and the management-plane metrics of [`mgmt`]) and the
//! ONAP VES 7.2.1 client ([`ves`]). Imports `mgmt`, `yang` and the dataplane engine's public
//! API (stats snapshots and events); nothing imports it but the daemon.

pub mod dataplane;
pub mod health;
pub mod metrics;
pub mod mgmt;
pub mod sys;
pub mod ves;
