//! The northbound mapping driven through the management core, as the daemon wires it: a
//! pg dataplane with ports eth0..eth2, the network models with nectar's deviations, the
//! `Northbound` provider in the registry. Config goes in through `Core::edit`; the tests
//! look at the dataplane's tables, the operational datastore and the event bus.

mod northbound_rig;

use nectar_dataplane::Mac;
use nectar_dataplane::control::{DEFAULT_VRF, RouteTarget};
use nectar_mgmt::{Datastore, EditOp, EditStep, ErrorOption, Event};
use northbound_rig::*;

#[test]
fn the_core_opens_with_every_network_model_covered() {
    let r = rig();
    assert!(r.dp.interfaces().contains(&"eth0".to_string()));
}

#[test]
fn ietf_interface_configuration_programs_the_port() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert!(i.admin_up, "a configured interface is enabled by default");
    assert_eq!(i.mtu, 1400);
    assert!(i.has_v4("10.0.0.1".parse().unwrap()));
    assert!(i.has_v6("2001:db8::1".parse().unwrap()));
    assert_eq!(
        r.nb.last_ops(),
        vec![
            nectar_dataplane::Op::SetInterface {
                name: "eth0".into(),
                config: nectar_dataplane::control::InterfaceConfig {
                    admin_up: true,
                    mtu: 1400,
                    ..Default::default()
                }
            },
            nectar_dataplane::Op::AddAddress {
                interface: "eth0".into(),
                prefix: net("10.0.0.1/24")
            },
            nectar_dataplane::Op::AddAddress {
                interface: "eth0".into(),
                prefix: net("2001:db8::1/64")
            },
        ]
    );

    // Admin down, address removed: only the difference goes to the dataplane.
    r.merge(
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","enabled":false}]}}"#,
    )
    .unwrap();
    r.delete(
        "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv6/address[ip='2001:db8::1']",
    )
    .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert!(!i.admin_up);
    assert!(!i.has_v6("2001:db8::1".parse().unwrap()));
    assert!(i.has_v4("10.0.0.1".parse().unwrap()));

    // Deleting the interface entry returns the port to its unconfigured state.
    r.delete("/ietf-interfaces:interfaces/interface[name='eth0']")
        .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert!(!i.admin_up);
    assert!(i.v4.is_empty());
    assert_eq!(i.mtu, 1500);
}

#[test]
fn a_port_that_does_not_exist_is_refused_and_nothing_changes() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    let before_tables = format!("{:?}", r.dp.tables().ifs);
    let before_running = r.running();
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[
              {"name":"eth0","type":"iana-if-type:ethernetCsmacd","enabled":false},
              {"name":"eth9","type":"iana-if-type:ethernetCsmacd"}]}}"#,
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("eth9") && text.contains("ports: eth0, eth1, eth2"),
        "{text}"
    );
    assert_eq!(format!("{:?}", r.dp.tables().ifs), before_tables);
    assert_eq!(r.running(), before_running);
    // A value the dataplane refuses in check() fails the same way.
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth1","type":"iana-if-type:ethernetCsmacd",
              "ietf-ip:ipv4":{"address":[{"ip":"224.0.0.1","prefix-length":24}]}}]}}"#,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not unicast"), "{err}");
    assert_eq!(format!("{:?}", r.dp.tables().ifs), before_tables);
    assert_eq!(r.running(), before_running);
}

#[test]
fn unsupported_interface_types_are_refused() {
    let mut r = rig();
    let err = r
        .merge(
            r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth1","type":"iana-if-type:softwareLoopback"}]}}"#,
        )
        .unwrap_err();
    assert!(err.to_string().contains("ethernetCsmacd"), "{err}");
}

