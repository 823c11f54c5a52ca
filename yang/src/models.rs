//! The model set: which embedded modules the process implements, with which
//! features, and the single libyang context built from them at start-up.

use std::collections::HashMap;

use yang2::context::{Context, ContextFlags, EmbeddedModuleKey, EmbeddedModules};

use crate::{Error, Result};

/// Where an embedded module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IETF and IANA modules from the pinned pyang wheel.
    Ietf,
    /// The OpenConfig release in the pinned ntc-rosetta wheel.
    OpenConfig,
    /// nectar's own modules (`yang/modules/`).
    Nectar,
}

/// One module or submodule compiled into the binary.
#[derive(Debug)]
pub struct EmbeddedModule {
    pub name: &'static str,
    pub revision: Option<&'static str>,
    /// For a submodule, the module it belongs to.
    pub belongs_to: Option<&'static str>,
    pub family: Family,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Looks an embedded module up by name.
pub fn embedded(name: &str) -> Option<&'static EmbeddedModule> {
    MODULES.iter().find(|m| m.name == name)
}

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

/// A list of modules to implement, turned into one libyang context.
#[derive(Debug, Clone, Default)]
pub struct ModelSet {
    specs: Vec<ModuleSpec>,
}

impl ModelSet {
    pub fn new() -> Self {
        ModelSet::default()
    }

    /// The management modules only.
    pub fn management() -> Self {
        ModelSet::new().with(MANAGEMENT)
    }

    /// Adds modules to implement; a module named twice keeps its first spec.
    pub fn with(mut self, specs: &[ModuleSpec]) -> Self {
        for s in specs {
            if !self.specs.iter().any(|have| have.name == s.name) {
                self.specs.push(s.clone());
            }
        }
        self
    }

    pub fn specs(&self) -> &[ModuleSpec] {
        &self.specs
    }

    /// Builds the libyang context. It lives for the rest of the process (one
    /// context per process, shared read-only), so it is leaked on purpose and
    /// data trees can be `DataTree<'static>`.
    pub fn build(&self) -> Result<&'static Context> {
        let mut map: EmbeddedModules = HashMap::new();
        for m in MODULES {
            let key = match m.belongs_to {
                None => EmbeddedModuleKey::new(m.name, m.revision, None, None),
                Some(parent) => EmbeddedModuleKey::new(parent, None, Some(m.name), m.revision),
            };
            map.insert(key, m.text);
        }
        // The context keeps a pointer to the map: it must outlive the context,
        // which lives forever.
        let map: &'static EmbeddedModules = Box::leak(Box::new(map));

        let mut ctx = Context::new(
            ContextFlags::NO_YANGLIBRARY
                | ContextFlags::DISABLE_SEARCHDIRS
                | ContextFlags::REF_IMPLEMENTED,
        )
        .map_err(|e| Error::Model(format!("cannot create libyang context: {e}")))?;
        ctx.set_embedded_modules(map);

        // ietf-yang-library first: libyang's internal copy is not loaded
        // (NO_YANGLIBRARY), so the embedded standard one is used.
        let mut specs = vec![ModuleSpec::new("ietf-yang-library", &[])];
        specs.extend(self.specs.iter().cloned());
        for spec in &specs {
            if embedded(spec.name).is_none() {
                return Err(Error::Model(format!(
                    "module {} is not in the model set",
                    spec.name
                )));
            }
            ctx.load_module(spec.name, None, spec.features)
                .map_err(|e| {
                    Error::Model(format!("cannot load {}: {}", spec.name, Error::from(e)))
                })?;
        }
        Ok(Box::leak(Box::new(ctx)))
    }
}
