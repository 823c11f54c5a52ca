//! Capabilities, authentication, Get and Set through the tonic service over
//! an in-memory connection.

mod common;

use common::*;
use nectar_gnmi::proto::gnmi as pb;
use pb::get_request::DataType;
use pb::typed_value::Value;
use tonic::Code;

fn get_req(paths: &[&str], ty: DataType, enc: pb::Encoding) -> pb::GetRequest {
    pb::GetRequest {
        path: paths.iter().map(|p| path(p)).collect(),
        r#type: ty as i32,
        encoding: enc as i32,
        ..Default::default()
    }
}

fn updates(r: &pb::GetResponse) -> Vec<(String, String)> {
    r.notification
        .iter()
        .flat_map(|n| n.update.iter())
        .map(|u| (show(u.path.as_ref().unwrap()), val(u)))
        .collect()
}

fn json_update(p: &str, v: &str) -> pb::Update {
    pb::Update {
        path: Some(path(p)),
        val: Some(pb::TypedValue {
            value: Some(Value::JsonIetfVal(v.as_bytes().to_vec())),
        }),
        ..Default::default()
    }
}

fn scalar_update(p: &str, v: Value) -> pb::Update {
    pb::Update {
        path: Some(path(p)),
        val: Some(pb::TypedValue { value: Some(v) }),
        ..Default::default()
    }
}

#[tokio::test]
async fn capabilities_list_the_loaded_models_encodings_and_version() {
    let h = harness();
    let mut c = h.client().await;
    let caps = c
        .capabilities(pb::CapabilityRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(caps.g_nmi_version, "0.10.0");
    let ifm = caps
        .supported_models
        .iter()
        .find(|m| m.name == "ietf-interfaces")
        .expect("ietf-interfaces advertised");
    assert_eq!(ifm.version, "2018-02-20");
    assert_eq!(
        ifm.organization,
        "IETF NETMOD (Network Modeling) Working Group"
    );
    assert!(
        caps.supported_models
            .iter()
            .any(|m| m.name == "openconfig-interfaces")
    );
    // Imported-only modules are not implemented, so not advertised.
    assert!(
        !caps
            .supported_models
            .iter()
            .any(|m| m.name == "ietf-yang-types")
    );
    let mut enc = caps.supported_encodings.clone();
    enc.sort();
    assert_eq!(
        enc,
        vec![
            pb::Encoding::Json as i32,
            pb::Encoding::Proto as i32,
            pb::Encoding::JsonIetf as i32
        ]
    );
}

#[tokio::test]
async fn every_rpc_needs_valid_credentials() {
    let h = harness();
    let mut anon = h.client_as(None).await;
    let e = anon
        .capabilities(pb::CapabilityRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut bad = h.client_as(Some(("admin", "wrong"))).await;
    let e = bad
        .get(get_req(
            &["/interfaces"],
            DataType::All,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let e = bad
        .subscribe(tokio_stream::iter(vec![list(
            pb::subscription_list::Mode::Once,
            pb::Encoding::JsonIetf,
            vec![sub(
                "/interfaces",
                pb::SubscriptionMode::TargetDefined,
                Default::default(),
            )],
        )]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn get_by_type_encoding_and_wildcard() {
    let h = harness();
    h.merge(&iface(
        "eth0",
        r#","description":"uplink","mtu":1500"#.replace(",\"mtu\":1500", "").as_str(),
    ))
    .await;
    let mut c = h.client().await;

    // CONFIG: running only, as JSON_IETF of the list entry.
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=eth0]"],
            DataType::Config,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.notification.len(), 1);
    assert!(r.notification[0].timestamp > 0);
    let u = updates(&r);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].0, "/ietf-interfaces:interfaces/interface[name=eth0]");
    let v: serde_json::Value = serde_json::from_str(&u[0].1).unwrap();
    assert_eq!(v["description"], "uplink");
    assert_eq!(v["type"], "iana-if-type:ethernetCsmacd");
    assert!(v.get("oper-status").is_none(), "{v}");

    // STATE: config false only (keys kept), counters as RFC 7951 strings.
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=eth0]"],
            DataType::State,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap()
        .into_inner();
    let v: serde_json::Value = serde_json::from_str(&updates(&r)[0].1).unwrap();
    assert_eq!(v["oper-status"], "up");
    assert_eq!(v["statistics"]["in-octets"], "100");
    assert!(v.get("description").is_none(), "{v}");

    // ALL with JSON (no module names, 64-bit numbers as numbers).
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=eth0]"],
            DataType::All,
            pb::Encoding::Json,
        ))
        .await
        .unwrap()
        .into_inner();
    let v: serde_json::Value = serde_json::from_str(&updates(&r)[0].1).unwrap();
    assert_eq!(v["description"], "uplink");
    assert_eq!(v["statistics"]["in-octets"], 100);
    assert_eq!(v["type"], "iana-if-type:ethernetCsmacd");

    // PROTO: one scalar update per leaf, with a wildcard key.
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=*]/statistics/in-octets"],
            DataType::State,
            pb::Encoding::Proto,
        ))
        .await
        .unwrap()
        .into_inner();
    let u = updates(&r);
    assert_eq!(
        u,
        vec![
            (
                "/ietf-interfaces:interfaces/interface[name=eth0]/statistics/in-octets".into(),
                "100".into()
            ),
            (
                "/ietf-interfaces:interfaces/interface[name=eth1]/statistics/in-octets".into(),
                "5".into()
            ),
        ]
    );
    let first = &r.notification[0].update[0];
    assert!(matches!(
        first.val.as_ref().unwrap().value,
        Some(Value::UintVal(100))
    ));

    // `...` at any depth, two paths → two notifications.
    let r = c
        .get(get_req(
            &[
                "/ietf-interfaces:interfaces/.../oper-status",
                "/ietf-interfaces:interfaces/interface[name=eth1]/oper-status",
            ],
            DataType::All,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.notification.len(), 2);
    assert_eq!(r.notification[0].update.len(), 2);
    assert_eq!(val(&r.notification[1].update[0]), "\"down\"");
}

