//! CallContext fixtures of the in-process gNMI tests: a core with ietf-interfaces
//! and openconfig-interfaces served by a test provider whose operational
//! state (oper-status, counters) the tests drive, two users, and gNMI clients
//! connected to the service over `tokio::io::duplex` (no TCP port).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use hyper_util::rt::TokioIo;
use nectar_gnmi::proto::gnmi as pb;
use nectar_gnmi::proto::gnmi::g_nmi_client::GNmiClient;
use nectar_gnmi::{GnmiService, Options};
use nectar_mgmt::ly::Tree;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::provider::{Callbacks, Provider, StateArgs};
use nectar_mgmt::{Authenticator, Core, CoreConfig, Event, MgmtError, MgmtHandle, Registry};
use nectar_yang::yang2::context::Context;
use nectar_yang::{ModelSet, ModuleSpec};
use tokio::sync::broadcast;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Server, Uri};

pub const MODELS: &[ModuleSpec] = &[
    ModuleSpec::new("iana-if-type", &[]),
    ModuleSpec::new("ietf-interfaces", &[]),
    ModuleSpec::new("ietf-ip", &[]),
    ModuleSpec::new("openconfig-interfaces", &[]),
    // A keyless state list: ribs/rib/routes/route.
    ModuleSpec::new("ietf-routing", &[]),
    ModuleSpec::new("ietf-ipv4-unicast-routing", &[]),
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

/// The operational state of one port, as the test sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub oper_up: bool,
    pub in_octets: u64,
    pub out_octets: u64,
}

pub type Ports = Arc<Mutex<BTreeMap<String, Port>>>;

/// Accepts every configuration change; serves the ports' state.
pub struct TestProvider {
    pub ports: Ports,
}

fn state(p: &TestProvider, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let ports = p.ports.lock().unwrap().clone();
    for (name, port) in ports {
        let base = format!("/ietf-interfaces:interfaces/interface[name='{name}']");
        if let Some(wanted) = args.path
            && wanted.contains("[name=")
            && !wanted.contains(&format!("[name='{name}']"))
        {
            continue;
        }
        let status = if port.oper_up { "up" } else { "down" };
        out.new_path(&format!("{base}/oper-status"), Some(status), false)?;
        out.new_path(
            &format!("{base}/statistics/discontinuity-time"),
            Some("2024-01-01T00:00:00Z"),
            false,
        )?;
        out.new_path(
            &format!("{base}/statistics/in-octets"),
            Some(&port.in_octets.to_string()),
            false,
        )?;
        out.new_path(
            &format!("{base}/statistics/out-octets"),
            Some(&port.out_octets.to_string()),
            false,
        )?;
    }
    Ok(())
}

fn oc_state(p: &TestProvider, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let ports = p.ports.lock().unwrap().clone();
    for (name, port) in ports {
        let base = format!("/openconfig-interfaces:interfaces/interface[name='{name}']/state");
        out.new_path(&format!("{base}/name"), Some(&name), false)?;
        let status = if port.oper_up { "UP" } else { "DOWN" };
        out.new_path(&format!("{base}/oper-status"), Some(status), false)?;
        out.new_path(
            &format!("{base}/counters/in-octets"),
            Some(&port.in_octets.to_string()),
            false,
        )?;
    }
    Ok(())
}

/// Two routes in the IPv4 RIB (`route` is a keyless list).
fn rib_state(_p: &TestProvider, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let rib = "/ietf-routing:routing/ribs/rib[name='ipv4-master']";
    out.new_path(
        &format!("{rib}/address-family"),
        Some("ietf-routing:ipv4"),
        false,
    )?;
    for (n, prefix) in [(1, "10.0.0.0/8"), (2, "192.0.2.0/24")] {
        let r = format!("{rib}/routes/route[{n}]");
        out.new_path(
            &format!("{r}/ietf-ipv4-unicast-routing:destination-prefix"),
            Some(prefix),
            false,
        )?;
        out.new_path(
            &format!("{r}/source-protocol"),
            Some("ietf-routing:static"),
            false,
        )?;
        out.new_path(
            &format!("{r}/next-hop/special-next-hop"),
            Some("blackhole"),
            false,
        )?;
    }
    Ok(())
}

impl Provider for TestProvider {
    fn name(&self) -> &'static str {
        "test-interfaces"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .subtree("/openconfig-interfaces:interfaces")
            .state("/ietf-interfaces:interfaces", state)
            .state("/openconfig-interfaces:interfaces", oc_state)
            .subtree("/ietf-routing:routing")
            .state("/ietf-routing:routing", rib_state)
    }
}

/// Users: `admin` (group admin: NACM superuser) / `secret`, `oper` (group
/// operators) / `oper-pw`.
pub struct Users;

impl Authenticator for Users {
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        match (user, password) {
            ("admin", "secret") => Some(UserCtx::new("admin", vec!["admin".into()])),
            ("oper", "oper-pw") => Some(UserCtx::new("oper", vec!["operators".into()])),
            _ => None,
        }
    }

    fn check_public_key(&self, _user: &str, _blob: &[u8]) -> Option<UserCtx> {
        None
    }
}

