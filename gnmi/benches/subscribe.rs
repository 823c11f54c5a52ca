//! gNMI Subscribe figures (a bench binary printing its results):
//!
//! 1. encoding: the cost per update of turning sampled leaf values into
//!    gNMI updates (TypedValue, outbox, Notification) and protobuf bytes;
//! 2. SAMPLE throughput: updates per second delivered to one STREAM SAMPLE
//!    subscriber of all counters of 1000 interfaces (a test provider serves
//!    them), at the minimum interval, over the real tonic service on an
//!    in-memory connection, with the process CPU time per update;
//! 3. ON_CHANGE latency: from an oper-status event on the management bus to
//!    the update in the client's hands, p50/p99 over many events, while the
//!    subscription covers the oper-status of all 1000 interfaces.
//!
//! Run: `cargo bench -p nectar-gnmi --bench subscribe`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hyper_util::rt::TokioIo;
use nectar_gnmi::path::{Located, PathCache};
use nectar_gnmi::proto::gnmi as pb;
use nectar_gnmi::proto::gnmi::g_nmi_client::GNmiClient;
use nectar_gnmi::subscribe::Outbox;
use nectar_gnmi::value::{Encoding, LeafValue};
use nectar_gnmi::{GnmiService, Options};
use nectar_mgmt::ly::Tree;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::provider::{Callbacks, Provider, StateArgs};
use nectar_mgmt::{Authenticator, Core, CoreConfig, Event, MgmtError, MgmtHandle, Registry};
use nectar_yang::encoding::ScalarValue;
use nectar_yang::yang2;
use nectar_yang::{ModelSet, ModuleSpec};
use prost::Message;
use tokio::sync::broadcast;
use tonic::transport::{Endpoint, Server, Uri};

const INTERFACES: usize = 1000;
const COUNTERS: &[&str] = &[
    "in-octets",
    "in-unicast-pkts",
    "in-discards",
    "in-errors",
    "out-octets",
    "out-unicast-pkts",
    "out-discards",
    "out-errors",
];

#[derive(Debug, Default)]
struct Ports {
    tick: u64,
    down: BTreeMap<usize, bool>,
}

struct Counters {
    ports: Arc<Mutex<Ports>>,
}

/// The interface a request names (`interface[name='ifN']`), if any: like a
/// real provider, serve only what is asked.
fn wanted(path: Option<&str>) -> Option<usize> {
    let rest = path?.split("[name='").nth(1)?;
    rest.strip_prefix("if")?.split('\'').next()?.parse().ok()
}

fn state(p: &Counters, a: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let (tick, down) = {
        let mut g = p.ports.lock().unwrap();
        g.tick += 1;
        (g.tick, g.down.clone())
    };
    let range = match wanted(a.path) {
        Some(i) => i..i + 1,
        None => 0..INTERFACES,
    };
    for i in range {
        let base = format!("/ietf-interfaces:interfaces/interface[name='if{i}']");
        let status = if down.get(&i).copied().unwrap_or(false) {
            "down"
        } else {
            "up"
        };
        out.new_path(&format!("{base}/oper-status"), Some(status), false)?;
        let mut stats = out
            .new_path(
                &format!("{base}/statistics/discontinuity-time"),
                Some("2024-01-01T00:00:00Z"),
                false,
            )?
            .expect("created");
        // Siblings of discontinuity-time: new terms under statistics.
        let mut parent = stats.ancestors().next().expect("statistics");
        for (k, c) in COUNTERS.iter().enumerate() {
            let v = (tick * 1000 + (i * 8 + k) as u64).to_string();
            parent.new_term(None, c, Some(&v))?;
        }
        let _ = &mut stats;
    }
    Ok(())
}

impl Provider for Counters {
    fn name(&self) -> &'static str {
        "bench-counters"
    }
    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .state("/ietf-interfaces:interfaces", state)
    }
}

struct Admin;
impl Authenticator for Admin {
    fn check_password(&self, u: &str, p: &str) -> Option<UserCtx> {
        (u == "admin" && p == "bench").then(|| UserCtx::new("admin", vec!["admin".into()]))
    }
    fn check_public_key(&self, _: &str, _: &[u8]) -> Option<UserCtx> {
        None
    }
}

struct Setup {
    events: broadcast::Sender<Event>,
    ports: Arc<Mutex<Ports>>,
    service: GnmiService,
    _dir: tempfile::TempDir,
    _handle: MgmtHandle,
}

