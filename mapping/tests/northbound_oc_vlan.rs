//! openconfig-vlan and the L2 parts of openconfig-network-instance through the mapping,
//! with traffic on pg ports: access and trunk ports of a DEFAULT-instance VLAN switch, the
//! learned MACs show in both the nectar-bridge and the OpenConfig fdb MAC tables, a
//! routed-vlan interface and a VLAN subinterface answer ARP in their VLAN.

mod northbound_rig;

use nectar_dataplane::Mac;
use nectar_dataplane::headers::build::Builder;
use nectar_dataplane::headers::{ARP_REPLY, ARP_REQUEST, Arp, Ethernet};
use northbound_rig::rig;

const VLAN10: &str = r#"{
 "openconfig-network-instance:network-instances":{"network-instance":[
  {"name":"DEFAULT","config":{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"},
   "vlans":{"vlan":[{"vlan-id":10,"config":{"vlan-id":10,"name":"office"}}]}}]},
 "openconfig-interfaces:interfaces":{"interface":[
  {"name":"eth0","config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd"},
   "openconfig-if-ethernet:ethernet":{"openconfig-vlan:switched-vlan":{"config":{"interface-mode":"ACCESS","access-vlan":10}}}},
  {"name":"eth1","config":{"name":"eth1","type":"iana-if-type:ethernetCsmacd"},
   "openconfig-if-ethernet:ethernet":{"openconfig-vlan:switched-vlan":{"config":{"interface-mode":"ACCESS","access-vlan":10}}}},
  {"name":"eth2","config":{"name":"eth2","type":"iana-if-type:ethernetCsmacd"},
   "openconfig-if-ethernet:ethernet":{"openconfig-vlan:switched-vlan":{"config":{"interface-mode":"TRUNK","trunk-vlans":[10]}}},
   "subinterfaces":{"subinterface":[{"index":7,"config":{"index":7},
     "openconfig-vlan:vlan":{"match":{"single-tagged":{"config":{"vlan-id":700}}}},
     "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.70.0.1","config":{"ip":"10.70.0.1","prefix-length":24}}]}}}]}},
  {"name":"irb10","config":{"name":"irb10","type":"iana-if-type:l3ipvlan"},
   "openconfig-vlan:routed-vlan":{"config":{"vlan":10},
     "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.10.0.1","config":{"ip":"10.10.0.1","prefix-length":24}}]}}}}]}}"#;

const A: Mac = Mac([2, 0, 0, 0, 0, 0xa]);
const B: Mac = Mac([2, 0, 0, 0, 0, 0xb]);

fn udp(src: Mac, dst: Mac) -> Vec<u8> {
    Builder::eth(dst, src)
        .ipv4("10.10.0.9".parse().unwrap(), "10.10.0.8".parse().unwrap())
        .udp(1, 2)
        .payload(&[0; 8])
        .build()
}

fn vid(f: &[u8]) -> Option<u16> {
    Ethernet::parse(f).unwrap().vlan.map(|v| v.vid)
}

