//! NETCONF over SSH on the real daemon: the listener, users and host key of
//! the configuration file, real clients (ncclient, OpenSSH `ssh -s
//! netconf`), NACM with the daemon's users, notifications from the daemon's
//! event bus, and a clean stop on SIGTERM with sessions open. The models are
//! whatever the daemon loads (the tests edit `ietf-netconf-acm`, writable
//! with the management models alone).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::process::{sigterm, wait_exit};
use nectar_testkit::{repo, ssh};

/// The daemon with users admin (a password and an SSH key) and alice, at most 32 NETCONF
/// sessions.
struct Server {
    d: Daemon,
    /// admin's private key.
    key: PathBuf,
    _keys: tempfile::TempDir,
}

fn start() -> Server {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("admin_key");
    let pubkey = ssh::keygen(&key);
    let d = Daemon::start(Options {
        netconf: "max_sessions = 32".into(),
        extra: format!(
            r#"[[users]]
name = "admin"
password = "admin-pw"
groups = ["admin"]
ssh_authorized_keys = ["{pubkey}"]
[[users]]
name = "alice"
password = "alice-pw"
groups = ["ops"]
"#
        ),
        ..Options::default()
    });
    Server {
        d,
        key,
        _keys: keys,
    }
}

#[test]
fn ncclient_against_the_daemon() {
    let Server { d, .. } = start();
    let out = Command::new(repo::python())
        .arg(repo::path("tests/netconf/daemon.py"))
        .args(["127.0.0.1", &d.netconf.to_string()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n--- daemon log\n{}", d.log());
    assert!(text.contains("OK notifications"), "{text}");
}

#[test]
fn openssh_client_with_the_configured_key_and_sigterm_with_a_session_open() {
    let Server { mut d, key, _keys } = start();
    let mut child = Command::new("ssh")
        .arg("-i")
        .arg(&key)
        .args(["-p", &d.netconf.to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-s",
            "admin@127.0.0.1",
            "netconf",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>\
<rpc xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\" message-id=\"1\"><get>\
<filter type=\"subtree\"><netconf-state xmlns=\"urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring\"><sessions/></netconf-state></filter>\
</get></rpc>]]>]]>",
        )
        .unwrap();
    // The session stays open: the daemon stops cleanly anyway.
    std::thread::sleep(Duration::from_secs(2));
    assert!(sigterm(&d.child));
    let st = wait_exit(&mut d.child, Duration::from_secs(20))
        .expect("nectar ignored SIGTERM with a NETCONF session open");
    assert!(
        st.success(),
        "nectar did not stop cleanly: {st}\n{}",
        d.log()
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("<session-id>"), "{text}");
    assert!(
        text.contains("message-id=\"1\"") && text.contains("<username>admin</username>"),
        "{text}"
    );
    assert!(d.log().contains("NETCONF session started"), "{}", d.log());
}
