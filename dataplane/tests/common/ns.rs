//! A dataplane on the test kit's namespaces (`nectar_testkit::netns`, re-exported here):
//! afpacket ports on the dataplane ends of a [`Topo`]'s veths, a TAP port created in a
//! namespace, and the ops that configure them.

pub use nectar_testkit::netns::*;

use nectar_dataplane::control::*;
use nectar_dataplane::port::afpacket::AfPacketPort;
use nectar_dataplane::port::tap::TapPort;
use nectar_dataplane::{Dataplane, IpNet};

/// A dataplane on a [`Topo`]'s veths.
pub trait TopoDataplane {
    /// A dataplane with one worker and ports `p1` and `p2` on the dataplane ends of `h1`'s
    /// and `h2`'s veths.
    fn dataplane(&self) -> Dataplane;
    /// An afpacket port on the dataplane end of `host`'s veth.
    fn afpacket(&self, host: &str) -> AfPacketPort;
}

impl TopoDataplane for Topo {
    fn dataplane(&self) -> Dataplane {
        dataplane_of(vec![
            ("p1", Box::new(self.afpacket("h1"))),
            ("p2", Box::new(self.afpacket("h2"))),
        ])
    }

    fn afpacket(&self, host: &str) -> AfPacketPort {
        AfPacketPort::open_in_netns(&self.path("dp"), &self.dev(&format!("d{host}"))).unwrap()
    }
}

/// A TAP port created in host namespace `host` as interface `name`, up there with `addr`.
pub fn tap_in(t: &Topo, host: &str, name: &str, addr: &str) -> TapPort {
    let n2 = name.to_string();
    let tap = in_netns(&t.path(host), move || TapPort::create(&n2))
        .unwrap()
        .unwrap();
    let hns = t.ns(host);
    ip(&["-n", &hns, "addr", "add", addr, "dev", name]).unwrap();
    ip(&["-n", &hns, "link", "set", name, "up"]).unwrap();
    tap
}

/// A dataplane with these ports and one worker thread.
pub fn dataplane_of(ports: Vec<(&str, Box<dyn nectar_dataplane::port::Port>)>) -> Dataplane {
    let mut b = Dataplane::builder().workers(1);
    for (name, p) in ports {
        b = b.boxed_port(name, p);
    }
    b.build().unwrap()
}

/// Ops that make each of `ifs` (name, address) a routed interface, admin up.
pub fn routed_ops(ifs: &[(&str, &str)]) -> Vec<Op> {
    ifs.iter()
        .flat_map(|(n, a)| [up(n, InterfaceConfig::default()), addr(n, a)])
        .collect()
}

/// `SetInterface` with `cfg`, admin up.
pub fn up(name: &str, cfg: InterfaceConfig) -> Op {
    Op::SetInterface {
        name: name.into(),
        config: InterfaceConfig {
            admin_up: true,
            ..cfg
        },
    }
}

/// `AddAddress`.
pub fn addr(name: &str, a: &str) -> Op {
    Op::AddAddress {
        interface: name.into(),
        prefix: a.parse::<IpNet>().unwrap(),
    }
}

/// Ops that put `ports` (admin up) as access ports into a new bridge domain `bd`.
pub fn bridge_all(bd: &str, ports: &[&str]) -> Vec<Op> {
    let access = InterfaceConfig {
        switchport: Switchport::Access {
            bridge_domain: bd.into(),
        },
        ..Default::default()
    };
    let mut ops = vec![Op::SetBridgeDomain(BridgeDomainConfig::new(bd))];
    ops.extend(ports.iter().map(|p| up(p, access.clone())));
    ops
}
