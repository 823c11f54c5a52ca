//! The one table of source objects: for each kind of configuration object the mapping reads
//! (an IETF interface entry, an OpenConfig static route, an ACL, ...), the schema path of
//! its entries, every config node below them that the mapping supports, and its reader.
//! The provider's prepare callbacks (one per supported node, marking its source dirty),
//! the number of path steps from a changed node to its source, and the reader dispatch are
//! all derived from it, so a new source kind is declared once. Paths are the generated
//! constants of [`nectar_yang::paths`]: a node the schema (with nectar's deviations) does
//! not have fails to compile.

use nectar_mgmt::MgmtError;
use nectar_mgmt::provider::{CbArgs, PrepareFn};
use nectar_yang::paths as p;
use nectar_yang::print::NodePath;

use crate::facts::Fact;
use nectar_mgmt::ly::{self, Tree};

use crate::read::Node;

/// One kind of source object.
pub(crate) struct Source {
    /// Schema paths of the object's entries (two for the route lists of two address
    /// families); each has the same number of steps.
    pub(crate) entries: &'static [&'static str],
    /// Every supported config node of the object, the entries included: a change to any of
    /// them marks the object dirty.
    pub(crate) nodes: &'static [&'static str],
    /// Reads the object back from the new running tree.
    pub(crate) read: fn(&Node<'_>, &str) -> Result<Vec<Fact>, MgmtError>,
}

impl Source {
    /// Path steps from the top of the tree to one of this kind's entries.
    pub(crate) fn steps(&self) -> usize {
        self.entries[0].matches('/').count()
    }
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $source:ident,)*) => {
        /// Which kind of source object a config node belongs to; with the object's data
        /// path it identifies the source ([`crate::facts::SourceKey`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum SourceKind {
            $($(#[$doc])* $kind,)*
        }

        impl SourceKind {
            /// Every kind, in declaration order.
            pub const ALL: &[SourceKind] = &[$(SourceKind::$kind),*];

            /// The kind's entry in the table.
            pub(crate) fn source(self) -> &'static Source {
                match self {
                    $(SourceKind::$kind => &$source,)*
                }
            }

            /// The prepare callback marking this kind's source dirty.
            pub(crate) fn marker<P: Marks>(self) -> PrepareFn<P> {
                match self {
                    $(SourceKind::$kind => mark::<P, { SourceKind::$kind as u8 }>,)*
                }
            }
        }
    };
}

kinds! {
    /// `/ietf-interfaces:interfaces/interface` (with ietf-ip and nectar augmentations).
    IetfIf => IETF_IF,
    /// `/ietf-routing:routing/control-plane-protocols/control-plane-protocol`.
    IetfProto => IETF_PROTO,
    /// A static route of an ietf-routing protocol instance.
    IetfRoute => IETF_ROUTE,
    /// `/ietf-access-control-list:acls/acl`.
    IetfAcl => IETF_ACL,
    /// `/ietf-access-control-list:acls/attachment-points/interface`.
    IetfAclAttach => IETF_ACL_ATTACH,
    /// `/ietf-nat:nat/instances/instance`.
    IetfNat => IETF_NAT,
    /// `/nectar-bridge:bridge-domains/bridge-domain`.
    Bd => BD,
    /// `/openconfig-interfaces:interfaces/interface` (with if-ip, if-ethernet, vlan).
    OcIf => OC_IF,
    /// `/openconfig-network-instance:network-instances/network-instance` itself (type,
    /// interfaces, VLANs).
    OcNi => OC_NI,
    /// A protocol instance of an OpenConfig network instance.
    OcProto => OC_PROTO,
    /// A static route of an OpenConfig network instance.
    OcRoute => OC_ROUTE,
    /// `/openconfig-acl:acl/acl-sets/acl-set`.
    OcAcl => OC_ACL,
    /// `/openconfig-acl:acl/interfaces/interface`.
    OcAclAttach => OC_ACL_ATTACH,
}

/// A source object: its kind and data path.
pub type SourceKey = (SourceKind, String);

