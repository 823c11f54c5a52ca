//! The provider table: every supported config node of the IETF and OpenConfig network
//! models, keyed by schema path, with a prepare callback that marks the node's source object
//! dirty; state callbacks for operational data. The side effect (programming the
//! dataplane) runs once per transaction in `prepare_done` / `apply_done`.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::provider::{Callbacks, CbArgs, Provider};

use crate::facts::Kind;
use crate::mapping::Mapping;
use crate::{read, state};
use nectar_dataplane::control::Op;
use nectar_dataplane::dataplane::Dataplane;
use nectar_dataplane::events::Event;

/// The dataplane northbound provider (register it in the mgmt `Registry`).
#[derive(Debug)]
pub struct Northbound {
    m: Arc<Mutex<Mapping>>,
}

/// A handle on the mapping from outside the management core: an explicit replay, the last
/// applied operations and replays (tests).
#[derive(Debug, Clone)]
pub struct NorthboundHandle {
    m: Arc<Mutex<Mapping>>,
}

fn lock(m: &Mutex<Mapping>) -> MutexGuard<'_, Mapping> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Northbound {
    /// A provider driving `dp`, and a handle on it. A thread of its own replays the whole
    /// configuration whenever the dataplane reports [`Event::Reset`] (a restart or a worker
    /// crash); it ends when the dataplane or the provider goes away.
    pub fn new(dp: Arc<Dataplane>) -> (Northbound, NorthboundHandle) {
        let rx = dp.subscribe();
        let m = Arc::new(Mutex::new(Mapping::new(dp)));
        let weak = Arc::downgrade(&m);
        let spawned = std::thread::Builder::new()
            .name("dp-replay".into())
            .spawn(move || replay_on_reset(rx, weak));
        if let Err(e) = spawned {
            // Without the thread nothing replays after a dataplane restart; say so loudly.
            tracing::error!(error = %e, "cannot start the dataplane replay thread");
        }
        (Northbound { m: m.clone() }, NorthboundHandle { m })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Mapping> {
        lock(&self.m)
    }

    /// Keeps interface indices in `path` (in the state directory) across restarts: the
    /// indices saved there are promised again now, before running is replayed, and every
    /// commit that hands out a new one saves them (RFC 2863 §3.1.5: ifIndex stays constant
    /// across re-initialisation). A removed interface's index stays promised to its name,
    /// so another interface gets it only when no other index is free.
    /// An unreadable file is reported, and replaced at the next save.
    pub fn persist_indices(&self, path: std::path::PathBuf) -> std::io::Result<()> {
        let read = crate::mapping::read_indices(&path);
        let saved = read.as_ref().cloned().unwrap_or_default();
        let mut m = self.lock();
        m.dp.promise_indices(&saved);
        m.index_file = Some((path, saved));
        m.save_indices();
        read.map(|_| ())
    }
}

impl NorthboundHandle {
    /// Replays the whole configuration into the dataplane (after it was restarted and lost
    /// its configuration).
    pub fn replay(&self) -> Result<(), nectar_dataplane::control::Error> {
        lock(&self.m).replay()
    }

    /// The operations the last commit sent to the dataplane.
    pub fn last_ops(&self) -> Vec<Op> {
        lock(&self.m).last_ops.clone()
    }

    /// The operations a replay would send to a fresh dataplane.
    pub fn replay_ops(&self) -> Vec<Op> {
        lock(&self.m).replay_ops()
    }

    /// Replays done since start (automatic ones included).
    pub fn replays(&self) -> u64 {
        lock(&self.m).replays
    }

    /// The operations the last replay sent.
    pub fn last_replay_ops(&self) -> Vec<Op> {
        lock(&self.m).last_replay_ops.clone()
    }
}

