//! The nectar binary as an operator runs it: embedded default with no config
//! file, a config file whose listeners it honours, a misspelled key that stops
//! start-up with a message naming it, and a clean stop on SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nectar_testkit::daemon::{Daemon, Options, bin};
use nectar_testkit::net::free_port;
use nectar_testkit::process::{sigterm, wait_exit};

/// GET a path over plain HTTP/1.1; returns (status line, body).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

fn wait_for_metrics(addr: SocketAddr, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((status, body)) = http_get(addr, "/metrics") {
            assert!(status.contains("200"), "{status}");
            return body;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("nectar exited early: {st}");
        }
        assert!(Instant::now() < deadline, "nectar did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate(child: &mut Child) {
    // SIGTERM, as a container runtime sends it.
    assert!(sigterm(child));
    let st = wait_exit(child, Duration::from_secs(20)).expect("nectar ignored SIGTERM");
    assert!(st.success(), "nectar did not stop cleanly on SIGTERM: {st}");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn config_file_listeners_are_honoured_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("nectar.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n[netconf]\nlisten = \"127.0.0.1:{}\"\n\
             [restconf]\nlisten = \"127.0.0.1:{}\"\n[gnmi]\nlisten = \"127.0.0.1:{}\"\n",
            dir.path().join("state").display(),
            free_port(),
            free_port(),
            free_port()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = wait_for_metrics(SocketAddr::from(([127, 0, 0, 1], port)), &mut child);
    assert!(body.contains("nectar_build_info{version=\""), "{body}");
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
    terminate(&mut child);

    // First run made the credentials; the admin password is random, private,
    // and kept across restarts.
    let state = dir.path().join("state");
    let pw = std::fs::read_to_string(state.join("initial-admin-password")).unwrap();
    assert!(pw.trim().len() >= 20, "{pw:?}");
    assert_eq!(mode(&state.join("initial-admin-password")), 0o600);
    assert_eq!(mode(&state), 0o700);
    assert!(state.join("ssh_host_ed25519_key").exists());
    assert!(state.join("tls/cert.pem").exists());

    let mut child = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_metrics(SocketAddr::from(([127, 0, 0, 1], port)), &mut child);
    terminate(&mut child);
    assert_eq!(
        std::fs::read_to_string(state.join("initial-admin-password")).unwrap(),
        pw
    );
}

#[test]
fn misspelled_key_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[netconf]\nlisen = \"127.0.0.1:8830\"\n").unwrap();
    let out = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("netconf.lisen"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    // Nothing was created.
    assert!(!dir.path().join("nectar-state").exists());
}

#[test]
fn bad_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[metrics]\nlisten = \"not-an-address\"\n").unwrap();
    let out = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.listen"), "{err}");
}

#[test]
fn embedded_default_runs_without_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded default listens on 127.0.0.1:9464 for metrics.
    let mut child = Command::new(bin())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = wait_for_metrics(SocketAddr::from(([127, 0, 0, 1], 9464)), &mut child);
    assert!(body.contains("nectar_build_info"));
    terminate(&mut child);
    let state = dir.path().join("nectar-state");
    assert!(state.join("initial-admin-password").exists());
    assert!(state.join("running.journal").exists());
}

#[test]
fn help_lists_the_config_option() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--config"));
}

fn if_index(d: &Daemon, name: &str) -> u64 {
    let (code, body) = d.restconf(
        "GET",
        &format!(
            "/restconf/ds/ietf-datastores:operational/ietf-interfaces:interfaces/interface={name}/if-index"
        ),
        None,
    );
    assert_eq!(code, 200, "{body}\n{}", d.log());
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["ietf-interfaces:if-index"].as_u64().unwrap()
}

fn add_loopback(d: &Daemon, name: &str) {
    let body = format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:softwareLoopback"}}]}}}}"#
    );
    let (code, out) = d.restconf(
        "PATCH",
        "/restconf/data/ietf-interfaces:interfaces",
        Some(&body),
    );
    assert_eq!(code, 204, "{out}\n{}", d.log());
}

// Input: loopbacks lo-z then lo-a committed in two commits; the daemon
// killed with SIGKILL and started again on the same state, then stopped with
// SIGTERM and started again; then lo-z deleted and lo-b created.
// Output: lo-z and lo-a keep their if-index across both restarts (RFC 2863
// §3.1.5; issue 17, defect 2), and lo-b does not get lo-z's old index.
#[test]
fn if_index_is_kept_across_kill_and_restart() {
    let keep = tempfile::tempdir().unwrap();
    let start = || Daemon::start_on(Options::default(), Some(keep.path().join("state")));
    let mut d = start();
    add_loopback(&d, "lo-z");
    add_loopback(&d, "lo-a");
    let (z, a) = (if_index(&d, "lo-z"), if_index(&d, "lo-a"));
    assert!(z < a, "{z} {a}");
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    drop(d);
    let d = start();
    assert_eq!(
        (if_index(&d, "lo-z"), if_index(&d, "lo-a")),
        (z, a),
        "after SIGKILL"
    );
    drop(d);
    let d = start();
    assert_eq!(
        (if_index(&d, "lo-z"), if_index(&d, "lo-a")),
        (z, a),
        "after SIGTERM"
    );
    let (code, out) = d.restconf(
        "DELETE",
        "/restconf/data/ietf-interfaces:interfaces/interface=lo-z",
        None,
    );
    assert_eq!(code, 204, "{out}");
    add_loopback(&d, "lo-b");
    let b = if_index(&d, "lo-b");
    assert!(b != z && b != a, "lo-b got {b}");
}