/// What the prepare callbacks mark dirty (the provider).
pub(crate) trait Marks {
    /// Marks the source of kind `kind` that the changed node at `path` belongs to.
    fn mark(&mut self, kind: SourceKind, path: &str);
}

/// Marks the source of the changed node (kind number `K`) dirty.
fn mark<P: Marks, const K: u8>(p: &mut P, a: &CbArgs<'_>) -> Result<(), MgmtError> {
    p.mark(SourceKind::ALL[usize::from(K)], &a.change.path);
    Ok(())
}

/// Reads a source object: the facts it states now.
pub fn read(key: &SourceKey, tree: &Tree) -> Result<Vec<Fact>, MgmtError> {
    let (kind, path) = key;
    match ly::find(tree, path)? {
        Some(node) => read_node(*kind, &node, path),
        None => Ok(Vec::new()),
    }
}

/// Below this many dirty sources in one list, each is looked up by its path; from it on,
/// the list is walked once (a path lookup costs far more than visiting an entry).
const BULK: usize = 64;

/// Reads many sources: those of one kind in one list are read by walking the list once.
pub fn read_all(
    dirty: std::collections::BTreeSet<SourceKey>,
    tree: &Tree,
) -> Result<std::collections::BTreeMap<SourceKey, Vec<Fact>>, MgmtError> {
    use std::collections::{BTreeMap, HashMap};
    let groups = by_parent(dirty);
    // Collected group by group, each in its sources' (sorted) order; the map is then
    // built from the nearly sorted pairs at once.
    let mut out: Vec<(SourceKey, Vec<Fact>)> = Vec::new();
    for ((kind, parent), paths) in groups {
        let node = if paths.len() >= BULK && !parent.is_empty() {
            ly::find(tree, &parent)?
        } else {
            None
        };
        if let Some(parent) = node {
            // Facts in the sources' (sorted) order; those not found are gone.
            let mut read: Vec<Vec<Fact>> = Vec::new();
            read.resize_with(paths.len(), Vec::new);
            {
                let mut wanted: HashMap<&str, usize> = HashMap::with_capacity(paths.len());
                wanted.extend(paths.iter().enumerate().map(|(i, p)| (p.as_str(), i)));
                // Each child's path from its parent's: the same string as `c.path()`.
                let parent_path = parent.data_path();
                let mut p = String::new();
                for c in parent.children() {
                    if wanted.is_empty() {
                        break;
                    }
                    ly::child_path_into(&mut p, &parent_path, &c);
                    if let Some(i) = wanted.remove(p.as_str()) {
                        read[i] = read_node(kind, &c, &p)?;
                    }
                }
            }
            out.extend(paths.into_iter().map(|p| (kind, p)).zip(read));
        } else {
            for p in paths {
                let key = (kind, p);
                let facts = read(&key, tree)?;
                out.push((key, facts));
            }
        }
    }
    // Every source is read once, so the keys are distinct.
    Ok(out.into_iter().collect::<BTreeMap<_, _>>())
}

/// The sources by kind and parent, in order. Sources come sorted, so those of one parent
/// mostly follow each other: a source that is its predecessor's parent plus one step joins
/// its group without its parent's path being worked out again.
fn by_parent(
    dirty: std::collections::BTreeSet<SourceKey>,
) -> std::collections::BTreeMap<(SourceKind, String), Vec<String>> {
    let mut groups: std::collections::BTreeMap<(SourceKind, String), Vec<String>> =
        std::collections::BTreeMap::new();
    let mut current: Option<((SourceKind, String), Vec<String>)> = None;
    for (kind, path) in dirty {
        if let Some(((k, parent), paths)) = &mut current
            && *k == kind
            && !parent.is_empty()
            && path.starts_with(parent.as_str())
            && path.as_bytes().get(parent.len()) == Some(&b'/')
            && ly::truncate_steps(&path[parent.len()..], 2).is_none()
        {
            paths.push(path);
            continue;
        }
        if let Some((key, paths)) = current.take() {
            groups.entry(key).or_default().extend(paths);
        }
        let parent = ly::parent_path(&path).unwrap_or_default();
        current = Some(((kind, parent), vec![path]));
    }
    if let Some((key, paths)) = current {
        groups.entry(key).or_default().extend(paths);
    }
    groups
}

