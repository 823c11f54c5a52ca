//! Resource limits on the real daemon, each set small in its configuration file and
//! exceeded by real clients (paramiko, Python requests and raw TLS sockets, grpcio):
//! the door's standard error for the one over the limit, the other users served, and the
//! same user served again once it gives something back. Also `--check-config` refusing
//! limits that make no sense.

use std::process::Command;

use nectar_testkit::daemon::{Daemon, Options, bin};
use nectar_testkit::process::curl;
use nectar_testkit::repo::{python, root};

/// Users alice and bob (group ops: NACM's defaults, read only) and admin, with the
/// passwords `<name>-pw`.
const USERS: &str = "[[users]]\nname = \"admin\"\npassword = \"admin-pw\"\ngroups = [\"admin\"]\n\
    [[users]]\nname = \"alice\"\npassword = \"alice-pw\"\ngroups = [\"ops\"]\n\
    [[users]]\nname = \"bob\"\npassword = \"bob-pw\"\ngroups = [\"ops\"]\n";

/// Runs `tests/limits/<script>` with `args`; it must exit 0 and print `marker`.
fn run(d: &Daemon, script: &str, args: &[&str], marker: &str) -> String {
    let out = Command::new(python())
        .arg(root().join("tests/limits").join(script))
        .args(args)
        .env(
            "PYTHONPATH",
            root().join("tests/netconf").to_string_lossy().to_string(),
        )
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains(marker),
        "{script}: {text}\n--- daemon log\n{}",
        d.log()
    );
    text
}

// Input: max_sessions_per_user = 2, max_xml_depth = 16, max_message_bytes = 8192 and a
// replay buffer of 3 notifications; alice asks for a third session, messages 16 and 17
// levels deep, two subscriptions on one session, a replay from the epoch, and bob sends a
// 9 KB message. Output: alice's third session is refused at the SSH subsystem request with
// the reason on stderr and a log line, while bob and alice's other sessions are served and
// alice gets a session again once one ends; 17 levels are malformed-message; the second
// subscription is resource-denied; exactly 3 notifications are replayed; the 9 KB message
// is answered too-big and ends only its own session.
#[test]
fn netconf_limits_hold_for_one_user_and_not_the_others() {
    let d = Daemon::start(Options {
        netconf: "max_sessions_per_user = 2\nmax_xml_depth = 16\nmax_message_bytes = 8192\n".into(),
        extra: format!("{USERS}[notifications]\nreplay_capacity = 3\n"),
        ..Default::default()
    });
    run(
        &d,
        "netconf.py",
        &["127.0.0.1", &d.netconf.to_string()],
        "OK message size",
    );
    let log = d.log();
    assert!(
        log.contains("NETCONF session refused") && log.contains("netconf.max_sessions_per_user"),
        "{log}"
    );
}

// Input: --check-config on files with a per-user bound of 0, a document depth past what
// the parsers take, and a replay buffer of 0. Output: exit 2, each key named.
#[test]
fn check_config_refuses_limits_that_make_no_sense() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        (
            "[netconf]\nmax_sessions_per_user = 0\n",
            "netconf.max_sessions_per_user",
        ),
        (
            "[restconf]\nmax_streams_per_user = 0\n",
            "restconf.max_streams_per_user",
        ),
        (
            "[gnmi]\nmax_subscriptions_per_user = 0\n",
            "gnmi.max_subscriptions_per_user",
        ),
        (
            "[limits]\ndocument_depth = 100000\n",
            "limits.document_depth",
        ),
        (
            "[notifications]\nreplay_capacity = 0\n",
            "notifications.replay_capacity",
        ),
        (
            "[datastore]\nmax_pending_commits = 0\n",
            "datastore.max_pending_commits",
        ),
    ] {
        let file = dir.path().join("nectar.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(bin())
            .arg("--check-config")
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
    }
    // The same keys with sound values are accepted and shown.
    let file = dir.path().join("good.toml");
    std::fs::write(
        &file,
        "[netconf]\nmax_sessions_per_user = 4\n[limits]\ndocument_depth = 50\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("--check-config")
        .arg(&file)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("max_sessions_per_user = 4"), "{shown}");
    assert!(shown.contains("document_depth = 50"), "{shown}");
    assert!(shown.contains("replay_capacity = 10000"), "{shown}");
}

