//! Path grammars against the real model set: RESTCONF URI ⇄ data path ⇄
//! gNMI path, escaped keys, multi-key lists, augmented nodes, wildcards and
//! precise errors.

use nectar_yang::print::NodePath;
use std::sync::OnceLock;

use nectar_yang::path::{
    DataPath, GnmiPath, NodeKind, PathElem, decode_uri_value, encode_uri_value, gnmi_to_xpath,
    quote_literal, schema_info,
};
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::{Data, DataTree};
use nectar_yang::{Error, ModelSet, models};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(models::NETWORK)
            .build()
            .expect("context")
    })
}

fn reason(e: Error) -> String {
    match e {
        Error::Path { reason, .. } => reason,
        other => panic!("expected a path error, got {other:?}"),
    }
}

const IF_ADDR_URI: &str =
    "/ietf-interfaces:interfaces/interface=eth0%2F1/ietf-ip:ipv4/address=10.0.0.1";
const IF_ADDR_XPATH: &str =
    "/ietf-interfaces:interfaces/interface[name='eth0/1']/ietf-ip:ipv4/address[ip='10.0.0.1']";

#[test]
fn uri_with_augmented_node_to_xpath_and_back() {
    let p = DataPath::parse_uri(ctx(), IF_ADDR_URI).unwrap();
    assert_eq!(p.to_xpath(), IF_ADDR_XPATH);
    assert_eq!(p.to_uri(), IF_ADDR_URI);
    let names: Vec<(&str, &str)> = p
        .nodes()
        .iter()
        .map(|n| (n.module.as_str(), n.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ietf-interfaces", "interfaces"),
            ("ietf-interfaces", "interface"),
            ("ietf-ip", "ipv4"),
            ("ietf-ip", "address"),
        ]
    );
    assert_eq!(
        p.to_schema_path(),
        "/ietf-interfaces:interfaces/interface/ietf-ip:ipv4/address"
    );
    let q = DataPath::parse_xpath(ctx(), IF_ADDR_XPATH).unwrap();
    assert_eq!(p, q);
}

#[test]
fn reserved_characters_in_key_values_are_percent_encoded() {
    let value = "a,b/c=d%e f'g:h";
    assert_eq!(encode_uri_value(value), "a%2Cb%2Fc%3Dd%25e%20f%27g%3Ah");
    assert_eq!(
        decode_uri_value("a%2Cb%2Fc%3Dd%25e%20f%27g%3Ah").unwrap(),
        value
    );
    let uri = "/ietf-interfaces:interfaces/interface=a%2Cb%2Fc%3Dd%25e%20f%27g%3Ah/ipv4";
    let err = DataPath::parse_uri(ctx(), uri).unwrap_err();
    // ipv4 is augmented by ietf-ip: unqualified, the reason says so.
    assert_eq!(
        reason(err),
        "node ipv4 under /ietf-interfaces:interfaces/interface is defined in module ietf-ip; qualify it as ietf-ip:ipv4"
    );
    let uri =
        "/ietf-interfaces:interfaces/interface=a%2Cb%2Fc%3Dd%25e%20f%27g%3Ah/ietf-ip:ipv4/mtu";
    let p = DataPath::parse_uri(ctx(), uri).unwrap();
    assert_eq!(p.nodes()[1].keys, [("name".to_string(), value.to_string())]);
    assert_eq!(
        p.to_xpath(),
        "/ietf-interfaces:interfaces/interface[name=\"a,b/c=d%e f'g:h\"]/ietf-ip:ipv4/mtu"
    );
    assert_eq!(p.to_uri(), uri);
}

#[test]
fn empty_key_value_round_trips() {
    let uri = "/ietf-interfaces:interfaces/interface=";
    let p = DataPath::parse_uri(ctx(), uri).unwrap();
    assert_eq!(p.nodes()[1].keys, [("name".to_string(), String::new())]);
    assert_eq!(
        p.to_xpath(),
        "/ietf-interfaces:interfaces/interface[name='']"
    );
    assert_eq!(p.to_uri(), uri);
}

