//! The daemon as the end-to-end tests start it: every listener on a free
//! port (the default ports belong to the embedded-default test), a temporary
//! state directory, the log in a file, SIGTERM on drop.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_nectar");

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How to start the daemon.
#[derive(Debug, Default)]
pub struct Options {
    /// TOML appended to the generated configuration (must not repeat the
    /// listener tables).
    pub extra: String,
    /// Run it inside this network namespace.
    pub netns: Option<String>,
    /// `[gnmi] tls = false` (plaintext gRPC) when set.
    pub gnmi_plaintext: bool,
    /// Keys added to the generated `[netconf]`, `[restconf]` and `[gnmi]` tables (one
    /// `key = value` a line), which `extra` cannot reopen.
    pub netconf: String,
    pub restconf: String,
    pub gnmi: String,
}

/// A running nectar.
#[derive(Debug)]
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub state_dir: PathBuf,
    pub netconf: u16,
    pub restconf: u16,
    pub gnmi: u16,
    pub metrics: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts nectar and waits until every door serves.
    pub fn start(opts: Options) -> Daemon {
        Daemon::start_on(opts, None)
    }

    /// [`Daemon::start`] on the state directory `state_dir` (kept after the daemon stops,
    /// e.g. to start another one on it) instead of one in the daemon's temporary directory.
    pub fn start_on(opts: Options, state_dir: Option<PathBuf>) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let (netconf, restconf, gnmi, metrics) =
            (free_port(), free_port(), free_port(), free_port());
        let cfg = dir.path().join("nectar.toml");
        let state_dir = state_dir.unwrap_or_else(|| dir.path().join("state"));
        std::fs::write(
            &cfg,
            format!(
                "state_dir = \"{}\"\n[netconf]\nlisten = \"127.0.0.1:{netconf}\"\n{}\n\
                 [restconf]\nlisten = \"127.0.0.1:{restconf}\"\n{}\n\
                 [metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\
                 [gnmi]\nlisten = \"127.0.0.1:{gnmi}\"\ntls = {}\n{}\n{}",
                state_dir.display(),
                opts.netconf,
                opts.restconf,
                !opts.gnmi_plaintext,
                opts.gnmi,
                opts.extra,
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("nectar.log")).unwrap();
        let mut cmd = match &opts.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        let child = cmd
            .arg("--config")
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child,
            dir,
            state_dir,
            netconf,
            restconf,
            gnmi,
            metrics,
        };
        let ports = [netconf, restconf, gnmi, metrics];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = match opts.netns {
                None => ports.iter().all(|p| {
                    let addr = SocketAddr::from(([127, 0, 0, 1], *p));
                    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                }),
                // Inside a namespace its loopback is not ours: the log tells.
                Some(_) => {
                    let log = d.log();
                    ["netconf: serving", "restconf: serving", "gnmi: serving"]
                        .iter()
                        .all(|l| log.contains(l))
                }
            };
            // Without [[users]] the admin password is generated on first run.
            let users = opts.extra.contains("[[users]]");
            if up && (users || d.state().join("initial-admin-password").exists()) {
                return d;
            }
            if let Some(st) = d.child.try_wait().unwrap() {
                panic!("nectar exited early: {st}\n{}", d.log());
            }
            assert!(
                Instant::now() < deadline,
                "nectar did not start serving\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn state(&self) -> PathBuf {
        self.state_dir.clone()
    }

    /// The generated certificate, the CA for RESTCONF and gNMI clients.
    pub fn cert(&self) -> PathBuf {
        self.state().join("tls/cert.pem")
    }

    /// The generated admin password.
    pub fn password(&self) -> String {
        std::fs::read_to_string(self.state().join("initial-admin-password"))
            .unwrap()
            .trim()
            .to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nectar.log")).unwrap_or_default()
    }
}

/// curl; returns (status, body). `args` come before the URL (a later `--max-time` wins).
pub fn curl(args: &[&str], url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "15", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// `promtool check metrics` on a scrape: no problem reported.
pub fn promtool_check(body: &str) {
    use std::io::Write as _;
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is installed");
    p.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "promtool check metrics: {text}"
    );
}