fn setup() -> Setup {
    let ctx = ModelSet::management()
        .with(&[
            ModuleSpec::new("iana-if-type", &[]),
            ModuleSpec::new("ietf-interfaces", &[]),
        ])
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ports = Arc::new(Mutex::new(Ports::default()));
    let mut reg = Registry::new();
    reg.register(Counters {
        ports: ports.clone(),
    });
    let mut cfg = CoreConfig::new(dir.path());
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (events, _) = broadcast::channel(65536);
    let core = Core::open(ctx, cfg, reg, events.clone()).unwrap();
    let handle = MgmtHandle::spawn(core, events.clone());
    let service = GnmiService::new(
        handle.clone(),
        Arc::new(Admin),
        Options {
            min_sample_interval: Duration::from_millis(1),
            state_poll_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    );
    Setup {
        events,
        ports,
        service,
        _dir: dir,
        _handle: handle,
    }
}

type Client = GNmiClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>,
    >,
>;

fn creds(mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    r.metadata_mut()
        .insert("username", "admin".parse().unwrap());
    r.metadata_mut()
        .insert("password", "bench".parse().unwrap());
    Ok(r)
}

async fn client(s: &Setup) -> Client {
    let (cio, sio) = tokio::io::duplex(1 << 20);
    let svc = s.service.clone().into_server();
    tokio::spawn(async move {
        let _ = Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(sio)))
            .await;
    });
    let mut io = Some(cio);
    let ch = Endpoint::try_from("http://bench")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("once"))
            }
        }))
        .await
        .unwrap();
    GNmiClient::with_interceptor(ch, creds as fn(_) -> _)
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn subscribe_req(
    path: pb::Path,
    mode: pb::SubscriptionMode,
    interval: Duration,
) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        request: Some(pb::subscribe_request::Request::Subscribe(
            pb::SubscriptionList {
                subscription: vec![pb::Subscription {
                    path: Some(path),
                    mode: mode as i32,
                    sample_interval: interval.as_nanos() as u64,
                    ..Default::default()
                }],
                mode: pb::subscription_list::Mode::Stream as i32,
                encoding: pb::Encoding::Proto as i32,
                ..Default::default()
            },
        )),
        extension: Vec::new(),
    }
}

fn elem(name: &str, key: Option<(&str, &str)>) -> pb::PathElem {
    pb::PathElem {
        name: name.into(),
        key: key
            .map(|(k, v)| BTreeMap::from([(k.to_string(), v.to_string())]))
            .unwrap_or_default(),
    }
}

