//! YANG Patch (RFC 8072) in both encodings: every edit operation, atomicity,
//! and the yang-patch-status with per-edit and global errors.

mod common;

use common::*;
use serde_json::json;

const NACM: &str = "/restconf/data/ietf-netconf-acm:nacm";
const PATCH_JSON: &str = "application/yang-patch+json";
const PATCH_XML: &str = "application/yang-patch+xml";

async fn patch(f: &Fixture, uri: &str, body: serde_json::Value) -> Reply {
    f.req(
        "PATCH",
        uri,
        ADMIN,
        &[("content-type", PATCH_JSON)],
        &body.to_string(),
    )
    .await
}

fn rl(name: &str) -> serde_json::Value {
    json!({"ietf-netconf-acm:rule-list": [{"name": name, "group": [format!("g-{name}")]}]})
}

async fn order(f: &Fixture) -> Vec<String> {
    let r = f.get(&format!("{NACM}/rule-list?fields=name")).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.json()["ietf-netconf-acm:rule-list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_edit_operation_in_json() {
    let f = fixture().await;
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {
            "patch-id": "p1",
            "comment": "set up",
            "edit": [
                {"edit-id": "1", "operation": "create", "target": "/rule-list=a", "value": rl("a")},
                {"edit-id": "2", "operation": "create", "target": "/rule-list=b", "value": rl("b")},
                {"edit-id": "3", "operation": "insert", "target": "/rule-list=c", "where": "first", "value": rl("c")},
                {"edit-id": "4", "operation": "insert", "target": "/rule-list=d", "where": "after", "point": "/rule-list=a", "value": rl("d")},
                {"edit-id": "5", "operation": "merge", "target": "/rule-list=a", "value": {"ietf-netconf-acm:rule-list": [{"name": "a", "group": ["extra"]}]}},
                {"edit-id": "6", "operation": "move", "target": "/rule-list=b", "where": "before", "point": "/rule-list=c"},
                {"edit-id": "7", "operation": "replace", "target": "/rule-list=c", "value": {"ietf-netconf-acm:rule-list": [{"name": "c"}]}},
                {"edit-id": "8", "operation": "remove", "target": "/rule-list=nope"},
                {"edit-id": "9", "operation": "create", "target": "/rule-list=x", "value": rl("x")},
                {"edit-id": "10", "operation": "delete", "target": "/rule-list=x"},
            ]
        }}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"ietf-yang-patch:yang-patch-status": {"patch-id": "p1", "ok": [null]}})
    );
    assert_eq!(order(&f).await, ["b", "c", "a", "d"]);
    let g = f.get(&format!("{NACM}/rule-list=a/group")).await.json();
    // group is ordered-by system: libyang keeps it sorted.
    assert_eq!(g, json!({"ietf-netconf-acm:group": ["extra", "g-a"]}));
    let c = f.get(&format!("{NACM}/rule-list=c")).await.json();
    assert_eq!(c, json!({"ietf-netconf-acm:rule-list": [{"name": "c"}]}));

    // A failing edit: nothing of the patch is applied, and its edit-status
    // names it.
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {
            "patch-id": "p2",
            "edit": [
                {"edit-id": "ok", "operation": "create", "target": "/rule-list=new", "value": rl("new")},
                {"edit-id": "dup", "operation": "create", "target": "/rule-list=a", "value": rl("a")},
            ]
        }}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let v = r.json();
    let st = &v["ietf-yang-patch:yang-patch-status"];
    assert_eq!(st["patch-id"], "p2");
    assert_eq!(st["edit-status"]["edit"][0]["edit-id"], "dup");
    assert_eq!(
        st["edit-status"]["edit"][0]["errors"]["error"][0]["error-tag"],
        "data-exists"
    );
    assert_eq!(order(&f).await, ["b", "c", "a", "d"]);

    // delete of a missing node is data-missing on that edit.
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {"patch-id": "p3", "edit": [
            {"edit-id": "e", "operation": "delete", "target": "/rule-list=gone"}]}}),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["ietf-yang-patch:yang-patch-status"]["edit-status"]["edit"][0]["errors"]["error"]
            [0]["error-tag"],
        "data-missing"
    );

    // A validation failure of the whole patch is a global error.
    let r = patch(
        &f,
        IF,
        json!({"ietf-yang-patch:yang-patch": {"patch-id": "p4", "edit": [
            {"edit-id": "e", "operation": "create", "target": "/interface=i1",
             "value": {"ietf-interfaces:interface": [{"name": "i1"}]}}]}}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(
        v["ietf-yang-patch:yang-patch-status"]["errors"]["error"][0]["error-tag"],
        "missing-element",
        "{v}"
    );

    // Malformed patches.
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {"edit": []}}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [
            {"edit-id": "e", "operation": "frobnicate", "target": "/rule-list=a"}]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = patch(
        &f,
        NACM,
        json!({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [
            {"edit-id": "e", "operation": "insert", "target": "/rule-list=q", "value": rl("q")}]}}),
    )
    .await;
    assert_eq!(r.status, 400, "insert without where: {}", r.body);
}

#[tokio::test]
async fn xml_patch_and_xml_status() {
    let f = fixture().await;
    let body = r#"<yang-patch xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-patch">
  <patch-id>px</patch-id>
  <edit>
    <edit-id>1</edit-id>
    <operation>create</operation>
    <target>/interface=x1</target>
    <value>
      <interface xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
        <name>x1</name>
        <type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type>
        <description>a &amp; b</description>
      </interface>
    </value>
  </edit>
</yang-patch>"#;
    let r = f
        .req(
            "PATCH",
            IF,
            ADMIN,
            &[("content-type", PATCH_XML), ("accept", XML)],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        r#"<yang-patch-status xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-patch"><patch-id>px</patch-id><ok/></yang-patch-status>"#
    );
    let d = f
        .get(&format!("{IF}/interface=x1/description"))
        .await
        .json();
    assert_eq!(d, json!({"ietf-interfaces:description": "a & b"}));
    let r = f
        .req(
            "PATCH",
            IF,
            ADMIN,
            &[("content-type", PATCH_XML), ("accept", XML)],
            body,
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("<edit-status><edit><edit-id>1</edit-id><errors><error><error-type>application</error-type><error-tag>data-exists</error-tag>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("xmlns:ietf-interfaces="), "{}", r.body);
}
