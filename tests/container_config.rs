//! The daemon configured the way a container is: secrets from mounted files (a password hash,
//! a TLS certificate and key, an SSH host key), JSON logs, SIGTERM, `--check-config FILE`,
//! and a non-root user without capabilities (pg ports). Real clients: curl, ssh-keyscan.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nectar_testkit::daemon::{bin, hash_password};
use nectar_testkit::net::free_port;
use nectar_testkit::process::{run, wait_exit};
use nectar_testkit::{env, ssh, tls};

struct Ports {
    netconf: u16,
    restconf: u16,
    gnmi: u16,
    metrics: u16,
}

fn listeners() -> (Ports, String) {
    let p = Ports {
        netconf: free_port(),
        restconf: free_port(),
        gnmi: free_port(),
        metrics: free_port(),
    };
    let toml = format!(
        "[netconf]\nlisten = \"127.0.0.1:{}\"\n{{NETCONF}}\
         [restconf]\nlisten = \"127.0.0.1:{}\"\n\
         [gnmi]\nlisten = \"127.0.0.1:{}\"\n\
         [metrics]\nlisten = \"127.0.0.1:{}\"\n",
        p.netconf, p.restconf, p.gnmi, p.metrics
    );
    (p, toml)
}

fn wait_ready(child: &mut std::process::Child, metrics: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "nectar exited ({st}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{metrics}/readyz"))
            .output()
            .unwrap();
        if out.stdout == b"200" {
            return;
        }
        assert!(Instant::now() < deadline, "nectar not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM; the daemon must exit within `within`.
fn sigterm(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    wait_exit(child, within).expect("nectar still running after SIGTERM")
}

// Input: users, TLS and the SSH host key only as files (mode 0400, as a Secret volume
// mounts them), --log-format json. Output: RESTCONF over the given certificate accepts the
// password whose hash is in the file; ssh-keyscan sees the given host key; every log line
// is a JSON object; SIGTERM ends it with status 0 within a few seconds.
#[test]
fn secrets_from_files_json_logs_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::write(
        secrets.join("ops.hash"),
        format!("{}\n", hash_password(bin(), "file-pass-42")),
    )
    .unwrap();
    tls::self_signed(&secrets.join("tls.crt"), &secrets.join("tls.key"));
    ssh::keygen(&secrets.join("ssh_host_key"));
    for f in ["ops.hash", "tls.key", "tls.crt", "ssh_host_key"] {
        run(Command::new("chmod").arg("0400").arg(secrets.join(f)));
    }
    let (ports, toml) = listeners();
    let toml = toml.replace(
        "{NETCONF}",
        &format!(
            "host_key_file = \"{}\"\n",
            secrets.join("ssh_host_key").display()
        ),
    );
    let cfg = dir.path().join("nectar.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n{toml}\
             [tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n\
             [[users]]\nname = \"ops\"\ngroups = [\"admin\"]\npassword_hash_file = \"{}\"\n",
            dir.path().join("state").display(),
            secrets.join("tls.crt").display(),
            secrets.join("tls.key").display(),
            secrets.join("ops.hash").display(),
        ),
    )
    .unwrap();
    // --check-config FILE accepts it.
    let shown = run(Command::new(bin()).arg("--check-config").arg(&cfg));
    assert!(shown.contains("password_hash_file"), "{shown}");

    let log = dir.path().join("nectar.log");
    let mut child = Command::new(bin())
        .args(["--log-format", "json", "--config"])
        .arg(&cfg)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&mut child, ports.metrics, &log);

    let url = format!(
        "https://127.0.0.1:{}/restconf/data/ietf-interfaces:interfaces",
        ports.restconf
    );
    let code = |user: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(secrets.join("tls.crt"))
            .args(["-u", user, &url])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(code("ops:file-pass-42"), "200");
    assert_eq!(code("ops:wrong"), "401");

    let scanned = run(Command::new("ssh-keyscan")
        .args([
            "-t",
            "ed25519",
            "-p",
            &ports.netconf.to_string(),
            "127.0.0.1",
        ])
        .stderr(Stdio::null()));
    let public = std::fs::read_to_string(secrets.join("ssh_host_key.pub")).unwrap();
    let key_b64 = public.split_whitespace().nth(1).unwrap();
    assert!(scanned.contains(key_b64), "{scanned} vs {public}");

    let status = sigterm(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 5, "{text}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(
            !line.contains("file-pass-42"),
            "password in the log: {line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("\"message\":\"stopped\"")),
        "{text}"
    );
}

// Input: --check-config on a file whose secret files do not exist here, and on a bad one.
// Output: the first is valid (exit 0: files are read where the daemon runs); the second
// exits 2 naming the key.
#[test]
fn check_config_takes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[tls]\ncert_file = \"/etc/nectar/tls/tls.crt\"\nkey_file = \"/etc/nectar/tls/tls.key\"\n\
         [[users]]\nname = \"ops\"\npassword_hash_file = \"/etc/nectar/users/ops\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("--check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[tls]\ncert_file = \"/etc/nectar/tls/tls.crt\"\n").unwrap();
    let out = Command::new(bin())
        .arg("--check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls.key_file"), "{err}");
}

// Input: the daemon started as an unprivileged user (uid/gid 65534, no capabilities, the
// state directory its own) with its default pg port. Output: every door serves and /readyz
// is 200. Needs root to drop to that user: skipped without it, failed in CI.
#[test]
fn runs_as_a_non_root_user_without_capabilities() {
    if !env::root_or_skip("to switch to an unprivileged user") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("chmod").arg("0755").arg(dir.path()));
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    run(Command::new("chown").arg("65534:65534").arg(&state));
    let (ports, toml) = listeners();
    let cfg = dir.path().join("nectar.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n{}",
            state.display(),
            toml.replace("{NETCONF}", "")
        ),
    )
    .unwrap();
    run(Command::new("chmod").arg("0644").arg(&cfg));
    let log = dir.path().join("nectar.log");
    // The binary must be reachable by the unprivileged user: a checkout under a private
    // home directory is not, then a copy in the (world-readable) test directory is run.
    let reachable = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "test",
            "-x",
        ])
        .arg(bin())
        .status()
        .unwrap()
        .success();
    let bin = if reachable {
        bin().to_path_buf()
    } else {
        let copy = dir.path().join("nectar");
        std::fs::copy(bin(), &copy).unwrap();
        copy
    };
    let mut child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ])
        .arg(&bin)
        .arg("--config")
        .arg(&cfg)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    wait_ready(&mut child, ports.metrics, &log);
    let status = Command::new("grep")
        .args(["-E", "^(Uid|CapEff):"])
        .arg(format!("/proc/{}/status", child.id()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("65534"), "{text}");
    assert!(text.contains("CapEff:\t0000000000000000"), "{text}");
    assert!(state.join("initial-admin-password").exists());
    assert!(sigterm(&mut child, Duration::from_secs(20)).success());
}