#[test]
fn ports_are_system_interfaces_with_counters_before_any_configuration() {
    let mut r = rig();
    // Two frames into eth1 (unconfigured, so admin down: they count and drop).
    let mut frame = vec![0xffu8; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 9, 0x08, 0x06]);
    frame.resize(60, 0);
    r.pg[1].send(&frame);
    r.pg[1].send(&frame);
    r.dp.poll();
    let st = r.dp.interface_stats("eth1").unwrap();
    let v = r.oper("/ietf-interfaces:interfaces/interface[name='eth1']");
    let list = v["ietf-interfaces:interfaces"]["interface"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 1, "{v}");
    let i = &list[0];
    assert_eq!(i["name"], "eth1");
    assert_eq!(i["type"], "iana-if-type:ethernetCsmacd");
    assert_eq!(i["admin-status"], "down");
    assert_eq!(i["oper-status"], "down");
    assert_eq!(i["phys-address"], "02:6e:63:00:00:02");
    assert_eq!(i["nectar-interfaces:dataplane"]["driver"], "pg");
    let s = &i["statistics"];
    assert_eq!(s["in-octets"], st.rx_bytes.to_string());
    assert_eq!(s["in-broadcast-pkts"], st.rx_broadcast.to_string());
    assert!(
        s["discontinuity-time"].as_str().unwrap().starts_with("20"),
        "{s}"
    );
    // The whole list has every port.
    let v = r.oper("/ietf-interfaces:interfaces");
    assert_eq!(
        v["ietf-interfaces:interfaces"]["interface"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Configured addresses appear with origin static, and the IPv6 link-local one.
    r.merge(ETH0_ADDR).unwrap();
    let v = r.oper("/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4");
    let a = &v["ietf-interfaces:interfaces"]["interface"][0]["ietf-ip:ipv4"]["address"][0];
    assert_eq!(a["ip"], "10.0.0.1");
    assert_eq!(a["origin"], "static");
}

#[test]
fn static_routes_reach_the_fib_and_the_rib() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(
        r#"{"ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
          {"type":"ietf-routing:static","name":"st","static-routes":{
            "ietf-ipv4-unicast-routing:ipv4":{"route":[
              {"destination-prefix":"192.0.2.0/24","next-hop":{"next-hop-address":"10.0.0.254"}},
              {"destination-prefix":"198.51.100.0/24","next-hop":{"next-hop-list":{"next-hop":[
                {"index":"a","next-hop-address":"10.0.0.2"},{"index":"b","next-hop-address":"10.0.0.3"}]}}},
              {"destination-prefix":"203.0.113.0/24","next-hop":{"special-next-hop":"blackhole"}}]}}}]}}}"#,
    )
    .unwrap();
    let routes = r.dp.routes(DEFAULT_VRF);
    let find = |p: &str| {
        routes
            .iter()
            .find(|(n, _)| *n == net(p))
            .map(|(_, a)| a.clone())
    };
    assert!(
        matches!(find("192.0.2.0/24"), Some(nectar_dataplane::tables::fib::Adj::Via(v)) if v.len() == 1)
    );
    assert!(
        matches!(find("198.51.100.0/24"), Some(nectar_dataplane::tables::fib::Adj::Via(v)) if v.len() == 2)
    );
    assert!(matches!(
        find("203.0.113.0/24"),
        Some(nectar_dataplane::tables::fib::Adj::Drop)
    ));
    let v = r.oper("/ietf-routing:routing/ribs");
    let ribs = v["ietf-routing:routing"]["ribs"]["rib"].as_array().unwrap();
    let v4 = ribs.iter().find(|r| r["name"] == "ipv4-master").unwrap();
    let routes = v4["routes"]["route"].as_array().unwrap();
    let r1 = routes
        .iter()
        .find(|r| r["ietf-ipv4-unicast-routing:destination-prefix"] == "192.0.2.0/24")
        .unwrap();
    // RFC 7951 §6.8: an identity of the node's own module is printed without prefix.
    assert_eq!(r1["source-protocol"], "static");
    assert_eq!(
        r1["next-hop"]["ietf-ipv4-unicast-routing:next-hop-address"],
        "10.0.0.254"
    );
    assert_eq!(r1["next-hop"]["outgoing-interface"], "eth0");
    let c = routes
        .iter()
        .find(|r| r["ietf-ipv4-unicast-routing:destination-prefix"] == "10.0.0.0/24")
        .unwrap();
    assert_eq!(c["source-protocol"], "direct");

    r.delete("/ietf-routing:routing/control-plane-protocols/control-plane-protocol[type='ietf-routing:static'][name='st']/static-routes/ietf-ipv4-unicast-routing:ipv4/route[destination-prefix='192.0.2.0/24']").unwrap();
    assert_eq!(
        r.nb.last_ops(),
        vec![nectar_dataplane::Op::DelRoute {
            vrf: DEFAULT_VRF.into(),
            prefix: net("192.0.2.0/24")
        }]
    );
    let _ = RouteTarget::Blackhole;
}

