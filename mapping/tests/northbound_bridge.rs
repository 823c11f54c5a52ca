//! nectar-bridge through the mapping: bridge domains (learning, aging, static MACs, BVI) and
//! the access / trunk membership of ietf-interfaces interfaces.

mod northbound_rig;

use nectar_dataplane::Mac;
use nectar_dataplane::headers::build::Builder;
use northbound_rig::rig;

const BRIDGE: &str = r#"{
 "nectar-bridge:bridge-domains":{"bridge-domain":[
   {"name":"lan","vlan":10,"mac-aging-time":60,"routed-interface":"bvi-lan",
    "static-mac":[{"mac-address":"02:00:00:00:00:aa","interface":"eth1"}]}]},
 "ietf-interfaces:interfaces":{"interface":[
   {"name":"eth0","type":"iana-if-type:ethernetCsmacd","nectar-bridge:switchport":{"bridge-domain":"lan"}},
   {"name":"eth1","type":"iana-if-type:ethernetCsmacd","nectar-bridge:switchport":{"bridge-domain":"lan"}},
   {"name":"eth2","type":"iana-if-type:ethernetCsmacd","nectar-bridge:switchport":{"allowed-vlan":[10,20]}},
   {"name":"bvi-lan","type":"iana-if-type:bridge",
    "ietf-ip:ipv4":{"address":[{"ip":"192.168.10.1","prefix-length":24}]}}]}}"#;

fn frame(src: Mac, dst: Mac) -> Vec<u8> {
    Builder::eth(dst, src)
        .ipv4(
            "192.168.10.9".parse().unwrap(),
            "192.168.10.8".parse().unwrap(),
        )
        .udp(1, 2)
        .payload(&[0; 8])
        .build()
}

#[test]
fn a_bridge_domain_switches_between_its_members() {
    let mut r = rig();
    r.merge(BRIDGE).unwrap();
    let t = r.dp.tables();
    let bd = t
        .bds
        .iter()
        .flatten()
        .find(|b| b.name == "lan")
        .expect("bridge domain");
    assert_eq!(bd.vlan, Some(10));
    let bvi = t.iface(t.if_index("bvi-lan").expect("BVI exists")).unwrap();
    assert!(
        bvi.v4
            .iter()
            .any(|(a, l)| a.to_string() == "192.168.10.1" && *l == 24)
    );
    drop(t);

    // A broadcast from eth0 floods to eth1 untagged and to the trunk eth2 (tagged).
    let b = frame(Mac([2, 0, 0, 0, 0, 1]), Mac::BROADCAST);
    r.pg[0].send(&b);
    r.dp.poll();
    assert_eq!(r.pg[1].take().len(), 1);
    let tagged = r.pg[2].take();
    assert_eq!(tagged.len(), 1);
    assert_eq!(&tagged[0][12..16], &[0x81, 0x00, 0x00, 0x0a], "VLAN 10 tag");
    // The static MAC goes to eth1 only.
    r.pg[0].send(&frame(Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 0xaa])));
    r.dp.poll();
    assert_eq!(r.pg[1].take().len(), 1);
    assert!(r.pg[2].take().is_empty());

    // Addresses on a switchport are refused (the vswitch check), and nothing changes.
    let before = r.running();
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0",
              "ietf-ip:ipv4":{"address":[{"ip":"10.9.0.1","prefix-length":24}]}}]}}"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("switchport has no IP addresses"), "{err}");
    assert_eq!(r.running(), before);

    // A static MAC pins its interface in the domain.
    let err = r
        .delete("/ietf-interfaces:interfaces/interface[name='eth1']/nectar-bridge:switchport")
        .unwrap_err()
        .to_string();
    assert!(err.contains("eth1 is not a member of lan"), "{err}");
    r.delete("/nectar-bridge:bridge-domains/bridge-domain[name='lan']/static-mac[mac-address='02:00:00:00:00:aa']")
        .unwrap();
    // Leaving the domain, then deleting it, removes its BVI.
    for i in ["eth0", "eth1", "eth2"] {
        r.delete(&format!(
            "/ietf-interfaces:interfaces/interface[name='{i}']/nectar-bridge:switchport"
        ))
        .unwrap();
    }
    r.delete("/ietf-interfaces:interfaces/interface[name='bvi-lan']")
        .unwrap();
    r.delete("/nectar-bridge:bridge-domains").unwrap();
    let t = r.dp.tables();
    assert!(t.if_index("bvi-lan").is_none());
    assert!(t.bds.iter().flatten().next().is_none());
    let eth0 = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert_eq!(eth0.mode, nectar_dataplane::tables::L2Mode::Routed);
}

#[test]
fn a_bvi_needs_its_bridge_domain() {
    let mut r = rig();
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"bvi-x","type":"iana-if-type:bridge"}]}}"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("bvi-x does not exist"), "{err}");
}
