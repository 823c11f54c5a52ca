//! openconfig-network-instance through the northbound mapping: an L3VRF instance isolates
//! its interfaces and static routes in a dataplane VRF; the same static route through
//! ietf-routing and OpenConfig is one route, and each model shows the other's.

mod northbound_rig;

use nectar_dataplane::control::DEFAULT_VRF;
use northbound_rig::*;

const VRF: &str = r#"{"openconfig-interfaces:interfaces":{"interface":[
  {"name":"eth1","config":{"name":"eth1","type":"iana-if-type:ethernetCsmacd"},
   "subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},
     "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.1.0.1","config":{"ip":"10.1.0.1","prefix-length":24}}]}}}]}}]},
 "openconfig-network-instance:network-instances":{"network-instance":[
  {"name":"red","config":{"name":"red","type":"openconfig-network-instance-types:L3VRF"},
   "interfaces":{"interface":[{"id":"up","config":{"id":"up","interface":"eth1"}}]},
   "protocols":{"protocol":[{"identifier":"openconfig-policy-types:STATIC","name":"st","config":{"identifier":"openconfig-policy-types:STATIC","name":"st"},
     "static-routes":{"static":[{"prefix":"192.0.2.0/24","config":{"prefix":"192.0.2.0/24"},
       "next-hops":{"next-hop":[{"index":"a","config":{"index":"a","next-hop":"10.1.0.2"}},
                                {"index":"b","config":{"index":"b","next-hop":"10.1.0.3"}}]}}]}}]}}]}}"#;

#[test]
fn an_l3vrf_instance_is_a_dataplane_vrf_with_its_routes() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(VRF).unwrap();
    let t = r.dp.tables();
    let eth1 = t.iface(t.if_index("eth1").unwrap()).unwrap();
    assert_eq!(Some(&eth1.vrf), t.vrf_names.get("red"));
    // The ECMP route is in red only.
    match r.dp.lookup("red", "192.0.2.9".parse().unwrap()) {
        Some(nectar_dataplane::tables::fib::Adj::Via(v)) => assert_eq!(v.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(
        r.dp.lookup(DEFAULT_VRF, "192.0.2.9".parse().unwrap())
            .is_none()
    );
    // The IETF view shows eth1's VRF; the OpenConfig state shows the routes with their
    // configured next-hop indexes and the binding under its id.
    let v = r.oper("/ietf-interfaces:interfaces/interface[name='eth1']");
    assert_eq!(
        v["ietf-interfaces:interfaces"]["interface"][0]["nectar-interfaces:dataplane"]["vrf"],
        "red"
    );
    let v = r.oper("/openconfig-network-instance:network-instances/network-instance[name='red']");
    let ni = &v["openconfig-network-instance:network-instances"]["network-instance"][0];
    assert_eq!(
        ni["state"]["type"],
        "openconfig-network-instance-types:L3VRF"
    );
    assert_eq!(ni["interfaces"]["interface"][0]["id"], "up");
    assert_eq!(
        ni["interfaces"]["interface"][0]["state"]["interface"],
        "eth1"
    );
    let hops =
        &ni["protocols"]["protocol"][0]["static-routes"]["static"][0]["next-hops"]["next-hop"];
    assert_eq!(hops.as_array().unwrap().len(), 2, "{v}");
    assert_eq!(hops[0]["index"], "a");
    assert_eq!(hops[0]["state"]["next-hop"], "10.1.0.2");

    // Deleting the instance unbinds eth1 and removes the VRF with its routes.
    r.delete("/openconfig-network-instance:network-instances/network-instance[name='red']")
        .unwrap();
    let t = r.dp.tables();
    assert!(!t.vrf_names.contains_key("red"));
    assert_eq!(t.iface(t.if_index("eth1").unwrap()).unwrap().vrf, 0);
}

#[test]
fn a_route_in_both_models_is_one_route_and_must_agree() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(
        r#"{"ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
          {"type":"ietf-routing:static","name":"st","static-routes":{"ietf-ipv4-unicast-routing:ipv4":{"route":[
            {"destination-prefix":"198.51.100.0/24","next-hop":{"next-hop-list":{"next-hop":[
              {"index":"1","next-hop-address":"10.0.0.3"},{"index":"2","next-hop-address":"10.0.0.2"}]}}}]}}}]}}}"#,
    )
    .unwrap();
    // OpenConfig shows the IETF route as state of the default instance.
    let v = r.oper("/openconfig-network-instance:network-instances");
    let ni = &v["openconfig-network-instance:network-instances"]["network-instance"][0];
    assert_eq!(ni["name"], "DEFAULT");
    let st = &ni["protocols"]["protocol"][0]["static-routes"]["static"][0];
    assert_eq!(st["state"]["prefix"], "198.51.100.0/24");
    // The same ECMP set in another order through OpenConfig: one route, nothing sent.
    let oc = |hops: &str| {
        format!(
            r#"{{"openconfig-network-instance:network-instances":{{"network-instance":[
              {{"name":"DEFAULT","config":{{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"}},
               "protocols":{{"protocol":[{{"identifier":"openconfig-policy-types:STATIC","name":"DEFAULT","config":{{"identifier":"openconfig-policy-types:STATIC","name":"DEFAULT"}},
                 "static-routes":{{"static":[{{"prefix":"198.51.100.0/24","config":{{"prefix":"198.51.100.0/24"}},
                   "next-hops":{{"next-hop":[{hops}]}}}}]}}}}]}}}}]}}}}"#
        )
    };
    r.merge(&oc(
        r#"{"index":"x","config":{"index":"x","next-hop":"10.0.0.2"}},{"index":"y","config":{"index":"y","next-hop":"10.0.0.3"}}"#,
    ))
    .unwrap();
    assert!(
        r.nb.last_ops()
            .iter()
            .all(|op| !matches!(op, nectar_dataplane::Op::AddRoute { .. })),
        "{:?}",
        r.nb.last_ops()
    );
    // A different set is refused naming both paths, and changes nothing.
    let running = r.running();
    let err = r
        .merge(&oc(
            r#"{"index":"z","config":{"index":"z","next-hop":"10.0.0.4"}}"#,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/ietf-routing:routing/control-plane-protocols")
            && err.contains("/openconfig-network-instance:network-instances")
            && err.contains("must agree"),
        "{err}"
    );
    assert_eq!(r.running(), running);
    // Unsupported instance types and protocols are refused precisely, changing nothing.
    let err = r
        .merge(
            r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"l2","config":{"name":"l2","type":"openconfig-network-instance-types:L2P2P"}}]}}"#,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("type openconfig-network-instance-types:L2P2P is not supported")
            && err.contains("network-instance[name='l2']/config/type"),
        "{err}"
    );
    let err = r
        .merge(
            r#"{"openconfig-network-instance:network-instances":{"network-instance":[
          {"name":"DEFAULT","protocols":{"protocol":[{"identifier":"openconfig-policy-types:BGP","name":"b",
            "config":{"identifier":"openconfig-policy-types:BGP","name":"b"}}]}}]}}"#,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("protocol openconfig-policy-types:BGP is not supported")
            && err.contains(
                "protocol[identifier='openconfig-policy-types:BGP'][name='b']/config/identifier"
            ),
        "{err}"
    );
    assert_eq!(r.running(), running);
}