/// Replays the configuration on every [`Event::Reset`] of the dataplane.
fn replay_on_reset(rx: Receiver<Event>, m: Weak<Mutex<Mapping>>) {
    while let Ok(e) = rx.recv() {
        let Event::Reset { reason } = e else { continue };
        let Some(m) = m.upgrade() else { return };
        let mut g = lock(&m);
        match g.replay() {
            Ok(()) => tracing::info!(%reason, "dataplane restarted: configuration replayed"),
            // The effective configuration was accepted before, so this is a bug.
            Err(e) => tracing::error!(%reason, error = %e, "replaying the configuration failed"),
        }
    }
}

/// Prepare callbacks that mark the source object of a changed node: its kind and how many
/// path steps lead to it.
macro_rules! markers {
    ($($name:ident => $kind:expr, $steps:expr;)*) => {
        $(
            fn $name(p: &mut Northbound, a: &CbArgs<'_>) -> Result<(), MgmtError> {
                p.lock().mark($kind, &a.change.path, $steps);
                Ok(())
            }
        )*
    };
}

markers! {
    ietf_if => Kind::IetfIf, 2;
    ietf_proto => Kind::IetfProto, 3;
    ietf_route => Kind::IetfRoute, 6;
    ietf_acl => Kind::IetfAcl, 2;
    ietf_acl_attach => Kind::IetfAclAttach, 3;
    ietf_nat => Kind::IetfNat, 3;
    bridge_domain => Kind::Bd, 2;
    oc_if => Kind::OcIf, 2;
    oc_ni => Kind::OcNi, 2;
    oc_proto => Kind::OcProto, 4;
    oc_route => Kind::OcRoute, 6;
    oc_acl => Kind::OcAcl, 3;
    oc_acl_attach => Kind::OcAclAttach, 3;
}

/// A network instance's type: the instance, and its static routes, which change VRF with it.
fn oc_ni_type(p: &mut Northbound, a: &CbArgs<'_>) -> Result<(), MgmtError> {
    let mut m = p.lock();
    m.mark(Kind::OcNi, &a.change.path, 2);
    if let Some(ni) = a.node().and_then(|n| {
        n.ancestors()
            .find(|x| x.schema().name() == "network-instance")
    }) {
        for r in read::oc_routes_of(&ni) {
            m.mark(Kind::OcRoute, &r, 6);
        }
    }
    Ok(())
}

const IF: &str = "/ietf-interfaces:interfaces/interface";
const PROTO: &str = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol";

/// Config nodes of an IETF interface entry (relative to the entry).
const IETF_IF_NODES: &[&str] = &[
    "",
    "/type",
    "/enabled",
    "/description",
    "/ietf-ip:ipv4",
    "/ietf-ip:ipv4/enabled",
    "/ietf-ip:ipv4/mtu",
    "/ietf-ip:ipv4/forwarding",
    "/ietf-ip:ipv4/address",
    "/ietf-ip:ipv4/address/prefix-length",
    "/ietf-ip:ipv6",
    "/ietf-ip:ipv6/enabled",
    "/ietf-ip:ipv6/mtu",
    "/ietf-ip:ipv6/forwarding",
    "/ietf-ip:ipv6/address",
    "/ietf-ip:ipv6/address/prefix-length",
    "/nectar-interfaces:sub-interface",
    "/nectar-interfaces:sub-interface/parent-interface",
    "/nectar-interfaces:sub-interface/vlan-id",
    "/nectar-interfaces:host-port",
    "/nectar-interfaces:host-port/driver",
    "/nectar-interfaces:host-port/host-interface",
    "/nectar-bridge:switchport",
    "/nectar-bridge:switchport/bridge-domain",
    "/nectar-bridge:switchport/allowed-vlan",
    "/nectar-bridge:switchport/native-vlan",
];

const BRIDGE_DOMAINS: &str = "/nectar-bridge:bridge-domains";
const BD: &str = "/nectar-bridge:bridge-domains/bridge-domain";

