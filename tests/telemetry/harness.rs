//! Shared by the telemetry tests of the root package (tests/telemetry.rs) and of the
//! telemetry crate (telemetry/tests/ves.rs): the Python VES test collector
//! (tests/telemetry/ves_collector.py) as a child process, and network namespaces wired to a
//! dataplane port by a veth pair.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const USER: &str = "ves-user";
pub const PASSWORD: &str = "ves-secret-0451";

/// The repository root.
pub fn repo() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join(".venv").exists() || here.join("tests/telemetry").exists() {
        here
    } else {
        here.parent().unwrap().to_owned()
    }
}

// ===== the test collector =====

/// The Python VES collector, as a child process writing what it receives into `dir`.
pub struct Collector {
    pub dir: PathBuf,
    pub port: u16,
    pub tls: (PathBuf, PathBuf),
    /// The CA that signed the collector's certificate (for `ca_file`).
    pub ca: PathBuf,
    child: Option<Child>,
}

impl Collector {
    /// Starts an HTTPS collector with a fresh self-signed certificate for 127.0.0.1.
    pub fn start(dir: &Path) -> Collector {
        std::fs::create_dir_all(dir).unwrap();
        let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let ext = dir.join("ext.cnf");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let st = Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "openssl {args:?} failed");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        // A test CA, and the collector's certificate for 127.0.0.1 signed by it.
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-days", "1", "-subj", "/CN=ves-test-ca"],
                &["-keyout", "ca.key", "-out", "ca.pem"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "req.csr",
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ]);
        let _ = (&ca_key, &ext);
        let mut c = Collector {
            dir: dir.to_owned(),
            port: 0,
            tls: (cert, key),
            ca,
            child: None,
        };
        c.spawn();
        c
    }

    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("port"));
        let child = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("tests/telemetry/ves_collector.py"))
            .arg("--dir")
            .arg(&self.dir)
            .args(["--port", &self.port.to_string(), "--user", USER])
            .args(["--password", PASSWORD])
            .arg("--certfile")
            .arg(&self.tls.0)
            .arg("--keyfile")
            .arg(&self.tls.1)
            .spawn()
            .expect("the VES collector starts (run scripts/setup for the venv)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(p) = std::fs::read_to_string(self.dir.join("port")) {
                self.port = p.trim().parse().unwrap();
                return;
            }
            assert!(Instant::now() < deadline, "the collector did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Takes the collector away (the port stops answering).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Brings it back on the same port.
    pub fn restart(&mut self) {
        self.spawn();
    }

    pub fn lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every accepted event record (`{"t","path","batch","event"}`), in arrival order.
    pub fn records(&self) -> Vec<Value> {
        self.lines("events.jsonl")
    }

    pub fn events(&self, domain: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .map(|r| r["event"].clone())
            .filter(|e| e["commonEventHeader"]["domain"] == domain)
            .collect()
    }

    /// Requests the collector refused (schema violations, bad auth, mixed batches).
    pub fn assert_no_errors(&self) {
        let errors = self.lines("errors.jsonl");
        assert!(
            errors.is_empty(),
            "the collector refused requests: {errors:#?}"
        );
    }

    /// Waits until `pred` holds for the events received.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&Collector) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !pred(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received: {:#?}; errors: {:#?}",
                self.records()
                    .iter()
                    .map(|r| r["event"]["commonEventHeader"]["eventName"].clone())
                    .collect::<Vec<_>>(),
                self.lines("errors.jsonl")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Queues a commandList for the next response.
    pub fn command(&self, list: Value) {
        let tmp = self.dir.join("commands.tmp");
        std::fs::write(&tmp, list.to_string()).unwrap();
        std::fs::rename(tmp, self.dir.join("commands.json")).unwrap();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn header(e: &Value) -> &Value {
    &e["commonEventHeader"]
}

pub fn seq(e: &Value) -> u64 {
    header(e)["sequence"].as_u64().unwrap()
}

pub fn start_s(e: &Value) -> f64 {
    header(e)["startEpochMicrosec"].as_f64().unwrap() / 1e6
}

// ===== network namespaces =====

/// A namespace `h` wired by a veth pair to a dataplane port end; removed on drop.
pub struct Netns {
    pub ns: String,
    /// The host end (in `ns`).
    pub host_dev: String,
    /// The dataplane end (in `dp_ns`, or in the test's namespace when `dp_ns` is None).
    pub dp_dev: String,
    pub dp_ns: Option<String>,
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// `with_dp_ns`: put the dataplane end in a namespace of its own too.
    pub fn new(tag: &str, with_dp_ns: bool) -> Netns {
        let id = format!("{tag}{}", std::process::id() % 100_000);
        let n = Netns {
            ns: format!("nth{id}"),
            host_dev: format!("th{id}"),
            dp_dev: format!("td{id}"),
            dp_ns: with_dp_ns.then(|| format!("ntd{id}")),
        };
        ip(&["netns", "add", &n.ns]);
        match &n.dp_ns {
            Some(d) => {
                ip(&["netns", "add", d]);
                ip(&[
                    "-n",
                    &n.ns,
                    "link",
                    "add",
                    &n.host_dev,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &n.dp_dev,
                    "netns",
                    d,
                ]);
            }
            None => {
                ip(&[
                    "link",
                    "add",
                    &n.dp_dev,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &n.host_dev,
                ]);
                ip(&["link", "set", &n.host_dev, "netns", &n.ns]);
            }
        }
        ip(&[
            "-n",
            &n.ns,
            "addr",
            "add",
            "10.77.0.1/24",
            "dev",
            &n.host_dev,
        ]);
        ip(&["-n", &n.ns, "link", "set", &n.host_dev, "up"]);
        match &n.dp_ns {
            Some(d) => ip(&["-n", d, "link", "set", &n.dp_dev, "up"]),
            None => ip(&["link", "set", &n.dp_dev, "up"]),
        }
        n
    }

    pub fn set_host_link(&self, up: bool) {
        ip(&[
            "-n",
            &self.ns,
            "link",
            "set",
            &self.host_dev,
            if up { "up" } else { "down" },
        ]);
    }

    /// UDP broadcasts (about 200 a second) from the host end, frames the dataplane port
    /// receives, for `secs` seconds.
    pub fn blast(&self, secs: u32) -> Child {
        let script = format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n\
             end = time.time() + {secs}\n\
             while time.time() < end:\n    s.sendto(b'x' * 64, ('10.77.0.255', 9)); time.sleep(0.005)\n"
        );
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-c", &script])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        if let Some(d) = &self.dp_ns {
            let _ = Command::new("ip").args(["netns", "del", d]).output();
        } else {
            let _ = Command::new("ip")
                .args(["link", "del", &self.dp_dev])
                .output();
        }
    }
}

pub fn netns_ok() -> bool {
    let ok = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
        && unsafe_free_is_root();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but network namespaces (root and iproute2) are not available");
        }
        eprintln!("SKIPPED: network namespaces need root and iproute2");
    }
    ok
}

pub fn unsafe_free_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
