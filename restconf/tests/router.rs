//! The RESTCONF router driven without a socket: discovery, authentication,
//! every method on data resources in both encodings, key encoding, and the
//! RFC 8040 §7 error statuses and bodies.

mod common;

use common::*;

#[tokio::test]
async fn host_meta_and_root_resource() {
    let f = fixture().await;
    let r = f.req("GET", "/.well-known/host-meta", None, &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").unwrap(), "application/xrd+xml");
    assert!(
        r.body
            .contains(r#"<Link rel="restconf" href="/restconf"/>"#),
        "{}",
        r.body
    );

    let r = f.get("/restconf").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").unwrap(), JSON);
    let v = r.json();
    assert_eq!(
        v["ietf-restconf:restconf"]["yang-library-version"],
        "2019-01-04"
    );
    assert!(v["ietf-restconf:restconf"]["data"].is_object());
    let r = f.get_xml("/restconf").await;
    assert_eq!(r.header("content-type").unwrap(), XML);
    assert!(r.body.starts_with(
        r#"<restconf xmlns="urn:ietf:params:xml:ns:yang:ietf-restconf"><data/><operations/>"#
    ));
    let r = f.get("/restconf/yang-library-version").await;
    assert_eq!(
        r.json(),
        serde_json::json!({"ietf-restconf:yang-library-version": "2019-01-04"})
    );
}

#[tokio::test]
async fn every_resource_needs_authentication() {
    let f = fixture().await;
    for uri in [
        "/restconf",
        "/restconf/data",
        IF,
        "/restconf/operations",
        "/nowhere",
    ] {
        let r = f.req("GET", uri, None, &[], "").await;
        assert_eq!(r.status, 401, "{uri}");
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
        assert_eq!(r.error_tag(), "access-denied");
    }
    let r = f
        .req("GET", "/restconf", Some(("admin", "wrong")), &[], "")
        .await;
    assert_eq!(r.status, 401);
    let r = f
        .req(
            "GET",
            "/restconf",
            None,
            &[("authorization", "Bearer x")],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
    let r = f
        .req(
            "GET",
            "/restconf",
            None,
            &[("authorization", "Basic !!!")],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn put_post_patch_delete_a_list_entry() {
    let f = fixture().await;
    let uri = format!("{IF}/interface=eth0");
    // PUT creates (201), then replaces (204).
    let r = f
        .send("PUT", &uri, &iface("eth0", r#","description":"one""#))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.header("etag").is_some());
    let r = f
        .send("PUT", &uri, &iface("eth0", r#","enabled":false"#))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = f.get(&uri).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let entry = &v["ietf-interfaces:interface"][0];
    assert_eq!(entry["name"], "eth0");
    assert!(entry.get("description").is_none(), "PUT replaced: {v}");
    // PATCH merges.
    let r = f
        .send(
            "PATCH",
            &uri,
            r#"{"ietf-interfaces:interface":[{"name":"eth0","description":"two"}]}"#,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v = f.get(&format!("{uri}/description")).await.json();
    assert_eq!(v, serde_json::json!({"ietf-interfaces:description": "two"}));
    // POST creates a child with a Location.
    let r = f.send("POST", IF, &iface("eth1", "")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location").unwrap(),
        "https://localhost/restconf/data/ietf-interfaces:interfaces/interface=eth1"
    );
    let r = f.send("POST", IF, &iface("eth1", "")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_tag(), "data-exists");
    // DELETE, then the resource is gone.
    let r = f.req("DELETE", &uri, ADMIN, &[], "").await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = f.get(&uri).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_tag(), "invalid-value");
    let r = f.req("DELETE", &uri, ADMIN, &[], "").await;
    assert_eq!(r.status, 404);
    // The change is visible to the management API.
    let t = f
        .handle
        .get(
            nectar_mgmt::Caller::system(),
            nectar_mgmt::Datastore::Running,
            None,
        )
        .await
        .unwrap();
    let names = nectar_yang::encoding::print_tree(&t, &nectar_yang::encoding::PrintOptions::json())
        .unwrap();
    assert!(names.contains("eth1") && !names.contains("eth0"), "{names}");
}

#[tokio::test]
async fn xml_bodies_and_replies() {
    let f = fixture().await;
    let body = r#"<interface xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><name>x1</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type><enabled>false</enabled></interface>"#;
    let r = f.send_xml("PUT", &format!("{IF}/interface=x1"), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = f.get_xml(&format!("{IF}/interface=x1/enabled")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        r#"<enabled xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">false</enabled>"#
    );
    // Errors come in the request's encoding.
    let r = f.send_xml("PUT", &format!("{IF}/interface=x2"), body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.starts_with(
            r#"<errors xmlns="urn:ietf:params:xml:ns:yang:ietf-restconf"><error><error-type>"#
        ),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn reserved_characters_in_keys_and_multi_key_lists() {
    let f = fixture().await;
    let name = "eth0/1,a b";
    let enc = "eth0%2F1%2Ca%20b";
    let r = f
        .send("PUT", &format!("{IF}/interface={enc}"), &iface(name, ""))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = f.get(&format!("{IF}/interface={enc}/name")).await;
    assert_eq!(r.json()["ietf-interfaces:name"], name);
    // The unencoded comma makes two key values for a one-key list.
    let r = f.get(&format!("{IF}/interface=eth0%2F1,a%20b")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("has 1 keys"), "{}", r.body);
    let r = f.send("POST", IF, &iface("p/q", "")).await;
    assert_eq!(
        r.header("location").unwrap(),
        "https://localhost/restconf/data/ietf-interfaces:interfaces/interface=p%2Fq"
    );

    // ietf-routing's control-plane-protocol has two keys: type, name.
    let cpp = "/restconf/data/ietf-routing:routing/control-plane-protocols";
    let body =
        r#"{"ietf-routing:control-plane-protocol":[{"type":"ietf-routing:static","name":"st,1"}]}"#;
    let r = f.send("POST", cpp, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let loc = r.header("location").unwrap();
    assert!(
        loc.ends_with("/control-plane-protocol=ietf-routing%3Astatic,st%2C1"),
        "{loc}"
    );
    let r = f
        .get(&format!(
            "{cpp}/control-plane-protocol=ietf-routing%3Astatic,st%2C1"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["ietf-routing:control-plane-protocol"][0]["name"],
        "st,1"
    );
    let r = f
        .get(&format!(
            "{cpp}/control-plane-protocol=ietf-routing%3Astatic"
        ))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn error_statuses() {
    let f = fixture().await;
    // Unknown node: 400 with the path error.
    let r = f.get("/restconf/data/ietf-interfaces:nope").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_tag(), "invalid-value");
    // Unknown query parameter, misplaced one.
    assert_eq!(f.get(&format!("{IF}?bogus=1")).await.status, 400);
    assert_eq!(f.get(&format!("{IF}?insert=first")).await.status, 400);
    // 406, 415.
    let r = f
        .req("GET", IF, ADMIN, &[("accept", "text/html")], "")
        .await;
    assert_eq!(r.status, 406);
    let r = f
        .req(
            "PUT",
            &format!("{IF}/interface=a"),
            ADMIN,
            &[("content-type", "text/plain")],
            "x",
        )
        .await;
    assert_eq!(r.status, 415);
    // Malformed body.
    let r = f
        .send("PUT", &format!("{IF}/interface=a"), "{not json")
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Key in the body differs from the URI.
    let r = f
        .send("PUT", &format!("{IF}/interface=a"), &iface("b", ""))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Invalid value: validation fails, nothing changes.
    let r = f
        .send(
            "PUT",
            &format!("{IF}/interface=a"),
            &iface("a", r#","mtu":"x""#),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(f.get(&format!("{IF}/interface=a")).await.status, 404);
    // Methods: DELETE on the datastore, anything on the operational ds.
    let r = f.req("DELETE", "/restconf/data", ADMIN, &[], "").await;
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("PATCH"));
    assert_eq!(r.error_tag(), "operation-not-supported");
    let r = f
        .send(
            "PUT",
            "/restconf/ds/ietf-datastores:operational/ietf-interfaces:interfaces/interface=a",
            &iface("a", ""),
        )
        .await;
    assert_eq!(r.status, 405);
    let r = f.req("GET", "/restconf/nothing", ADMIN, &[], "").await;
    assert_eq!(r.status, 404);
    // PATCH does not create.
    let r = f
        .send("PATCH", &format!("{IF}/interface=zz"), &iface("zz", ""))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Writing a whole list needs keys.
    let r = f
        .send("PUT", &format!("{IF}/interface"), &iface("a", ""))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn options_lists_methods_and_accept_patch() {
    let f = fixture().await;
    let r = f.req("OPTIONS", IF, ADMIN, &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("allow").unwrap(),
        "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
    );
    assert!(
        r.header("accept-patch")
            .unwrap()
            .contains("application/yang-patch+json")
    );
    let r = f
        .req(
            "HEAD",
            "/restconf/data/ietf-yang-library:yang-library",
            ADMIN,
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 100
    );
}

#[tokio::test]
async fn actions_are_invoked_on_their_data_node() {
    let f = fixture().await;
    // ietf-routing's active-route action on a RIB: the RIB must exist.
    let r = f
        .send(
            "POST",
            "/restconf/data/ietf-routing:routing/ribs/rib=nope/active-route",
            r#"{"ietf-routing:input":{}}"#,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = f
        .req(
            "GET",
            "/restconf/data/ietf-routing:routing/ribs/rib=nope/active-route",
            ADMIN,
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").unwrap(), "POST, OPTIONS");
    // Input that does not match the schema is refused before anything runs.
    let r = f
        .send(
            "POST",
            "/restconf/data/ietf-routing:routing/ribs/rib=nope/active-route",
            r#"{"ietf-routing:input":{"bogus":1}}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // An RPC is not a data resource.
    let r = f
        .send("POST", "/restconf/data/nectar-mgmt:rollback", "")
        .await;
    assert_eq!(r.status, 400);
    let r = f.req("OPTIONS", "/restconf", ADMIN, &[], "").await;
    assert_eq!(r.header("allow").unwrap(), "GET, HEAD, OPTIONS");
}

#[tokio::test]
async fn patch_and_put_of_a_single_leaf() {
    let f = fixture().await;
    let e = format!("{IF}/interface=l1");
    assert_eq!(f.send("PUT", &e, &iface("l1", "")).await.status, 201);
    // RFC 8040 §4.6.1: PATCH does not create the target.
    let r = f
        .send(
            "PATCH",
            &format!("{e}/description"),
            r#"{"ietf-interfaces:description":"p1"}"#,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = f
        .send(
            "PUT",
            &format!("{e}/description"),
            r#"{"ietf-interfaces:description":"p1"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = f
        .send(
            "PATCH",
            &format!("{e}/description"),
            r#"{"ietf-interfaces:description":"p1b"}"#,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = f
        .send(
            "PUT",
            &format!("{e}/description"),
            r#"{"ietf-interfaces:description":"p2"}"#,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v = f.get(&format!("{e}/description")).await.json();
    assert_eq!(v["ietf-interfaces:description"], "p2");
    let r = f
        .send_xml(
            "PATCH",
            &format!("{e}/description"),
            r#"<description xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">p3</description>"#,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        f.get(&format!("{e}/description")).await.json()["ietf-interfaces:description"],
        "p3"
    );
}