fn read_node(kind: SourceKind, node: &Node<'_>, path: &str) -> Result<Vec<Fact>, MgmtError> {
    (kind.source().read)(node, path)
}

/// `IetfIf` sources.
static IETF_IF: Source = {
    use p::ietf_interfaces::interfaces::interface as if_;
    Source {
        entries: &[if_::PATH],
        nodes: &[
            if_::PATH,
            if_::type_::PATH,
            if_::enabled::PATH,
            if_::description::PATH,
            if_::ietf_ip_ipv4::PATH,
            if_::ietf_ip_ipv4::enabled::PATH,
            if_::ietf_ip_ipv4::mtu::PATH,
            if_::ietf_ip_ipv4::forwarding::PATH,
            if_::ietf_ip_ipv4::address::PATH,
            if_::ietf_ip_ipv4::address::prefix_length::PATH,
            if_::ietf_ip_ipv6::PATH,
            if_::ietf_ip_ipv6::enabled::PATH,
            if_::ietf_ip_ipv6::mtu::PATH,
            if_::ietf_ip_ipv6::forwarding::PATH,
            if_::ietf_ip_ipv6::address::PATH,
            if_::ietf_ip_ipv6::address::prefix_length::PATH,
            if_::nectar_interfaces_sub_interface::PATH,
            if_::nectar_interfaces_sub_interface::parent_interface::PATH,
            if_::nectar_interfaces_sub_interface::vlan_id::PATH,
            if_::nectar_interfaces_host_port::PATH,
            if_::nectar_interfaces_host_port::driver::PATH,
            if_::nectar_interfaces_host_port::host_interface::PATH,
            if_::nectar_bridge_switchport::PATH,
            if_::nectar_bridge_switchport::bridge_domain::PATH,
            if_::nectar_bridge_switchport::allowed_vlan::PATH,
            if_::nectar_bridge_switchport::native_vlan::PATH,
        ],
        read: crate::object::interface::ietf::interface,
    }
};

/// `IetfProto` sources.
static IETF_PROTO: Source = {
    use p::ietf_routing::routing::control_plane_protocols::control_plane_protocol as proto;
    Source {
        entries: &[proto::PATH],
        nodes: &[proto::PATH, proto::description::PATH],
        read: crate::object::routing::ietf::protocol,
    }
};

/// `IetfRoute` sources.
static IETF_ROUTE: Source = {
    use p::ietf_routing::routing::control_plane_protocols::control_plane_protocol::static_routes as sr;
    Source {
        entries: &[sr::ietf_ipv4_unicast_routing_ipv4::route::PATH, sr::ietf_ipv6_unicast_routing_ipv6::route::PATH],
        nodes: &[
            sr::ietf_ipv4_unicast_routing_ipv4::route::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::description::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::next_hop_address::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::outgoing_interface::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::special_next_hop::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::next_hop_list::next_hop::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::next_hop_list::next_hop::next_hop_address::PATH,
            sr::ietf_ipv4_unicast_routing_ipv4::route::next_hop::next_hop_list::next_hop::outgoing_interface::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::description::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::next_hop_address::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::outgoing_interface::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::special_next_hop::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::next_hop_list::next_hop::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::next_hop_list::next_hop::next_hop_address::PATH,
            sr::ietf_ipv6_unicast_routing_ipv6::route::next_hop::next_hop_list::next_hop::outgoing_interface::PATH,
        ],
        read: crate::object::routing::ietf::route,
    }
};

