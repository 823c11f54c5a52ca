//! The Python VES test collector (`tests/telemetry/ves_collector.py`, run from `.venv`) as a
//! child process: HTTPS with Basic authentication, every event validated against the
//! official VES 7.2.1 schema, what it receives written into a folder as JSON lines.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{repo, tls};

/// The user the collector accepts.
pub const USER: &str = "ves-user";
/// Its password.
pub const PASSWORD: &str = "ves-secret-0451";

/// A running collector; killed on drop.
#[derive(Debug)]
pub struct Collector {
    /// Where it writes what it receives (`events.jsonl`, `errors.jsonl`).
    pub dir: PathBuf,
    /// Its HTTPS port.
    pub port: u16,
    /// Its certificate and key.
    pub tls: (PathBuf, PathBuf),
    /// The CA that signed the collector's certificate (for `ca_file`).
    pub ca: PathBuf,
    child: Option<Child>,
}

impl Collector {
    /// Starts an HTTPS collector writing into `dir`, with a fresh certificate for 127.0.0.1
    /// signed by a test CA.
    pub fn start(dir: &Path) -> Collector {
        std::fs::create_dir_all(dir).unwrap();
        let certs = tls::ca_signed(dir);
        let mut c = Collector {
            dir: dir.to_owned(),
            port: 0,
            tls: (certs.cert, certs.key),
            ca: certs.ca,
            child: None,
        };
        c.spawn();
        c
    }

    /// Starts the process (on `port`, or a port of its choice while `port` is 0).
    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("port"));
        let child = Command::new(repo::python())
            .arg(repo::path("tests/telemetry/ves_collector.py"))
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

    /// Its base URL.
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

    /// The JSON lines of `file` in its folder.
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

    /// The events of `domain`, in arrival order.
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

/// An event's `commonEventHeader`.
pub fn header(e: &Value) -> &Value {
    &e["commonEventHeader"]
}

/// An event's sequence number.
pub fn seq(e: &Value) -> u64 {
    header(e)["sequence"].as_u64().unwrap()
}

/// An event's start time in seconds.
pub fn start_s(e: &Value) -> f64 {
    header(e)["startEpochMicrosec"].as_f64().unwrap() / 1e6
}