#[test]
fn quoting_picks_the_quote_the_value_does_not_contain() {
    assert_eq!(quote_literal("eth0"), "'eth0'");
    assert_eq!(quote_literal("it's"), "\"it's\"");
    assert_eq!(quote_literal("say \"hi\""), "'say \"hi\"'");
    assert_eq!(quote_literal("a'b\"c"), "concat('a',\"'\",'b\"c')");
    assert_eq!(quote_literal("'x\""), "concat(\"'\",'x\"')");
}

#[test]
fn value_with_both_quotes_works_through_find_xpath() {
    let name = "a'b\"c";
    let mut tree = DataTree::new(ctx());
    {
        // Create the entry level by level: a path predicate cannot hold it.
        let mut top = tree
            .new_path("/ietf-interfaces:interfaces", None, false)
            .unwrap()
            .unwrap();
        let module = ctx().get_module_implemented("ietf-interfaces").unwrap();
        top.new_list2(Some(&module), "interface", &[name]).unwrap();
    }
    let p = DataPath::parse_uri(ctx(), "/ietf-interfaces:interfaces/interface=a%27b%22c").unwrap();
    let xpath = p.to_xpath();
    assert_eq!(
        xpath,
        "/ietf-interfaces:interfaces/interface[name=concat('a',\"'\",'b\"c')]"
    );
    let found: Vec<String> = tree
        .find_xpath(&xpath)
        .unwrap()
        .map(|n| n.children().next().unwrap().value_canonical().unwrap())
        .collect();
    assert_eq!(found, [name.to_string()]);
    // The concat() form parses back to the same path.
    assert_eq!(DataPath::parse_xpath(ctx(), &xpath).unwrap(), p);
}

const STATIC_URI: &str = "/openconfig-network-instance:network-instances/network-instance=default/protocols/protocol=openconfig-policy-types%3ASTATIC,static/static-routes/static=10.0.0.0%2F8";
const STATIC_XPATH: &str = "/openconfig-network-instance:network-instances/network-instance[name='default']/protocols/protocol[identifier='openconfig-policy-types:STATIC'][name='static']/static-routes/static[prefix='10.0.0.0/8']";

#[test]
fn multi_key_list_keys_follow_schema_order() {
    let p = DataPath::parse_uri(ctx(), STATIC_URI).unwrap();
    assert_eq!(p.to_xpath(), STATIC_XPATH);
    // Predicates in another order are put in schema order.
    let swapped = STATIC_XPATH.replace(
        "[identifier='openconfig-policy-types:STATIC'][name='static']",
        "[name='static'][identifier=\"openconfig-policy-types:STATIC\"]",
    );
    let q = DataPath::parse_xpath(ctx(), &swapped).unwrap();
    assert_eq!(q.to_xpath(), STATIC_XPATH);
    assert_eq!(q.to_uri(), STATIC_URI);
}

#[test]
fn uri_to_gnmi_and_back_openconfig() {
    let p = DataPath::parse_uri(ctx(), STATIC_URI).unwrap();
    let g = p.to_gnmi().unwrap();
    assert_eq!(g.origin, "openconfig");
    assert_eq!(
        g.to_string(),
        "openconfig:/network-instances/network-instance[name=default]/protocols/protocol[identifier=openconfig-policy-types:STATIC][name=static]/static-routes/static[prefix=10.0.0.0/8]"
    );
    // Empty origin defaults to OpenConfig for an OpenConfig first element.
    let mut g2 = g.clone();
    g2.origin.clear();
    let back = DataPath::from_gnmi(ctx(), &g2).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.to_uri(), STATIC_URI);
}

