//! openconfig-acl through the mapping: the same engine ACLs as ietf-access-control-list,
//! matched-packets counters in the OpenConfig state, and the rule for an interface bound to
//! ACLs from both families.

mod northbound_rig;

use nectar_dataplane::Mac;
use nectar_dataplane::control::AclAction;
use nectar_dataplane::headers::build::Builder;
use northbound_rig::{ETH0_ADDR, net, rig};

/// eth0 in openconfig-interfaces (the binding's interface-ref refers to it).
const OC_ETH0: &str = r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0",
  "config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd"}}]}}"#;

const OC_ACL: &str = r#"{"openconfig-acl:acl":{"acl-sets":{"acl-set":[
  {"name":"edge","type":"openconfig-acl:ACL_IPV4","config":{"name":"edge","type":"openconfig-acl:ACL_IPV4"},
   "acl-entries":{"acl-entry":[
    {"sequence-id":20,"config":{"sequence-id":20},
     "ipv4":{"config":{"destination-address":"10.0.0.0/24","protocol":"openconfig-packet-match-types:IP_TCP"}},
     "transport":{"config":{"destination-port":"80..443"}},
     "actions":{"config":{"forwarding-action":"openconfig-acl:ACCEPT"}}},
    {"sequence-id":10,"config":{"sequence-id":10},
     "ipv4":{"config":{"protocol":1}},
     "actions":{"config":{"forwarding-action":"openconfig-acl:DROP"}}},
    {"sequence-id":30,"config":{"sequence-id":30},
     "actions":{"config":{"forwarding-action":"openconfig-acl:ACCEPT"}}}]}}]},
  "interfaces":{"interface":[{"id":"eth0","config":{"id":"eth0"},
    "interface-ref":{"config":{"interface":"eth0"}},
    "ingress-acl-sets":{"ingress-acl-set":[{"set-name":"edge","type":"openconfig-acl:ACL_IPV4",
      "config":{"set-name":"edge","type":"openconfig-acl:ACL_IPV4"}}]}}]}}}"#;

#[test]
fn an_openconfig_acl_set_filters_in_sequence_order_and_counts_per_entry() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(OC_ETH0).unwrap();
    r.merge(OC_ACL).unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    let acl = i.acl_in.as_ref().expect("ingress ACL bound");
    let rules = &acl.config.rules;
    assert_eq!(rules.len(), 3);
    // Sequence order, not list order; an IPv4 set matches IPv4 only.
    assert_eq!(rules[0].proto, Some(1));
    assert_eq!(rules[0].action, AclAction::Deny);
    assert_eq!(rules[0].ethertype, Some(0x0800));
    assert_eq!(rules[1].proto, Some(6));
    assert_eq!(rules[1].dst, Some(net("10.0.0.0/24")));
    assert_eq!(rules[1].dst_ports, Some((80, 443)));
    assert_eq!(rules[1].action, AclAction::Permit);
    assert_eq!(rules[2].action, AclAction::Permit);

    let ping = Builder::eth(Mac([0x02, 0x6e, 0x63, 0, 0, 1]), Mac([0x02, 0, 0, 0, 0, 9]))
        .ipv4("10.0.0.9".parse().unwrap(), "10.0.0.1".parse().unwrap())
        .echo_request(1, 1)
        .build();
    for _ in 0..3 {
        r.pg[0].send(&ping);
    }
    r.dp.poll();
    assert!(r.pg[0].take().is_empty(), "the ACL drops the pings");
    let v = r.oper("/openconfig-acl:acl");
    assert_eq!(
        v["openconfig-acl:acl"]["state"]["counter-capability"],
        "AGGREGATE_ONLY"
    );
    let set = &v["openconfig-acl:acl"]["acl-sets"]["acl-set"][0];
    assert_eq!(set["name"], "edge");
    assert_eq!(set["state"]["type"], "ACL_IPV4");
    let entries = set["acl-entries"]["acl-entry"].as_array().unwrap();
    let count = |seq: u64| {
        entries
            .iter()
            .find(|e| e["sequence-id"] == seq)
            .map(|e| e["state"]["matched-packets"].clone())
    };
    assert_eq!(count(10), Some("3".into()));
    assert_eq!(count(20), Some("0".into()));
    // A get for one set names its type by identity.
    let one = |ty: &str| {
        r.oper(&format!(
            "/openconfig-acl:acl/acl-sets/acl-set[name='edge'][type='{ty}']/state/type"
        ))["openconfig-acl:acl"]["acl-sets"]["acl-set"][0]["state"]["type"]
            .clone()
    };
    assert_eq!(one("openconfig-acl:ACL_IPV4"), "ACL_IPV4");
    assert!(one("openconfig-acl:ACL_IPV6").is_null());

    // Unbinding removes it from the interface; then the set can go.
    r.delete("/openconfig-acl:acl/interfaces").unwrap();
    r.delete("/openconfig-acl:acl/acl-sets").unwrap();
    let t = r.dp.tables();
    assert!(
        t.iface(t.if_index("eth0").unwrap())
            .unwrap()
            .acl_in
            .is_none()
    );
    assert!(t.acls.is_empty());
}

