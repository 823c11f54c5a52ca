//! The operations the control side sends: typed desired state for interfaces, bridge
//! domains, VRFs, routes, ACLs, NAT and limits. Pure data: no behaviour beyond defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::types::{IpNet, Mac};

/// One change to the dataplane configuration. A batch of ops is applied all-or-nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Replaces the configuration of an existing interface (a port or a BVI).
    SetInterface {
        /// Interface name.
        name: String,
        /// Its full desired configuration.
        config: InterfaceConfig,
    },
    /// Adds an IPv4 or IPv6 address (with prefix length) to a routed interface or BVI.
    AddAddress {
        /// Interface name.
        interface: String,
        /// Address and prefix length.
        prefix: IpNet,
    },
    /// Removes an address.
    DelAddress {
        /// Interface name.
        interface: String,
        /// Address and prefix length.
        prefix: IpNet,
    },
    /// Creates a named VRF (the default VRF, named "default", always exists).
    AddVrf {
        /// VRF name.
        name: String,
    },
    /// Deletes a VRF (refused while interfaces are bound to it).
    DelVrf {
        /// VRF name.
        name: String,
    },
    /// Creates or replaces a bridge domain.
    SetBridgeDomain(BridgeDomainConfig),
    /// Deletes a bridge domain (refused while ports are members).
    DelBridgeDomain {
        /// Bridge domain name.
        name: String,
    },
    /// Adds a static MAC entry to a bridge domain.
    AddStaticMac {
        /// Bridge domain name.
        bridge_domain: String,
        /// MAC address.
        mac: Mac,
        /// Member interface the MAC lives behind.
        interface: String,
    },
    /// Removes a static MAC entry.
    DelStaticMac {
        /// Bridge domain name.
        bridge_domain: String,
        /// MAC address.
        mac: Mac,
    },
    /// Adds or replaces a static route.
    AddRoute {
        /// VRF name.
        vrf: String,
        /// Destination prefix (host bits are cleared).
        prefix: IpNet,
        /// Where it goes.
        target: RouteTarget,
    },
    /// Removes a static route.
    DelRoute {
        /// VRF name.
        vrf: String,
        /// Destination prefix.
        prefix: IpNet,
    },
    /// Creates or replaces an ACL (interfaces referring to it by name pick up the new rules).
    SetAcl(AclConfig),
    /// Deletes an ACL (refused while attached).
    DelAcl {
        /// ACL name.
        name: String,
    },
    /// Adds a NAT44 static 1:1 mapping.
    AddNatStatic {
        /// Inside (local) address.
        local: Ipv4Addr,
        /// Outside (global) address.
        external: Ipv4Addr,
    },
    /// Removes a NAT44 static mapping by its inside address.
    DelNatStatic {
        /// Inside (local) address.
        local: Ipv4Addr,
    },
    /// Replaces table limits and timers.
    SetLimits(Limits),
    /// Creates an 802.1Q sub-interface of a port: frames received on `parent` tagged with
    /// `vlan` belong to it (the tag removed), and what it sends leaves `parent` with the tag.
    /// It starts admin down and routed; [`Op::SetInterface`] configures it like any
    /// interface (addresses, VRF, ACLs, NAT, or bridge-domain membership as an access port).
    AddSubInterface {
        /// Name of the new interface (e.g. "eth0.100").
        name: String,
        /// The port it is a sub-interface of.
        parent: String,
        /// Its VLAN id (1..=4094), unique per parent.
        vlan: u16,
    },
    /// Deletes a sub-interface (refused while routes or static MACs refer to it).
    DelSubInterface {
        /// Sub-interface name.
        name: String,
    },
    /// Creates a loopback interface: no port, no link (operationally up whenever it is
    /// admin up). Its addresses belong to the box (the vswitch answers ICMP echo to them
    /// from any interface of its VRF); the rest of their prefixes goes nowhere (dropped),
    /// as on a router's loopback. It starts admin down; configure it with
    /// [`Op::SetInterface`] (routed only) and [`Op::AddAddress`].
    AddLoopback {
        /// Name of the new interface (e.g. "lo0").
        name: String,
    },
    /// Deletes a loopback interface (refused while routes refer to it).
    DelLoopback {
        /// Loopback name.
        name: String,
    },
    /// Creates a port on demand on a host resource (an AF_PACKET socket on an existing
    /// host interface, or a TAP device it creates). The resource is opened by
    /// [`crate::Dataplane::open_ports`] in a transaction's prepare phase, so a host
    /// interface that does not exist refuses the batch before anything changes. The port
    /// then behaves like a port of the box (link state, counters, sub-interfaces); it
    /// starts admin down and routed.
    AddHostPort {
        /// Name of the new interface.
        name: String,
        /// What it is opened on.
        spec: HostPort,
    },
    /// Deletes a port created by [`Op::AddHostPort`] and closes its host resource (refused
    /// for the box's own ports, and while routes, static MACs or sub-interfaces refer to
    /// it).
    DelHostPort {
        /// Port name.
        name: String,
    },
}

