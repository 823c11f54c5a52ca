//! nectar-mgmt: see ../shared/DESIGN.md.