#[tokio::test]
async fn get_openconfig_origin_operational_and_target_echo() {
    let h = harness();
    h.merge(r#"{"openconfig-interfaces:interfaces":{"interface":[{"name":"eth0","config":{"name":"eth0","type":"iana-if-type:ethernetCsmacd","mtu":9000}}]}}"#)
        .await;
    let mut c = h.client().await;
    // No origin, unqualified OpenConfig path: origin openconfig by default.
    let mut req = get_req(
        &["/interfaces/interface[name=eth0]/state"],
        DataType::Operational,
        pb::Encoding::JsonIetf,
    );
    req.prefix = Some(pb::Path {
        target: "dut1".into(),
        ..Default::default()
    });
    let r = c.get(req).await.unwrap().into_inner();
    let n = &r.notification[0];
    assert_eq!(n.prefix.as_ref().unwrap().target, "dut1");
    let u = &n.update[0];
    assert_eq!(u.path.as_ref().unwrap().origin, "openconfig");
    assert_eq!(
        show(u.path.as_ref().unwrap()),
        "/interfaces/interface[name=eth0]/state"
    );
    let v: serde_json::Value = serde_json::from_str(&val(u)).unwrap();
    // OPERATIONAL leaves out state that mirrors config (state/name).
    assert_eq!(v["oper-status"], "UP");
    assert!(v.get("name").is_none(), "{v}");
    assert_eq!(v["counters"]["in-octets"], "100");

    // STATE keeps the mirror.
    let r = c
        .get(get_req(
            &["openconfig:/interfaces/interface[name=eth0]/state/name"],
            DataType::State,
            pb::Encoding::Proto,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updates(&r),
        vec![(
            "/interfaces/interface[name=eth0]/state/name".into(),
            "eth0".into()
        )]
    );
}

#[tokio::test]
async fn get_errors_follow_the_spec() {
    let h = harness();
    let mut c = h.client().await;
    let e = c
        .get(get_req(
            &["/nonexistent/thing"],
            DataType::All,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=nope]"],
            DataType::All,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = c
        .get(get_req(
            &["/ietf-interfaces:interfaces"],
            DataType::All,
            pb::Encoding::Bytes,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    let mut req = get_req(
        &["/ietf-interfaces:interfaces"],
        DataType::All,
        pb::Encoding::JsonIetf,
    );
    req.use_models = vec![pb::ModelData {
        name: "no-such-model".into(),
        ..Default::default()
    }];
    assert_eq!(c.get(req).await.unwrap_err().code(), Code::InvalidArgument);
    // A wildcard matching nothing is an empty notification, not an error.
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=*]/description"],
            DataType::All,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.notification.len(), 1);
    assert!(r.notification[0].update.is_empty());
}

#[tokio::test]
async fn set_applies_deletes_replaces_updates_in_order_as_one_transaction() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"old""#)).await;
    h.merge(&iface("eth9", "")).await;
    let mut c = h.client().await;
    let req = pb::SetRequest {
        prefix: Some(path("/ietf-interfaces:interfaces")),
        delete: vec![
            path("/interface[name=eth9]"),
            path("/interface[name=absent]"),
        ],
        replace: vec![json_update(
            "/interface[name=eth0]",
            r#"{"type":"iana-if-type:ethernetCsmacd","enabled":false}"#,
        )],
        update: vec![
            json_update(
                "/interface[name=eth1]",
                r#"{"name":"eth1","type":"iana-if-type:ethernetCsmacd","description":"new"}"#,
            ),
            scalar_update(
                "/interface[name=eth0]/description",
                Value::StringVal("replaced then set".into()),
            ),
        ],
        ..Default::default()
    };
    let r = c.set(req).await.unwrap().into_inner();
    assert!(r.timestamp > 0);
    let ops: Vec<(i32, String)> = r
        .response
        .iter()
        .map(|u| (u.op, show(u.path.as_ref().unwrap())))
        .collect();
    use pb::update_result::Operation as O;
    assert_eq!(
        ops,
        vec![
            (O::Delete as i32, "/interface[name=eth9]".into()),
            (O::Delete as i32, "/interface[name=absent]".into()),
            (O::Replace as i32, "/interface[name=eth0]".into()),
            (O::Update as i32, "/interface[name=eth1]".into()),
            (O::Update as i32, "/interface[name=eth0]/description".into()),
        ]
    );
    let running = h.running().await;
    assert!(!running.contains("eth9"), "{running}");
    assert!(
        running.contains(r#""description":"replaced then set""#),
        "{running}"
    );
    assert!(running.contains(r#""enabled":false"#), "{running}");
    assert!(running.contains(r#""description":"new""#), "{running}");
    let history = h.handle.history().await.unwrap();
    assert_eq!(history.len(), 3, "one commit for the whole Set");
}

#[tokio::test]
async fn a_failing_set_changes_nothing_and_says_why() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"keep""#)).await;
    let before = h.running().await;
    let mut c = h.client().await;
    let req = pb::SetRequest {
        delete: vec![path(
            "/ietf-interfaces:interfaces/interface[name=eth0]/description",
        )],
        update: vec![scalar_update(
            "/ietf-interfaces:interfaces/interface[name=eth0]/enabled",
            Value::StringVal("maybe".into()),
        )],
        ..Default::default()
    };
    let e = c.set(req).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("maybe"), "{}", e.message());
    assert_eq!(h.running().await, before);

    // A leaf that validation refuses (mandatory type missing on a new entry).
    let e = c
        .set(pb::SetRequest {
            update: vec![json_update(
                "/ietf-interfaces:interfaces/interface[name=eth5]",
                r#"{"description":"no type"}"#,
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("type"), "{}", e.message());
    assert_eq!(h.running().await, before);

    // State cannot be set; unknown paths are NOT_FOUND; key mismatch refused.
    let e = c
        .set(pb::SetRequest {
            update: vec![scalar_update(
                "/ietf-interfaces:interfaces/interface[name=eth0]/oper-status",
                Value::StringVal("up".into()),
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = c
        .set(pb::SetRequest {
            update: vec![scalar_update("/no/such", Value::UintVal(1))],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = c
        .set(pb::SetRequest {
            update: vec![json_update(
                "/ietf-interfaces:interfaces/interface[name=eth0]",
                r#"{"name":"eth1"}"#,
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(h.running().await, before);
}

#[tokio::test]
async fn nacm_applies_to_get_and_set() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"secret-desc""#))
        .await;
    // operators may read interfaces but not their descriptions; writes are
    // denied by default (RFC 8341).
    h.merge(
        r#"{"ietf-netconf-acm:nacm":{"groups":{"group":[{"name":"operators","user-name":["oper"]}]},
            "rule-list":[{"name":"ops","group":["operators"],"rule":[{"name":"no-desc",
            "path":"/ietf-interfaces:interfaces/interface/description",
            "access-operations":"read","action":"deny"}]}]}}"#,
    )
    .await;
    let mut c = h.client_as(Some(("oper", "oper-pw"))).await;
    let r = c
        .get(get_req(
            &["/ietf-interfaces:interfaces/interface[name=eth0]"],
            DataType::Config,
            pb::Encoding::JsonIetf,
        ))
        .await
        .unwrap()
        .into_inner();
    let u = updates(&r);
    assert!(!u[0].1.contains("secret-desc"), "{u:?}");
    assert!(u[0].1.contains("ethernetCsmacd"), "{u:?}");
    let e = c
        .set(pb::SetRequest {
            update: vec![scalar_update(
                "/ietf-interfaces:interfaces/interface[name=eth0]/enabled",
                Value::BoolVal(false),
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn set_takes_scalar_values_and_wildcard_deletes() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"a""#)).await;
    h.merge(&iface("eth1", r#","description":"b""#)).await;
    let mut c = h.client().await;
    c.set(pb::SetRequest {
        update: vec![scalar_update(
            "/ietf-interfaces:interfaces/interface[name=eth0]/enabled",
            Value::BoolVal(false),
        )],
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(h.running().await.contains(r#""enabled":false"#));
    // A leaf's string sent unquoted in json_ietf_val (pygnmi with a str).
    c.set(pb::SetRequest {
        update: vec![json_update(
            "/ietf-interfaces:interfaces/interface[name=eth0]/description",
            "plain text",
        )],
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(h.running().await.contains(r#""description":"plain text""#));
    let e = c
        .set(pb::SetRequest {
            update: vec![json_update(
                "/ietf-interfaces:interfaces/interface[name=eth0]",
                "plain text",
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("not valid JSON"), "{}", e.message());
    c.set(pb::SetRequest {
        delete: vec![path(
            "/ietf-interfaces:interfaces/interface[name=*]/description",
        )],
        ..Default::default()
    })
    .await
    .unwrap();
    let running = h.running().await;
    assert!(!running.contains("description"), "{running}");
    assert!(running.contains("eth1"), "{running}");
}

#[tokio::test]
async fn module_named_origins_and_legacy_string_elements_are_understood() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"by-module""#))
        .await;
    let mut c = h.client().await;
    // pygnmi's `ietf-interfaces:interfaces/...`: origin = the module name.
    let mut p = path("/interfaces/interface[name=eth0]/description");
    p.origin = "ietf-interfaces".into();
    let r = c
        .get(pb::GetRequest {
            path: vec![p],
            encoding: pb::Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let u = &r.notification[0].update[0];
    assert_eq!(val(u), "\"by-module\"");
    assert_eq!(u.path.as_ref().unwrap().origin, "rfc7951");
    // gNMI < 0.4 string elements, with a key.
    #[allow(deprecated)]
    let legacy = pb::Path {
        element: vec![
            "ietf-interfaces:interfaces".into(),
            "interface[name=eth0]".into(),
            "description".into(),
        ],
        ..Default::default()
    };
    let r = c
        .get(pb::GetRequest {
            path: vec![legacy],
            encoding: pb::Encoding::Proto as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(val(&r.notification[0].update[0]), "by-module");
}

#[tokio::test]
async fn key_values_with_quotes_brackets_and_slashes_round_trip() {
    let h = harness();
    let name = "it's/eth]0";
    let mut c = h.client().await;
    let mut p = path("/ietf-interfaces:interfaces/interface");
    p.elem[1].key.insert("name".into(), name.into());
    c.set(pb::SetRequest {
        update: vec![pb::Update {
            path: Some(p.clone()),
            val: Some(pb::TypedValue {
                value: Some(Value::JsonIetfVal(
                    br#"{"type":"iana-if-type:ethernetCsmacd","description":"odd"}"#.to_vec(),
                )),
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut d = p.clone();
    d.elem.push(pb::PathElem {
        name: "description".into(),
        key: Default::default(),
    });
    let r = c
        .get(pb::GetRequest {
            path: vec![d],
            encoding: pb::Encoding::Proto as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let u = &r.notification[0].update[0];
    assert_eq!(val(u), "odd");
    let got = u.path.as_ref().unwrap();
    assert_eq!(got.elem[1].key.get("name").map(String::as_str), Some(name));
}

#[tokio::test]
async fn use_models_restricts_the_data() {
    let h = harness();
    h.merge(&iface("eth0", "")).await;
    h.merge(r#"{"ietf-netconf-acm:nacm":{"read-default":"permit"}}"#)
        .await;
    let mut c = h.client().await;
    let mut req = get_req(&[], DataType::Config, pb::Encoding::JsonIetf);
    let all = c.get(req.clone()).await.unwrap().into_inner();
    assert!(val(&all.notification[0].update[0]).contains("ietf-netconf-acm:nacm"));
    req.use_models = vec![pb::ModelData {
        name: "ietf-interfaces".into(),
        organization: "IETF NETMOD (Network Modeling) Working Group".into(),
        version: "2018-02-20".into(),
    }];
    let only = c.get(req.clone()).await.unwrap().into_inner();
    let v = val(&only.notification[0].update[0]);
    assert!(v.contains("ietf-interfaces:interfaces"), "{v}");
    assert!(!v.contains("nacm"), "{v}");
    req.use_models[0].version = "1999-01-01".into();
    assert_eq!(c.get(req).await.unwrap_err().code(), Code::InvalidArgument);
}