/// The host resource of a port created on demand ([`Op::AddHostPort`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPort {
    /// An AF_PACKET socket attached to an existing host interface (e.g. a veth).
    AfPacket {
        /// The Linux interface name.
        host_interface: String,
    },
    /// A TAP device of this name, created by the dataplane (removed when the port goes).
    Tap {
        /// The Linux interface name.
        host_interface: String,
    },
}

impl HostPort {
    /// The driver name the port reports ("afpacket", "tap").
    pub fn driver(&self) -> &'static str {
        match self {
            HostPort::AfPacket { .. } => "afpacket",
            HostPort::Tap { .. } => "tap",
        }
    }

    /// The host interface it is opened on.
    pub fn host_interface(&self) -> &str {
        match self {
            HostPort::AfPacket { host_interface } | HostPort::Tap { host_interface } => {
                host_interface
            }
        }
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.driver(), self.host_interface())
    }
}

/// Desired configuration of one interface.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceConfig {
    /// Administrative state.
    pub admin_up: bool,
    /// IP MTU (bytes of L3 packet), 68..=9000.
    pub mtu: u16,
    /// MAC override (`None` keeps the port's own MAC).
    pub mac: Option<Mac>,
    /// VRF of a routed interface.
    pub vrf: String,
    /// Routed or switched (bridge domain member).
    pub switchport: Switchport,
    /// ACL applied to received IP packets.
    pub acl_in: Option<String>,
    /// ACL applied to transmitted IP packets.
    pub acl_out: Option<String>,
    /// NAT44 role.
    pub nat: NatRole,
    /// Transit IPv4 packets received on the interface are routed (ietf-ip `forwarding`);
    /// false makes it a host interface: they are dropped, the box's own addresses answer.
    pub forward_v4: bool,
    /// The same for IPv6.
    pub forward_v6: bool,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            admin_up: false,
            mtu: 1500,
            mac: None,
            vrf: DEFAULT_VRF.to_string(),
            switchport: Switchport::Routed,
            acl_in: None,
            acl_out: None,
            nat: NatRole::None,
            forward_v4: true,
            forward_v6: true,
        }
    }
}

/// Name of the VRF that always exists.
pub const DEFAULT_VRF: &str = "default";

/// How an interface takes part in forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Switchport {
    /// An L3 interface: frames for its MAC are routed.
    #[default]
    Routed,
    /// Untagged member of one bridge domain; tagged frames are dropped.
    Access {
        /// Bridge domain name.
        bridge_domain: String,
    },
    /// 802.1Q trunk: tagged frames join the bridge domain whose `vlan` is the tag; the tag is
    /// popped on ingress and pushed on egress (except for the native VLAN, sent untagged).
    Trunk {
        /// VLAN ids allowed on the trunk.
        allowed_vlans: Vec<u16>,
        /// VLAN of untagged frames, if they are accepted.
        native_vlan: Option<u16>,
    },
}

/// NAT44 role of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NatRole {
    /// Not involved in NAT.
    #[default]
    None,
    /// Inside (private) side.
    Inside,
    /// Outside side: traffic from inside leaving here gets its source translated to this
    /// interface's first IPv4 address (PAT), unless a static mapping applies.
    Outside,
}

