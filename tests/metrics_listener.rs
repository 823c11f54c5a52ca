//! The metrics listener as Kubernetes and Prometheus see it, with curl and promtool:
//! `/readyz` answers 503 with its reason while a large stored running is replayed into the
//! dataplane at start-up and 200 once every door serves; `/healthz` answers throughout;
//! `/metrics` over TLS (the RESTCONF certificate handling) with HTTP Basic authentication
//! against nectar's users, restricted to a scrape group.

use std::process::Command;
use std::time::{Duration, Instant};

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::process::curl;
use nectar_testkit::prom::promtool_check;

/// Loopback interfaces with an address each: enough configuration that replaying it into
/// the dataplane at start-up takes a noticeable time.
const INTERFACES: usize = 3000;

fn large_interfaces() -> String {
    let interfaces: Vec<String> = (0..INTERFACES)
        .map(|i| {
            format!(
                r#"{{"name":"lo{i}","type":"iana-if-type:softwareLoopback","ietf-ip:ipv4":{{"address":[{{"ip":"10.{}.{}.1","prefix-length":32}}]}}}}"#,
                i / 250,
                i % 250
            )
        })
        .collect();
    format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{}]}}}}"#,
        interfaces.join(",")
    )
}

// Input: a daemon whose stored running holds 3000 interfaces is restarted on the same state
// directory. Output: while it replays them, /readyz is 503 with a JSON reason naming the
// datastore and /healthz is 200; then /readyz is 200 ("ready") and RESTCONF shows the
// interfaces.
#[test]
fn readyz_is_503_while_the_stored_running_replays_then_200() {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("state");
    {
        let d = Daemon::start_on(Options::default(), Some(state_dir.clone()));
        let (code, body) = curl(&[], &format!("http://127.0.0.1:{}/readyz", d.metrics));
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "ready", "{body}");
        let file = d.dir.path().join("big.json");
        std::fs::write(&file, large_interfaces()).unwrap();
        let (code, body) = curl(
            &[
                "--cacert",
                d.cert().to_str().unwrap(),
                "-u",
                &format!("admin:{}", d.password()),
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/yang-data+json",
                "--data-binary",
                &format!("@{}", file.display()),
            ],
            &format!(
                "https://127.0.0.1:{}/restconf/data/ietf-interfaces:interfaces",
                d.restconf
            ),
        );
        assert_eq!(code, 204, "{body}");
    } // SIGTERM

    // A second daemon on the same state directory, watched from its first moments.
    let mut n = Daemon::spawn(Options::default(), Some(state_dir.clone()));
    let (restconf, metrics) = (n.restconf, n.metrics);
    let readyz = format!("http://127.0.0.1:{metrics}/readyz");
    let healthz = format!("http://127.0.0.1:{metrics}/healthz");
    let mut not_ready = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready_body = loop {
        assert!(
            n.child.try_wait().unwrap().is_none(),
            "nectar exited: {}",
            n.log()
        );
        assert!(Instant::now() < deadline, "never ready: {not_ready:?}");
        let (code, body) = curl(&["--max-time", "2"], &readyz);
        match code {
            0 => {} // not listening yet
            200 => break body,
            503 => {
                if not_ready.is_empty() {
                    // Alive while it loads.
                    let (hc, hb) = curl(&[], &healthz);
                    assert_eq!(hc, 200, "{hb}");
                }
                not_ready.push(body);
            }
            other => panic!("/readyz answered {other}: {body}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !not_ready.is_empty(),
        "/readyz was never 503 during the replay of {INTERFACES} interfaces"
    );
    let first: serde_json::Value = serde_json::from_str(&not_ready[0]).unwrap();
    assert_eq!(first["status"], "not-ready", "{first}");
    assert!(
        first["reason"].as_str().unwrap().contains("datastore"),
        "{first}"
    );
    let ready: serde_json::Value = serde_json::from_str(&ready_body).unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    // Ready means every door serves: RESTCONF answers with the replayed configuration.
    let password = std::fs::read_to_string(state_dir.join("initial-admin-password")).unwrap();
    let (code, body) = curl(
        &[
            "--cacert",
            state_dir.join("tls/cert.pem").to_str().unwrap(),
            "-u",
            &format!("admin:{}", password.trim()),
        ],
        &format!(
            "https://127.0.0.1:{restconf}/restconf/data/ietf-interfaces:interfaces/interface=lo2999"
        ),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("10.11.249.1"), "{body}");
}

// Input: [metrics] tls = true, scrape_group = "monitoring"; users prom (monitoring), op (no
// group), admin. Output: over HTTPS (verified against the daemon's certificate) a scrape
// without or with wrong credentials is 401 with a Basic challenge, op's is 403, prom's and
// admin's are 200 and pass promtool; the probes need no credentials; plain HTTP is refused.
#[test]
fn metrics_over_tls_with_basic_auth_for_the_scrape_group() {
    let n = Daemon::spawn(
        Options {
            metrics: "tls = true\nscrape_group = \"monitoring\"".into(),
            extra: "[[users]]\nname = \"admin\"\npassword = \"admin-secret-1\"\ngroups = [\"admin\"]\n\
                    [[users]]\nname = \"prom\"\npassword = \"scrape-secret-2\"\ngroups = [\"monitoring\"]\n\
                    [[users]]\nname = \"op\"\npassword = \"op-secret-3\"\n"
                .into(),
            ..Options::default()
        },
        None,
    );
    let cert = n.cert();
    let ca = ["--cacert", cert.to_str().unwrap()];
    let url = |p: &str| format!("https://127.0.0.1:{}{p}", n.metrics);
    let with = |user: &'static str| {
        let mut a = ca.to_vec();
        a.extend(["-u", user]);
        a
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while curl(&ca, &url("/readyz")).0 != 200 {
        assert!(Instant::now() < deadline, "not ready: {}", n.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Without credentials: 401 and a Basic challenge.
    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null"])
        .args(ca)
        .arg(url("/metrics"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/2 401"), "{head}\n{}", n.log());
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"nectar metrics\""),
        "{head}"
    );
    assert_eq!(curl(&with("prom:wrong"), &url("/metrics")).0, 401);
    assert_eq!(
        curl(&with("nobody:scrape-secret-2"), &url("/metrics")).0,
        401
    );
    assert_eq!(curl(&with("op:op-secret-3"), &url("/metrics")).0, 403);

    let (code, body) = curl(&with("prom:scrape-secret-2"), &url("/metrics"));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("nectar_build_info"), "{body}");
    promtool_check(&body);
    let (code, body) = curl(&with("admin:admin-secret-1"), &url("/metrics"));
    assert_eq!(code, 200, "{body}");

    // Probes need no credentials.
    for p in ["/healthz", "/readyz"] {
        let (code, body) = curl(&ca, &url(p));
        assert_eq!(code, 200, "{p}: {body}");
    }
    // TLS only: a plain HTTP request gets no HTTP answer.
    let (code, _) = curl(&[], &format!("http://127.0.0.1:{}/metrics", n.metrics));
    assert_ne!(code, 200);
}
