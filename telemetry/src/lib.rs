//! nectar-telemetry: see ../shared/DESIGN.md.