#[test]
fn uri_to_gnmi_and_back_ietf_uses_rfc7951_names() {
    let p = DataPath::parse_uri(ctx(), IF_ADDR_URI).unwrap();
    let g = p.to_gnmi().unwrap();
    assert_eq!(
        g,
        GnmiPath::new(
            "rfc7951",
            vec![
                PathElem::new("ietf-interfaces:interfaces"),
                PathElem::new("interface").with_key("name", "eth0/1"),
                PathElem::new("ietf-ip:ipv4"),
                PathElem::new("address").with_key("ip", "10.0.0.1"),
            ]
        )
    );
    let back = DataPath::from_gnmi(ctx(), &g).unwrap();
    assert_eq!(back.to_uri(), IF_ADDR_URI);
    // Empty origin with a qualified first element, unqualified augmentation.
    let loose = GnmiPath::new(
        "",
        vec![
            PathElem::new("ietf-interfaces:interfaces"),
            PathElem::new("interface").with_key("name", "eth0/1"),
            PathElem::new("ipv4"),
            PathElem::new("address").with_key("ip", "10.0.0.1"),
        ],
    );
    assert_eq!(DataPath::from_gnmi(ctx(), &loose).unwrap(), p);
}

#[test]
fn openconfig_and_ietf_interfaces_are_told_apart_by_origin() {
    let oc = GnmiPath::new(
        "",
        vec![
            PathElem::new("interfaces"),
            PathElem::new("interface").with_key("name", "eth0"),
            PathElem::new("config"),
            PathElem::new("mtu"),
        ],
    );
    let p = DataPath::from_gnmi(ctx(), &oc).unwrap();
    assert_eq!(
        p.to_xpath(),
        "/openconfig-interfaces:interfaces/interface[name='eth0']/config/mtu"
    );
    let rfc = GnmiPath::new("rfc7951", vec![PathElem::new("interfaces")]);
    assert_eq!(
        reason(DataPath::from_gnmi(ctx(), &rfc).unwrap_err()),
        "origin rfc7951 needs a module-qualified first element (module:interfaces)"
    );
    let other = GnmiPath::new("cli", vec![PathElem::new("interfaces")]);
    assert_eq!(
        reason(DataPath::from_gnmi(ctx(), &other).unwrap_err()),
        "unsupported origin \"cli\" (expected \"\", \"openconfig\" or \"rfc7951\")"
    );
    let wrong = GnmiPath::new(
        "openconfig",
        vec![PathElem::new("ietf-interfaces:interfaces")],
    );
    assert_eq!(
        reason(DataPath::from_gnmi(ctx(), &wrong).unwrap_err()),
        "origin openconfig, but ietf-interfaces is not an OpenConfig module"
    );
}

#[test]
fn prefix_and_path_are_joined() {
    let prefix = GnmiPath::new(
        "openconfig",
        vec![
            PathElem::new("interfaces"),
            PathElem::new("interface").with_key("name", "eth0"),
        ],
    );
    let path = GnmiPath::new(
        "",
        vec![PathElem::new("state"), PathElem::new("oper-status")],
    );
    let joined = GnmiPath::join(Some(&prefix), &path).unwrap();
    assert_eq!(
        joined.to_string(),
        "openconfig:/interfaces/interface[name=eth0]/state/oper-status"
    );
    let p = DataPath::from_gnmi(ctx(), &joined).unwrap();
    let last = p.last().unwrap();
    assert_eq!(last.kind, NodeKind::Leaf);
    assert!(!last.config);
    let clash = GnmiPath::new("rfc7951", vec![PathElem::new("x")]);
    assert_eq!(
        reason(GnmiPath::join(Some(&prefix), &clash).unwrap_err()),
        "origin \"rfc7951\" of the path contradicts origin \"openconfig\" of the prefix"
    );
}