#[test]
fn link_changes_enter_the_event_bus() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.dp.maintenance();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.len() < 3 && std::time::Instant::now() < deadline {
        match r.events.try_recv() {
            Ok(Event::OperChanged { path, value, .. }) => seen.push(format!("{path}={value:?}")),
            Ok(Event::Notification { json, .. }) => seen.push(json.to_string()),
            Ok(_) => {}
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    assert!(
        seen.contains(
            &"/ietf-interfaces:interfaces/interface[name='eth0']/oper-status=Some(\"up\")"
                .to_string()
        ),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.contains("nectar-interfaces:link-state-change") && s.contains("\"up\"")),
        "{seen:?}"
    );
    r.pg[0].set_link(false);
    r.dp.maintenance();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut down = false;
    while !down && std::time::Instant::now() < deadline {
        match r.events.try_recv() {
            Ok(Event::OperChanged { path, value, .. }) => {
                down =
                    path.ends_with("[name='eth0']/oper-status") && value.as_deref() == Some("down")
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    assert!(down);
    let v = r.oper("/ietf-interfaces:interfaces/interface[name='eth0']/oper-status");
    assert_eq!(
        v["ietf-interfaces:interfaces"]["interface"][0]["oper-status"],
        "down"
    );
}

#[test]
fn ietf_acls_filter_and_count_per_ace() {
    use nectar_dataplane::headers::build::Builder;
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(
        r#"{"ietf-access-control-list:acls":{
          "acl":[{"name":"in","type":"ietf-access-control-list:ipv4-acl-type","aces":{"ace":[
            {"name":"no-icmp","matches":{"ipv4":{"protocol":1}},"actions":{"forwarding":"ietf-access-control-list:drop"}},
            {"name":"web","matches":{"ipv4":{"destination-ipv4-network":"10.0.0.0/24"},"tcp":{"destination-port":{"operator":"eq","port":80}}},
             "actions":{"forwarding":"nectar-acl:accept-and-reflect"}},
            {"name":"rest","actions":{"forwarding":"ietf-access-control-list:accept"}}]}}],
          "attachment-points":{"interface":[{"interface-id":"eth0","ingress":{"acl-sets":{"acl-set":[{"name":"in"}]}}}]}}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    let acl = i.acl_in.as_ref().expect("ingress ACL attached");
    assert_eq!(acl.config.rules.len(), 3);
    assert_eq!(acl.config.rules[0].proto, Some(1));
    assert_eq!(acl.config.rules[1].dst_ports, Some((80, 80)));
    assert_eq!(
        acl.config.rules[1].action,
        nectar_dataplane::control::AclAction::PermitReflect
    );
    // Two pings at the interface: both match "no-icmp".
    let ping = Builder::eth(Mac([0x02, 0x6e, 0x63, 0, 0, 1]), Mac([0x02, 0, 0, 0, 0, 9]))
        .ipv4("10.0.0.9".parse().unwrap(), "10.0.0.1".parse().unwrap())
        .echo_request(1, 1)
        .build();
    r.pg[0].send(&ping);
    r.pg[0].send(&ping);
    r.dp.poll();
    assert!(r.pg[0].take().is_empty(), "the ACL drops the pings");
    let v = r.oper("/ietf-access-control-list:acls/acl[name='in']");
    let aces = &v["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"];
    assert_eq!(aces[0]["name"], "no-icmp");
    assert_eq!(aces[0]["statistics"]["matched-packets"], "2");
    assert_eq!(aces[1]["statistics"]["matched-packets"], "0");

    // Two ACLs in one direction are refused, precisely, and change nothing.
    let err = r
        .merge(
            r#"{"ietf-access-control-list:acls":{"acl":[{"name":"other"}],
              "attachment-points":{"interface":[{"interface-id":"eth0","ingress":{"acl-sets":{"acl-set":[{"name":"other"}]}}}]}}}"#,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("one ACL per interface and direction"),
        "{err}"
    );
    // Detaching removes it from the interface; then the ACL can go.
    r.delete("/ietf-access-control-list:acls/attachment-points")
        .unwrap();
    r.delete("/ietf-access-control-list:acls/acl[name='in']")
        .unwrap();
    let t = r.dp.tables();
    assert!(
        t.iface(t.if_index("eth0").unwrap())
            .unwrap()
            .acl_in
            .is_none()
    );
    assert!(t.acls.is_empty());
}

const OC_ETH1: &str = r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth1",
  "config":{"name":"eth1","type":"iana-if-type:ethernetCsmacd","mtu":1450},
  "subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},
    "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.1.0.1","config":{"ip":"10.1.0.1","prefix-length":24}}]}}}]}}]}}"#;

