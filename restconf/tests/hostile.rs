//! Hostile requests found by black-box testing (issue 17), through the
//! router: each gets its RFC 8040 error, changes nothing, and the server
//! keeps answering.

mod common;

use common::*;

const DUP_KEY_JSON: &str = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"k2","name":"k2","type":"iana-if-type:softwareLoopback"},{"name":"k2","type":"iana-if-type:softwareLoopback"}]}}"#;
const DUP_KEY_XML: &str = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>k2</name><name>k2</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:softwareLoopback</type></interface><interface><name>k2</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:softwareLoopback</type></interface></interfaces>"#;

fn first_error(r: &Reply) -> serde_json::Value {
    r.json()["ietf-restconf:errors"]["error"][0].clone()
}

async fn running(f: &Fixture) -> String {
    f.get("/restconf/data?content=config").await.body
}

// Defect 5: a list key given twice, then the same entry again, aborted the
// daemon inside libyang (any user, even read-only: the body is parsed
// before NACM). Now 400 bad-element naming the key, and nothing changes.
#[tokio::test]
async fn a_list_key_given_twice_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let before = running(&f).await;
    for user in [ADMIN, ALICE] {
        for method in ["PATCH", "PUT", "POST"] {
            let uri = if method == "POST" {
                "/restconf/data"
            } else {
                IF
            };
            let r = f
                .req(method, uri, user, &[("content-type", JSON)], DUP_KEY_JSON)
                .await;
            assert_eq!(r.status, 400, "{method} {}", r.body);
            let e = first_error(&r);
            assert_eq!(e["error-tag"], "bad-element", "{}", r.body);
            assert_eq!(e["error-info"]["bad-element"], "name", "{}", r.body);
            let r = f
                .req(method, uri, user, &[("content-type", XML)], DUP_KEY_XML)
                .await;
            assert_eq!(r.status, 400, "{method} {}", r.body);
            assert!(
                r.body.contains("<error-tag>bad-element</error-tag>")
                    && r.body.contains("<bad-element>name</bad-element>"),
                "{}",
                r.body
            );
        }
    }
    assert_eq!(running(&f).await, before);
    assert_eq!(f.get(IF).await.status, 200);
}

// Defect 6: a deeply nested `fields` overflowed the stack of the recursive
// parser and aborted the daemon. Now 400 at any depth, and the same
// expression within the limit still works.
#[tokio::test]
async fn deeply_nested_fields_is_a_400_not_a_stack_overflow() {
    let f = fixture().await;
    for depth in [101, 3000, 5000, 10_000] {
        let fields = format!("{}b{}", "a(".repeat(depth), ")".repeat(depth));
        let r = f.get(&format!("{IF}?fields={fields}")).await;
        assert_eq!(r.status, 400, "depth {depth}: {}", r.body);
        assert_eq!(r.error_tag(), "invalid-value");
    }
    let r = f.get(&format!("{IF}?fields=interface(name;type)")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

// Defect 6: deeply nested bodies are malformed-message, never a recursion
// in a parser.
#[tokio::test]
async fn deeply_nested_bodies_are_malformed() {
    let f = fixture().await;
    let before = running(&f).await;
    let deep_json = format!(
        r#"{{"ietf-interfaces:interfaces":{}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_xml = format!(
        r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">{}{}</interfaces>"#,
        "<interface>".repeat(100_000),
        "</interface>".repeat(100_000)
    );
    for method in ["PATCH", "PUT"] {
        let r = f.send(method, IF, &deep_json).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.error_tag(), "malformed-message");
        let r = f
            .req(method, IF, ADMIN, &[("content-type", XML)], &deep_xml)
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("malformed-message"), "{}", r.body);
    }
    assert_eq!(running(&f).await, before);
}

// Defects 4 and 12: a body that is not exactly one valid JSON value (or
// well-formed XML) is 400 malformed-message with error-type protocol
// (RFC 8040 §7.1); none of it is stored.
#[tokio::test]
async fn malformed_bodies_are_malformed_message_and_store_nothing() {
    let f = fixture().await;
    let r = f
        .send("PUT", &format!("{IF}/interface=m1"), &iface("m1", ""))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let before = running(&f).await;
    let good = iface("m1", r#","description":"ok""#);
    let bodies = [
        "not json".to_string(),
        good.replace(r#""ok""#, r#""a\u0e9 b""#),
        good.replace(r#""ok""#, r#""a\uZZZZ b""#),
        good.replace(r#""ok""#, r#""\udc00""#),
        format!("{good}{}", iface("m1", r#","description":"second""#)),
        format!("{good} garbage"),
        format!("{good},"),
        good.replace(r#""ok""#, "\"a\tb\""),
    ];
    for method in ["PUT", "PATCH", "POST"] {
        let uri = match method {
            "POST" => IF.to_string(),
            _ => format!("{IF}/interface=m1"),
        };
        for body in &bodies {
            let body = if method == "POST" {
                body.replace(r#""name":"m1""#, r#""name":"m2""#)
            } else {
                body.clone()
            };
            let r = f.send(method, &uri, &body).await;
            assert_eq!(r.status, 400, "{method} {body}: {}", r.body);
            let e = first_error(&r);
            assert_eq!(
                e["error-tag"], "malformed-message",
                "{method} {body}: {}",
                r.body
            );
            assert_eq!(e["error-type"], "protocol", "{method} {body}: {}", r.body);
        }
        for xml in [
            "not xml",
            "<interface xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><name>m1</name>",
            "<interface xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><name>m1</nam></interface>",
        ] {
            let r = f.send_xml(method, &uri, xml).await;
            assert_eq!(r.status, 400, "{method} {xml}: {}", r.body);
            assert!(
                r.body.contains("<error-type>protocol</error-type>")
                    && r.body.contains("<error-tag>malformed-message</error-tag>"),
                "{method} {xml}: {}",
                r.body
            );
        }
    }
    assert_eq!(running(&f).await, before);
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

// Defect 8: every GET leaked about 2.3 KB (libyang XPath result sets were
// never freed). Memory stays flat over thousands of requests.
#[tokio::test(flavor = "current_thread")]
async fn repeated_gets_do_not_grow_memory() {
    let f = fixture().await;
    let r = f
        .send("PUT", &format!("{IF}/interface=m1"), &iface("m1", ""))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let uris = [
        format!("{IF}/interface=m1"),
        format!("{IF}?fields=interface(name)"),
        "/restconf/data/ietf-interfaces:interfaces/interface=m1/type".to_string(),
    ];
    for _ in 0..500 {
        for u in &uris {
            assert_eq!(f.get(u).await.status, 200);
        }
    }
    let before = rss_kib();
    let n = 5000;
    for _ in 0..n {
        for u in &uris {
            assert_eq!(f.get(u).await.status, 200);
        }
    }
    let grown = rss_kib().saturating_sub(before);
    eprintln!("RSS grew by {grown} KiB over {} GETs", n * uris.len());
    // 15k requests; a leak of even 300 bytes each would be 4.5 MB.
    assert!(
        grown < 4 * 1024,
        "RSS grew by {grown} KiB over {} GETs",
        n * uris.len()
    );
}