/// A bridge domain (an L2 broadcast domain).
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeDomainConfig {
    /// Name.
    pub name: String,
    /// 802.1Q VLAN of the domain on trunk ports (`None`: reachable only through access ports).
    pub vlan: Option<u16>,
    /// Learn source MACs.
    pub learning: bool,
    /// Age of learned MACs after this much silence (`Duration::ZERO` = never).
    pub aging: Duration,
    /// Flood unknown unicast (broadcast and multicast are always flooded).
    pub flood_unknown: bool,
    /// Name of the routed interface (BVI) of this domain, created with it.
    pub bvi: Option<String>,
}

impl BridgeDomainConfig {
    /// A learning, flooding domain with 300 s aging and no VLAN and no BVI.
    pub fn new(name: &str) -> Self {
        BridgeDomainConfig {
            name: name.to_string(),
            vlan: None,
            learning: true,
            aging: Duration::from_secs(300),
            flood_unknown: true,
            bvi: None,
        }
    }
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// One or more next hops; several make an ECMP group (flow hash picks one).
    NextHops(Vec<NextHop>),
    /// Discard silently.
    Blackhole,
}

/// A route next hop: an address (resolved through a connected subnet), an interface, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// Gateway address.
    pub via: Option<IpAddr>,
    /// Outgoing interface.
    pub interface: Option<String>,
}

impl NextHop {
    /// A next hop by gateway address.
    pub fn via(ip: IpAddr) -> NextHop {
        NextHop {
            via: Some(ip),
            interface: None,
        }
    }
}

/// An ordered list of rules; the first match decides, no match denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclConfig {
    /// Name.
    pub name: String,
    /// Rules in order.
    pub rules: Vec<AclRule>,
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclAction {
    /// Let the packet pass.
    Permit,
    /// Drop the packet.
    Deny,
    /// Let it pass and create a connection-tracking session, so replies are let back in
    /// through ACLs that would otherwise deny them.
    PermitReflect,
}

/// One ACL rule: every field that is `Some` must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    /// Action.
    pub action: AclAction,
    /// Source MAC.
    pub src_mac: Option<Mac>,
    /// Destination MAC.
    pub dst_mac: Option<Mac>,
    /// EtherType (0x0800 or 0x86dd at the IP layer).
    pub ethertype: Option<u16>,
    /// Source prefix.
    pub src: Option<IpNet>,
    /// Destination prefix.
    pub dst: Option<IpNet>,
    /// IP protocol.
    pub proto: Option<u8>,
    /// Source port range (inclusive).
    pub src_ports: Option<(u16, u16)>,
    /// Destination port range (inclusive).
    pub dst_ports: Option<(u16, u16)>,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
}

impl AclRule {
    /// A rule matching everything with `action`; narrow it with struct update syntax.
    pub fn any(action: AclAction) -> AclRule {
        AclRule {
            action,
            src_mac: None,
            dst_mac: None,
            ethertype: None,
            src: None,
            dst: None,
            proto: None,
            src_ports: None,
            dst_ports: None,
            icmp_type: None,
            icmp_code: None,
        }
    }
}

/// Table sizes and timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Routes per VRF (static + connected).
    pub max_routes: usize,
    /// Learned MACs over all bridge domains.
    pub max_macs: usize,
    /// Neighbor (ARP/ND) entries.
    pub max_neighbors: usize,
    /// Connection-tracking sessions.
    pub max_conntrack: usize,
    /// NAT44 dynamic sessions.
    pub max_nat_sessions: usize,
    /// Neighbor entry lifetime without refresh.
    pub neighbor_timeout: Duration,
    /// TCP established session timeout.
    pub tcp_established_timeout: Duration,
    /// TCP opening/closing session timeout.
    pub tcp_transitory_timeout: Duration,
    /// UDP session timeout.
    pub udp_timeout: Duration,
    /// ICMP session timeout.
    pub icmp_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_routes: 2_000_000,
            max_macs: 65_536,
            max_neighbors: 65_536,
            max_conntrack: 262_144,
            max_nat_sessions: 262_144,
            neighbor_timeout: Duration::from_secs(300),
            tcp_established_timeout: Duration::from_secs(7440),
            tcp_transitory_timeout: Duration::from_secs(240),
            udp_timeout: Duration::from_secs(300),
            icmp_timeout: Duration::from_secs(60),
        }
    }
}