/// Config nodes of a nectar-bridge bridge domain (relative to the domain).
const BD_NODES: &[&str] = &[
    "",
    "/vlan",
    "/mac-learning",
    "/mac-aging-time",
    "/flood-unknown-unicast",
    "/routed-interface",
    "/static-mac",
    "/static-mac/interface",
];

/// Config nodes of an ietf-routing static route (relative to the route).
const IETF_ROUTE_NODES: &[&str] = &[
    "",
    "/description",
    "/next-hop/next-hop-address",
    "/next-hop/outgoing-interface",
    "/next-hop/special-next-hop",
    "/next-hop/next-hop-list/next-hop",
    "/next-hop/next-hop-list/next-hop/next-hop-address",
    "/next-hop/next-hop-list/next-hop/outgoing-interface",
];

const OC_IF: &str = "/openconfig-interfaces:interfaces/interface";

/// Config nodes of an OpenConfig interface (relative to the interface).
const OC_IF_NODES: &[&str] = &[
    "",
    "/config/name",
    "/config/type",
    "/config/description",
    "/config/enabled",
    "/config/mtu",
    "/openconfig-if-ethernet:ethernet/config/mac-address",
    "/subinterfaces/subinterface",
    "/subinterfaces/subinterface/config/index",
    "/subinterfaces/subinterface/config/description",
    "/subinterfaces/subinterface/config/enabled",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv4/config/enabled",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv4/config/mtu",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv4/addresses/address",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv4/addresses/address/config/ip",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv4/addresses/address/config/prefix-length",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv6/config/enabled",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv6/config/mtu",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv6/addresses/address",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv6/addresses/address/config/ip",
    "/subinterfaces/subinterface/openconfig-if-ip:ipv6/addresses/address/config/prefix-length",
    "/subinterfaces/subinterface/openconfig-vlan:vlan/config/vlan-id",
    "/subinterfaces/subinterface/openconfig-vlan:vlan/match/single-tagged/config/vlan-id",
    "/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/config/interface-mode",
    "/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/config/access-vlan",
    "/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/config/trunk-vlans",
    "/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/config/native-vlan",
    "/openconfig-vlan:routed-vlan/config/vlan",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv4/config/enabled",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv4/config/mtu",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv4/addresses/address",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv4/addresses/address/config/ip",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv4/addresses/address/config/prefix-length",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv6/config/enabled",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv6/config/mtu",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv6/addresses/address",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv6/addresses/address/config/ip",
    "/openconfig-vlan:routed-vlan/openconfig-if-ip:ipv6/addresses/address/config/prefix-length",
];

const ACL: &str = "/ietf-access-control-list:acls";

/// Config nodes of an ietf-access-control-list ACL (relative to the ACL).
const IETF_ACL_NODES: &[&str] = &[
    "",
    "/type",
    "/aces/ace",
    "/aces/ace/matches/eth/destination-mac-address",
    "/aces/ace/matches/eth/source-mac-address",
    "/aces/ace/matches/eth/ethertype",
    "/aces/ace/matches/ipv4/source-ipv4-network",
    "/aces/ace/matches/ipv4/destination-ipv4-network",
    "/aces/ace/matches/ipv4/protocol",
    "/aces/ace/matches/ipv6/source-ipv6-network",
    "/aces/ace/matches/ipv6/destination-ipv6-network",
    "/aces/ace/matches/ipv6/protocol",
    "/aces/ace/matches/tcp/source-port/lower-port",
    "/aces/ace/matches/tcp/source-port/upper-port",
    "/aces/ace/matches/tcp/source-port/operator",
    "/aces/ace/matches/tcp/source-port/port",
    "/aces/ace/matches/tcp/destination-port/lower-port",
    "/aces/ace/matches/tcp/destination-port/upper-port",
    "/aces/ace/matches/tcp/destination-port/operator",
    "/aces/ace/matches/tcp/destination-port/port",
    "/aces/ace/matches/udp/source-port/lower-port",
    "/aces/ace/matches/udp/source-port/upper-port",
    "/aces/ace/matches/udp/source-port/operator",
    "/aces/ace/matches/udp/source-port/port",
    "/aces/ace/matches/udp/destination-port/lower-port",
    "/aces/ace/matches/udp/destination-port/upper-port",
    "/aces/ace/matches/udp/destination-port/operator",
    "/aces/ace/matches/udp/destination-port/port",
    "/aces/ace/matches/icmp/type",
    "/aces/ace/matches/icmp/code",
    "/aces/ace/actions/forwarding",
];