// Input: max_requests = 3 and max_requests_per_user = 2 with uploads that never send
// their body, max_streams_per_user = 1, max_body_bytes = 4096, limits.document_depth = 12.
// Output: alice's third request is 429 resource-denied (Retry-After) while bob is served;
// with three in progress anyone is 503 resource-denied; both are served again once the
// uploads end; alice's second event stream is 429 while bob's is served, and she gets one
// again when hers ends; a 5 KB body is 413 too-big, 3 KB is taken; a body or a fields
// expression 13 levels deep is 400 malformed-message naming the depth.
#[test]
fn restconf_limits_hold_for_one_user_and_not_the_others() {
    let d = Daemon::start(Options {
        restconf: "max_requests = 3\nmax_requests_per_user = 2\nmax_streams_per_user = 1\n\
                   max_body_bytes = 4096\n"
            .into(),
        extra: format!("{USERS}[limits]\ndocument_depth = 12\n"),
        ..Default::default()
    });
    let cert = d.cert();
    run(
        &d,
        "restconf.py",
        &["127.0.0.1", &d.restconf.to_string(), cert.to_str().unwrap()],
        "OK document depth",
    );
}

// Input: max_sessions_per_user = 2 and max_subscriptions_per_user = 2 over TLS, alice
// holding two STREAM subscriptions; max_message_bytes = 65536 and a Set of 70 KB.
// Output: alice's third Subscribe and her Get are RESOURCE_EXHAUSTED naming the bound,
// while bob subscribes and gets; once one of hers ends she gets and subscribes again; the
// large Set is RESOURCE_EXHAUSTED (not tonic's OUT_OF_RANGE) and a small one is taken.
#[test]
fn gnmi_limits_hold_for_one_user_and_not_the_others() {
    let d = Daemon::start(Options {
        gnmi: "max_sessions_per_user = 2\nmax_subscriptions_per_user = 2\n\
               max_message_bytes = 65536\n"
            .into(),
        extra: USERS.into(),
        ..Default::default()
    });
    let cert = d.cert();
    run(
        &d,
        "gnmi.py",
        &["127.0.0.1", &d.gnmi.to_string(), cert.to_str().unwrap()],
        "OK message size",
    );
}

// Input: restconf.max_connections = 2, two idle TCP connections held open, a third one.
// Output: the third is closed by the server at once (a log line says why) while the two
// are kept; once one of them closes, a request over a new connection is served.
#[test]
fn restconf_connections_beyond_the_bound_are_closed_at_once() {
    use std::io::Read as _;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let d = Daemon::start(Options {
        restconf: "max_connections = 2\n".into(),
        extra: USERS.into(),
        ..Default::default()
    });
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], d.restconf));
    // The start-up probe's connections are gone once the server has seen them close.
    std::thread::sleep(Duration::from_millis(300));
    let idle1 = TcpStream::connect(addr).unwrap();
    let _idle2 = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut buf = [0u8; 16];
    let closed = match third.read(&mut buf) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    assert!(closed, "the third connection was kept open\n{}", d.log());
    assert!(d.log().contains("too many connections open"), "{}", d.log());
    drop(idle1);
    let cert = d.cert();
    let url = format!(
        "https://127.0.0.1:{}/restconf/data/ietf-interfaces:interfaces",
        d.restconf
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = curl(
            &["--cacert", cert.to_str().unwrap(), "-u", "alice:alice-pw"],
            &url,
        );
        if code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "{code} {body}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}
