//! nectar-gnmi: see ../shared/DESIGN.md.
