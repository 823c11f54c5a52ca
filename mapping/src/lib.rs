//! The northbound mapping: IETF and OpenConfig configuration drives the vswitch, and the
//! vswitch's state comes back as YANG operational data and events.
//!
//! This crate is the only one that imports both the management plane (`nectar-mgmt`,
//! `nectar-yang`) and the vswitch engine (`nectar-dataplane`); the engine imports neither.
//!
//! How it works (Holo style, see STYLE.md):
//! - [`provider`] declares one provider table keyed by schema path. Every supported config
//!   node has a prepare callback that only marks its *source object* dirty (an IETF interface
//!   entry, an OpenConfig interface, a static route, an ACL, ...). Unsupported nodes are
//!   deviated `not-supported` in `nectar-deviations*.yang`.
//! - Once per transaction ([`mapping::Mapping::prepare`]), each dirty source object is read
//!   back from the new running tree into [`facts`]: small typed statements such as "interface
//!   eth0 has MTU 1400, set at this path". Facts from both model families about the same
//!   dataplane object are combined into its effective configuration ([`effective`]); the
//!   differences with what the dataplane runs become a batch of control-API operations that
//!   `Dataplane::check` must accept. Apply runs `Dataplane::apply` once; abort drops the plan.
//!   A commit therefore costs the size of the change, not of the configuration.
//! - Both families describe the same objects. **Rule when both set the same property**: the
//!   values must agree. A commit that would make an IETF and an OpenConfig leaf disagree (for
//!   example `ietf-ip` MTU 1400 and `openconfig-interfaces` MTU 1500 on the same interface) is
//!   refused with `invalid-value`, naming both paths, and changes nothing. A property set in
//!   only one family is effective, and the other family shows it as operational state (the
//!   OpenConfig `state` containers, the IETF `admin-status`, `nectar-interfaces:dataplane`).
//!   The rule is stateless, so a restart or a replay always yields the same dataplane.
//! - Bridge domains follow the same rule ([`effective_bd`]): OpenConfig VLAN N of the
//!   DEFAULT instance is the bridge domain named `vlanN`, an L2VSI instance is the bridge
//!   domain of its name, and a nectar-bridge domain of that name is the same domain (its
//!   VLAN, learning, aging, routed interface and static MACs must agree where both set
//!   them). A reference by VLAN id (`access-vlan`, `routed-vlan`, trunk VLANs) means the
//!   domain that has that VLAN, whichever model defined it; two domains claiming one VLAN
//!   are refused, naming both.
//! - [`state`] serves operational data on demand from dataplane snapshots; [`events`]
//!   forwards link changes to the management event bus.

pub mod effective;
pub mod engine;
pub mod events;
pub mod facts;
pub mod keys;
pub mod object;
pub mod provider;
pub mod read;
pub mod sources;
pub mod state;

pub use events::spawn_event_forwarder;
pub use provider::{Northbound, NorthboundHandle};