/// `IetfAcl` sources.
static IETF_ACL: Source = {
    use p::ietf_access_control_list::acls::acl;
    Source {
        entries: &[acl::PATH],
        nodes: &[
            acl::PATH,
            acl::type_::PATH,
            acl::aces::ace::PATH,
            acl::aces::ace::matches::eth::destination_mac_address::PATH,
            acl::aces::ace::matches::eth::source_mac_address::PATH,
            acl::aces::ace::matches::eth::ethertype::PATH,
            acl::aces::ace::matches::ipv4::source_ipv4_network::PATH,
            acl::aces::ace::matches::ipv4::destination_ipv4_network::PATH,
            acl::aces::ace::matches::ipv4::protocol::PATH,
            acl::aces::ace::matches::ipv6::source_ipv6_network::PATH,
            acl::aces::ace::matches::ipv6::destination_ipv6_network::PATH,
            acl::aces::ace::matches::ipv6::protocol::PATH,
            acl::aces::ace::matches::tcp::source_port::lower_port::PATH,
            acl::aces::ace::matches::tcp::source_port::upper_port::PATH,
            acl::aces::ace::matches::tcp::source_port::operator::PATH,
            acl::aces::ace::matches::tcp::source_port::port::PATH,
            acl::aces::ace::matches::tcp::destination_port::lower_port::PATH,
            acl::aces::ace::matches::tcp::destination_port::upper_port::PATH,
            acl::aces::ace::matches::tcp::destination_port::operator::PATH,
            acl::aces::ace::matches::tcp::destination_port::port::PATH,
            acl::aces::ace::matches::udp::source_port::lower_port::PATH,
            acl::aces::ace::matches::udp::source_port::upper_port::PATH,
            acl::aces::ace::matches::udp::source_port::operator::PATH,
            acl::aces::ace::matches::udp::source_port::port::PATH,
            acl::aces::ace::matches::udp::destination_port::lower_port::PATH,
            acl::aces::ace::matches::udp::destination_port::upper_port::PATH,
            acl::aces::ace::matches::udp::destination_port::operator::PATH,
            acl::aces::ace::matches::udp::destination_port::port::PATH,
            acl::aces::ace::matches::icmp::type_::PATH,
            acl::aces::ace::matches::icmp::code::PATH,
            acl::aces::ace::actions::forwarding::PATH,
        ],
        read: crate::object::acl::ietf::acl,
    }
};

/// `IetfAclAttach` sources.
static IETF_ACL_ATTACH: Source = {
    use p::ietf_access_control_list::acls::attachment_points::interface as att;
    Source {
        entries: &[att::PATH],
        nodes: &[
            att::PATH,
            att::ingress::acl_sets::acl_set::PATH,
            att::egress::acl_sets::acl_set::PATH,
        ],
        read: crate::object::acl::ietf::acl_attachment,
    }
};

/// `IetfNat` sources.
static IETF_NAT: Source = {
    use p::ietf_nat::nat::instances::instance as nat;
    Source {
        entries: &[nat::PATH],
        nodes: &[
            nat::PATH,
            nat::name::PATH,
            nat::enable::PATH,
            nat::type_::PATH,
            nat::nectar_nat_internal_interface::PATH,
            nat::policy::PATH,
            nat::policy::external_realm::external_interface::PATH,
            nat::mapping_table::mapping_entry::PATH,
            nat::mapping_table::mapping_entry::type_::PATH,
            nat::mapping_table::mapping_entry::internal_src_address::PATH,
            nat::mapping_table::mapping_entry::external_src_address::PATH,
        ],
        read: crate::object::nat::ietf::instance,
    }
};

/// `Bd` sources.
static BD: Source = {
    use p::nectar_bridge::bridge_domains::bridge_domain as bd;
    Source {
        entries: &[bd::PATH],
        nodes: &[
            bd::PATH,
            bd::vlan::PATH,
            bd::mac_learning::PATH,
            bd::mac_aging_time::PATH,
            bd::flood_unknown_unicast::PATH,
            bd::routed_interface::PATH,
            bd::static_mac::PATH,
            bd::static_mac::interface::PATH,
        ],
        read: crate::object::bridge::ietf::bridge_domain,
    }
};

