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
    // The steps with their times, for the record (visible with --no-capture).
    eprintln!("{stdout}");
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
            "OK candidate and startup",
            "OK modify stop-time",
            "OK stream with replay and an XPath filter",
            "OK a long replay waits for the receiver",
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

#[test]
fn yang_push_over_restconf_with_requests_and_sse() {
    let d = start(None, "");
    let models = repo::path("yang/models/ietf");
    run(
        &d,
        "tests/restconf/yangpush.py",
        &[
            "127.0.0.1",
            &d.restconf.to_string(),
            &d.cert().to_string_lossy(),
            &d.netconf.to_string(),
            &models.to_string_lossy(),
        ],
        &[
            "OK json on-change with the stream at Location",
            "OK a subscription belongs to its user",
            "OK modify",
            "OK the subscription ends with its stream",
            "OK xml periodic on operational",
            "OK stream with replay",
            "OK kill across doors",
            "OK errors",
            "OK limits",
            "OK yanglint validates json and xml",
        ],
    );
}

/// A veth peer going down: the port's oper-status reaches an on-change
/// subscriber of the operational datastore as a push-change-update, from
/// the dataplane's link event (the subscription's state poll is far longer
/// than the wait, see below).
#[test]
fn a_link_going_down_is_pushed_on_change_from_operational() {
    let Some(t) = Topo::named("yp", &["dp", "pe"]) else {
        return;
    };
    let (dp, peer) = (t.ns("dp"), t.ns("pe"));
    let (d_if, p_if) = (t.dev("nyd"), t.dev("nyp"));
    ip(&[
        "-n", &dp, "link", "add", &d_if, "type", "veth", "peer", "name", &p_if, "netns", &peer,
    ])
    .unwrap();
    ip(&["-n", &dp, "link", "set", "lo", "up"]).unwrap();
    ip(&["-n", &dp, "link", "set", &d_if, "up"]).unwrap();
    ip(&["-n", &peer, "link", "set", &p_if, "up"]).unwrap();
    // State without events is re-read only every 60 s here: a push within
    // the test's time comes from the link event.
    let d = Daemon::start(Options {
        extra: format!(
            "[subscriptions]\nstate_poll_ms = 60000\n{USERS}\
             [dataplane]\nworkers = 1\n[[dataplane.ports]]\nname = \"eth0\"\n\
             driver = \"afpacket\"\nhost_interface = \"{d_if}\"\n"
        ),
        netns: Some(dp.clone()),
        ..Options::default()
    });
    let mut child = Command::new("ip")
        .args(["netns", "exec", &dp])
        .arg(repo::python())
        .arg(repo::path("tests/netconf/yp_oper.py"))
        .args(["127.0.0.1", &d.netconf.to_string(), "admin-pw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut downed = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("ready") && !downed {
            ip(&["-n", &peer, "link", "set", &p_if, "down"]).unwrap();
            downed = true;
        }
    }
    let st = child.wait().unwrap();
    for l in &seen {
        eprintln!("yp_oper.py: {l}");
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        st.success() && seen.iter().any(|l| l.starts_with("ok oper-status down")),
        "{seen:?}\n{err}\n--- nectar\n{}",
        d.log()
    );
}