#[test]
fn openconfig_vlans_switch_and_learned_macs_show_in_both_models() {
    let mut r = rig();
    r.merge(VLAN10).unwrap();

    // A broadcast from eth0 floods to eth1 untagged and to the trunk tagged 10.
    r.pg[0].send(&udp(A, Mac::BROADCAST));
    r.dp.poll();
    assert_eq!(r.pg[1].take().len(), 1);
    let tagged = r.pg[2].take();
    assert_eq!(tagged.len(), 1);
    assert_eq!(vid(&tagged[0]), Some(10));
    // B answers from eth1: A was learned behind eth0, so only eth0 gets it.
    r.pg[1].send(&udp(B, A));
    r.dp.poll();
    assert_eq!(r.pg[0].take().len(), 1);
    assert!(r.pg[2].take().is_empty(), "a learned MAC is not flooded");

    // nectar-bridge shows the domain vlan10 (OpenConfig VLAN 10) with both learned MACs.
    let v = r.oper("/nectar-bridge:bridge-domains/bridge-domain[name='vlan10']");
    let bd = &v["nectar-bridge:bridge-domains"]["bridge-domain"][0];
    assert_eq!(bd["vlan"], 10);
    assert_eq!(bd["routed-interface"], "irb10");
    let entries = bd["mac-table"]["entry"].as_array().expect("mac-table");
    let row = |mac: &str| {
        entries
            .iter()
            .find(|e| e["mac-address"] == mac)
            .unwrap_or_else(|| panic!("{mac} in {v}"))
    };
    assert_eq!(row("02:00:00:00:00:0a")["interface"], "eth0");
    assert_eq!(row("02:00:00:00:00:0a")["type"], "dynamic");
    assert!(!row("02:00:00:00:00:0a")["age"].is_null(), "{v}");
    assert_eq!(row("02:00:00:00:00:0b")["interface"], "eth1");

    // The OpenConfig DEFAULT instance shows the same MACs in VLAN 10's fdb.
    let v =
        r.oper("/openconfig-network-instance:network-instances/network-instance[name='DEFAULT']");
    let ni = &v["openconfig-network-instance:network-instances"]["network-instance"][0];
    let entries = ni["fdb"]["mac-table"]["entries"]["entry"]
        .as_array()
        .unwrap_or_else(|| panic!("fdb mac-table in {v}"));
    let row = entries
        .iter()
        .find(|e| e["mac-address"] == "02:00:00:00:00:0b")
        .unwrap_or_else(|| panic!("B in {v}"));
    assert_eq!(row["vlan"], 10);
    assert_eq!(row["state"]["entry-type"], "DYNAMIC");
    assert_eq!(
        row["interface"]["interface-ref"]["state"]["interface"],
        "eth1"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["mac-address"] == "02:00:00:00:00:0a")
    );
    // VLAN 10's members: the access ports and the trunk.
    let members = &ni["vlans"]["vlan"][0]["members"]["member"];
    assert_eq!(members.as_array().unwrap().len(), 3, "{v}");

    // The routed-vlan interface answers ARP in VLAN 10 (from an access port, untagged).
    r.pg[0].send(
        &Builder::eth(Mac::BROADCAST, A)
            .arp(
                ARP_REQUEST,
                A,
                "10.10.0.9".parse().unwrap(),
                Mac::ZERO,
                "10.10.0.1".parse().unwrap(),
            )
            .build(),
    );
    r.dp.poll();
    let replies: Vec<Vec<u8>> = r.pg[0]
        .take()
        .into_iter()
        .filter(|f| Ethernet::parse(f).unwrap().ethertype == 0x0806)
        .collect();
    assert_eq!(replies.len(), 1);
    let e = Ethernet::parse(&replies[0]).unwrap();
    let a = Arp::parse(&replies[0][e.header_len..]).unwrap();
    assert_eq!(a.op, ARP_REPLY);
    assert_eq!(a.spa.to_string(), "10.10.0.1");
    // (The request itself was flooded in VLAN 10.)
    assert_eq!(r.pg[1].take().len(), 1);
    assert_eq!(vid(&r.pg[2].take()[0]), Some(10));

    // The VLAN subinterface eth2.7 answers ARP tagged 700 on eth2.
    r.pg[2].send(
        &Builder::eth(Mac::BROADCAST, B)
            .vlan(700)
            .arp(
                ARP_REQUEST,
                B,
                "10.70.0.9".parse().unwrap(),
                Mac::ZERO,
                "10.70.0.1".parse().unwrap(),
            )
            .build(),
    );
    r.dp.poll();
    let out = r.pg[2].take();
    assert_eq!(out.len(), 1, "one ARP reply");
    assert_eq!(vid(&out[0]), Some(700));
    let e = Ethernet::parse(&out[0]).unwrap();
    let a = Arp::parse(&out[0][e.header_len..]).unwrap();
    assert_eq!(
        (a.op, a.spa.to_string()),
        (ARP_REPLY, "10.70.0.1".to_string())
    );

    // Removing the VLAN's domain takes its learned MACs with it.
    r.delete("/openconfig-interfaces:interfaces/interface[name='irb10']")
        .unwrap();
    for i in ["eth0", "eth1", "eth2"] {
        r.delete(&format!(
            "/openconfig-interfaces:interfaces/interface[name='{i}']/openconfig-if-ethernet:ethernet"
        ))
        .unwrap();
    }
    r.delete(
        "/openconfig-network-instance:network-instances/network-instance[name='DEFAULT']/vlans",
    )
    .unwrap();
    r.dp.maintenance();
    let v = r.oper("/nectar-bridge:bridge-domains");
    assert!(
        v.get("nectar-bridge:bridge-domains").is_none()
            || v["nectar-bridge:bridge-domains"]["bridge-domain"].is_null(),
        "{v}"
    );
}

const L2VSI: &str = r#"{
 "openconfig-interfaces:interfaces":{"interface":[
  {"name":"eth0","config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd"}},
  {"name":"eth1","config":{"name":"eth1","type":"iana-if-type:ethernetCsmacd"}}]},
 "openconfig-network-instance:network-instances":{"network-instance":[
  {"name":"tenant","config":{"name":"tenant","type":"openconfig-network-instance-types:L2VSI"},
   "vlans":{"vlan":[{"vlan-id":30,"config":{"vlan-id":30}}]},
   "fdb":{"config":{"mac-learning":false}},
   "interfaces":{"interface":[{"id":"a","config":{"id":"a","interface":"eth0"}},
                              {"id":"b","config":{"id":"b","interface":"eth1"}}]}}]}}"#;

