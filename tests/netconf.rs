//! NETCONF over SSH on the real daemon: the listener, users and host key of
//! the configuration file, real clients (ncclient, OpenSSH `ssh -s
//! netconf`), NACM with the daemon's users, notifications from the daemon's
//! event bus, and a clean stop on SIGTERM with sessions open. The models are
//! whatever the daemon loads (the tests edit `ietf-netconf-acm`, writable
//! with the management models alone).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{BIN, free_port};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Daemon {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin_key");
    let pubkey = keygen(&key);
    let port = free_port();
    let cfg = dir.path().join("nectar.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"state_dir = "{state}"
[netconf]
listen = "127.0.0.1:{port}"
max_sessions = 32
[metrics]
listen = "127.0.0.1:{m}"
[restconf]
listen = "127.0.0.1:{r}"
[gnmi]
listen = "127.0.0.1:{g}"
[[users]]
name = "admin"
password = "admin-pw"
groups = ["admin"]
ssh_authorized_keys = ["{pubkey}"]
[[users]]
name = "alice"
password = "alice-pw"
groups = ["ops"]
"#,
            state = dir.path().join("state").display(),
            m = free_port(),
            r = free_port(),
            g = free_port(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("nectar.log")).unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(st) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.path().join("nectar.log")).unwrap_or_default();
            panic!("nectar exited early: {st}\n{log}");
        }
        assert!(Instant::now() < deadline, "nectar did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Daemon {
        child,
        port,
        dir,
        key,
    }
}

fn log_of(d: &Daemon) -> String {
    std::fs::read_to_string(d.dir.path().join("nectar.log")).unwrap_or_default()
}

#[test]
fn ncclient_against_the_daemon() {
    let d = start();
    let out = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/netconf/daemon.py"))
        .args(["127.0.0.1", &d.port.to_string()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{text}\n--- daemon log\n{}",
        log_of(&d)
    );
    assert!(text.contains("OK notifications"), "{text}");
}

#[test]
fn openssh_client_with_the_configured_key_and_sigterm_with_a_session_open() {
    let mut d = start();
    let mut child = Command::new("ssh")
        .arg("-i")
        .arg(&d.key)
        .args(["-p", &d.port.to_string()])
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
    let pid = d.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            assert!(
                st.success(),
                "nectar did not stop cleanly: {st}\n{}",
                log_of(&d)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nectar ignored SIGTERM with a NETCONF session open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("<session-id>"), "{text}");
    assert!(
        text.contains("message-id=\"1\"") && text.contains("<username>admin</username>"),
        "{text}"
    );
    assert!(
        log_of(&d).contains("NETCONF session started"),
        "{}",
        log_of(&d)
    );
}
