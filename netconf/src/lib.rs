//! nectar-netconf: see ../shared/DESIGN.md.