#[test]
fn an_openconfig_interface_is_the_same_object_in_the_ietf_view() {
    let mut r = rig();
    r.merge(OC_ETH1).unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth1").unwrap()).unwrap();
    assert!(i.admin_up);
    assert_eq!(i.mtu, 1450);
    assert!(i.has_v4("10.1.0.1".parse().unwrap()));
    let mut frame = vec![0xffu8; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 9, 0x08, 0x06]);
    frame.resize(60, 0);
    r.pg[1].send(&frame);
    r.dp.poll();
    let ietf = r.oper("/ietf-interfaces:interfaces/interface[name='eth1']");
    let oc = r.oper("/openconfig-interfaces:interfaces/interface[name='eth1']");
    let ii = &ietf["ietf-interfaces:interfaces"]["interface"][0];
    let oi = &oc["openconfig-interfaces:interfaces"]["interface"][0];
    assert_eq!(ii["oper-status"], "up");
    assert_eq!(oi["state"]["oper-status"], "UP");
    assert_eq!(ii["ietf-ip:ipv4"]["address"][0]["ip"], "10.1.0.1");
    assert_eq!(
        ii["ietf-ip:ipv4"]["mtu"], 1450,
        "the IETF view shows the effective MTU"
    );
    for (i, o) in [
        ("in-octets", "in-octets"),
        ("in-broadcast-pkts", "in-broadcast-pkts"),
        ("out-octets", "out-octets"),
    ] {
        assert_eq!(ii["statistics"][i], oi["state"]["counters"][o], "{i}");
    }
    assert_ne!(ii["statistics"]["in-octets"], "0");
    let sub =
        &oi["subinterfaces"]["subinterface"][0]["openconfig-if-ip:ipv4"]["addresses"]["address"][0];
    assert_eq!(sub["state"]["origin"], "STATIC");
}