const NAT: &str = "/ietf-nat:nat/instances/instance";

/// Config nodes of an ietf-nat instance (relative to the instance).
const IETF_NAT_NODES: &[&str] = &[
    "",
    "/name",
    "/enable",
    "/type",
    "/nectar-nat:internal-interface",
    "/policy",
    "/policy/external-realm/external-interface",
    "/mapping-table/mapping-entry",
    "/mapping-table/mapping-entry/type",
    "/mapping-table/mapping-entry/internal-src-address",
    "/mapping-table/mapping-entry/external-src-address",
];

const NI: &str = "/openconfig-network-instance:network-instances/network-instance";

/// Config nodes of an OpenConfig network instance (relative to the instance), except
/// `config/type`.
const OC_NI_NODES: &[&str] = &[
    "",
    "/config/name",
    "/config/description",
    "/interfaces/interface",
    "/interfaces/interface/config/id",
    "/interfaces/interface/config/interface",
    "/interfaces/interface/config/subinterface",
    "/vlans/vlan",
    "/vlans/vlan/config/vlan-id",
    "/vlans/vlan/config/name",
    "/vlans/vlan/config/status",
    "/fdb/config/mac-learning",
    "/fdb/config/mac-aging-time",
    "/fdb/mac-table/entries/entry",
    "/fdb/mac-table/entries/entry/config/mac-address",
    "/fdb/mac-table/entries/entry/config/vlan",
    "/fdb/mac-table/entries/entry/interface/interface-ref/config/interface",
    "/fdb/mac-table/entries/entry/interface/interface-ref/config/subinterface",
];

/// Config nodes of an OpenConfig static route (relative to the route).
const OC_ROUTE_NODES: &[&str] = &[
    "",
    "/config/prefix",
    "/next-hops/next-hop",
    "/next-hops/next-hop/config/index",
    "/next-hops/next-hop/config/next-hop",
    "/next-hops/next-hop/interface-ref/config/interface",
    "/next-hops/next-hop/interface-ref/config/subinterface",
];

const OC_ACL: &str = "/openconfig-acl:acl";

/// Config nodes of an openconfig-acl ACL set (relative to the set).
const OC_ACL_NODES: &[&str] = &[
    "",
    "/config/name",
    "/config/type",
    "/config/description",
    "/acl-entries/acl-entry",
    "/acl-entries/acl-entry/config/sequence-id",
    "/acl-entries/acl-entry/config/description",
    "/acl-entries/acl-entry/l2/config/source-mac",
    "/acl-entries/acl-entry/l2/config/destination-mac",
    "/acl-entries/acl-entry/l2/config/ethertype",
    "/acl-entries/acl-entry/ipv4/config/source-address",
    "/acl-entries/acl-entry/ipv4/config/destination-address",
    "/acl-entries/acl-entry/ipv4/config/protocol",
    "/acl-entries/acl-entry/ipv6/config/source-address",
    "/acl-entries/acl-entry/ipv6/config/destination-address",
    "/acl-entries/acl-entry/ipv6/config/protocol",
    "/acl-entries/acl-entry/transport/config/source-port",
    "/acl-entries/acl-entry/transport/config/destination-port",
    "/acl-entries/acl-entry/actions/config/forwarding-action",
];