#[test]
fn gnmi_wildcards_become_xpath() {
    let c = ctx();
    let star_key = GnmiPath::new(
        "openconfig",
        vec![
            PathElem::new("interfaces"),
            PathElem::new("interface").with_key("name", "*"),
            PathElem::new("state"),
            PathElem::new("counters"),
        ],
    );
    assert_eq!(
        gnmi_to_xpath(c, None, &star_key).unwrap(),
        "/openconfig-interfaces:interfaces/interface/state/counters"
    );
    let star_elem = GnmiPath::new(
        "",
        vec![
            PathElem::new("interfaces"),
            PathElem::new("interface").with_key("name", "eth0"),
            PathElem::new("*"),
            PathElem::new("mtu"),
        ],
    );
    assert_eq!(
        gnmi_to_xpath(c, None, &star_elem).unwrap(),
        "/openconfig-interfaces:interfaces/interface[name='eth0']/*/openconfig-interfaces:mtu"
    );
    let any_depth = GnmiPath::new(
        "",
        vec![
            PathElem::new("ietf-interfaces:interfaces"),
            PathElem::new("..."),
            PathElem::new("ietf-ip:address"),
        ],
    );
    assert_eq!(
        gnmi_to_xpath(c, None, &any_depth).unwrap(),
        "/ietf-interfaces:interfaces//ietf-ip:address"
    );
    let trailing = GnmiPath::new(
        "",
        vec![
            PathElem::new("ietf-interfaces:interfaces"),
            PathElem::new("..."),
        ],
    );
    assert_eq!(
        gnmi_to_xpath(c, None, &trailing).unwrap(),
        "/ietf-interfaces:interfaces"
    );
    assert_eq!(gnmi_to_xpath(c, None, &GnmiPath::default()).unwrap(), "/*");
    // Wildcards do not name one node.
    assert_eq!(
        reason(DataPath::from_gnmi(c, &star_key).unwrap_err()),
        "wildcards select many nodes; this operation needs a path to one node"
    );
    let keyed_star = GnmiPath::new("", vec![PathElem::new("*").with_key("name", "x")]);
    assert_eq!(
        reason(gnmi_to_xpath(c, None, &keyed_star).unwrap_err()),
        "keys on a '*' element are not supported; name the list"
    );
}

#[test]
fn wildcard_xpaths_evaluate_in_libyang() {
    let c = ctx();
    let json = r#"{"ietf-interfaces:interfaces":{"interface":[
        {"name":"eth0","type":"iana-if-type:ethernetCsmacd",
         "ietf-ip:ipv4":{"address":[{"ip":"10.0.0.1","prefix-length":24},{"ip":"10.0.0.2","prefix-length":24}]}},
        {"name":"eth1","type":"iana-if-type:ethernetCsmacd",
         "ietf-ip:ipv4":{"address":[{"ip":"10.1.0.1","prefix-length":16}]}}]}}"#;
    let tree =
        nectar_yang::encoding::parse_edit(c, json, nectar_yang::encoding::Format::Json).unwrap();
    let query = GnmiPath::new(
        "",
        vec![
            PathElem::new("ietf-interfaces:interfaces"),
            PathElem::new("interface").with_key("name", "*"),
            PathElem::new("..."),
            PathElem::new("prefix-length"),
        ],
    );
    let xpath = gnmi_to_xpath(c, None, &query).unwrap();
    assert_eq!(
        xpath,
        "/ietf-interfaces:interfaces/interface//ietf-ip:prefix-length"
    );
    let found: Vec<String> = tree
        .find_xpath(&xpath)
        .unwrap()
        .map(|n| n.data_path())
        .collect();
    assert_eq!(
        found,
        [
            "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/address[ip='10.0.0.1']/prefix-length",
            "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/address[ip='10.0.0.2']/prefix-length",
            "/ietf-interfaces:interfaces/interface[name='eth1']/ietf-ip:ipv4/address[ip='10.1.0.1']/prefix-length",
        ]
    );
    // A path libyang prints for a data node converts to gNMI.
    let g = DataPath::parse_xpath(c, &found[2])
        .unwrap()
        .to_gnmi()
        .unwrap();
    assert_eq!(
        g.to_string(),
        "rfc7951:/ietf-interfaces:interfaces/interface[name=eth1]/ietf-ip:ipv4/address[ip=10.1.0.1]/prefix-length"
    );
}

