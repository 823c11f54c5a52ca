//! Query parameters (RFC 8040 §4.8): content, depth, fields, with-defaults,
//! insert and point on ordered-by-user lists.

mod common;

use common::*;
use serde_json::json;

const NACM: &str = "/restconf/data/ietf-netconf-acm:nacm";

async fn rule_list(f: &Fixture, name: &str, query: &str) -> Reply {
    let body =
        format!(r#"{{"ietf-netconf-acm:rule-list":[{{"name":"{name}","group":["g-{name}"]}}]}}"#);
    f.send("POST", &format!("{NACM}{query}"), &body).await
}

async fn order(f: &Fixture) -> Vec<String> {
    let r = f.get(&format!("{NACM}/rule-list?fields=name")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["ietf-netconf-acm:rule-list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn insert_and_point_on_an_ordered_by_user_list() {
    let f = fixture().await;
    assert_eq!(rule_list(&f, "a", "").await.status, 201);
    assert_eq!(rule_list(&f, "b", "").await.status, 201);
    assert_eq!(order(&f).await, ["a", "b"]);
    let r = rule_list(&f, "c", "?insert=first").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(order(&f).await, ["c", "a", "b"]);
    let r = rule_list(
        &f,
        "d",
        "?insert=after&point=%2Fietf-netconf-acm%3Anacm%2Frule-list%3Dc",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(order(&f).await, ["c", "d", "a", "b"]);
    let r = rule_list(
        &f,
        "e",
        "?insert=before&point=/ietf-netconf-acm:nacm/rule-list=b",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(order(&f).await, ["c", "d", "a", "e", "b"]);
    let r = rule_list(&f, "z", "?insert=last").await;
    assert_eq!(r.status, 201);
    assert_eq!(order(&f).await, ["c", "d", "a", "e", "b", "z"]);
    // PUT with insert moves an existing entry (and replaces its content).
    let r = f
        .send(
            "PUT",
            &format!("{NACM}/rule-list=b?insert=first"),
            r#"{"ietf-netconf-acm:rule-list":[{"name":"b","group":["new"]}]}"#,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(order(&f).await, ["b", "c", "d", "a", "e", "z"]);
    let g = f.get(&format!("{NACM}/rule-list=b/group")).await.json();
    assert_eq!(g, json!({"ietf-netconf-acm:group": ["new"]}));
    // The other entries kept their content.
    let g = f.get(&format!("{NACM}/rule-list=d/group")).await.json();
    assert_eq!(g, json!({"ietf-netconf-acm:group": ["g-d"]}));

    // Errors: a point that does not exist, insert on an unordered list,
    // point without before/after.
    let r = rule_list(
        &f,
        "y",
        "?insert=after&point=/ietf-netconf-acm:nacm/rule-list=nope",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f
        .send("POST", &format!("{IF}?insert=first"), &iface("e0", ""))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("ordered-by-user"), "{}", r.body);
    let r = rule_list(&f, "y", "?point=/ietf-netconf-acm:nacm/rule-list=a").await;
    assert_eq!(r.status, 400);
    assert_eq!(order(&f).await, ["b", "c", "d", "a", "e", "z"]);

    // The order survives a restart: the journal replays it.
    let v = f
        .get("/restconf/data/nectar-mgmt:commit-history/commit?depth=2")
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert!(v.json()["nectar-mgmt:commit"].as_array().unwrap().len() >= 7);
    let reopened = reopen(&f);
    let json = nectar_yang::encoding::print_tree(
        reopened.running(),
        &nectar_yang::encoding::PrintOptions::json(),
    )
    .unwrap();
    let names: Vec<String> = serde_json::from_str::<serde_json::Value>(&json).unwrap()
        ["ietf-netconf-acm:nacm"]["rule-list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["b", "c", "d", "a", "e", "z"]);
}

#[tokio::test]
async fn content_depth_fields_with_defaults() {
    let f = fixture().await;
    let r = f
        .send(
            "PUT",
            &format!("{IF}/interface=eth0"),
            &iface(
                "eth0",
                r#","description":"d","ietf-ip:ipv4":{"address":[{"ip":"10.0.0.1","prefix-length":24}]}"#,
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let e = format!("{IF}/interface=eth0");

    // depth=1: the target with its keys only; depth=2: its children.
    let v = f.get(&format!("{e}?depth=1")).await.json();
    assert_eq!(v, json!({"ietf-interfaces:interface":[{"name":"eth0"}]}));
    let v = f.get(&format!("{e}?depth=2")).await.json();
    let entry = &v["ietf-interfaces:interface"][0];
    assert_eq!(entry["description"], "d");
    assert_eq!(entry["ietf-ip:ipv4"], json!({}));
    let v = f.get(&format!("{e}?depth=unbounded")).await.json();
    assert_eq!(
        v["ietf-interfaces:interface"][0]["ietf-ip:ipv4"]["address"][0]["prefix-length"],
        24
    );

    // fields: the full grammar, module-qualified and nested.
    let v = f
        .get(&format!("{e}?fields=description;ietf-ip:ipv4(address(ip))"))
        .await
        .json();
    assert_eq!(
        v,
        json!({"ietf-interfaces:interface":[{"name":"eth0","description":"d",
            "ietf-ip:ipv4":{"address":[{"ip":"10.0.0.1"}]}}]})
    );
    let v = f.get(&format!("{e}?fields=type")).await.json();
    assert_eq!(
        v,
        json!({"ietf-interfaces:interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd"}]})
    );
    let r = f.get(&format!("{e}?fields=nope")).await;
    assert_eq!(r.status, 400);
    let r = f.get(&format!("{e}?fields=a(b")).await;
    assert_eq!(r.status, 400);
    // The datastore root with fields (module-qualified first node).
    let v = f
        .get("/restconf/data?content=config&fields=ietf-interfaces:interfaces/interface(name)")
        .await
        .json();
    assert_eq!(
        v,
        json!({"ietf-restconf:data":{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0"}]}}})
    );

    // with-defaults: enabled defaults to true.
    let v = f.get(&format!("{e}/enabled")).await;
    assert_eq!(v.status, 404, "explicit mode hides the default: {}", v.body);
    let v = f
        .get(&format!("{e}?with-defaults=report-all&fields=enabled"))
        .await
        .json();
    assert_eq!(v["ietf-interfaces:interface"][0]["enabled"], true);
    let v = f
        .get(&format!(
            "{e}?with-defaults=report-all-tagged&fields=enabled"
        ))
        .await
        .json();
    assert_eq!(
        v["ietf-interfaces:interface"][0]["@enabled"],
        json!({"ietf-netconf-with-defaults:default": true})
    );
    let r = f
        .send(
            "PATCH",
            &e,
            r#"{"ietf-interfaces:interface":[{"name":"eth0","enabled":true}]}"#,
        )
        .await;
    assert_eq!(r.status, 204);
    let v = f
        .get(&format!(
            "{e}?with-defaults=trim&fields=enabled;description"
        ))
        .await
        .json();
    assert!(
        v["ietf-interfaces:interface"][0].get("enabled").is_none(),
        "{v}"
    );
    let v = f
        .get(&format!("{e}?with-defaults=explicit&fields=enabled"))
        .await
        .json();
    assert_eq!(v["ietf-interfaces:interface"][0]["enabled"], true);
    assert_eq!(f.get(&format!("{e}?with-defaults=bogus")).await.status, 400);

    // content: config only, state only.
    let v = f
        .get("/restconf/data/nectar-mgmt:commit-history?content=config")
        .await;
    assert_eq!(v.status, 404, "commit-history is state: {}", v.body);
    let v = f
        .get("/restconf/data/nectar-mgmt:commit-history?content=nonconfig&depth=3")
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    let r = f.get(&format!("{e}?content=nonconfig")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let v = f.get(&format!("{e}?content=config")).await.json();
    assert_eq!(v["ietf-interfaces:interface"][0]["description"], "d");
}
