//! Operations, NMDA datastores, entity-tags and conditional requests, NACM,
//! the yang library and schema download, restconf-monitoring and the event
//! stream, through the router.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use common::*;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn operations_list_and_rollback_in_both_encodings() {
    let f = fixture().await;
    let v = f.get("/restconf/operations").await.json();
    let ops = v["ietf-restconf:operations"].as_object().unwrap();
    assert_eq!(ops["nectar-mgmt:rollback"], json!([null]));
    assert!(ops.contains_key("ietf-netconf:commit"));
    assert!(!ops.contains_key("ietf-netconf:get-config"), "{v}");
    let r = f.get_xml("/restconf/operations").await;
    assert!(
        r.body
            .contains(r#"<rollback xmlns="urn:nectar:yang:nectar-mgmt"/>"#),
        "{}",
        r.body
    );

    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=r1"), &iface("r1", ""))
            .await
            .status,
        201
    );
    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=r2"), &iface("r2", ""))
            .await
            .status,
        201
    );
    let hist = f
        .get("/restconf/data/nectar-mgmt:commit-history/commit?fields=id")
        .await
        .json();
    let first = hist["nectar-mgmt:commit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().parse::<u64>().unwrap())
        .min()
        .unwrap();
    let r = f
        .send(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            &json!({"nectar-mgmt:input": {"id": first.to_string(), "comment": "undo r2"}})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let made = r.json()["nectar-mgmt:output"]["id"].clone();
    assert!(made.is_string(), "{}", r.body);
    assert_eq!(f.get(&format!("{IF}/interface=r2")).await.status, 404);
    assert_eq!(f.get(&format!("{IF}/interface=r1")).await.status, 200);

    // XML input and output.
    let r = f
        .send_xml(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            &format!(
                r#"<input xmlns="urn:nectar:yang:nectar-mgmt"><id>{}</id></input>"#,
                first + 1
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .starts_with(r#"<output xmlns="urn:nectar:yang:nectar-mgmt"><id>"#),
        "{}",
        r.body
    );
    assert_eq!(f.get(&format!("{IF}/interface=r2")).await.status, 200);

    // Rolling back to the current commit changes nothing: no output.
    let cur = made.as_str().unwrap().parse::<u64>().unwrap() + 1;
    let r = f
        .send(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            &json!({"nectar-mgmt:input": {"id": cur.to_string()}}).to_string(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Errors: missing mandatory input, unknown RPC, NETCONF-only RPC, GET.
    let r = f
        .send(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            r#"{"nectar-mgmt:input":{}}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f
        .send("POST", "/restconf/operations/nectar-mgmt:nope", "")
        .await;
    assert_eq!(r.status, 404);
    let r = f
        .send("POST", "/restconf/operations/ietf-netconf:get-config", "")
        .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.error_tag(), "operation-not-supported");
    let r = f.get("/restconf/operations/nectar-mgmt:rollback").await;
    assert_eq!(r.status, 405);
    let r = f
        .send(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            r#"{"nectar-mgmt:input":{"id":"999"}}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn nmda_datastores_and_candidate_commit() {
    let f = fixture().await;
    let cand = "/restconf/ds/ietf-datastores:candidate/ietf-interfaces:interfaces";
    let run = "/restconf/ds/ietf-datastores:running/ietf-interfaces:interfaces";
    let r = f
        .send("PUT", &format!("{cand}/interface=c1"), &iface("c1", ""))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(f.get(&format!("{cand}/interface=c1")).await.status, 200);
    assert_eq!(f.get(&format!("{run}/interface=c1")).await.status, 404);
    let r = f
        .send("POST", "/restconf/operations/ietf-netconf:commit", "")
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(f.get(&format!("{run}/interface=c1")).await.status, 200);
    // discard-changes drops uncommitted candidate edits.
    let r = f
        .send("PUT", &format!("{cand}/interface=c2"), &iface("c2", ""))
        .await;
    assert_eq!(r.status, 201);
    let r = f
        .send(
            "POST",
            "/restconf/operations/ietf-netconf:discard-changes",
            "",
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(f.get(&format!("{cand}/interface=c2")).await.status, 404);

    // Startup is its own datastore.
    let st = "/restconf/ds/ietf-datastores:startup/ietf-interfaces:interfaces";
    let r = f
        .send("PUT", &format!("{st}/interface=s1"), &iface("s1", ""))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(f.get(&format!("{st}/interface=s1")).await.status, 200);
    assert_eq!(f.get(&format!("{run}/interface=s1")).await.status, 404);

    // Operational with origin.
    let op = "/restconf/ds/ietf-datastores:operational/ietf-interfaces:interfaces";
    let v = f.get(&format!("{op}?with-origin")).await;
    assert_eq!(v.status, 200, "{}", v.body);
    let v = v.json();
    assert_eq!(
        v["ietf-interfaces:interfaces"]["@"],
        json!({"ietf-origin:origin": "ietf-origin:intended"}),
        "{v}"
    );
    let v = f
        .get(&format!(
            "{op}/interface=c1?with-origin&with-defaults=report-all"
        ))
        .await
        .json();
    assert_eq!(
        v["ietf-interfaces:interface"][0]["@enabled"],
        json!({"ietf-origin:origin": "ietf-origin:default"}),
        "{v}"
    );
    let r = f.get(&format!("{run}?with-origin")).await;
    assert_eq!(r.status, 400);
    let r = f.get("/restconf/ds/ietf-datastores:intended").await;
    assert_eq!(r.status, 404);
    // The datastore resource.
    let v = f.get("/restconf/ds/ietf-datastores:running").await;
    assert_eq!(v.status, 200);
    assert!(v.json()["ietf-restconf:data"]["ietf-interfaces:interfaces"].is_object());
}

#[tokio::test]
async fn entity_tags_and_conditional_requests() {
    let f = fixture().await;
    let e = format!("{IF}/interface=t1");
    let r = f
        .send("PUT", &e, &iface("t1", r#","description":"one""#))
        .await;
    assert_eq!(r.status, 201);
    let r = f.get(&e).await;
    let tag = r.header("etag").unwrap();
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");
    let lm = r.header("last-modified").unwrap();
    assert!(httpdate::parse_http_date(&lm).is_ok());
    // The same tag in XML, and for HEAD.
    assert_eq!(f.get_xml(&e).await.header("etag").unwrap(), tag);
    // 304 for a matching If-None-Match on configuration; a representation
    // with state (the default content=all of an interface) is always sent.
    let cfg = format!("{e}?content=config");
    assert_eq!(f.get(&cfg).await.header("etag").unwrap(), tag);
    let r = f
        .req("GET", &cfg, ADMIN, &[("if-none-match", &tag)], "")
        .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag").unwrap(), tag);
    let r = f
        .req("GET", &cfg, ADMIN, &[("if-modified-since", &lm)], "")
        .await;
    assert_eq!(r.status, 304);
    let r = f
        .req("GET", &e, ADMIN, &[("if-none-match", &tag)], "")
        .await;
    assert_eq!(r.status, 200);
    // An unrelated change leaves the tag alone; the datastore tag moves.
    let ds1 = f
        .get("/restconf/data?content=config")
        .await
        .header("etag")
        .unwrap();
    assert!(ds1.starts_with("\"running-"), "{ds1}");
    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=t2"), &iface("t2", ""))
            .await
            .status,
        201
    );
    assert_eq!(f.get(&e).await.header("etag").unwrap(), tag);
    let ds2 = f
        .get("/restconf/data?content=config")
        .await
        .header("etag")
        .unwrap();
    assert_ne!(ds1, ds2);
    // If-Match: a stale tag is 412 and changes nothing; the current one works.
    let body = iface("t1", r#","description":"two""#);
    let r = f
        .req(
            "PUT",
            &e,
            ADMIN,
            &[("content-type", JSON), ("if-match", "\"stale\"")],
            &body,
        )
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(r.error_tag(), "operation-failed");
    let r = f
        .req(
            "PUT",
            &e,
            ADMIN,
            &[("content-type", JSON), ("if-match", &tag)],
            &body,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let new_tag = r.header("etag").unwrap();
    assert_ne!(new_tag, tag);
    assert_eq!(f.get(&e).await.header("etag").unwrap(), new_tag);
    // If-None-Match: * refuses to overwrite an existing resource.
    let r = f
        .req(
            "PUT",
            &e,
            ADMIN,
            &[("content-type", JSON), ("if-none-match", "*")],
            &body,
        )
        .await;
    assert_eq!(r.status, 412);
    // If-Unmodified-Since in the past.
    let past = httpdate::fmt_http_date(
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
    );
    let r = f
        .req("DELETE", &e, ADMIN, &[("if-unmodified-since", &past)], "")
        .await;
    assert_eq!(r.status, 412);
    let r = f
        .req("DELETE", &e, ADMIN, &[("if-match", &new_tag)], "")
        .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn nacm_applies_to_every_request() {
    let f = fixture().await;
    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=n1"), &iface("n1", ""))
            .await
            .status,
        201
    );
    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=n3"), &iface("n3", ""))
            .await
            .status,
        201
    );
    // alice (group ops) reads interfaces (read-default permit) but may not
    // write (write-default deny) nor read nacm (default-deny-all).
    let r = f
        .req("GET", &format!("{IF}/interface=n1"), ALICE, &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = f
        .req(
            "PUT",
            &format!("{IF}/interface=n2"),
            ALICE,
            &[("content-type", JSON)],
            &iface("n2", ""),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error_tag(), "access-denied");
    let r = f
        .req("DELETE", &format!("{IF}/interface=n1"), ALICE, &[], "")
        .await;
    assert_eq!(r.status, 403);
    let r = f
        .req(
            "GET",
            "/restconf/data/ietf-netconf-acm:nacm",
            ALICE,
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = f
        .req(
            "POST",
            "/restconf/operations/nectar-mgmt:rollback",
            ALICE,
            &[("content-type", JSON)],
            r#"{"nectar-mgmt:input":{"id":"1"}}"#,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(f.get(&format!("{IF}/interface=n1")).await.status, 200);
    // Each user has its own management session, protocol restconf.
    let sessions = f.handle.sessions().await.unwrap();
    let mut users: Vec<_> = sessions
        .iter()
        .filter(|s| s.protocol == "restconf")
        .map(|s| s.user.as_str())
        .collect();
    users.sort();
    assert_eq!(users, ["admin", "alice"]);
    // A killed session is replaced by a new one on the next request.
    let alice = sessions.iter().find(|s| s.user == "alice").unwrap().id;
    let admin = sessions.iter().find(|s| s.user == "admin").unwrap().id;
    f.handle.kill_session(admin, alice).await.unwrap();
    let r = f
        .req("GET", &format!("{IF}/interface=n1"), ALICE, &[], "")
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .req(
            "PUT",
            &format!("{IF}/interface=n2"),
            ALICE,
            &[("content-type", JSON)],
            &iface("n2", ""),
        )
        .await;
    assert_eq!(
        r.status, 403,
        "the new session is alice's, not the system's"
    );
}

#[tokio::test]
async fn yang_library_monitoring_and_schemas() {
    let f = fixture().await;
    let r = f
        .req(
            "GET",
            "/restconf/data/ietf-yang-library:yang-library",
            ADMIN,
            &[("host", "router.example:8443")],
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let sets = v["ietf-yang-library:yang-library"]["module-set"]
        .as_array()
        .unwrap();
    let modules = sets[0]["module"].as_array().unwrap();
    let ifm = modules
        .iter()
        .find(|m| m["name"] == "ietf-interfaces")
        .unwrap();
    let loc = ifm["location"][0].as_str().unwrap();
    assert_eq!(
        loc,
        "https://router.example:8443/yang/ietf-interfaces@2018-02-20.yang"
    );
    let r = f.get("/yang/ietf-interfaces@2018-02-20.yang").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").unwrap(), "application/yang");
    assert!(
        r.body.starts_with("module ietf-interfaces"),
        "{}",
        &r.body[..40]
    );
    assert_eq!(
        f.get("/yang/ietf-interfaces@2000-01-01.yang").await.status,
        404
    );
    assert_eq!(f.get("/yang/nope.yang").await.status, 404);
    // Every location is served.
    for m in modules {
        let loc = m["location"][0].as_str().unwrap();
        let path = loc.strip_prefix("https://router.example:8443").unwrap();
        assert_eq!(f.get(path).await.status, 200, "{path}");
    }

    let v = f
        .get("/restconf/data/ietf-restconf-monitoring:restconf-state")
        .await
        .json();
    let st = &v["ietf-restconf-monitoring:restconf-state"];
    let caps = st["capabilities"]["capability"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(caps.contains(&json!("urn:ietf:params:restconf:capability:yang-patch:1.0")));
    assert!(caps.contains(&json!(
        "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit"
    )));
    let stream = &st["streams"]["stream"][0];
    assert_eq!(stream["name"], "NETCONF");
    assert_eq!(
        stream["access"][0]["location"],
        "https://localhost/restconf/streams/NETCONF/json"
    );
}

#[tokio::test]
async fn event_stream_replays_and_follows_notifications() {
    let f = fixture().await;
    let start = humantime::format_rfc3339(std::time::SystemTime::now() - Duration::from_secs(60))
        .to_string();
    assert_eq!(
        f.send("PUT", &format!("{IF}/interface=s1"), &iface("s1", ""))
            .await
            .status,
        201
    );
    let token = base64::engine::general_purpose::STANDARD.encode("admin:admin-pw");
    let req = Request::builder()
        .uri(format!(
            "/restconf/streams/NETCONF/json?start-time={start}&filter=/ietf-netconf-notifications:netconf-config-change"
        ))
        .header("authorization", format!("Basic {token}"))
        .header("accept", "text/event-stream")
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut seen = String::new();
    let mut sent_live = false;
    while !(seen.contains("interface[name='s1']") && seen.contains("interface[name='s2']")) {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
        if !sent_live && seen.contains("s1") {
            sent_live = true;
            assert_eq!(
                f.send("PUT", &format!("{IF}/interface=s2"), &iface("s2", ""))
                    .await
                    .status,
                201
            );
        }
    }
    // Only config changes passed the filter (no session-start events).
    assert!(!seen.contains("netconf-session-start"), "{seen}");
    let first = seen
        .lines()
        .find(|l| l.starts_with("data: "))
        .unwrap()
        .strip_prefix("data: ")
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(first).unwrap();
    let n = &v["ietf-restconf:notification"];
    assert!(n["eventTime"].is_string());
    assert_eq!(
        n["ietf-netconf-notifications:netconf-config-change"]["datastore"],
        "running"
    );

    // A bad filter is refused before the stream starts.
    let r = f.get("/restconf/streams/NETCONF/json?filter=%5B%5B").await;
    assert_eq!(r.status, 400);
    let r = f.get("/restconf/streams/NOPE/json").await;
    assert_eq!(r.status, 404);
    let r = f.get("/restconf/streams/NETCONF/json?depth=1").await;
    assert_eq!(r.status, 400);
}

// Input: a notification log whose subscribers may have 4 notifications waiting, an open
// event stream that is not read while 20 notifications are logged. Output: the stream says
// in a comment how many were lost and why, and ends (the client reconnects with
// start-time), rather than going on with a silent gap.
#[tokio::test]
async fn an_event_stream_that_falls_behind_its_queue_ends() {
    let f = fixture_with(
        nectar_mgmt::notify::LogLimits {
            replay_capacity: 100,
            subscriber_queue: 4,
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    let token = base64::engine::general_purpose::STANDARD.encode("admin:admin-pw");
    let req = Request::builder()
        .uri("/restconf/streams/NETCONF/json")
        .header("authorization", format!("Basic {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let opening = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(opening.starts_with(b": nectar event stream"), "{opening:?}");
    for i in 0..20 {
        f.notifications.publish(
            std::time::SystemTime::now(),
            format!(
                r#"{{"ietf-netconf-notifications:netconf-session-start":{{"username":"u","session-id":{}}}}}"#,
                i + 1
            )
            .into(),
        );
    }
    let mut seen = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("the stream ends in time")
        {
            None => break,
            Some(frame) => {
                if let Ok(data) = frame.unwrap().into_data() {
                    seen.push_str(&String::from_utf8_lossy(&data));
                }
            }
        }
    }
    assert!(
        seen.contains(" notifications lost") && seen.contains("start-time"),
        "{seen}"
    );
    assert!(!seen.contains("data: "), "{seen}");
}
