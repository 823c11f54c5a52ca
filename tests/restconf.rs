//! RESTCONF against the running daemon with real clients over TLS, the
//! daemon's generated self-signed certificate as the CA: curl (HTTP/2 and
//! HTTP/1.1, JSON and XML, errors), and Python requests + sseclient-py +
//! ncclient + yanglint (tests/restconf/interop.py: every method, query
//! parameters, YANG Patch, operations, ETags, the event stream, and changes
//! crossing between RESTCONF and NETCONF).

use std::process::{Command, Output, Stdio};

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::repo;

fn url(d: &Daemon, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", d.restconf)
}

/// curl with the CA and credentials; returns (status, HTTP version, body).
fn curl(d: &Daemon, args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(d.cert())
        .args(["-u", &format!("admin:{}", d.password())])
        .args(["-w", "\n%{http_code} %{http_version}"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {args:?}: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, tail) = text.rsplit_once('\n').unwrap();
    let (code, version) = tail.split_once(' ').unwrap();
    (code.parse().unwrap(), version.to_string(), body.to_string())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn start() -> Daemon {
    Daemon::start(Options::default())
}

#[test]
fn curl_over_tls_with_http2_and_http11() {
    let d = start();
    // The server offers HTTP/2 by ALPN; curl verifies the certificate.
    let (code, version, body) = curl(&d, &["--http2", &url(&d, "/restconf")]);
    assert_eq!((code, version.as_str()), (200, "2"), "{body}\n{}", d.log());
    assert!(
        body.contains("\"yang-library-version\":\"2019-01-04\""),
        "{body}"
    );
    let (code, version, _) = curl(&d, &["--http1.1", &url(&d, "/restconf")]);
    assert_eq!((code, version.as_str()), (200, "1.1"));

    let nacm = url(&d, "/restconf/data/ietf-netconf-acm:nacm");
    let body = r#"{"ietf-netconf-acm:rule-list":[{"name":"curl-1","group":["g"]}]}"#;
    let (code, _, out) = curl(
        &d,
        &[
            "--http2",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/yang-data+json",
            "-d",
            body,
            &nacm,
        ],
    );
    assert_eq!(code, 201, "{out}");
    let (code, _, out) = curl(
        &d,
        &[
            "-H",
            "Accept: application/yang-data+xml",
            &format!("{nacm}/rule-list=curl-1"),
        ],
    );
    assert_eq!(code, 200);
    assert_eq!(
        out,
        r#"<rule-list xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><name>curl-1</name><group>g</group></rule-list>"#
    );
    let (code, _, out) = curl(&d, &["-X", "DELETE", &format!("{nacm}/rule-list=curl-1")]);
    assert_eq!(code, 204, "{out}");
    let (code, _, out) = curl(&d, &[&format!("{nacm}/rule-list=curl-1")]);
    assert_eq!(code, 404);
    assert!(out.contains("\"error-tag\":\"invalid-value\""), "{out}");

    // Without credentials: 401 and a Basic challenge; a wrong certificate
    // authority fails the handshake.
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(d.cert())
        .arg(url(&d, "/restconf/data"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null"])
        .arg(url(&d, "/restconf"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown CA must be refused");
}

#[test]
fn python_requests_sse_netconf_and_yanglint() {
    let d = start();
    let out = Command::new(repo::python())
        .arg(repo::path("tests/restconf/interop.py"))
        .args(["127.0.0.1", &d.restconf.to_string(), "admin", &d.password()])
        .arg(d.cert())
        .arg(d.netconf.to_string())
        .arg(repo::path("yang/models/ietf"))
        .arg(repo::path("yang/modules"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "interop.py failed:\n{}\n{}\n--- daemon log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out),
        d.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restconf interop: ok"));
}

// Input: over one keep-alive TLS connection, 300 mutated requests (URIs with odd
// percent-encoding and keys, query parameters, headers, JSON/XML/YANG-Patch bodies) and
// hand-made attacks (deep fields, huge keys and bodies, duplicate keys, entities), with a
// bystander keep-alive connection sending a well-formed GET after each.
// Output: no 5xx; the bystander's connection is never dropped and always answered;
// running is unchanged at the end.
#[test]
fn hostile_requests_never_get_a_5xx_and_leave_a_bystander_connection_alone() {
    let d = start();
    let out = Command::new(repo::python())
        .arg(repo::path("tests/restconf/barrage.py"))
        .args(["127.0.0.1", &d.restconf.to_string(), "admin", &d.password()])
        .arg(d.cert())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("OK running unchanged"),
        "{text}\n--- daemon log\n{}",
        d.log()
    );
}

/// A list entry whose key is longer than 4 KiB is created, read, reported in
/// an error and deleted like any other: its path is never cut (yang2's node
/// path stops at 4 KiB, which made the entry's path a different, malformed
/// one: "Predicate missing" for a valid create).
#[test]
fn a_key_longer_than_four_kib_keeps_its_whole_path() {
    let d = start();
    let name = "k".repeat(5000);
    let list = url(&d, "/restconf/data/ietf-interfaces:interfaces");
    let entry = format!("{list}/interface={name}");
    let body = format!(
        r#"{{"ietf-interfaces:interface":[{{"name":"{name}","type":"iana-if-type:softwareLoopback","description":"long"}}]}}"#
    );
    let post = [
        "-X",
        "POST",
        "-H",
        "Content-Type: application/yang-data+json",
        "-d",
        &body,
        &list,
    ];
    let (code, _, out) = curl(&d, &post);
    assert_eq!(code, 201, "{out}");
    let (code, _, out) = curl(&d, &[&format!("{entry}/description")]);
    assert_eq!(
        (code, out.as_str()),
        (200, r#"{"ietf-interfaces:description":"long"}"#)
    );
    // The same create again: data-exists, naming the entry whole.
    let (code, _, out) = curl(&d, &post);
    assert_eq!(code, 409, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = &v["ietf-restconf:errors"]["error"][0];
    assert_eq!(e["error-tag"], "data-exists", "{out}");
    assert_eq!(
        e["error-path"],
        format!("/ietf-interfaces:interfaces/interface[name='{name}']"),
    );
    let (code, _, out) = curl(&d, &["-X", "DELETE", &entry]);
    assert_eq!(code, 204, "{out}");
    let (code, _, _) = curl(&d, &[&entry]);
    assert_eq!(code, 404);
}