#[test]
fn full_round_trip_uri_path_gnmi_path_uri() {
    let uris = [
        IF_ADDR_URI,
        STATIC_URI,
        "/openconfig-acl:acl/acl-sets/acl-set=web%20in,openconfig-acl%3AACL_IPV4/acl-entries/acl-entry=10/ipv4/config/source-address",
        "/ietf-access-control-list:acls/acl=a%2Cb/aces/ace=permit%27all%22/matches/tcp/flags",
        "/ietf-interfaces:interfaces/interface=50%25",
        "/ietf-interfaces:interfaces",
    ];
    for uri in uris {
        let p = DataPath::parse_uri(ctx(), uri).unwrap();
        let g = p.to_gnmi().unwrap();
        let back = DataPath::from_gnmi(ctx(), &g).unwrap();
        assert_eq!(back, p, "{uri}");
        let x = DataPath::parse_xpath(ctx(), &back.to_xpath()).unwrap();
        assert_eq!(x.to_uri(), uri);
    }
}

#[test]
fn leaf_list_entries_in_uri_and_xpath() {
    let uri = "/ietf-netconf-acm:nacm/groups/group=admin/user-name=alice%20b";
    let p = DataPath::parse_uri(ctx(), uri).unwrap();
    assert_eq!(
        p.to_xpath(),
        "/ietf-netconf-acm:nacm/groups/group[name='admin']/user-name[.='alice b']"
    );
    assert_eq!(DataPath::parse_xpath(ctx(), &p.to_xpath()).unwrap(), p);
    assert_eq!(p.to_uri(), uri);
    assert_eq!(
        reason(p.to_gnmi().unwrap_err()),
        "a gNMI path cannot select an entry of leaf-list user-name"
    );
}

#[test]
fn schema_lookup_tells_kinds_and_config() {
    let c = ctx();
    let list = DataPath::parse_uri(c, "/ietf-interfaces:interfaces/interface=eth0").unwrap();
    let info = schema_info(c, &list).unwrap();
    assert_eq!(info.kind, NodeKind::List);
    assert!(info.config);
    assert_eq!(info.keys, ["name"]);
    assert_eq!(info.schema_path, "/ietf-interfaces:interfaces/interface");
    let state =
        DataPath::parse_uri(c, "/ietf-interfaces:interfaces/interface=eth0/oper-status").unwrap();
    let info = schema_info(c, &state).unwrap();
    assert_eq!((info.kind, info.config), (NodeKind::Leaf, false));
    let acl = DataPath::parse_xpath(
        c,
        "/openconfig-acl:acl/acl-sets/acl-set[name='x'][type='openconfig-acl:ACL_IPV4']",
    )
    .unwrap();
    assert_eq!(schema_info(c, &acl).unwrap().keys, ["name", "type"]);
    // Through choice and case: ace/matches/(l3)/ipv4 is a data container.
    let ipv4 = DataPath::parse_xpath(
        c,
        "/ietf-access-control-list:acls/acl[name='a']/aces/ace[name='b']/matches/ipv4/source-ipv4-network",
    )
    .unwrap();
    let info = schema_info(c, &ipv4).unwrap();
    assert_eq!(
        (info.kind, info.module.as_str()),
        (NodeKind::Leaf, "ietf-access-control-list")
    );
    assert_eq!(ipv4.schema_node(c).unwrap().name(), "source-ipv4-network");
    let action = DataPath::parse_uri(c, "/ietf-netconf-monitoring:get-schema").unwrap();
    assert_eq!(action.last().unwrap().kind, NodeKind::Rpc);
}

