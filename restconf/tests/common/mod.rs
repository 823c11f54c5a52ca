//! AppInner fixtures of the router tests: a management core with ietf-interfaces,
//! ietf-ip and ietf-routing (served by a provider that accepts everything),
//! two users (admin in group admin, alice in group ops), the notification
//! log, and a request helper driving the router with `oneshot`.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::notify::Notifications;
use nectar_mgmt::provider::{Callbacks, Provider};
use nectar_mgmt::{Authenticator, Core, CoreConfig, MgmtHandle, Registry};
use nectar_yang::yang2::context::Context;
use nectar_yang::{ModelSet, ModuleSpec};
use tower::ServiceExt;

pub const MODELS: &[ModuleSpec] = &[
    ModuleSpec::new("iana-if-type", &[]),
    ModuleSpec::new("ietf-interfaces", &[]),
    ModuleSpec::new("ietf-ip", &[]),
    ModuleSpec::new("ietf-routing", &[]),
];

pub fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(MODELS)
            .build()
            .expect("model set")
    })
}

/// Accepts every change of the network modules of the fixture.
struct AcceptAll;

impl Provider for AcceptAll {
    fn name(&self) -> &'static str {
        "accept-all"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .subtree("/ietf-routing:routing")
    }
}

/// admin/admin-pw (group admin), alice/alice-pw (group ops).
pub struct Users;

impl Authenticator for Users {
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        match (user, password) {
            ("admin", "admin-pw") => Some(UserCtx::new("admin", vec!["admin".into()])),
            ("alice", "alice-pw") => Some(UserCtx::new("alice", vec!["ops".into()])),
            _ => None,
        }
    }

    fn check_public_key(&self, _user: &str, _blob: &[u8]) -> Option<UserCtx> {
        None
    }
}

pub struct Fixture {
    pub app: Router,
    pub handle: MgmtHandle,
    pub notifications: Arc<Notifications>,
    pub _dir: tempfile::TempDir,
}

/// A second core opened on the fixture's state directory (journal replay).
pub fn reopen(f: &Fixture) -> Core {
    let mut cfg = CoreConfig::new(f._dir.path());
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (events, _) = tokio::sync::broadcast::channel(16);
    let mut registry = Registry::new();
    registry.register(AcceptAll);
    Core::open(ctx(), cfg, registry, events).expect("core reopens")
}

pub async fn fixture() -> Fixture {
    fixture_with(
        nectar_mgmt::notify::LogLimits {
            replay_capacity: 1000,
            ..Default::default()
        },
        Default::default(),
    )
    .await
}

/// A fixture whose notification log and server have these bounds.
pub async fn fixture_with(
    log: nectar_mgmt::notify::LogLimits,
    limits: nectar_restconf::Limits,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CoreConfig::new(dir.path());
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let mut registry = Registry::new();
    registry.register(AcceptAll);
    let core = Core::open(ctx(), cfg, registry, events.clone()).expect("core opens");
    let notifications = Notifications::spawn(events.subscribe(), log);
    let handle = MgmtHandle::spawn(core, events);
    let app = nectar_restconf::app(nectar_restconf::Options {
        handle: handle.clone(),
        auth: Arc::new(Users),
        notifications: Some(Arc::clone(&notifications)),
        subscriptions: None,
        https: true,
        stop: None,
        limits,
    });
    Fixture {
        app,
        handle,
        notifications,
        _dir: dir,
    }
}

pub const ADMIN: Option<(&str, &str)> = Some(("admin", "admin-pw"));
pub const ALICE: Option<(&str, &str)> = Some(("alice", "alice-pw"));

pub const JSON: &str = "application/yang-data+json";
pub const XML: &str = "application/yang-data+xml";

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The first error's tag of an ietf-restconf:errors body.
    pub fn error_tag(&self) -> String {
        self.json()["ietf-restconf:errors"]["error"][0]["error-tag"]
            .as_str()
            .unwrap_or_else(|| panic!("no error-tag: {}", self.body))
            .to_string()
    }
}

impl Fixture {
    /// One request: method, URI, user, extra headers, body.
    pub async fn req(
        &self,
        method: &str,
        uri: &str,
        user: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some((u, p)) = user {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            b = b.header("authorization", format!("Basic {token}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self
            .app
            .clone()
            .oneshot(b.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.req("GET", uri, ADMIN, &[], "").await
    }

    pub async fn get_xml(&self, uri: &str) -> Reply {
        self.req("GET", uri, ADMIN, &[("accept", XML)], "").await
    }

    pub async fn send(&self, method: &str, uri: &str, json: &str) -> Reply {
        self.req(method, uri, ADMIN, &[("content-type", JSON)], json)
            .await
    }

    pub async fn send_xml(&self, method: &str, uri: &str, xml: &str) -> Reply {
        self.req(
            method,
            uri,
            ADMIN,
            &[("content-type", XML), ("accept", XML)],
            xml,
        )
        .await
    }
}

pub const IF: &str = "/restconf/data/ietf-interfaces:interfaces";

pub fn iface(name: &str, extra: &str) -> String {
    format!(
        r#"{{"ietf-interfaces:interface":[{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"{extra}}}]}}"#
    )
}
