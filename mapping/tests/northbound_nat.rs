//! ietf-nat through the northbound mapping, with traffic: a NAPT44 instance with an internal
//! and an external interface and a static mapping translates packets in the vswitch, and its
//! sessions come back as `dynamic-implicit` entries of the instance's mapping table.

mod northbound_rig;

use std::net::Ipv4Addr;

use nectar_dataplane::Mac;
use nectar_dataplane::headers::build::Builder;
use nectar_dataplane::headers::parse::ARP_REQUEST;
use northbound_rig::*;

const NAT: &str = r#"{"ietf-interfaces:interfaces":{"interface":[
  {"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.0.1.1","prefix-length":24}]}},
  {"name":"eth1","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"198.51.100.1","prefix-length":24}]}}]},
 "ietf-nat:nat":{"instances":{"instance":[{"id":1,"type":"ietf-nat:napt44",
   "nectar-nat:internal-interface":["eth0"],
   "policy":[{"id":1,"external-realm":{"external-interface":"eth1"}}],
   "mapping-table":{"mapping-entry":[
     {"index":7,"type":"static","internal-src-address":"10.0.1.5/32","external-src-address":"198.51.100.5/32"}]}}]}}}"#;

fn port_mac(i: u8) -> Mac {
    Mac([0x02, 0x6e, 0x63, 0, 0, i + 1])
}

const HOST_IN: Mac = Mac([0x02, 0, 0, 0, 0, 0x10]);
const HOST_OUT: Mac = Mac([0x02, 0, 0, 0, 0, 0x20]);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn udp_from_inside(src: &str, sport: u16) -> Vec<u8> {
    Builder::eth(port_mac(0), HOST_IN)
        .ipv4(v4(src), v4("198.51.100.9"))
        .udp(sport, 53)
        .payload(&[0xab; 18])
        .build()
}

fn ipv4_src(frame: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(frame[26], frame[27], frame[28], frame[29])
}

#[test]
fn a_napt_instance_translates_and_shows_its_sessions() {
    let mut r = rig();
    r.merge(NAT).unwrap();
    // The remote host on the outside resolves first.
    let arp = Builder::eth(Mac::BROADCAST, HOST_OUT)
        .arp(
            ARP_REQUEST,
            HOST_OUT,
            v4("198.51.100.9"),
            Mac::ZERO,
            v4("198.51.100.1"),
        )
        .build();
    r.pg[1].send(&arp);
    r.dp.poll();
    assert_eq!(r.pg[1].take().len(), 1, "ARP reply");

    // Dynamic: NAPT to eth1's address, one session.
    r.pg[0].send(&udp_from_inside("10.0.1.10", 5000));
    r.dp.poll();
    let out = r.pg[1].take();
    assert_eq!(out.len(), 1);
    assert_eq!(ipv4_src(&out[0]), v4("198.51.100.1"));
    let ext_port = u16::from_be_bytes([out[0][34], out[0][35]]);
    // Static: 1:1 to its external address, no session.
    r.pg[0].send(&udp_from_inside("10.0.1.5", 6000));
    r.dp.poll();
    let out = r.pg[1].take();
    assert_eq!(out.len(), 1);
    assert_eq!(ipv4_src(&out[0]), v4("198.51.100.5"));
    assert_eq!(r.dp.nat_sessions().len(), 1);

    let v = r.oper("/ietf-nat:nat/instances/instance[id='1']");
    let inst = &v["ietf-nat:nat"]["instances"]["instance"][0];
    let entries = inst["mapping-table"]["mapping-entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{v}");
    let st = entries.iter().find(|e| e["type"] == "static").unwrap();
    assert_eq!(st["index"], 7);
    let dy = entries
        .iter()
        .find(|e| e["type"] == "dynamic-implicit")
        .unwrap();
    assert_eq!(dy["index"], 8, "dynamic entries follow the configured ones");
    assert_eq!(dy["transport-protocol"], 17);
    assert_eq!(dy["internal-src-address"], "10.0.1.10/32");
    assert_eq!(dy["internal-src-port"]["start-port-number"], 5000);
    assert_eq!(dy["external-src-address"], "198.51.100.1/32");
    assert_eq!(dy["external-src-port"]["start-port-number"], ext_port);
    assert_eq!(dy["external-dst-address"], "198.51.100.9/32");
    assert_eq!(dy["external-dst-port"]["start-port-number"], 53);
    let ms = &inst["statistics"]["mappings-statistics"];
    assert_eq!(ms["total-address-mappings"], 1);
    assert_eq!(ms["total-port-mappings"], 1);
    assert_eq!(ms["total-per-protocol"][0]["protocol-id"], 17);
    assert_eq!(ms["total-per-protocol"][0]["total"], 1);

    // A disabled instance translates nothing.
    r.merge(r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"enable":false}]}}}"#)
        .unwrap();
    r.pg[0].send(&udp_from_inside("10.0.1.11", 5001));
    r.dp.poll();
    let out = r.pg[1].take();
    assert_eq!(out.len(), 1);
    assert_eq!(ipv4_src(&out[0]), v4("10.0.1.11"));
}

#[test]
fn unsupported_nat_configuration_is_refused_precisely() {
    let mut r = rig();
    r.merge(NAT).unwrap();
    let running = r.running();
    for (doc, needle) in [
        (
            r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":3,"type":"ietf-nat:nat64"}]}}}"#,
            "NAT type ietf-nat:nat64 is not supported",
        ),
        (
            r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"mapping-table":{"mapping-entry":[
              {"index":9,"type":"dynamic-explicit","internal-src-address":"10.0.1.6/32","external-src-address":"198.51.100.6/32"}]}}]}}}"#,
            "a configured mapping is static",
        ),
        (
            r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"mapping-table":{"mapping-entry":[
              {"index":9,"internal-src-address":"2001:db8::1/128","external-src-address":"198.51.100.6/32"}]}}]}}}"#,
            "IPv4 only",
        ),
        (
            r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"mapping-table":{"mapping-entry":[
              {"index":9,"internal-src-address":"10.0.1.6/32"}]}}]}}}"#,
            "has no external-src-address",
        ),
        // Two inside addresses on one external address: the vswitch refuses it in prepare.
        (
            r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"mapping-table":{"mapping-entry":[
              {"index":9,"internal-src-address":"10.0.1.6/32","external-src-address":"198.51.100.5/32"}]}}]}}}"#,
            "198.51.100.5 mapped twice",
        ),
    ] {
        let err = r.merge(doc).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(r.running(), running);
    }
    // Fields of a NAPT session are state only (deviated config false).
    let t = nectar_mgmt::core::parse_json(
        ctx(),
        r#"{"ietf-nat:nat":{"instances":{"instance":[{"id":1,"mapping-table":{"mapping-entry":[
          {"index":9,"transport-protocol":6,"internal-src-address":"10.0.1.6/32","external-src-address":"198.51.100.6/32"}]}}]}}}"#,
    );
    assert!(t.is_err(), "transport-protocol is not configurable");
}
