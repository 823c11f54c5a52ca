//! Encodings against the real model set: JSON ⇄ XML ⇄ libyang trees,
//! with-defaults printing, parser strictness, subtree bodies and typed
//! leaf values.

use std::sync::OnceLock;

use nectar_yang::encoding::{
    Content, Format, PrintOptions, ScalarValue, WithDefaults, convert, convert_at, parse, parse_at,
    parse_config, parse_edit, print_node, print_tree, scalar_value,
};
use nectar_yang::path::DataPath;
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::Data;
use nectar_yang::{ModelSet, models};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(models::NETWORK)
            .build()
            .expect("context")
    })
}

const IF_JSON: &str = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"mtu":1500}}]}}"#;
const IF_XML: &str = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>eth0</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type><ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip"><mtu>1500</mtu></ipv4></interface></interfaces>"#;

#[test]
fn json_to_xml_and_back_with_identity_and_augmentation() {
    let c = ctx();
    assert_eq!(
        convert(c, IF_JSON, Format::Json, &PrintOptions::xml()).unwrap(),
        IF_XML
    );
    assert_eq!(
        convert(c, IF_XML, Format::Xml, &PrintOptions::json()).unwrap(),
        IF_JSON
    );
}

#[test]
fn with_defaults_modes() {
    let c = ctx();
    // enabled defaults to true; ietf-ip's ipv4/enabled and forwarding too.
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","enabled":true}]}}"#;
    let tree = parse_config(c, json, Format::Json).unwrap();
    let explicit = print_tree(&tree, &PrintOptions::json()).unwrap();
    assert_eq!(explicit, json);
    let trim = print_tree(
        &tree,
        &PrintOptions::json().with_defaults(WithDefaults::Trim),
    )
    .unwrap();
    assert_eq!(
        trim,
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd"}]}}"#
    );
    let node = tree
        .find_path("/ietf-interfaces:interfaces/interface[name='eth0']")
        .unwrap();
    let all = print_node(
        &node,
        &PrintOptions::json()
            .with_defaults(WithDefaults::ReportAll)
            .siblings(false),
    )
    .unwrap();
    assert_eq!(
        all,
        r#"{"ietf-interfaces:interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","enabled":true}]}"#
    );
    let tagged = print_tree(
        &tree,
        &PrintOptions::xml().with_defaults(WithDefaults::ReportAllTagged),
    )
    .unwrap();
    assert!(
        tagged.contains(r#"<enabled xmlns:ncwd="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults" ncwd:default="true">true</enabled>"#),
        "{tagged}"
    );
    assert_eq!(
        WithDefaults::parse("report-all-tagged"),
        Some(WithDefaults::ReportAllTagged)
    );
    assert_eq!(WithDefaults::parse("bogus"), None);
}

#[test]
fn parsers_are_strict() {
    let c = ctx();
    let unknown =
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","colour":"red"}]}}"#;
    let e = parse_edit(c, unknown, Format::Json).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    // State data is refused in configuration and edits.
    let state = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","oper-status":"up"}]}}"#;
    assert!(parse_config(c, state, Format::Json).is_err());
    assert!(parse_edit(c, state, Format::Json).is_err());
    assert!(parse(c, state, Format::Json, Content::Fragment).is_ok());
    // A config datastore is validated: a missing mandatory type is an error,
    // an edit is parsed only.
    let partial = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0"}]}}"#;
    let e = parse_config(c, partial, Format::Json).unwrap_err();
    assert_eq!(
        e.path(),
        Some("/ietf-interfaces:interfaces/interface[name='eth0']")
    );
    assert!(parse_edit(c, partial, Format::Json).is_ok());
    // Empty documents are empty trees.
    let empty = parse_config(c, "", Format::Xml).unwrap();
    assert_eq!(print_tree(&empty, &PrintOptions::json()).unwrap(), "{}");
    assert_eq!(print_tree(&empty, &PrintOptions::xml()).unwrap(), "");
}

#[test]
fn edit_payload_keeps_netconf_operation() {
    let c = ctx();
    let xml = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface nc:operation="delete"><name>eth0</name></interface></interfaces>"#;
    let tree = parse_edit(c, xml, Format::Xml).unwrap();
    let node = tree
        .find_path("/ietf-interfaces:interfaces/interface[name='eth0']")
        .unwrap();
    let ops: Vec<(String, String)> = node
        .meta()
        .map(|m| (m.name().to_string(), m.value().to_string()))
        .collect();
    assert_eq!(ops, [("operation".to_string(), "delete".to_string())]);
}

#[test]
fn subtree_body_below_a_list_entry() {
    let c = ctx();
    let at = DataPath::parse_uri(c, "/ietf-interfaces:interfaces/interface=eth%2F0").unwrap();
    let body = r#"{"ietf-ip:ipv4":{"mtu":1400,"address":[{"ip":"192.0.2.1","prefix-length":24}]}}"#;
    let tree = parse_at(c, &at, body, Format::Json, Content::Edit).unwrap();
    assert_eq!(
        print_tree(&tree, &PrintOptions::json()).unwrap(),
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth/0","ietf-ip:ipv4":{"mtu":1400,"address":[{"ip":"192.0.2.1","prefix-length":24}]}}]}}"#
    );
    let xml = convert_at(c, &at, body, Format::Json, &PrintOptions::xml()).unwrap();
    assert_eq!(
        xml,
        r#"<ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip"><mtu>1400</mtu><address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address></ipv4>"#
    );
    let json = convert_at(c, &at, &xml, Format::Xml, &PrintOptions::json()).unwrap();
    assert_eq!(json, body);
    // A body naming a node that is not a child of the target is refused.
    let wrong = r#"{"ietf-interfaces:interfaces":{}}"#;
    assert!(parse_at(c, &at, wrong, Format::Json, Content::Edit).is_err());
}

fn leaf(tree: &nectar_yang::yang2::data::DataTree<'_>, path: &str) -> ScalarValue {
    scalar_value(&tree.find_path(path).unwrap()).unwrap()
}

#[test]
fn typed_scalar_values() {
    let c = ctx();
    let json = r#"{
      "ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd","enabled":false,
        "ietf-ip:ipv4":{"mtu":1500,"address":[{"ip":"10.0.0.1","prefix-length":8}]},
        "ietf-ip:ipv6":{"neighbor":[{"ip":"fe80::2","link-layer-address":"00:11:22:33:44:55","is-router":[null]}]}}]},
      "ietf-access-control-list:acls":{"acl":[{"name":"a","aces":{"ace":[{"name":"t","matches":{"tcp":{"flags":"syn ack"}}}]}}]},
      "openconfig-acl:acl":{"acl-sets":{"acl-set":[{"name":"x","type":"openconfig-acl:ACL_IPV4","config":{"name":"x","type":"openconfig-acl:ACL_IPV4"},
        "acl-entries":{"acl-entry":[{"sequence-id":10,"config":{"sequence-id":10},"transport":{"config":{"source-port":80,"destination-port":"1024..2048"}}}]}}]}}
    }"#;
    let tree = parse(c, json, Format::Json, Content::Fragment).unwrap();
    let ifp = "/ietf-interfaces:interfaces/interface[name='eth0']";
    assert_eq!(
        leaf(&tree, &format!("{ifp}/name")),
        ScalarValue::String("eth0".into())
    );
    assert_eq!(
        leaf(&tree, &format!("{ifp}/enabled")),
        ScalarValue::Bool(false)
    );
    let ty = leaf(&tree, &format!("{ifp}/type"));
    assert_eq!(
        ty,
        ScalarValue::IdentityRef {
            module: "iana-if-type".into(),
            name: "ethernetCsmacd".into()
        }
    );
    assert_eq!(ty.lexical(), "iana-if-type:ethernetCsmacd");
    assert_eq!(
        leaf(&tree, &format!("{ifp}/ietf-ip:ipv4/mtu")),
        ScalarValue::Uint16(1500)
    );
    assert_eq!(
        leaf(
            &tree,
            &format!("{ifp}/ietf-ip:ipv4/address[ip='10.0.0.1']/prefix-length")
        ),
        ScalarValue::Uint8(8)
    );
    assert_eq!(
        leaf(
            &tree,
            &format!("{ifp}/ietf-ip:ipv6/neighbor[ip='fe80::2']/is-router")
        ),
        ScalarValue::Empty
    );
    let flags = leaf(
        &tree,
        "/ietf-access-control-list:acls/acl[name='a']/aces/ace[name='t']/matches/tcp/flags",
    );
    assert_eq!(flags, ScalarValue::Bits(vec!["ack".into(), "syn".into()]));
    // A union resolves to the member type that matched.
    let entry = "/openconfig-acl:acl/acl-sets/acl-set[name='x'][type='openconfig-acl:ACL_IPV4']/acl-entries/acl-entry[sequence-id='10']";
    assert_eq!(
        leaf(&tree, &format!("{entry}/transport/config/source-port")),
        ScalarValue::Uint16(80)
    );
    assert_eq!(
        leaf(&tree, &format!("{entry}/transport/config/destination-port")),
        ScalarValue::String("1024..2048".into())
    );
    assert_eq!(
        leaf(&tree, &format!("{entry}/sequence-id")),
        ScalarValue::Uint32(10)
    );
    // Not a leaf.
    let e = scalar_value(&tree.find_path(ifp).unwrap()).unwrap_err();
    assert_eq!(e.path(), Some(ifp));
}

#[test]
fn scalar_lexical_and_json_forms() {
    let d = ScalarValue::Decimal64 {
        digits: -150,
        precision: 2,
    };
    assert_eq!(d.lexical(), "-1.50");
    assert_eq!(
        ScalarValue::Decimal64 {
            digits: 5,
            precision: 3
        }
        .lexical(),
        "0.005"
    );
    assert_eq!(
        ScalarValue::Decimal64 {
            digits: 7,
            precision: 0
        }
        .lexical(),
        "7.0"
    );
    assert_eq!(d.to_json(), serde_json::json!("-1.50"));
    assert_eq!(ScalarValue::Uint64(7).to_json(), serde_json::json!("7"));
    assert_eq!(ScalarValue::Int32(-7).to_json(), serde_json::json!(-7));
    assert_eq!(ScalarValue::Empty.to_json(), serde_json::json!([null]));
    assert_eq!(
        ScalarValue::Bits(vec!["syn".into(), "ack".into()]).lexical(),
        "syn ack"
    );
}
