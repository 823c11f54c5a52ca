//! RESTCONF load benchmark: the server (management core, router, TLS with
//! HTTP/1.1 keep-alive) on loopback, driven by `wrk` (apt `wrk`). Prints
//! requests per second and latency for
//! - GET of one list entry (`/restconf/data/ietf-netconf-acm:nacm/rule-list=bench`),
//! - PATCH of one leaf with a new value each time (a real commit each:
//!   validation, NACM, journal append with fsync, history, event).
//!
//! `cargo bench -p nectar-restconf --bench load` (options after `--`:
//! `--duration SECS`, `--connections N`, `--threads N`). Server and load
//! generator share the machine's cores.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Authenticator, Core, CoreConfig, MgmtHandle, Registry};

struct BenchUsers;

impl Authenticator for BenchUsers {
    // The credential cache answers every request after the first, so the
    // check itself does not matter to the figures.
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        (user == "admin" && password == "bench-password")
            .then(|| UserCtx::new("admin", vec!["admin".into()]))
    }

    fn check_public_key(&self, _: &str, _: &[u8]) -> Option<UserCtx> {
        None
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds this process (the server) has used: utime + stime from
/// /proc/self/stat, in clock ticks of 1/100 s.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

fn wrk(label: &str, url: &str, script: Option<&std::path::Path>, auth: &str) {
    let cpu_before = cpu_seconds();
    let duration = arg("--duration", 10);
    let connections = arg("--connections", 32);
    let threads = arg("--threads", 1);
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &threads.to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{duration}s"),
        "--latency",
        "-H",
        &format!("Authorization: Basic {auth}"),
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(url);
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wrk is needed for this benchmark (apt install wrk): {e}");
            std::process::exit(2);
        }
    };
    let cpu = cpu_seconds() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    let total: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .unwrap_or("Requests/sec: ?");
    let p50 = text
        .lines()
        .find(|l| l.trim_start().starts_with("50%"))
        .unwrap_or("50% ?");
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .unwrap_or("99% ?");
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect::<Vec<_>>()
        .join("; ");
    println!(
        "{label}: {} ({} connections, {duration}s); server CPU {:.1} us/request \
         ({:.0} requests per server CPU-second); latency p50 {} p99 {}{}",
        rps.trim(),
        connections,
        cpu * 1e6 / total.max(1.0),
        total / cpu.max(1e-9),
        p50.trim().trim_start_matches("50%").trim(),
        p99.trim().trim_start_matches("99%").trim(),
        if errors.is_empty() {
            String::new()
        } else {
            format!(" ERRORS: {errors}")
        }
    );
    if !out.status.success() || !errors.is_empty() {
        eprintln!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let ctx = nectar_yang::ModelSet::management()
        .build()
        .expect("model set");
    let (events, _) = tokio::sync::broadcast::channel(4096);
    let core = Core::open(
        ctx,
        CoreConfig::new(dir.path()),
        Registry::new(),
        events.clone(),
    )
    .expect("core");
    let _guard = runtime.enter();
    let handle = MgmtHandle::spawn(core, events);
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    let tls = nectar_restconf::tls_config(&cert.cert.pem(), &cert.signing_key.serialize_pem())
        .expect("tls");
    let app = nectar_restconf::app(nectar_restconf::Options {
        handle: handle.clone(),
        auth: Arc::new(BenchUsers),
        notifications: None,
        subscriptions: None,
        https: true,
        stop: None,
        limits: Default::default(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let server = runtime.spawn(nectar_restconf::serve(
        listener,
        app,
        Some(tls),
        stop_rx,
        1024,
    ));

    let auth = base64::engine::general_purpose::STANDARD.encode("admin:bench-password");
    let base = format!("https://127.0.0.1:{port}/restconf/data/ietf-netconf-acm:nacm");
    // The entry: a rule-list with one rule.
    let setup = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
        .args(["-H", &format!("Authorization: Basic {auth}")])
        .args(["-H", "Content-Type: application/yang-data+json"])
        .args([
            "-d",
            r#"{"ietf-netconf-acm:rule-list":[{"name":"bench","group":["ops"],"rule":[{"name":"r1","module-name":"ietf-interfaces","access-operations":"read","action":"permit","comment":"c0"}]}]}"#,
        ])
        .arg(format!("{base}/rule-list=bench"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&setup.stdout), "201", "setup PUT");

    wrk(
        "GET one list entry",
        &format!("{base}/rule-list=bench"),
        None,
        &auth,
    );

    let script = dir.path().join("patch.lua");
    std::fs::write(
        &script,
        r#"
counter = 0
wrk.headers["Content-Type"] = "application/yang-data+json"
request = function()
  counter = counter + 1
  local body = '{"ietf-netconf-acm:comment":"c' .. counter .. '"}'
  return wrk.format("PATCH", nil, nil, body)
end
"#,
    )
    .expect("script");
    wrk(
        "PATCH one leaf (one commit each)",
        &format!("{base}/rule-list=bench/rule=r1/comment"),
        Some(&script),
        &auth,
    );

    let _ = stop_tx.send(true);
    let _ = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await });
}
