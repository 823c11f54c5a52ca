//! The errata `build.rs` applies to the pinned standard modules, checked in
//! libyang with the daemon's model set (deviations included): the `when`
//! expressions that compared identityref leaves with bare identity names now
//! name them with their prefix, so each is true for its identity and false for
//! the others, and the leaves they test are standard identityrefs.

use std::sync::OnceLock;

use nectar_yang::encoding::{Format, ScalarValue, parse_config, scalar_value};
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::Data;
use nectar_yang::{ModelSet, models};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(models::NETWORK)
            .with(models::DEVIATIONS)
            .build()
            .expect("context")
    })
}

/// A network instance of type `ty` (RFC 7951 JSON) with `body` beside its
/// config.
fn instance(ty: &str, body: &str) -> String {
    format!(
        r#"{{"openconfig-network-instance:network-instances":{{"network-instance":[
          {{"name":"n","config":{{"name":"n","type":"{ty}"}}{body}}}]}}}}"#
    )
}

const FDB: &str = r#","fdb":{"config":{"mac-learning":false}}"#;

/// The configuration is refused because the `when` of `node` is false.
fn when_refused(json: &str, node: &str) {
    let err = parse_config(ctx(), json, Format::Json)
        .err()
        .unwrap_or_else(|| panic!("{node} accepted in {json}"));
    let path = err.path().unwrap_or_default().to_string();
    assert!(
        err.to_string().starts_with("When condition") && path.ends_with(&format!("/{node}")),
        "{node}: {err} at {path}"
    );
}

#[test]
fn network_instance_fdb_follows_the_instance_type_identity() {
    for ty in ["L2VSI", "DEFAULT_INSTANCE"] {
        let json = instance(&format!("openconfig-network-instance-types:{ty}"), FDB);
        let tree = parse_config(ctx(), &json, Format::Json)
            .unwrap_or_else(|e| panic!("fdb under {ty}: {e}"));
        let t = tree
            .find_path("/openconfig-network-instance:network-instances/network-instance[name='n']/config/type")
            .unwrap();
        assert_eq!(
            scalar_value(&t).unwrap(),
            ScalarValue::IdentityRef {
                module: "openconfig-network-instance-types".into(),
                name: ty.into()
            }
        );
    }
    when_refused(
        &instance("openconfig-network-instance-types:L3VRF", FDB),
        "fdb",
    );
}

#[test]
fn network_instance_type_is_an_identityref_again() {
    // The bare name is no value of the leaf (the identity is not in its module).
    let err = parse_config(ctx(), &instance("L3VRF", ""), Format::Json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("L3VRF"), "{err}");
    // Any identity derived from NETWORK_INSTANCE_TYPE is a value of the model
    // (the vswitch refuses the types it does not map, in its mapping).
    for ty in ["L3VRF", "L2P2P", "L2L3"] {
        let json = instance(&format!("openconfig-network-instance-types:{ty}"), "");
        parse_config(ctx(), &json, Format::Json).unwrap_or_else(|e| panic!("{ty}: {e}"));
    }
}

/// A protocol of identifier `id` with one static route.
fn protocol(id: &str) -> String {
    instance(
        "openconfig-network-instance-types:DEFAULT_INSTANCE",
        &format!(
            r#","protocols":{{"protocol":[{{"identifier":"{id}","name":"p","config":{{"identifier":"{id}","name":"p"}},
              "static-routes":{{"static":[{{"prefix":"10.0.0.0/8","config":{{"prefix":"10.0.0.0/8"}}}}]}}}}]}}"#
        ),
    )
}

#[test]
fn static_routes_follow_the_protocol_identifier_identity() {
    let tree = parse_config(
        ctx(),
        &protocol("openconfig-policy-types:STATIC"),
        Format::Json,
    )
    .expect("static routes under STATIC");
    let id = tree
        .find_path("/openconfig-network-instance:network-instances/network-instance[name='n']/protocols/protocol[identifier='openconfig-policy-types:STATIC'][name='p']/config/identifier")
        .unwrap();
    assert_eq!(
        scalar_value(&id).unwrap(),
        ScalarValue::IdentityRef {
            module: "openconfig-policy-types".into(),
            name: "STATIC".into()
        }
    );
    when_refused(
        &protocol("openconfig-policy-types:LOCAL_AGGREGATE"),
        "static-routes",
    );
    // The bare name is no value of the leaf.
    assert!(parse_config(ctx(), &protocol("STATIC"), Format::Json).is_err());
}

/// An ACL set of type `ty` with one entry holding `matches`.
fn acl(ty: &str, matches: &str) -> String {
    format!(
        r#"{{"openconfig-acl:acl":{{"acl-sets":{{"acl-set":[{{"name":"a","type":"{ty}","config":{{"name":"a","type":"{ty}"}},
          "acl-entries":{{"acl-entry":[{{"sequence-id":10,"config":{{"sequence-id":10}},
            "actions":{{"config":{{"forwarding-action":"openconfig-acl:ACCEPT"}}}}{matches}}}]}}}}]}}}}}}"#
    )
}

const L2: &str = r#","l2":{"config":{"source-mac":"00:11:22:33:44:55"}}"#;
const IPV4: &str = r#","ipv4":{"config":{"source-address":"10.0.0.0/8"}}"#;
const IPV6: &str = r#","ipv6":{"config":{"source-address":"2001:db8::/32"}}"#;
const TRANSPORT: &str = r#","transport":{"config":{"source-port":80}}"#;

#[test]
fn acl_matches_follow_the_set_type_identity() {
    let ok = [
        ("ACL_L2", L2),
        ("ACL_IPV4", IPV4),
        ("ACL_IPV4", TRANSPORT),
        ("ACL_IPV6", IPV6),
        ("ACL_IPV6", TRANSPORT),
    ];
    for (ty, m) in ok {
        let json = acl(&format!("openconfig-acl:{ty}"), m);
        parse_config(ctx(), &json, Format::Json).unwrap_or_else(|e| panic!("{ty} {m}: {e}"));
    }
    let refused = [
        ("ACL_L2", IPV4, "ipv4"),
        ("ACL_L2", TRANSPORT, "transport"),
        ("ACL_IPV4", L2, "l2"),
        ("ACL_IPV4", IPV6, "ipv6"),
        ("ACL_IPV6", IPV4, "ipv4"),
        ("ACL_MIXED", L2, "l2"),
        ("ACL_MIXED", TRANSPORT, "transport"),
    ];
    for (ty, m, node) in refused {
        when_refused(&acl(&format!("openconfig-acl:{ty}"), m), node);
    }
}
