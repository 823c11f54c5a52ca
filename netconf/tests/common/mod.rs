//! The netconf crate's fixture: a NETCONF server on an ephemeral port, over a real
//! management core in a temporary state directory: management models plus ietf-interfaces
//! and ietf-ip served by a provider that accepts every change. Users: `admin` (group admin:
//! NACM superuser; password and an SSH key), `alice` (group ops, NACM applies) and `bob`
//! (group ops). The real clients are run from the repository's Python venv (the test kit's
//! `repo`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::provider::{Callbacks, Provider};
use nectar_mgmt::{Authenticator, Core, CoreConfig, MgmtHandle, Registry};
use nectar_netconf::NetconfSettings;
use nectar_testkit::{repo, ssh};
use nectar_yang::yang2::context::Context;
use nectar_yang::{ModelSet, ModuleSpec};

pub const IETF_IF: &[ModuleSpec] = &[
    ModuleSpec::new("iana-if-type", &[]),
    ModuleSpec::new("ietf-interfaces", &[]),
    ModuleSpec::new("ietf-ip", &[]),
];

pub fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(IETF_IF)
            .build()
            .expect("model set")
    })
}

/// Serves /interfaces wholesale and accepts everything, except an
/// interface description "refuse" (to test provider failures).
pub struct AcceptAll;

impl Provider for AcceptAll {
    fn name(&self) -> &'static str {
        "interfaces"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .prepare(|_p: &mut Self, a| {
                if a.change.new.as_deref() == Some("refuse") {
                    return Err(nectar_mgmt::MgmtError::operation_failed(
                        "the provider refuses this description",
                    )
                    .with_path(a.change.path.clone()));
                }
                Ok(())
            })
    }
}

/// A test user: password, groups, SSH public key blobs.
type TestUser = (String, Vec<String>, Vec<Vec<u8>>);

pub struct TestAuth {
    users: HashMap<String, TestUser>,
}

impl Authenticator for TestAuth {
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        let (pw, groups, _) = self.users.get(user)?;
        (pw == password).then(|| UserCtx::new(user, groups.clone()))
    }

    fn check_public_key(&self, user: &str, blob: &[u8]) -> Option<UserCtx> {
        let (_, groups, keys) = self.users.get(user)?;
        keys.iter()
            .any(|k| k == blob)
            .then(|| UserCtx::new(user, groups.clone()))
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// The admin user's private key file (OpenSSH).
    pub admin_key: PathBuf,
    pub handle: MgmtHandle,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn settings() -> NetconfSettings {
    NetconfSettings {
        max_sessions: 300,
        max_sessions_per_user: 300,
        max_message_bytes: 8 << 20,
        idle_timeout: Some(Duration::from_secs(600)),
        hello_timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

pub fn start() -> TestServer {
    start_with(settings())
}

pub fn start_with(settings: NetconfSettings) -> TestServer {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let host_key = dir.path().join("host_key");
    ssh::keygen(&host_key);
    let admin_key = dir.path().join("admin_key");
    let pubtext = ssh::keygen(&admin_key);
    let blob = base64::engine::general_purpose::STANDARD
        .decode(pubtext.split_whitespace().nth(1).unwrap())
        .unwrap();
    let mut users = HashMap::new();
    users.insert(
        "admin".to_string(),
        (
            "admin-pw".to_string(),
            vec!["admin".to_string()],
            vec![blob],
        ),
    );
    users.insert(
        "alice".to_string(),
        ("alice-pw".to_string(), vec!["ops".to_string()], vec![]),
    );
    users.insert(
        "bob".to_string(),
        ("bob-pw".to_string(), vec!["ops".to_string()], vec![]),
    );
    let auth: Arc<dyn Authenticator> = Arc::new(TestAuth { users });
    let host_key_text = std::fs::read_to_string(&host_key).unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let state = dir.path().join("state");
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (htx, hrx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (events, _) = tokio::sync::broadcast::channel(4096);
            let notifications = nectar_mgmt::notify::Notifications::spawn(
                events.subscribe(),
                nectar_mgmt::notify::LogLimits {
                    replay_capacity: 1000,
                    ..Default::default()
                },
            );
            let mut registry = Registry::new();
            registry.register(AcceptAll);
            let mut cfg = CoreConfig::new(&state);
            cfg.confirm_timeout = Duration::from_secs(600);
            let core = Core::open(ctx(), cfg, registry, events.clone()).expect("core");
            let handle = MgmtHandle::spawn(core, events);
            htx.send(handle.clone()).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            nectar_netconf::serve(
                listener,
                settings,
                &host_key_text,
                auth,
                handle,
                Some(notifications),
                stop_rx,
            )
            .await
            .expect("serve");
        });
    });
    let handle = hrx.recv().unwrap();
    TestServer {
        addr,
        dir,
        admin_key,
        handle,
        stop,
        thread: Some(thread),
    }
}

/// Runs a Python script of `tests/netconf/` against the server; panics with
/// its output unless it exits 0.
pub fn run_py(server: &TestServer, script: &str, extra: &[&str]) -> String {
    let out: Output = Command::new(repo::python())
        .arg(repo::path("tests/netconf").join(script))
        .arg("127.0.0.1")
        .arg(server.addr.port().to_string())
        .args(extra)
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}
