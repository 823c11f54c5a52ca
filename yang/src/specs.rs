//! Which modules nectar implements, with which features. Shared by the crate and by
//! `build.rs` (which loads the same set to generate the schema path constants of
//! [`crate::paths`]), so the two can never disagree.

/// A module to implement, with the features to enable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpec {
    pub name: &'static str,
    pub features: &'static [&'static str],
}

impl ModuleSpec {
    pub const fn new(name: &'static str, features: &'static [&'static str]) -> Self {
        ModuleSpec { name, features }
    }
}

/// The management modules every nectar process implements: the protocol
/// operations, NMDA, monitoring, NACM and nectar's own management module.
pub const MANAGEMENT: &[ModuleSpec] = &[
    ModuleSpec::new("ietf-datastores", &[]),
    ModuleSpec::new("ietf-origin", &[]),
    ModuleSpec::new(
        "ietf-netconf",
        &[
            "writable-running",
            "candidate",
            "confirmed-commit",
            "rollback-on-error",
            "validate",
            "startup",
            "xpath",
        ],
    ),
    ModuleSpec::new("ietf-netconf-with-defaults", &[]),
    ModuleSpec::new("ietf-netconf-monitoring", &[]),
    ModuleSpec::new("ietf-netconf-notifications", &[]),
    ModuleSpec::new("ietf-netconf-nmda", &["origin", "with-defaults"]),
    ModuleSpec::new("ietf-netconf-acm", &[]),
    ModuleSpec::new("ietf-restconf", &[]),
    ModuleSpec::new("ietf-restconf-monitoring", &[]),
    ModuleSpec::new("ietf-yang-patch", &[]),
    ModuleSpec::new("nectar-mgmt", &[]),
];

/// The network models the dataplane northbound implements. A process
/// implements them only together with the providers that serve them (see
/// `mgmt`'s start-up coverage check), so nothing is advertised that the daemon
/// would ignore.
pub const NETWORK: &[ModuleSpec] = &[
    ModuleSpec::new("iana-if-type", &[]),
    // if-mib: admin-status and if-index in the operational view.
    ModuleSpec::new("ietf-interfaces", &["if-mib"]),
    ModuleSpec::new("ietf-ip", &[]),
    ModuleSpec::new("ietf-routing", &[]),
    ModuleSpec::new("ietf-ipv4-unicast-routing", &[]),
    ModuleSpec::new("ietf-ipv6-unicast-routing", &[]),
    ModuleSpec::new("ietf-ethertypes", &[]),
    ModuleSpec::new("ietf-packet-fields", &[]),
    ModuleSpec::new(
        "ietf-access-control-list",
        &[
            "match-on-eth",
            "match-on-ipv4",
            "match-on-ipv6",
            "match-on-tcp",
            "match-on-udp",
            "match-on-icmp",
            "eth",
            "ipv4",
            "ipv6",
            "mixed-eth-ipv4",
            "mixed-eth-ipv6",
            // The vswitch counts matches per ACE over every interface.
            "acl-aggregate-stats",
            "interface-attachment",
        ],
    ),
    // NAPT44 with static 1:1 mappings (basic NAT44 with address pools is not
    // implemented).
    ModuleSpec::new("ietf-nat", &["napt44"]),
    ModuleSpec::new("openconfig-interfaces", &[]),
    ModuleSpec::new("openconfig-if-ethernet", &[]),
    ModuleSpec::new("openconfig-if-ip", &[]),
    ModuleSpec::new("openconfig-vlan", &[]),
    ModuleSpec::new("openconfig-network-instance", &[]),
    // Implemented for their identities (instance types, STATIC, DROP/LOCAL_LINK): RFC 7951
    // JSON names identities by module, which must be implemented.
    ModuleSpec::new("openconfig-network-instance-types", &[]),
    ModuleSpec::new("openconfig-policy-types", &[]),
    ModuleSpec::new("openconfig-local-routing", &[]),
    ModuleSpec::new("openconfig-acl", &[]),
    // Implemented for its identities (ETHERTYPE_*, IP_* match values of openconfig-acl).
    ModuleSpec::new("openconfig-packet-match-types", &[]),
    // nectar's own: port facts and link notifications, ACL and NAT additions.
    ModuleSpec::new("nectar-interfaces", &[]),
    ModuleSpec::new("nectar-acl", &[]),
    // Bridge domains and VLAN membership (no standard module fits).
    ModuleSpec::new("nectar-bridge", &[]),
    // ietf-nat's missing internal side.
    ModuleSpec::new("nectar-nat", &[]),
    // The packet graph's runtime counters and the packet trace.
    ModuleSpec::new("nectar-dataplane", &[]),
];

/// What the dataplane northbound does not implement of the [`NETWORK`]
/// models, as `deviate not-supported` (listed in the README). The daemon
/// implements `NETWORK` together with these; they are kept apart so that
/// tests of the model set itself (paths, encodings) see the standard models
/// whole.
pub const DEVIATIONS: &[ModuleSpec] = &[
    ModuleSpec::new("nectar-deviations", &[]),
    ModuleSpec::new("nectar-deviations-openconfig", &[]),
];

/// nectar's telemetry module (VES thresholds and client state), implemented
/// together with the telemetry crate's provider.
pub const TELEMETRY: &[ModuleSpec] = &[ModuleSpec::new("nectar-telemetry", &[])];

/// Dynamic subscriptions (RFC 8639) to the NETCONF stream and to
/// datastores (YANG-Push, RFC 8641), implemented by the daemon together
/// with the subscription engine's providers (`nectar_mgmt::push`). Not the
/// `configured` feature (see nectar-subscriptions). A set of its own: its
/// modules refer to ietf-interfaces and ietf-network-instance, which libyang
/// then implements, so a management-only process stays without them.
pub const SUBSCRIPTIONS: &[ModuleSpec] = &[
    ModuleSpec::new(
        "ietf-subscribed-notifications",
        &["encode-xml", "encode-json", "replay", "subtree", "xpath"],
    ),
    ModuleSpec::new("ietf-yang-push", &["on-change"]),
    // After the modules it deviates.
    ModuleSpec::new("nectar-subscriptions", &[]),
];

/// Every module list above: the modules the daemon implements.
pub const ALL: &[&[ModuleSpec]] = &[MANAGEMENT, NETWORK, DEVIATIONS, TELEMETRY, SUBSCRIPTIONS];
