//! A property set in one model is shown as state by the other (README,
//! "When both models set the same property"), for every shared property,
//! both ways (issue 17, defect 3: a description set through
//! ietf-interfaces was missing from OpenConfig `state/description`).
//!
//! Each row: the configuration in one model, and a path and value the
//! other model's operational view must then hold.

mod northbound_rig;

use northbound_rig::*;

const OC_IF: &str = "/openconfig-interfaces:interfaces/interface";
const IETF_IF: &str = "/ietf-interfaces:interfaces/interface";

fn ietf_if(extra: &str) -> String {
    format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"eth1","type":"iana-if-type:ethernetCsmacd"{extra}}}]}}}}"#
    )
}

fn oc_if(config: &str, extra: &str) -> String {
    format!(
        r#"{{"openconfig-interfaces:interfaces":{{"interface":[{{"name":"eth1","config":{{"name":"eth1","type":"iana-if-type:ethernetCsmacd"{config}}}{extra}}}]}}}}"#
    )
}

const OC_ADDR: &str = r#","subinterfaces":{"subinterface":[{"index":0,"config":{"index":0},"openconfig-if-ip:ipv4":{"addresses":{"address":[{"ip":"10.9.0.1","config":{"ip":"10.9.0.1","prefix-length":24}}]}}}]}"#;
const OC_VLAN10: &str = r#""openconfig-network-instance:network-instances":{"network-instance":[{"name":"DEFAULT","config":{"name":"DEFAULT","type":"openconfig-network-instance-types:DEFAULT_INSTANCE"},"vlans":{"vlan":[{"vlan-id":10,"config":{"vlan-id":10}}]}}]}"#;

/// Reads one leaf of the operational view: the member named like the
/// path's last step, wherever it sits in the returned tree.
fn value(rig: &Rig, xpath: &str) -> serde_json::Value {
    fn find(v: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => m.iter().find_map(|(k, x)| {
                let local = k.split_once(':').map_or(k.as_str(), |(_, l)| l);
                if local == name {
                    Some(x.clone())
                } else {
                    find(x, name)
                }
            }),
            serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, name)),
            _ => None,
        }
    }
    let last = xpath.rsplit('/').next().unwrap();
    let last = last.split_once(':').map_or(last, |(_, l)| l);
    find(&rig.oper(xpath), last).unwrap_or(serde_json::Value::Null)
}

#[test]
fn every_shared_property_shows_in_the_other_model() {
    let rows: Vec<(&str, String, String, serde_json::Value)> = vec![
        // ietf-interfaces / ietf-ip / nectar-bridge -> OpenConfig state
        (
            "enabled, IETF -> OC",
            ietf_if(r#","enabled":false"#),
            format!("{OC_IF}[name='eth1']/state/enabled"),
            false.into(),
        ),
        (
            "description, IETF -> OC",
            ietf_if(r#","description":"uplink to core""#),
            format!("{OC_IF}[name='eth1']/state/description"),
            "uplink to core".into(),
        ),
        (
            "MTU, IETF -> OC",
            ietf_if(r#","ietf-ip:ipv4":{"mtu":1400}"#),
            format!("{OC_IF}[name='eth1']/state/mtu"),
            1400.into(),
        ),
        (
            "address, IETF -> OC",
            ietf_if(r#","ietf-ip:ipv4":{"address":[{"ip":"10.9.0.1","prefix-length":24}]}"#),
            format!(
                "{OC_IF}[name='eth1']/subinterfaces/subinterface[index='0']/openconfig-if-ip:ipv4/addresses/address[ip='10.9.0.1']/state/prefix-length"
            ),
            24.into(),
        ),
        (
            "VLAN membership, IETF -> OC",
            format!(
                r#"{{"nectar-bridge:bridge-domains":{{"bridge-domain":[{{"name":"office","vlan":10}}]}},{}"#,
                &ietf_if(r#","nectar-bridge:switchport":{"bridge-domain":"office"}"#)[1..]
            ),
            format!(
                "{OC_IF}[name='eth1']/openconfig-if-ethernet:ethernet/openconfig-vlan:switched-vlan/state/access-vlan"
            ),
            10.into(),
        ),
        // OpenConfig -> ietf-interfaces / ietf-ip / nectar state
        (
            "enabled, OC -> IETF",
            oc_if(r#","enabled":false"#, ""),
            format!("{IETF_IF}[name='eth1']/admin-status"),
            "down".into(),
        ),
        (
            "description, OC -> IETF",
            oc_if(r#","description":"uplink to core""#, ""),
            format!("{IETF_IF}[name='eth1']/description"),
            "uplink to core".into(),
        ),
        (
            "MTU, OC -> IETF",
            oc_if(r#","mtu":1400"#, OC_ADDR),
            format!("{IETF_IF}[name='eth1']/ietf-ip:ipv4/mtu"),
            1400.into(),
        ),
        (
            "address, OC -> IETF",
            oc_if("", OC_ADDR),
            format!("{IETF_IF}[name='eth1']/ietf-ip:ipv4/address[ip='10.9.0.1']/prefix-length"),
            24.into(),
        ),
        (
            "VRF binding, OC -> IETF",
            format!(
                r#"{{"openconfig-network-instance:network-instances":{{"network-instance":[{{"name":"red","config":{{"name":"red","type":"openconfig-network-instance-types:L3VRF"}},"interfaces":{{"interface":[{{"id":"eth1","config":{{"id":"eth1","interface":"eth1"}}}}]}}}}]}},{}"#,
                &oc_if("", "")[1..]
            ),
            format!("{IETF_IF}[name='eth1']/nectar-interfaces:dataplane/vrf"),
            "red".into(),
        ),
        (
            "VLAN membership, OC -> IETF",
            format!(
                r#"{{{OC_VLAN10},{}"#,
                &oc_if(
                    "",
                    r#","openconfig-if-ethernet:ethernet":{"openconfig-vlan:switched-vlan":{"config":{"interface-mode":"ACCESS","access-vlan":10}}}"#
                )[1..]
            ),
            format!("{IETF_IF}[name='eth1']/nectar-bridge:switchport/bridge-domain"),
            "vlan10".into(),
        ),
    ];
    let mut failures = Vec::new();
    for (what, config, xpath, want) in rows {
        let mut r = rig();
        if let Err(e) = r.merge(&config) {
            failures.push(format!("{what}: the configuration was refused: {e}"));
            continue;
        }
        let got = value(&r, &xpath);
        if got != want {
            failures.push(format!("{what}: {xpath} is {got}, expected {want}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
