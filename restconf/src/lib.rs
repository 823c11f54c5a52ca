//! nectar-restconf: see ../shared/DESIGN.md.