/// `OcIf` sources.
static OC_IF: Source = {
    use p::openconfig_interfaces::interfaces::interface as if_;
    Source {
        entries: &[if_::PATH],
        nodes: &[
            if_::PATH,
            if_::config::name::PATH,
            if_::config::type_::PATH,
            if_::config::description::PATH,
            if_::config::enabled::PATH,
            if_::config::mtu::PATH,
            if_::openconfig_if_ethernet_ethernet::config::mac_address::PATH,
            if_::subinterfaces::subinterface::PATH,
            if_::subinterfaces::subinterface::config::index::PATH,
            if_::subinterfaces::subinterface::config::description::PATH,
            if_::subinterfaces::subinterface::config::enabled::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv4::config::enabled::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv4::config::mtu::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv4::addresses::address::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv4::addresses::address::config::ip::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv4::addresses::address::config::prefix_length::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv6::config::enabled::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv6::config::mtu::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv6::addresses::address::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv6::addresses::address::config::ip::PATH,
            if_::subinterfaces::subinterface::openconfig_if_ip_ipv6::addresses::address::config::prefix_length::PATH,
            if_::subinterfaces::subinterface::openconfig_vlan_vlan::config::vlan_id::PATH,
            if_::subinterfaces::subinterface::openconfig_vlan_vlan::match_::single_tagged::config::vlan_id::PATH,
            if_::openconfig_if_ethernet_ethernet::openconfig_vlan_switched_vlan::config::interface_mode::PATH,
            if_::openconfig_if_ethernet_ethernet::openconfig_vlan_switched_vlan::config::access_vlan::PATH,
            if_::openconfig_if_ethernet_ethernet::openconfig_vlan_switched_vlan::config::trunk_vlans::PATH,
            if_::openconfig_if_ethernet_ethernet::openconfig_vlan_switched_vlan::config::native_vlan::PATH,
            if_::openconfig_vlan_routed_vlan::config::vlan::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv4::config::enabled::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv4::config::mtu::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv4::addresses::address::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv4::addresses::address::config::ip::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv4::addresses::address::config::prefix_length::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv6::config::enabled::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv6::config::mtu::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv6::addresses::address::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv6::addresses::address::config::ip::PATH,
            if_::openconfig_vlan_routed_vlan::openconfig_if_ip_ipv6::addresses::address::config::prefix_length::PATH,
        ],
        read: crate::object::interface::openconfig::interface,
    }
};

/// `OcNi` sources.
static OC_NI: Source = {
    use p::openconfig_network_instance::network_instances::network_instance as ni;
    Source {
        entries: &[ni::PATH],
        nodes: &[
            ni::PATH,
            ni::config::name::PATH,
            ni::config::description::PATH,
            ni::interfaces::interface::PATH,
            ni::interfaces::interface::config::id::PATH,
            ni::interfaces::interface::config::interface::PATH,
            ni::interfaces::interface::config::subinterface::PATH,
            ni::vlans::vlan::PATH,
            ni::vlans::vlan::config::vlan_id::PATH,
            ni::vlans::vlan::config::name::PATH,
            ni::vlans::vlan::config::status::PATH,
            ni::fdb::config::mac_learning::PATH,
            ni::fdb::config::mac_aging_time::PATH,
            ni::fdb::mac_table::entries::entry::PATH,
            ni::fdb::mac_table::entries::entry::config::mac_address::PATH,
            ni::fdb::mac_table::entries::entry::config::vlan::PATH,
            ni::fdb::mac_table::entries::entry::interface::interface_ref::config::interface::PATH,
            ni::fdb::mac_table::entries::entry::interface::interface_ref::config::subinterface::PATH,
        ],
        read: crate::object::routing::oc_ni::instance,
    }
};

/// `OcProto` sources.
static OC_PROTO: Source = {
    use p::openconfig_network_instance::network_instances::network_instance::protocols::protocol as proto;
    Source {
        entries: &[proto::PATH],
        nodes: &[
            proto::PATH,
            proto::config::identifier::PATH,
            proto::config::name::PATH,
        ],
        read: crate::object::routing::oc_ni::protocol,
    }
};

/// `OcRoute` sources.
static OC_ROUTE: Source = {
    use p::openconfig_network_instance::network_instances::network_instance::protocols::protocol::static_routes::static_ as st;
    Source {
        entries: &[st::PATH],
        nodes: &[
            st::PATH,
            st::config::prefix::PATH,
            st::next_hops::next_hop::PATH,
            st::next_hops::next_hop::config::index::PATH,
            st::next_hops::next_hop::config::next_hop::PATH,
            st::next_hops::next_hop::interface_ref::config::interface::PATH,
            st::next_hops::next_hop::interface_ref::config::subinterface::PATH,
        ],
        read: crate::object::routing::oc_ni::route,
    }
};

