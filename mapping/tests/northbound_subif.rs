//! ietf-interfaces `l2vlan` sub-interfaces (`nectar-interfaces:sub-interface`) driving the
//! vswitch's 802.1Q sub-interfaces: routed (ARP and routing in the VLAN) and bridged.

mod northbound_rig;

use nectar_dataplane::Mac;
use nectar_dataplane::headers::build::Builder;
use nectar_dataplane::headers::{ARP_REPLY, ARP_REQUEST, Arp, Ethernet};
use northbound_rig::*;

const SUBIFS: &str = r#"{"ietf-interfaces:interfaces":{"interface":[
  {"name":"eth0","type":"iana-if-type:ethernetCsmacd"},
  {"name":"eth0.100","type":"iana-if-type:l2vlan",
   "nectar-interfaces:sub-interface":{"parent-interface":"eth0","vlan-id":100},
   "ietf-ip:ipv4":{"address":[{"ip":"10.100.0.1","prefix-length":24}]}},
  {"name":"eth0.200","type":"iana-if-type:l2vlan",
   "nectar-interfaces:sub-interface":{"parent-interface":"eth0","vlan-id":200},
   "nectar-bridge:switchport":{"bridge-domain":"bd200"}},
  {"name":"eth1","type":"iana-if-type:ethernetCsmacd","nectar-bridge:switchport":{"bridge-domain":"bd200"}}]},
 "nectar-bridge:bridge-domains":{"bridge-domain":[{"name":"bd200"}]}}"#;

const HOST: Mac = Mac([0x02, 0, 0, 0, 0, 9]);

#[test]
fn a_routed_l2vlan_subinterface_answers_in_its_vlan() {
    let mut r = rig();
    r.merge(SUBIFS).unwrap();
    let arp = Builder::eth(Mac::BROADCAST, HOST)
        .vlan(100)
        .arp(
            ARP_REQUEST,
            HOST,
            "10.100.0.9".parse().unwrap(),
            Mac::ZERO,
            "10.100.0.1".parse().unwrap(),
        )
        .build();
    r.pg[0].send(&arp);
    r.dp.poll();
    let out = r.pg[0].take();
    assert_eq!(out.len(), 1, "one ARP reply");
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!(e.vlan.map(|v| v.vid), Some(100), "the reply is tagged 100");
    let a = Arp::parse(&out[0][e.header_len..]).unwrap();
    assert_eq!((a.op, a.spa), (ARP_REPLY, "10.100.0.1".parse().unwrap()));
    // The same request untagged is not for eth0 (it has no address).
    let untagged = Builder::eth(Mac::BROADCAST, HOST)
        .arp(
            ARP_REQUEST,
            HOST,
            "10.100.0.9".parse().unwrap(),
            Mac::ZERO,
            "10.100.0.1".parse().unwrap(),
        )
        .build();
    r.pg[0].send(&untagged);
    r.dp.poll();
    assert!(r.pg[0].take().is_empty());

    let v = r.oper("/ietf-interfaces:interfaces/interface[name='eth0.100']");
    let i = &v["ietf-interfaces:interfaces"]["interface"][0];
    assert_eq!(i["type"], "iana-if-type:l2vlan");
    assert_eq!(i["oper-status"], "up");
    assert_eq!(i["statistics"]["in-broadcast-pkts"], "1");
}

#[test]
fn a_bridged_l2vlan_subinterface_switches_with_its_domain() {
    let mut r = rig();
    r.merge(SUBIFS).unwrap();
    // A broadcast tagged 200 on eth0 floods to eth1 untagged, and back.
    let f = Builder::eth(Mac::BROADCAST, HOST)
        .vlan(200)
        .ipv4("10.2.0.9".parse().unwrap(), "10.2.0.255".parse().unwrap())
        .udp(1, 2)
        .build();
    r.pg[0].send(&f);
    r.dp.poll();
    let out = r.pg[1].take();
    assert_eq!(out.len(), 1);
    assert_eq!(Ethernet::parse(&out[0]).unwrap().vlan, None);
    let back = Builder::eth(HOST, Mac([0x02, 0, 0, 0, 0, 8]))
        .ipv4("10.2.0.8".parse().unwrap(), "10.2.0.9".parse().unwrap())
        .udp(2, 1)
        .build();
    r.pg[1].send(&back);
    r.dp.poll();
    let out = r.pg[0].take();
    assert_eq!(out.len(), 1, "HOST was learned behind eth0.200");
    let e = Ethernet::parse(&out[0]).unwrap();
    assert_eq!(e.vlan.map(|v| v.vid), Some(200));
    // Removing the sub-interface removes it from the vswitch.
    r.delete("/ietf-interfaces:interfaces/interface[name='eth0.200']")
        .unwrap();
    assert!(r.dp.interface_index("eth0.200").is_none());
}

#[test]
fn an_l2vlan_interface_needs_a_port_parent_and_a_vlan() {
    let mut r = rig();
    // Without the sub-interface container the model refuses it (mandatory leaves).
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"v","type":"iana-if-type:l2vlan"}]}}"#,
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("Mandatory node") && msg.contains("nectar-interfaces:sub-interface"),
        "{msg}"
    );
    // A port cannot be given the type.
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth2","type":"iana-if-type:l2vlan",
              "nectar-interfaces:sub-interface":{"parent-interface":"eth2","vlan-id":7}}]}}"#,
        )
        .unwrap_err();
    assert!(err.to_string().contains("eth2 is a port"), "{err}");
    assert!(r.dp.interface_index("eth2.7").is_none());
}