/// Encoding cost per update (no libyang reads, no transport): values of the
/// counters of 1000 interfaces, with their gNMI paths as the path cache holds
/// them, through the outbox into Notifications and protobuf bytes.
fn encoding(ctx: &yang2::context::Context) {
    let mut cache = PathCache::new();
    let n = INTERFACES * COUNTERS.len();
    let locs: Vec<Arc<Located>> = (0..n)
        .map(|i| {
            let (ifn, c) = (i / COUNTERS.len(), COUNTERS[i % COUNTERS.len()]);
            cache
                .get(
                    ctx,
                    &format!(
                        "/ietf-interfaces:interfaces/interface[name='if{ifn}']/statistics/{c}"
                    ),
                )
                .unwrap()
        })
        .collect();
    let rounds = 50;
    let ob = Outbox::new(usize::MAX, String::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut bytes = 0usize;
    let mut buf = Vec::new();
    let started = Instant::now();
    let cpu0 = cpu_time();
    for r in 0..rounds {
        for (i, loc) in locs.iter().enumerate() {
            let v = LeafValue::One(ScalarValue::Uint64((r * n + i) as u64));
            ob.update(loc, v.typed(Encoding::Proto), 1 + r as i64)
                .unwrap();
        }
        while ob.pending() > 0 {
            let m = rt.block_on(ob.next()).unwrap().unwrap();
            buf.clear();
            m.encode(&mut buf).unwrap();
            bytes += buf.len();
            std::hint::black_box(&buf);
        }
    }
    let el = started.elapsed();
    let cpu = cpu_time() - cpu0;
    let updates = (rounds * n) as f64;
    println!(
        "encoding: {} updates in {:.3}s: {:.0} ns cpu/update, {:.2} M updates/s/core (cpu {:.3}s), {:.1} bytes/update on the wire",
        rounds * n,
        el.as_secs_f64(),
        cpu.as_nanos() as f64 / updates,
        updates / cpu.as_secs_f64() / 1e6,
        cpu.as_secs_f64(),
        bytes as f64 / updates
    );
}

/// SAMPLE throughput end to end.
async fn sample_throughput(s: &Setup) {
    let mut c = client(s).await;
    let path = pb::Path {
        origin: "rfc7951".into(),
        elem: vec![
            elem("ietf-interfaces:interfaces", None),
            elem("interface", Some(("name", "*"))),
            elem("statistics", None),
        ],
        ..Default::default()
    };
    let mut stream = c
        .subscribe(tokio_stream::iter(vec![subscribe_req(
            path,
            pb::SubscriptionMode::Sample,
            Duration::ZERO,
        )]))
        .await
        .unwrap()
        .into_inner();
    // Initial dump.
    loop {
        let m = stream.message().await.unwrap().unwrap();
        if matches!(
            m.response,
            Some(pb::subscribe_response::Response::SyncResponse(_))
        ) {
            break;
        }
    }
    let run = Duration::from_secs(5);
    let started = Instant::now();
    let cpu0 = cpu_time();
    let mut updates = 0u64;
    let mut notifications = 0u64;
    while started.elapsed() < run {
        let m = stream.message().await.unwrap().unwrap();
        if let Some(pb::subscribe_response::Response::Update(n)) = m.response {
            updates += n.update.len() as u64;
            notifications += 1;
        }
    }
    let el = started.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu0).as_secs_f64();
    let leaves = INTERFACES * (COUNTERS.len() + 1);
    println!(
        "sample: {leaves} leaves per sample, {updates} updates in {el:.2}s ({notifications} notifications): \
         {:.0} updates/s delivered, {:.2} samples/s; process cpu {cpu:.2}s = {:.0} updates/s/core, {:.2} us cpu/update",
        updates as f64 / el,
        updates as f64 / el / leaves as f64,
        updates as f64 / cpu,
        cpu * 1e6 / updates as f64,
    );
}

/// ON_CHANGE latency from an event to the client.
async fn on_change_latency(s: &Setup) {
    let mut c = client(s).await;
    let path = pb::Path {
        origin: "rfc7951".into(),
        elem: vec![
            elem("ietf-interfaces:interfaces", None),
            elem("interface", Some(("name", "*"))),
            elem("oper-status", None),
        ],
        ..Default::default()
    };
    let mut stream = c
        .subscribe(tokio_stream::iter(vec![subscribe_req(
            path,
            pb::SubscriptionMode::OnChange,
            Duration::ZERO,
        )]))
        .await
        .unwrap()
        .into_inner();
    loop {
        let m = stream.message().await.unwrap().unwrap();
        if matches!(
            m.response,
            Some(pb::subscribe_response::Response::SyncResponse(_))
        ) {
            break;
        }
    }
    let mut lat = Vec::new();
    for round in 0..400usize {
        let i = (round * 37) % INTERFACES;
        let down = {
            let mut g = s.ports.lock().unwrap();
            let d = !g.down.get(&i).copied().unwrap_or(false);
            g.down.insert(i, d);
            d
        };
        let t0 = Instant::now();
        s.events
            .send(Event::OperChanged {
                path: format!("/ietf-interfaces:interfaces/interface[name='if{i}']/oper-status"),
                value: Some(if down { "down" } else { "up" }.into()),
                time: SystemTime::now(),
            })
            .unwrap();
        let want = if down { "down" } else { "up" };
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), stream.message())
                .await
                .expect("update within 5 s")
                .unwrap()
                .unwrap();
            let Some(pb::subscribe_response::Response::Update(n)) = m.response else {
                continue;
            };
            let name = format!("if{i}");
            let here = n
                .prefix
                .as_ref()
                .is_some_and(|p| p.elem.get(1).and_then(|e| e.key.get("name")) == Some(&name));
            let hit = here
                && n.update.iter().any(|u| {
                    matches!(&u.val.as_ref().unwrap().value,
                        Some(pb::typed_value::Value::StringVal(v)) if v == want)
                });
            if hit {
                break;
            }
        }
        lat.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "on_change: {} events, subscription over {INTERFACES} oper-status leaves: p50 {:?}, p99 {:?}, max {:?}",
        lat.len(),
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // useful either way: always run, it takes ~15 s.
    let s = setup();
    encoding(s._handle.context());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(sample_throughput(&s));
    rt.block_on(on_change_latency(&s));
}
