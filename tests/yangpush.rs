//! YANG-Push (RFC 8639, 8641) on the real daemon: NETCONF (RFC 8640) with
//! ncclient and a raw session, RESTCONF (RFC 8650) with Python requests and
//! an SSE reader, and an on-change push of a dataplane link going down.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns::{Topo, ip};
use nectar_testkit::repo;

const USERS: &str = r#"[[users]]
name = "admin"
password = "admin-pw"
groups = ["admin"]
[[users]]
name = "alice"
password = "alice-pw"
groups = ["ops"]
"#;

/// A daemon with small subscription limits, so that the tests reach them.
fn start(netns: Option<&str>, dataplane: &str) -> Daemon {
    Daemon::start(Options {
        extra: format!(
            "[subscriptions]\nmax_per_session = 4\nqueue = 8\nmin_period_ms = 10\n\
             state_poll_ms = 200\n{USERS}{dataplane}"
        ),
        netns: netns.map(str::to_string),
        ..Options::default()
    })
}

fn run(d: &Daemon, script: &str, args: &[&str], expect: &[&str]) {
    let out = Command::new(repo::python())
        .arg(repo::path(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- nectar\n{}",
        d.log()
    );
    for e in expect {
        assert!(stdout.contains(e), "missing {e:?}\n{stdout}");
    }
}

#[test]
fn yang_push_over_netconf_with_ncclient() {
    let d = start(None, "");
    let models = repo::path("yang/models/ietf");
    run(
        &d,
        "tests/netconf/yangpush.py",
        &[
            "127.0.0.1",
            &d.netconf.to_string(),
            &models.to_string_lossy(),
        ],
        &[
            "OK periodic with anchor-time",
            "OK modify period",
            "OK modify filter",
            "OK delete",
            "OK on-change with dampening and sync-on-start",
            "OK resync",
            "OK kill from a second session",
            "OK excluded-change",
            "OK modify stop-time",
            "OK stream with replay and an XPath filter",
            "OK stream with a subtree filter",
            "OK named filter",
            "OK NACM filters pushes",
            "OK errors",
            "OK limits",
            "OK subscriptions and streams state",
            "OK slow receiver suspended and resumed",
            "OK yanglint validates the notifications",
        ],
    );
}
