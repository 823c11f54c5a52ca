//! nectar-dataplane: see ../shared/DESIGN.md.
