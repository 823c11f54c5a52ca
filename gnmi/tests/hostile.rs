//! Requests a client may send that used to end in INTERNAL, a panic or an
//! unbounded error (issue 17, defect 7): each gets a specific status.

mod common;

use common::*;
use nectar_gnmi::proto::gnmi as pb;
use pb::get_request::DataType;
use pb::typed_value::Value;
use tonic::Code;

fn get_req(paths: &[pb::Path], enc: pb::Encoding) -> pb::GetRequest {
    pb::GetRequest {
        path: paths.to_vec(),
        r#type: DataType::All as i32,
        encoding: enc as i32,
        ..Default::default()
    }
}

fn rfc7951(p: &str) -> pb::Path {
    let mut p = path(p);
    p.origin = "rfc7951".into();
    p
}

const ROUTES: &str = "/ietf-routing:routing/ribs/rib[name=ipv4-master]/routes/route";

// A keyless state list has no gNMI path per entry: it is reported whole, at
// the list's path, as an RFC 7951 array of its entries, whatever the
// encoding and however the request reaches it.
#[tokio::test]
async fn keyless_lists_are_reported_whole_not_internal() {
    let h = harness();
    let mut c = h.client().await;
    for (p, enc) in [
        (path("/..."), pb::Encoding::Proto),
        (rfc7951("ietf-routing:routing/ribs"), pb::Encoding::Proto),
        (path("/.../.../*"), pb::Encoding::JsonIetf),
        (path("/.../.../*"), pb::Encoding::Json),
        (
            rfc7951("ietf-routing:routing/ribs/rib/routes/route/source-protocol"),
            pb::Encoding::JsonIetf,
        ),
    ] {
        let what = format!("{} {enc:?}", show(&p));
        let r = c
            .get(get_req(std::slice::from_ref(&p), enc))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
            .into_inner();
        let routes: Vec<&pb::Update> = r
            .notification
            .iter()
            .flat_map(|n| n.update.iter())
            .filter(|u| show(u.path.as_ref().unwrap()).ends_with("/routes/route"))
            .collect();
        assert_eq!(routes.len(), 1, "{what}: {r:?}");
        assert_eq!(show(routes[0].path.as_ref().unwrap()), ROUTES, "{what}");
        let text = val(routes[0]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let entries = v.as_array().unwrap_or_else(|| panic!("{what}: {text}"));
        if what.ends_with("source-protocol JsonIetf") {
            // Only what the path selects, inside the list.
            assert!(text.contains(r#""source-protocol":"#), "{what}: {text}");
            assert!(!text.contains("192.0.2.0/24"), "{what}: {text}");
        } else {
            assert_eq!(entries.len(), 2, "{what}: {text}");
            assert!(text.contains("192.0.2.0/24"), "{what}: {text}");
        }
        if enc == pb::Encoding::Json {
            assert!(matches!(
                routes[0].val.as_ref().unwrap().value,
                Some(Value::JsonVal(_))
            ));
        } else {
            assert!(matches!(
                routes[0].val.as_ref().unwrap().value,
                Some(Value::JsonIetfVal(_))
            ));
        }
    }
}

// A NUL inside a string value panicked the Set handler inside yang2 (the
// client saw CANCELLED): now INVALID_ARGUMENT, and running is unchanged.
#[tokio::test]
async fn a_nul_in_a_value_is_invalid_argument() {
    let h = harness();
    h.merge(&iface("x", "")).await;
    let before = h.running().await;
    let mut c = h.client().await;
    for v in [
        Value::StringVal("a\0b".into()),
        Value::JsonIetfVal(br#""a\u0000b""#.to_vec()),
        Value::LeaflistVal(pb::ScalarArray {
            element: vec![pb::TypedValue {
                value: Some(Value::StringVal("a\0b".into())),
            }],
        }),
    ] {
        let req = pb::SetRequest {
            update: vec![pb::Update {
                path: Some(path("/interfaces/interface[name=x]/config/description")),
                val: Some(pb::TypedValue { value: Some(v) }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = c.set(req).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    }
    assert_eq!(h.running().await, before);
}

// Error messages echo paths: they are bounded, so a long path still gets
// NOT_FOUND (not RESOURCE_EXHAUSTED from the client's metadata limit).
#[tokio::test]
async fn error_messages_are_bounded() {
    let h = harness();
    let mut c = h.client().await;
    let long = format!("/interfaces/interface[name={}]/state", "x".repeat(40_000));
    let e = c
        .get(get_req(&[path(&long)], pb::Encoding::JsonIetf))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::NotFound,
        "{}",
        &e.message()[..200.min(e.message().len())]
    );
    assert!(e.message().len() <= 1024, "{}", e.message().len());
    let long = format!("/interfaces/{}", "nowhere/".repeat(5000));
    let e = c
        .get(get_req(&[path(&long)], pb::Encoding::JsonIetf))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().len() <= 1024);
}

// Defect 6: a deeply nested JSON value or a very long path is
// INVALID_ARGUMENT / NOT_FOUND, never a recursion in a parser.
#[tokio::test]
async fn deep_values_and_long_paths_are_refused() {
    let h = harness();
    h.merge(&iface("x", "")).await;
    let before = h.running().await;
    let mut c = h.client().await;
    for deep in [
        format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)),
    ] {
        let req = pb::SetRequest {
            update: vec![pb::Update {
                path: Some(path("/interfaces/interface[name=x]/config")),
                val: Some(pb::TypedValue {
                    value: Some(Value::JsonIetfVal(deep.into_bytes())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = c.set(req).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    }
    let long = format!("/interfaces/interface[name=x]{}", "/config".repeat(20_000));
    let e = c
        .get(get_req(&[path(&long)], pb::Encoding::JsonIetf))
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), Code::NotFound | Code::InvalidArgument),
        "{e:?}"
    );
    assert_eq!(h.running().await, before);
}