/// Config nodes of an openconfig-acl interface binding (relative to the binding).
const OC_ACL_IF_NODES: &[&str] = &[
    "",
    "/config/id",
    "/interface-ref/config/interface",
    "/interface-ref/config/subinterface",
    "/ingress-acl-sets/ingress-acl-set",
    "/ingress-acl-sets/ingress-acl-set/config/set-name",
    "/ingress-acl-sets/ingress-acl-set/config/type",
    "/egress-acl-sets/egress-acl-set",
    "/egress-acl-sets/egress-acl-set/config/set-name",
    "/egress-acl-sets/egress-acl-set/config/type",
];

type Prep = nectar_mgmt::provider::PrepareFn<Northbound>;

fn nodes(
    mut cb: Callbacks<Northbound>,
    base: &str,
    rel: &[&str],
    f: Prep,
) -> Callbacks<Northbound> {
    for r in rel {
        cb = cb.path(&format!("{base}{r}")).prepare(f);
    }
    cb
}

impl Provider for Northbound {
    fn name(&self) -> &'static str {
        "dataplane"
    }

    fn callbacks() -> Callbacks<Self> {
        let mut cb = Callbacks::new();
        cb = nodes(cb, IF, IETF_IF_NODES, ietf_if);
        cb = nodes(cb, PROTO, &["", "/description"], ietf_proto);
        for fam in [
            "ietf-ipv4-unicast-routing:ipv4",
            "ietf-ipv6-unicast-routing:ipv6",
        ] {
            cb = nodes(
                cb,
                &format!("{PROTO}/static-routes/{fam}/route"),
                IETF_ROUTE_NODES,
                ietf_route,
            );
        }
        cb = nodes(cb, &format!("{ACL}/acl"), IETF_ACL_NODES, ietf_acl);
        cb = nodes(cb, OC_IF, OC_IF_NODES, oc_if);
        cb = nodes(
            cb,
            &format!("{ACL}/attachment-points/interface"),
            &["", "/ingress/acl-sets/acl-set", "/egress/acl-sets/acl-set"],
            ietf_acl_attach,
        );
        cb = nodes(cb, NAT, IETF_NAT_NODES, ietf_nat);
        cb = nodes(cb, BD, BD_NODES, bridge_domain);
        cb = nodes(cb, NI, OC_NI_NODES, oc_ni);
        cb = cb.path(&format!("{NI}/config/type")).prepare(oc_ni_type);
        cb = nodes(
            cb,
            &format!("{NI}/protocols/protocol"),
            &["", "/config/identifier", "/config/name"],
            oc_proto,
        );
        cb = nodes(
            cb,
            &format!("{NI}/protocols/protocol/static-routes/static"),
            OC_ROUTE_NODES,
            oc_route,
        );
        cb = nodes(
            cb,
            &format!("{OC_ACL}/acl-sets/acl-set"),
            OC_ACL_NODES,
            oc_acl,
        );
        cb = nodes(
            cb,
            &format!("{OC_ACL}/interfaces/interface"),
            OC_ACL_IF_NODES,
            oc_acl_attach,
        );
        cb.state("/ietf-interfaces:interfaces", state::ietf_interfaces)
            .state(OC_ACL, crate::state_acl::oc_acl)
            .state(ACL, state::ietf_acls)
            .state("/openconfig-interfaces:interfaces", state::oc_interfaces)
            .state("/ietf-routing:routing", state::ietf_routing)
            .state("/ietf-nat:nat", crate::state_nat::ietf_nat)
            .state(
                "/openconfig-network-instance:network-instances",
                crate::state_ni::oc_network_instances,
            )
            .state(BRIDGE_DOMAINS, crate::state_l2::nectar_bridge)
    }

    fn prepare_done(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        self.lock().prepare(tree)
    }

    fn apply_done(&mut self, _tree: &Tree) {
        self.lock().apply();
    }

    fn abort_done(&mut self) {
        self.lock().abort();
    }
}