/// `OcAcl` sources.
static OC_ACL: Source = {
    use p::openconfig_acl::acl::acl_sets::acl_set as set;
    Source {
        entries: &[set::PATH],
        nodes: &[
            set::PATH,
            set::config::name::PATH,
            set::config::type_::PATH,
            set::config::description::PATH,
            set::acl_entries::acl_entry::PATH,
            set::acl_entries::acl_entry::config::sequence_id::PATH,
            set::acl_entries::acl_entry::config::description::PATH,
            set::acl_entries::acl_entry::l2::config::source_mac::PATH,
            set::acl_entries::acl_entry::l2::config::destination_mac::PATH,
            set::acl_entries::acl_entry::l2::config::ethertype::PATH,
            set::acl_entries::acl_entry::ipv4::config::source_address::PATH,
            set::acl_entries::acl_entry::ipv4::config::destination_address::PATH,
            set::acl_entries::acl_entry::ipv4::config::protocol::PATH,
            set::acl_entries::acl_entry::ipv6::config::source_address::PATH,
            set::acl_entries::acl_entry::ipv6::config::destination_address::PATH,
            set::acl_entries::acl_entry::ipv6::config::protocol::PATH,
            set::acl_entries::acl_entry::transport::config::source_port::PATH,
            set::acl_entries::acl_entry::transport::config::destination_port::PATH,
            set::acl_entries::acl_entry::actions::config::forwarding_action::PATH,
        ],
        read: crate::object::acl::oc_acl::acl_set,
    }
};

