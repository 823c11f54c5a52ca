//! Facts: what one source object of the configuration (an IETF interface entry, an OpenConfig
//! static route, an ACL, ...) says about one dataplane object. Facts from every source that
//! names the same dataplane object are combined in [`crate::effective`].

use std::net::Ipv4Addr;

use nectar_dataplane::control::{AclConfig, HostPort, NatRole, NextHop, RouteTarget, Switchport};
use nectar_dataplane::types::{IpNet, Mac};

/// A dataplane object facts are about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// An interface (a port, a BVI or a sub-interface), by name.
    If(String),
    /// A non-default VRF.
    Vrf(String),
    /// A bridge domain.
    Bd(String),
    /// A static route: VRF name and prefix (host bits cleared).
    Route(String, IpNet),
    /// An ACL, by its dataplane name.
    Acl(String),
    /// References to an 802.1Q VLAN by its id (an OpenConfig `routed-vlan`): they apply to
    /// the bridge domain that has this VLAN, whichever model defined it.
    Vlan(u16),
    /// A NAT44 static mapping, by inside address.
    NatStatic(Ipv4Addr),
}

/// One property of a [`Target`].
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// The interface type identity (`iana-if-type:ethernetCsmacd`).
    IfType(String),
    /// The interface is an 802.1Q sub-interface: parent port and VLAN id.
    SubIf((String, u16)),
    /// The interface is a port created on demand on this host resource.
    HostPort(HostPort),
    /// Administrative state.
    Enabled(bool),
    /// The interface's description (no dataplane effect; shown by both models).
    Description(String),
    /// IP MTU.
    Mtu(u16),
    /// ietf-ip `forwarding` of IPv4 (`false`) or IPv6 (`true`): whether transit packets
    /// received on the interface are routed.
    Forwarding(bool, bool),
    /// MAC address override.
    Mac(Mac),
    /// An address (several facts: one per address).
    Addr(IpNet),
    /// L2 role.
    Switchport(Switchport),
    /// VRF of a routed interface.
    Vrf(String),
    /// Ingress ACL.
    AclIn(String),
    /// Egress ACL.
    AclOut(String),
    /// NAT44 role.
    Nat(NatRole),
    /// The object exists (VRFs).
    Exists,
    /// The default VRF is the OpenConfig DEFAULT_INSTANCE of this name.
    DefaultInstance(String),
    /// The bridge domain exists (a nectar-bridge entry, an OpenConfig VLAN of the DEFAULT
    /// instance, an L2VSI instance).
    BdDefined,
    /// A bridge domain's 802.1Q VLAN.
    BdVlan(u16),
    /// A bridge domain learns MACs.
    BdLearning(bool),
    /// A bridge domain's MAC aging time in seconds (0 = never).
    BdAging(u64),
    /// A bridge domain floods unknown unicast.
    BdFlood(bool),
    /// The routed interface (BVI) of a bridge domain (on [`Target::Bd`], or on
    /// [`Target::Vlan`] for the domain of that VLAN).
    BdBvi(String),
    /// Access member of the bridge domain that has this VLAN (OpenConfig `access-vlan`).
    AccessVlan(u16),
    /// The `config/name` of an OpenConfig VLAN (for its state; the vswitch has no use for it).
    VlanName(String),
    /// A static MAC entry of a bridge domain (several facts).
    StaticMac(Mac, String),
    /// A route's target.
    Route(RouteTarget),
    /// The OpenConfig names (indexes) of a route's next hops (for its state).
    HopNames(Vec<(String, NextHop)>),
    /// An ACL's rules.
    Acl(AclConfig),
    /// The names of an ACL's entries, in rule order (for its counters).
    AceNames(Vec<String>),
    /// A NAT44 static mapping's outside address.
    NatExternal(Ipv4Addr),
}

/// One fact: a property of a target, and the data path of the node that set it (for error
/// messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub target: Target,
    pub prop: Prop,
    pub path: String,
}

impl Fact {
    pub fn new(target: Target, prop: Prop, path: impl Into<String>) -> Fact {
        Fact {
            target,
            prop,
            path: path.into(),
        }
    }
}