pub struct Harness {
    pub handle: MgmtHandle,
    pub events: broadcast::Sender<Event>,
    pub ports: Ports,
    pub service: GnmiService,
    _dir: tempfile::TempDir,
}

/// Options for tests: short intervals; state is not polled (events drive
/// ON_CHANGE) unless a test says otherwise.
pub fn options() -> Options {
    Options {
        min_sample_interval: Duration::from_millis(10),
        target_defined_interval: Duration::from_millis(200),
        state_poll_interval: Duration::from_secs(3600),
        max_pending: 100_000,
        auth_cache: Duration::from_secs(60),
        ..Default::default()
    }
}

pub fn harness() -> Harness {
    harness_with(options())
}

pub fn harness_with(opts: Options) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let ports: Ports = Arc::new(Mutex::new(BTreeMap::new()));
    ports.lock().unwrap().insert(
        "eth0".into(),
        Port {
            oper_up: true,
            in_octets: 100,
            out_octets: 200,
        },
    );
    ports.lock().unwrap().insert(
        "eth1".into(),
        Port {
            oper_up: false,
            in_octets: 5,
            out_octets: 6,
        },
    );
    let mut reg = Registry::new();
    reg.register(TestProvider {
        ports: ports.clone(),
    });
    let mut cfg = CoreConfig::new(dir.path());
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (events, _) = broadcast::channel(4096);
    let core = Core::open(ctx(), cfg, reg, events.clone()).expect("core opens");
    let handle = MgmtHandle::spawn(core, events.clone());
    let service = GnmiService::new(handle.clone(), Arc::new(Users), opts);
    Harness {
        handle,
        events,
        ports,
        service,
        _dir: dir,
    }
}

#[derive(Clone)]
pub struct Creds(Option<(&'static str, &'static str)>);

impl Interceptor for Creds {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some((u, p)) = self.0 {
            req.metadata_mut().insert("username", u.parse().unwrap());
            req.metadata_mut().insert("password", p.parse().unwrap());
        }
        Ok(req)
    }
}

pub type Client = GNmiClient<InterceptedService<Channel, Creds>>;

impl Harness {
    /// A client on its own in-memory connection, as `admin`.
    pub async fn client(&self) -> Client {
        self.client_as(Some(("admin", "secret"))).await
    }

    pub async fn client_as(&self, creds: Option<(&'static str, &'static str)>) -> Client {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let svc = self.service.clone().into_server();
        tokio::spawn(async move {
            let _ = Server::builder()
                .add_service(svc)
                .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io)))
                .await;
        });
        let mut io = Some(client_io);
        // Small HTTP/2 windows, as a collector short of buffer space has:
        // backpressure reaches the server soon.
        let channel = Endpoint::try_from("http://in-process")
            .unwrap()
            .initial_stream_window_size(Some(64 * 1024))
            .initial_connection_window_size(Some(64 * 1024))
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let io = io.take();
                async move {
                    io.map(TokioIo::new)
                        .ok_or_else(|| std::io::Error::other("one connection per client"))
                }
            }))
            .await
            .unwrap();
        GNmiClient::with_interceptor(channel, Creds(creds))
    }

    /// Merges RFC 7951 JSON into running as the system.
    pub async fn merge(&self, json: &str) {
        let tree = nectar_mgmt::core::parse_json(ctx(), json).unwrap();
        self.handle
            .edit(
                nectar_mgmt::Caller::system(),
                nectar_mgmt::Datastore::Running,
                vec![nectar_mgmt::EditStep::merge(tree)],
                nectar_mgmt::ErrorOption::RollbackOnError,
                false,
            )
            .await
            .unwrap();
    }

    /// Running as compact JSON.
    pub async fn running(&self) -> String {
        let running = self
            .handle
            .get(
                nectar_mgmt::Caller::system(),
                nectar_mgmt::Datastore::Running,
                None,
            )
            .await
            .unwrap();
        nectar_yang::encoding::print_tree(&running, &nectar_yang::encoding::PrintOptions::json())
            .unwrap()
    }

    /// Sets a port's oper-status and announces it on the bus, as the
    /// dataplane mapping does.
    pub fn set_oper(&self, name: &str, up: bool) {
        self.ports.lock().unwrap().get_mut(name).unwrap().oper_up = up;
        let _ = self.events.send(Event::OperChanged {
            path: format!("/ietf-interfaces:interfaces/interface[name='{name}']/oper-status"),
            value: Some(if up { "up" } else { "down" }.into()),
            time: SystemTime::now(),
        });
    }

    pub fn add_octets(&self, name: &str, n: u64) {
        let mut p = self.ports.lock().unwrap();
        let port = p.get_mut(name).unwrap();
        port.in_octets += n;
        port.out_octets += n;
    }
}

/// One interface as RFC 7951 JSON.
pub fn iface(name: &str, extra: &str) -> String {
    format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"{extra}}}]}}}}"#
    )
}