/// `OcAclAttach` sources.
static OC_ACL_ATTACH: Source = {
    use p::openconfig_acl::acl::interfaces::interface as if_;
    Source {
        entries: &[if_::PATH],
        nodes: &[
            if_::PATH,
            if_::config::id::PATH,
            if_::interface_ref::config::interface::PATH,
            if_::interface_ref::config::subinterface::PATH,
            if_::ingress_acl_sets::ingress_acl_set::PATH,
            if_::ingress_acl_sets::ingress_acl_set::config::set_name::PATH,
            if_::ingress_acl_sets::ingress_acl_set::config::type_::PATH,
            if_::egress_acl_sets::egress_acl_set::PATH,
            if_::egress_acl_sets::egress_acl_set::config::set_name::PATH,
            if_::egress_acl_sets::egress_acl_set::config::type_::PATH,
        ],
        read: crate::object::acl::oc_acl::binding,
    }
};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt::Write as _;

    use super::*;

    /// The table is consistent: kinds in order (the marker's number is its index), entries
    /// of one kind at one depth, every node at or below an entry of its kind, no node
    /// claimed twice.
    #[test]
    fn the_source_table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for (i, k) in SourceKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
            let s = k.source();
            for e in s.entries {
                assert_eq!(e.matches('/').count(), s.steps(), "{k:?} {e}");
            }
            for n in s.nodes {
                assert!(
                    s.entries
                        .iter()
                        .any(|e| n == e || n.strip_prefix(e).is_some_and(|r| r.starts_with('/'))),
                    "{k:?}: {n} is not below an entry"
                );
                assert!(seen.insert(*n), "{n} is claimed twice");
            }
        }
    }

    const PROTO: &str = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol";

    fn route_path(proto: &str, prefix: &str) -> String {
        format!(
            "{PROTO}[type='ietf-routing:static'][name='{proto}']/static-routes/ietf-ipv4-unicast-routing:ipv4/route[destination-prefix='{prefix}']"
        )
    }

    /// Grouping sources by parent as they come gives the groups their parents' paths
    /// give: deeper and shallower sources of one kind, keys holding `/` and quotes, paths
    /// that start like another's.
    #[test]
    fn sources_group_by_their_parent() {
        let raw = [
            (SourceKind::IetfIf, "/m:a/b[k='1']"),
            (SourceKind::IetfIf, "/m:a/b[k='1/2']"),
            (SourceKind::IetfIf, "/m:a/b[k='1']/c[k='x']"),
            (SourceKind::IetfIf, "/m:a/b[k='1']/c[k='y/z']"),
            (SourceKind::IetfIf, "/m:a/b[k='1']/c[k='y/z']/d"),
            (SourceKind::IetfIf, "/m:a/b[k=\"it's\"]"),
            (SourceKind::IetfIf, "/m:a/bb[k='1']"),
            (SourceKind::IetfIf, "/m:a/b[k='2']"),
            (SourceKind::IetfIf, "/m:a"),
            (SourceKind::IetfIf, "/m:b"),
            (SourceKind::IetfAcl, "/m:a/b[k='3']"),
            (SourceKind::IetfAcl, "/m:a/b[k='3']/c"),
            (SourceKind::IetfAcl, "/m:a/b[k='4']"),
        ];
        let dirty: std::collections::BTreeSet<SourceKey> =
            raw.iter().map(|(k, p)| (*k, p.to_string())).collect();
        let mut want: std::collections::BTreeMap<(SourceKind, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for (k, p) in &dirty {
            want.entry((*k, ly::parent_path(p).unwrap_or_default()))
                .or_default()
                .push(p.clone());
        }
        assert_eq!(by_parent(dirty), want);
        assert_eq!(want[&(SourceKind::IetfIf, "/m:a".to_string())].len(), 5);
    }

    /// Reading many sources at once (lists walked once, sources grouped by parent as they
    /// come) gives what reading each source alone gives: for sources of two lists, more
    /// than the walking threshold in each, some gone, of two kinds, and one in a list read
    /// source by source.
    #[test]
    fn reading_all_at_once_equals_reading_each() {
        let ctx = nectar_yang::ModelSet::management()
            .with(nectar_yang::models::NETWORK)
            .build()
            .unwrap();
        let mut protos = String::new();
        for (k, proto) in ["a", "b", "c"].iter().enumerate() {
            let n = if *proto == "c" { 3 } else { 2 * BULK + 6 };
            let mut routes = String::new();
            for i in 0..n {
                if i > 0 {
                    routes.push(',');
                }
                let _ = write!(
                    routes,
                    r#"{{"destination-prefix":"1{k}.{}.{}.0/24","next-hop":{{"next-hop-address":"10.0.0.{}"}}}}"#,
                    i / 7,
                    i,
                    k + 1
                );
            }
            if k > 0 {
                protos.push(',');
            }
            let _ = write!(
                protos,
                r#"{{"type":"ietf-routing:static","name":"{proto}","static-routes":{{"ietf-ipv4-unicast-routing:ipv4":{{"route":[{routes}]}}}}}}"#
            );
        }
        let json = format!(
            r#"{{"ietf-routing:routing":{{"control-plane-protocols":{{"control-plane-protocol":[{protos}]}}}}}}"#
        );
        let tree = nectar_mgmt::core::parse_json(ctx, &json).unwrap();

        let mut dirty = BTreeSet::new();
        for (k, proto) in ["a", "b", "c"].iter().enumerate() {
            let n = if *proto == "c" { 3 } else { 2 * BULK + 6 };
            for i in (0..n + 3).step_by(if k == 0 { 1 } else { 2 }) {
                // i >= n: routes that do not exist (deleted).
                let prefix = format!("1{k}.{}.{}.0/24", i / 7, i);
                dirty.insert((SourceKind::IetfRoute, route_path(proto, &prefix)));
            }
            dirty.insert((
                SourceKind::IetfProto,
                format!("{PROTO}[type='ietf-routing:static'][name='{proto}']"),
            ));
        }
        // A route of a protocol that does not exist.
        dirty.insert((SourceKind::IetfRoute, route_path("zz", "9.9.9.0/24")));

        let want: BTreeMap<SourceKey, Vec<Fact>> = dirty
            .iter()
            .map(|k| (k.clone(), read(k, &tree).unwrap()))
            .collect();
        assert!(want.values().filter(|f| f.is_empty()).count() >= 7);
        assert!(want.values().filter(|f| !f.is_empty()).count() > 2 * BULK);
        let got = read_all(dirty, &tree).unwrap();
        assert_eq!(got, want);
    }
}
