//! nectar's telemetry: the Prometheus exporter on its own listener (and,
//! with the telemetry issue, the VES client). Imports `mgmt` only.

pub mod metrics;