#[test]
fn precise_errors() {
    let c = ctx();
    let cases: &[(&str, &str)] = &[
        ("/no-such-module:x", "unknown module no-such-module"),
        (
            "/ietf-interfaces:interfacez",
            "unknown node ietf-interfaces:interfacez at the top level",
        ),
        (
            "/interfaces",
            "the first node interfaces must be qualified with its module name (module:interfaces)",
        ),
        (
            "/ietf-interfaces:interfaces/interface=eth0/nope",
            "unknown node ietf-interfaces:nope under /ietf-interfaces:interfaces/interface",
        ),
        (
            "/ietf-interfaces:interfaces/interface/type",
            "list interface needs its key values here (interface=name)",
        ),
        (
            "/ietf-interfaces:interfaces/interface=a,b",
            "list interface has 1 keys (name) but 2 values were given",
        ),
        (
            "/openconfig-acl:acl/acl-sets/acl-set=x",
            "list acl-set needs 2 key values (name,type), got 1",
        ),
        (
            "/ietf-interfaces:interfaces/interface=eth%2",
            "bad percent-encoding \"%2\" in \"eth%2\" (expected % and two hex digits)",
        ),
        (
            "/ietf-interfaces:interfaces/interface=eth%zz0",
            "bad percent-encoding \"%zz\" in \"eth%zz0\" (expected % and two hex digits)",
        ),
        (
            "/ietf-interfaces:interfaces/interface=%FF",
            "percent-decoded value of \"%FF\" is not UTF-8",
        ),
        (
            "/ietf-interfaces:interfaces=x",
            "interfaces is a container and takes no keys or values",
        ),
        (
            "/ietf-interfaces:interfaces/",
            "empty path segment ('//' or trailing '/')",
        ),
    ];
    for (uri, want) in cases {
        let err = DataPath::parse_uri(c, uri).unwrap_err();
        assert_eq!(err.path(), Some(*uri));
        assert_eq!(reason(err), *want, "{uri}");
    }
    let xcases: &[(&str, &str)] = &[
        (
            "/openconfig-acl:acl/acl-sets/acl-set[name='x']",
            "list acl-set is missing key(s) type",
        ),
        (
            "/ietf-interfaces:interfaces/interface[name='a'][mtu='1']",
            "mtu is not a key of list interface (keys: name)",
        ),
        (
            "/ietf-interfaces:interfaces/interface[name='a'][name='b']",
            "key name of list interface is given twice",
        ),
        (
            "/ietf-interfaces:interfaces/interface[1]",
            "positional predicates are not supported; use key values at offset 38",
        ),
        (
            "/ietf-interfaces:interfaces/interface[name='a]",
            "unterminated literal (missing ') at offset 43",
        ),
        (
            "ietf-interfaces:interfaces",
            "a data path must be absolute (start with '/')",
        ),
        (
            "/ietf-interfaces:interfaces//name",
            "'//' (descendant) selects many nodes; not a data path at offset 28",
        ),
    ];
    for (xpath, want) in xcases {
        let err = DataPath::parse_xpath(c, xpath).unwrap_err();
        assert_eq!(reason(err), *want, "{xpath}");
    }
    let g = GnmiPath::new(
        "",
        vec![
            PathElem::new("interfaces"),
            PathElem::new("interface").with_key("nam", "eth0"),
        ],
    );
    assert_eq!(
        reason(DataPath::from_gnmi(c, &g).unwrap_err()),
        "nam is not a key of list interface (keys: name)"
    );
    let g = GnmiPath::new("", vec![PathElem::new("no-such-thing")]);
    assert_eq!(
        reason(gnmi_to_xpath(c, None, &g).unwrap_err()),
        "unknown node no-such-thing"
    );
}

#[test]
fn a_nul_in_a_name_or_key_is_a_path_error_in_every_grammar() {
    let uri = "/ietf-interfaces:interfaces/interface=eth%000";
    assert!(reason(DataPath::parse_uri(ctx(), uri).unwrap_err()).contains("NUL"));
    let xpath = "/ietf-interfaces:interfaces/interface[name='eth\u{0}0']";
    assert!(reason(DataPath::parse_xpath(ctx(), xpath).unwrap_err()).contains("NUL"));
    let mut elem = PathElem::new("interface");
    elem.keys.insert("name".into(), "eth\u{0}0".into());
    let g = GnmiPath {
        origin: "rfc7951".into(),
        elems: vec![PathElem::new("ietf-interfaces:interfaces"), elem],
    };
    assert!(reason(DataPath::from_gnmi(ctx(), &g).unwrap_err()).contains("NUL"));
    assert!(reason(gnmi_to_xpath(ctx(), None, &g).unwrap_err()).contains("NUL"));
}