#[test]
fn an_l2vsi_instance_is_a_bridge_domain_and_honours_its_fdb_settings() {
    let mut r = rig();
    r.merge(L2VSI).unwrap();
    // No learning: B's frame to A floods because A was never learned.
    r.pg[0].send(&udp(A, Mac::BROADCAST));
    r.dp.poll();
    assert_eq!(r.pg[1].take().len(), 1);
    r.pg[1].send(&udp(B, A));
    r.dp.poll();
    assert_eq!(r.pg[0].take().len(), 1, "flooded to the only other member");
    assert!(
        r.dp.l2_entries().is_empty(),
        "mac-learning false learns nothing"
    );

    // Learning on: A is learned and shows in the instance's fdb.
    r.merge(
        r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"tenant","fdb":{"config":{"mac-learning":true}}}]}}"#,
    )
    .unwrap();
    r.pg[0].send(&udp(A, Mac::BROADCAST));
    r.dp.poll();
    r.pg[1].take();
    let v =
        r.oper("/openconfig-network-instance:network-instances/network-instance[name='tenant']");
    let ni = &v["openconfig-network-instance:network-instances"]["network-instance"][0];
    assert_eq!(ni["fdb"]["state"]["mac-learning"], true, "{v}");
    let e = &ni["fdb"]["mac-table"]["entries"]["entry"][0];
    assert_eq!(e["mac-address"], "02:00:00:00:00:0a", "{v}");
    assert_eq!(e["vlan"], 30);
    assert_eq!(
        e["interface"]["interface-ref"]["state"]["interface"],
        "eth0"
    );
    let ids: Vec<&str> = ni["interfaces"]["interface"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let v = r.oper("/nectar-bridge:bridge-domains/bridge-domain[name='tenant']");
    let bd = &v["nectar-bridge:bridge-domains"]["bridge-domain"][0];
    assert_eq!(bd["mac-table"]["entry"][0]["interface"], "eth0", "{v}");
}

#[test]
fn a_trunk_without_trunk_vlans_carries_every_vlan() {
    let mut r = rig();
    r.merge(
        r#"{"openconfig-interfaces:interfaces":{"interface":[
          {"name":"eth2","config":{"name":"eth2","type":"iana-if-type:ethernetCsmacd"},
           "openconfig-if-ethernet:ethernet":{"openconfig-vlan:switched-vlan":{"config":{"interface-mode":"TRUNK","native-vlan":5}}}}]}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    let eth2 = t.iface(t.if_index("eth2").unwrap()).unwrap();
    assert!(matches!(
        eth2.mode,
        nectar_dataplane::tables::L2Mode::Trunk { .. }
    ));
    drop(t);
    // The model says: no trunk-vlans, every VLAN; the state shows it as one range.
    let v = r.oper("/openconfig-interfaces:interfaces/interface[name='eth2']");
    let sv = &v["openconfig-interfaces:interfaces"]["interface"][0]["openconfig-if-ethernet:ethernet"]
        ["openconfig-vlan:switched-vlan"]["state"];
    assert_eq!(sv["trunk-vlans"], serde_json::json!(["1..4094"]), "{v}");
    assert_eq!(sv["native-vlan"], 5);
}

#[test]
fn what_the_vswitch_cannot_do_is_not_in_the_schema() {
    // A bridge domain always forwards: a VLAN cannot be SUSPENDED. The vswitch limits
    // learned MACs over all domains: no per-instance maximum-entries.
    for json in [
        r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"DEFAULT","config":{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"},
           "vlans":{"vlan":[{"vlan-id":10,"config":{"vlan-id":10,"status":"SUSPENDED"}}]}}]}}"#,
        r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"x","config":{"name":"x","type":"openconfig-network-instance-types:L2VSI"},"fdb":{"config":{"maximum-entries":10}}}]}}"#,
        r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0",
          "subinterfaces":{"subinterface":[{"index":1,"openconfig-vlan:vlan":{"match":
            {"double-tagged":{"config":{"inner-vlan-id":1,"outer-vlan-id":2}}}}}]}}]}}"#,
    ] {
        let err = nectar_mgmt::core::parse_json(northbound_rig::ctx(), json);
        assert!(err.is_err(), "accepted: {json}");
    }
    // (What is supported parses.)
    nectar_mgmt::core::parse_json(
        northbound_rig::ctx(),
        r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"DEFAULT","config":{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"},
           "vlans":{"vlan":[{"vlan-id":10,"config":{"vlan-id":10,"status":"ACTIVE"}}]}},
          {"name":"x","config":{"name":"x","type":"openconfig-network-instance-types:L2VSI"},"fdb":{"config":{"mac-aging-time":10}}}]}}"#,
    )
    .unwrap();
}
