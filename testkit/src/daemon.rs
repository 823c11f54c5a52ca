//! The `nectar` binary as the end-to-end tests start it: every listener on a free port (the
//! default ports belong to the embedded-default test), a temporary state directory, the log
//! in a file, SIGTERM on drop. For the tests of the root package, where cargo builds the
//! binary.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::net::free_port;
use crate::process;

/// The `nectar` binary of this build: `CARGO_BIN_EXE_nectar` where cargo or nextest set it
/// for the test at run time, otherwise `nectar` beside the test's own `deps/` folder.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = ["CARGO_BIN_EXE_nectar", "NEXTEST_BIN_EXE_nectar"]
            .iter()
            .find_map(std::env::var_os)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let exe = std::env::current_exe().unwrap();
                let dir = exe.parent().unwrap();
                let dir = if dir.ends_with("deps") {
                    dir.parent().unwrap()
                } else {
                    dir
                };
                dir.join("nectar")
            });
        assert!(
            bin.is_file(),
            "{} is missing: the daemon tests run from the root package (cargo builds the binary for its tests)",
            bin.display()
        );
        bin
    })
}

/// `nectar --hash-password` (binary `bin`) on `password`: the argon2 hash a users file holds.
pub fn hash_password(bin: &Path, password: &str) -> String {
    let mut p = Command::new(bin)
        .arg("--hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(p.stdin.take().unwrap(), "{password}").unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// How to start the daemon.
#[derive(Debug, Default)]
pub struct Options {
    /// TOML appended to the generated configuration (must not repeat the listener tables).
    pub extra: String,
    /// Lines added to the `[netconf]` table (after `listen`).
    pub netconf: String,
    /// Lines added to the `[restconf]` table (after `listen`).
    pub restconf: String,
    /// Lines added to the `[metrics]` table (after `listen`).
    pub metrics: String,
    /// Lines added to the `[gnmi]` table (after `listen` and `tls`).
    pub gnmi: String,
    /// Run it inside this network namespace.
    pub netns: Option<String>,
    /// `[gnmi] tls = false` (plaintext gRPC) when set.
    pub gnmi_plaintext: bool,
}

/// A running nectar; stopped (SIGTERM, then SIGKILL after 10 s) on drop.
#[derive(Debug)]
pub struct Daemon {
    /// The process (or `ip netns exec` running it).
    pub child: Child,
    /// Its temporary directory: configuration, log, state unless given.
    pub dir: tempfile::TempDir,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The NETCONF port.
    pub netconf: u16,
    /// The RESTCONF port.
    pub restconf: u16,
    /// The gNMI port.
    pub gnmi: u16,
    /// The metrics and probes port.
    pub metrics: u16,
    /// The network namespace it runs in.
    pub netns: Option<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        process::stop(&mut self.child);
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
        // Without [[users]] the admin password is generated on first run.
        let generated_password = !opts.extra.contains("[[users]]");
        let mut d = Daemon::spawn(opts, state_dir);
        d.wait_serving(generated_password);
        d
    }

    /// Starts nectar (as [`Daemon::start_on`]) without waiting for anything: for tests that
    /// watch it from its first moments.
    pub fn spawn(opts: Options, state_dir: Option<PathBuf>) -> Daemon {
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
                 [metrics]\nlisten = \"127.0.0.1:{metrics}\"\n{}\n\
                 [gnmi]\nlisten = \"127.0.0.1:{gnmi}\"\ntls = {}\n{}\n{}",
                state_dir.display(),
                opts.netconf,
                opts.restconf,
                opts.metrics,
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
                c.args(["netns", "exec", ns]).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        let child = cmd
            .arg("--config")
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon {
            child,
            dir,
            state_dir,
            netconf,
            restconf,
            gnmi,
            metrics,
            netns: opts.netns,
        }
    }

    /// Waits up to 60 s until every door serves (and, with `generated_password`, the admin
    /// password is written); panics with the log if it exits or does not get there.
    fn wait_serving(&mut self, generated_password: bool) {
        let ports = [self.netconf, self.restconf, self.gnmi, self.metrics];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = match self.netns {
                None => ports.iter().all(|p| {
                    let addr = SocketAddr::from(([127, 0, 0, 1], *p));
                    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                }),
                // Inside a namespace its loopback is not ours: the log tells.
                Some(_) => {
                    let log = self.log();
                    ["netconf: serving", "restconf: serving", "gnmi: serving"]
                        .iter()
                        .all(|l| log.contains(l))
                }
            };
            if up && (!generated_password || self.state().join("initial-admin-password").exists()) {
                return;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("nectar exited early: {st}\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "nectar did not start serving\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The state directory.
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

    /// One RESTCONF request with curl as admin over TLS (the generated certificate as the
    /// CA), from inside the daemon's namespace if it has one; JSON both ways. Returns the
    /// status and the body.
    pub fn restconf(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        self.restconf_as(&format!("admin:{}", self.password()), method, path, body)
    }

    /// [`Daemon::restconf`] as the user of `credentials` (`user:password`).
    pub fn restconf_as(
        &self,
        credentials: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut c = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "curl"]);
                c
            }
            None => Command::new("curl"),
        };
        c.args(["-sS", "--cacert"])
            .arg(self.cert())
            .args(["-u", credentials])
            .args(["-X", method, "-w", "\n%{http_code}"])
            .args(["-H", "Content-Type: application/yang-data+json"])
            .args(["-H", "Accept: application/yang-data+json"]);
        if let Some(b) = body {
            c.args(["-d", b]);
        }
        let out = c
            .arg(format!("https://127.0.0.1:{}{path}", self.restconf))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {method} {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.trim().parse().unwrap(), body.to_string())
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nectar.log")).unwrap_or_default()
    }
}