#[test]
fn when_both_models_set_a_property_they_must_agree() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap(); // ietf-ip MTU 1400
    let before = format!("{:?}", r.dp.tables().ifs);
    let running = r.running();
    // OpenConfig says 1500 for the same interface: refused, naming both leaves.
    let err = r
        .merge(
            r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0",
              "config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd","mtu":1500}}]}}"#,
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/mtu")
            && text.contains("/openconfig-interfaces:interfaces/interface[name='eth0']/config/mtu")
            && text.contains("must agree"),
        "{text}"
    );
    assert_eq!(format!("{:?}", r.dp.tables().ifs), before);
    assert_eq!(r.running(), running);
    // The same value in both is fine; OpenConfig's state shows the effective value even
    // where only IETF sets it (the description is not a dataplane property).
    r.merge(
        r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0",
          "config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd","mtu":1400,"description":"uplink"}}]}}"#,
    )
    .unwrap();
    let oc = r.oper("/openconfig-interfaces:interfaces/interface[name='eth0']/state");
    assert_eq!(
        oc["openconfig-interfaces:interfaces"]["interface"][0]["state"]["mtu"],
        1400
    );
    // Addresses from both models add up; the same address with another length conflicts.
    r.merge(
        r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0","subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},
          "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.9.0.1","config":{"ip":"10.9.0.1","prefix-length":16}}]}}}]}}]}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    let i = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert!(i.has_v4("10.9.0.1".parse().unwrap()) && i.has_v4("10.0.0.1".parse().unwrap()));
    let err = r
        .merge(
            r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0","subinterfaces":{"subinterface":[{"index":0,
              "openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.0.0.1","config":{"ip":"10.0.0.1","prefix-length":16}}]}}}]}}]}}"#,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("prefix length of address 10.0.0.1"),
        "{err}"
    );
    // Disabling in one model while the other leaves `enabled` at its default is no conflict.
    r.merge(
        r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0","config":{"name":"eth0","enabled":false}}]}}"#,
    )
    .unwrap();
    let t = r.dp.tables();
    assert!(!t.iface(t.if_index("eth0").unwrap()).unwrap().admin_up);
    let ietf = r.oper("/ietf-interfaces:interfaces/interface[name='eth0']/admin-status");
    assert_eq!(
        ietf["ietf-interfaces:interfaces"]["interface"][0]["admin-status"],
        "down"
    );
}

#[test]
fn large_commits_read_each_list_once_and_keep_every_route() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    let routes = |range: std::ops::Range<u32>| {
        range
            .map(|i| {
                format!(
                    r#"{{"destination-prefix":"172.16.{i}.0/24","next-hop":{{"next-hop-address":"10.0.0.{}"}}}}"#,
                    2 + i % 5
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let doc = |body: String| {
        format!(
            r#"{{"ietf-routing:routing":{{"control-plane-protocols":{{"control-plane-protocol":[
              {{"type":"ietf-routing:static","name":"st","static-routes":{{"ietf-ipv4-unicast-routing:ipv4":{{"route":[{body}]}}}}}}]}}}}}}"#
        )
    };
    r.merge(&doc(routes(0..200))).unwrap();
    let count = |r: &Rig| {
        r.dp.routes(DEFAULT_VRF)
            .iter()
            .filter(|(p, _)| p.to_string().starts_with("172.16."))
            .count()
    };
    assert_eq!(count(&r), 200);
    // Replace the list with 100 of them (150 removed, 50 added): the bulk path sees both.
    let t = nectar_mgmt::core::parse_json(ctx(), &doc(routes(150..250))).unwrap();
    r.core
        .edit(
            None,
            Datastore::Running,
            vec![EditStep::at(
                EditOp::Replace,
                "/ietf-routing:routing/control-plane-protocols/control-plane-protocol[type='ietf-routing:static'][name='st']/static-routes",
                Some(t),
            )],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap();
    assert_eq!(count(&r), 100);
    assert!(
        r.dp.lookup(DEFAULT_VRF, "172.16.249.1".parse().unwrap())
            .is_some()
    );
    assert!(
        r.dp.lookup(DEFAULT_VRF, "172.16.10.1".parse().unwrap())
            .is_none()
    );
}