#[test]
fn unsupported_openconfig_acl_values_are_refused_precisely() {
    let mut r = rig();
    r.merge(OC_ETH0).unwrap();
    let before = r.running();
    let reject = r#"{"openconfig-acl:acl":{"acl-sets":{"acl-set":[
      {"name":"r","type":"openconfig-acl:ACL_IPV6","config":{"name":"r","type":"openconfig-acl:ACL_IPV6"},
       "acl-entries":{"acl-entry":[{"sequence-id":1,"config":{"sequence-id":1},
         "actions":{"config":{"forwarding-action":"openconfig-acl:REJECT"}}}]}}]}}}"#;
    let err = r.merge(reject).unwrap_err().to_string();
    assert!(err.contains("REJECT is not supported"), "{err}");
    let mixed = r#"{"openconfig-acl:acl":{"acl-sets":{"acl-set":[
      {"name":"m","type":"openconfig-acl:ACL_MIXED","config":{"name":"m","type":"openconfig-acl:ACL_MIXED"}}]}}}"#;
    // ACL_MIXED is a type of the model (allowing no match fields): the mapping refuses it.
    let err = r.merge(mixed).unwrap_err().to_string();
    assert!(
        err.contains("type openconfig-acl:ACL_MIXED is not supported")
            && err.contains("openconfig-acl:ACL_IPV4, openconfig-acl:ACL_IPV6 or openconfig-acl:ACL_L2")
            && err.contains("/openconfig-acl:acl/acl-sets/acl-set[name='m'][type='openconfig-acl:ACL_MIXED']/config/type"),
        "{err}"
    );
    let masked = r#"{"openconfig-acl:acl":{"acl-sets":{"acl-set":[
      {"name":"l","type":"openconfig-acl:ACL_L2","config":{"name":"l","type":"openconfig-acl:ACL_L2"},
       "acl-entries":{"acl-entry":[{"sequence-id":1,"config":{"sequence-id":1},
         "l2":{"config":{"source-mac":"02:00:00:00:00:01","source-mac-mask":"ff:ff:ff:00:00:00"}},
         "actions":{"config":{"forwarding-action":"openconfig-acl:DROP"}}}]}}]}}}"#;
    assert!(
        nectar_mgmt::core::parse_json(northbound_rig::ctx(), masked).is_err(),
        "MAC masks are deviated"
    );
    assert_eq!(r.running(), before, "refused commits change nothing");
    assert!(r.dp.tables().acls.is_empty());
}

#[test]
fn an_l2_set_matches_macs_and_ethertypes() {
    let mut r = rig();
    r.merge(OC_ETH0).unwrap();
    r.merge(
        r#"{"openconfig-acl:acl":{"acl-sets":{"acl-set":[
      {"name":"l","type":"openconfig-acl:ACL_L2","config":{"name":"l","type":"openconfig-acl:ACL_L2"},
       "acl-entries":{"acl-entry":[{"sequence-id":1,"config":{"sequence-id":1},
         "l2":{"config":{"source-mac":"02:00:00:00:00:01","ethertype":"openconfig-packet-match-types:ETHERTYPE_IPV6"}},
         "actions":{"config":{"forwarding-action":"openconfig-acl:DROP"}}},
         {"sequence-id":2,"config":{"sequence-id":2},"l2":{"config":{"ethertype":2054}},
         "actions":{"config":{"forwarding-action":"openconfig-acl:ACCEPT"}}}]}}]},
      "interfaces":{"interface":[{"id":"eth0","config":{"id":"eth0"},
        "egress-acl-sets":{"egress-acl-set":[{"set-name":"l","type":"openconfig-acl:ACL_L2",
          "config":{"set-name":"l","type":"openconfig-acl:ACL_L2"}}]}}]}}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    let acl = i.acl_out.as_ref().expect("egress ACL bound by id");
    assert_eq!(acl.config.rules[0].src_mac, Some(Mac([2, 0, 0, 0, 0, 1])));
    assert_eq!(acl.config.rules[0].ethertype, Some(0x86dd));
    assert_eq!(acl.config.rules[1].ethertype, Some(0x0806));
}

#[test]
fn one_direction_of_an_interface_takes_one_acl_from_either_family() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(OC_ETH0).unwrap();
    r.merge(OC_ACL).unwrap();
    let before = r.running();
    // An IETF ACL on the same interface and direction: refused, naming both bindings.
    let err = r
        .merge(
            r#"{"ietf-access-control-list:acls":{
          "acl":[{"name":"in","aces":{"ace":[{"name":"all","actions":{"forwarding":"ietf-access-control-list:accept"}}]}}],
          "attachment-points":{"interface":[{"interface-id":"eth0","ingress":{"acl-sets":{"acl-set":[{"name":"in"}]}}}]}}}"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("ingress ACL of interface eth0"), "{err}");
    assert!(err.contains("openconfig-acl:acl/interfaces"), "{err}");
    assert!(
        err.contains("ietf-access-control-list:acls/attachment-points"),
        "{err}"
    );
    assert_eq!(r.running(), before);
    // The other direction is free.
    r.merge(
        r#"{"ietf-access-control-list:acls":{
          "acl":[{"name":"out","aces":{"ace":[{"name":"all","actions":{"forwarding":"ietf-access-control-list:accept"}}]}}],
          "attachment-points":{"interface":[{"interface-id":"eth0","egress":{"acl-sets":{"acl-set":[{"name":"out"}]}}}]}}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert_eq!(i.acl_in.as_ref().unwrap().config.name, "oc/ACL_IPV4/edge");
    assert_eq!(i.acl_out.as_ref().unwrap().config.name, "ietf/out");
}