/// A gNMI path from `origin:/a/b[k=v]/c` text (test convenience; no escapes).
pub fn path(s: &str) -> pb::Path {
    let (origin, rest) = match s.split_once(":/") {
        Some((o, r)) if !o.contains('/') && !o.contains('[') => (o.to_string(), r),
        _ => (String::new(), s.trim_start_matches('/')),
    };
    let mut elem = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    let mut parts = Vec::new();
    for c in rest.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth -= 1;
                cur.push(c)
            }
            '/' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    for p in parts {
        let (name, keys) = match p.find('[') {
            Some(i) => (&p[..i], &p[i..]),
            None => (p.as_str(), ""),
        };
        let mut key = BTreeMap::new();
        for kv in keys.split(']').filter(|s| !s.is_empty()) {
            let (k, v) = kv.trim_start_matches('[').split_once('=').unwrap();
            key.insert(k.to_string(), v.to_string());
        }
        elem.push(pb::PathElem {
            name: name.to_string(),
            key,
        });
    }
    pb::Path {
        origin,
        elem,
        ..Default::default()
    }
}

/// A path as `/a/b[k=v]/c` text (keys in name order).
pub fn show(p: &pb::Path) -> String {
    let mut s = String::new();
    for e in &p.elem {
        s.push('/');
        s.push_str(&e.name);
        for (k, v) in &e.key {
            s.push_str(&format!("[{k}={v}]"));
        }
    }
    if s.is_empty() { "/".into() } else { s }
}

/// An update's value as text: JSON as is, scalars in their natural form.
pub fn val(u: &pb::Update) -> String {
    use pb::typed_value::Value;
    match u.val.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::JsonIetfVal(b)) | Some(Value::JsonVal(b)) => {
            String::from_utf8(b.clone()).unwrap()
        }
        Some(Value::StringVal(s)) => s.clone(),
        Some(Value::UintVal(u)) => u.to_string(),
        Some(Value::IntVal(i)) => i.to_string(),
        Some(Value::BoolVal(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

pub fn sub(p: &str, mode: pb::SubscriptionMode, interval: Duration) -> pb::Subscription {
    pb::Subscription {
        path: Some(path(p)),
        mode: mode as i32,
        sample_interval: interval.as_nanos() as u64,
        ..Default::default()
    }
}

pub fn list(
    mode: pb::subscription_list::Mode,
    encoding: pb::Encoding,
    subs: Vec<pb::Subscription>,
) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        request: Some(pb::subscribe_request::Request::Subscribe(
            pb::SubscriptionList {
                subscription: subs,
                mode: mode as i32,
                encoding: encoding as i32,
                ..Default::default()
            },
        )),
        extension: Vec::new(),
    }
}

/// What a Subscribe response says, flattened for assertions.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// (path, value, duplicates)
    Update(Vec<(String, String, u32)>),
    Delete(Vec<String>),
    Sync,
}

pub fn msg(r: pb::SubscribeResponse) -> Vec<Msg> {
    match r.response {
        Some(pb::subscribe_response::Response::Update(n)) => {
            // Paths are relative to the notification's prefix.
            let prefix = n.prefix.as_ref().map(show).unwrap_or_default();
            let prefix = if prefix == "/" { String::new() } else { prefix };
            let join = |p: &pb::Path| {
                assert!(p.origin.is_empty(), "origin both in prefix and path");
                format!("{prefix}{}", show(p))
            };
            let mut out = Vec::new();
            if !n.update.is_empty() {
                out.push(Msg::Update(
                    n.update
                        .iter()
                        .map(|u| (join(u.path.as_ref().unwrap()), val(u), u.duplicates))
                        .collect(),
                ));
            }
            if !n.delete.is_empty() {
                out.push(Msg::Delete(n.delete.iter().map(join).collect()));
            }
            out
        }
        Some(pb::subscribe_response::Response::SyncResponse(true)) => vec![Msg::Sync],
        other => panic!("unexpected response {other:?}"),
    }
}

/// Receives the next message within a deadline.
pub async fn next(s: &mut tonic::Streaming<pb::SubscribeResponse>) -> Vec<Msg> {
    match tokio::time::timeout(Duration::from_secs(10), s.message()).await {
        Ok(Ok(Some(r))) => msg(r),
        other => panic!("no message: {other:?}"),
    }
}

/// Collects messages until sync_response; returns (path → value) of updates.
pub async fn until_sync(
    s: &mut tonic::Streaming<pb::SubscribeResponse>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    loop {
        for m in next(s).await {
            match m {
                Msg::Sync => return out,
                Msg::Update(us) => {
                    for (p, v, _) in us {
                        out.insert(p, v);
                    }
                }
                Msg::Delete(d) => panic!("delete before sync: {d:?}"),
            }
        }
    }
}

/// Waits until a message satisfies `pred`; returns it (panics on timeout).
pub async fn wait_for(
    s: &mut tonic::Streaming<pb::SubscribeResponse>,
    pred: impl Fn(&Msg) -> bool,
) -> Msg {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = tokio::time::timeout_at(deadline, s.message())
            .await
            .expect("timed out waiting for a matching message")
            .expect("stream error")
            .expect("stream ended");
        for m in msg(r) {
            if pred(&m) {
                return m;
            }
        }
    }
}
