//! Telemetry on the release daemon, YANG-Push next to gNMI (a bench binary
//! printing figures): `cargo bench -p nectar --bench telemetry`.
//!
//! The daemon runs on its embedded default plus a `pg` port and
//! `NECTAR_BENCH_IFS` (1,000) loopback interfaces, whose counters the
//! dataplane keeps.
//!
//! 1. Periodic push of the counters of every interface
//!    (`/interfaces/interface/statistics` of operational) at the shortest
//!    period, over NETCONF (YANG-Push, RFC 8641) and over gNMI (SAMPLE):
//!    leaf values delivered per second, and per second of the daemon's CPU.
//! 2. On-change latency: an interface is disabled or enabled by a commit on
//!    another session, the dataplane reports its oper-status, and the
//!    subscriber of every interface's oper-status receives the change. From
//!    sending the edit to holding the update, p50/p99 (the commit itself is
//!    in the figure: its own latency is printed too).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nectar_gnmi::proto::gnmi as pb;
use nectar_gnmi::proto::gnmi::g_nmi_client::GNmiClient;
use nectar_netconf::client::Client;
use nectar_testkit::daemon::{Daemon, Options};
use tonic::metadata::{Ascii, MetadataValue};

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const IANA_IF: &str = "urn:ietf:params:xml:ns:yang:iana-if-type";
const SN: &str = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications";
const YP: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-push";
const DS: &str = "urn:ietf:params:xml:ns:yang:ietf-datastores";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The daemon's CPU time (user + system) so far.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line (11, 12 here).
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Leaf values in an XML document: elements holding text.
fn leaves(xml: &str) -> usize {
    xml.split("</").skip(1).count()
        - xml.matches("></").count()
        - xml.matches("</interface>").count()
        - xml.matches("</statistics>").count()
}

async fn rpc(c: &mut Client, body: &str) -> String {
    let r = c.rpc(body).await.expect("the NETCONF session");
    assert!(!r.contains("<rpc-error>"), "{body}: {r}");
    r
}

fn percentiles(lat: &mut [Duration]) -> String {
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} events)",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
        lat.len()
    )
}

fn main() {
    let ifs = env_usize("NECTAR_BENCH_IFS", 1000);
    let secs = env_usize("NECTAR_BENCH_SECS", 5) as u64;
    let d = Daemon::start(Options {
        extra: "[subscriptions]\nmin_period_ms = 10\nqueue = 64\n\
                [[dataplane.ports]]\nname = \"pg0\"\ndriver = \"pg\"\n"
            .into(),
        gnmi: "min_sample_interval_ms = 10".into(),
        gnmi_plaintext: true,
        ..Default::default()
    });
    let pid = d.child.id();
    let password = d.password();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], d.netconf));
        let mut cfg = Client::connect(addr, "admin", &password).await.unwrap();
        let mut all = String::new();
        for i in 0..ifs {
            all.push_str(&format!(
                "<interface><name>lo{i}</name><type xmlns:ianaift=\"{IANA_IF}\">ianaift:softwareLoopback</type></interface>"
            ));
        }
        rpc(
            &mut cfg,
            &format!("<edit-config><target><running/></target><config><interfaces xmlns=\"{IF_NS}\">{all}</interfaces></config></edit-config>"),
        )
        .await;

        // 1. periodic, YANG-Push over NETCONF
        let mut sub = Client::connect(addr, "admin", &password).await.unwrap();
        rpc(
            &mut sub,
            &format!(
                "<establish-subscription xmlns=\"{SN}\" xmlns:yp=\"{YP}\" xmlns:ds=\"{DS}\">\
                 <yp:datastore>ds:operational</yp:datastore>\
                 <yp:datastore-xpath-filter xmlns:if=\"{IF_NS}\">/if:interfaces/if:interface/if:statistics</yp:datastore-xpath-filter>\
                 <yp:periodic><yp:period>1</yp:period></yp:periodic></establish-subscription>"
            ),
        )
        .await;
        let first = sub.notification().await.unwrap();
        let per_push = leaves(&first);
        let (t0, c0) = (Instant::now(), cpu(pid));
        let (mut pushes, mut values, mut bytes) = (0usize, 0usize, 0usize);
        while t0.elapsed() < Duration::from_secs(secs) {
            let n = sub.notification().await.unwrap();
            if n.contains("<push-update") {
                pushes += 1;
                values += per_push;
                bytes += n.len();
            }
        }
        let (el, used) = (t0.elapsed().as_secs_f64(), (cpu(pid) - c0).as_secs_f64());
        println!(
            "YANG-Push periodic over NETCONF, {ifs} interfaces' statistics ({per_push} leaves, {:.0} kB a push): \
             {:.1} pushes/s, {:.0} leaf values/s; daemon CPU {:.2} s in {el:.1} s = {:.0} leaf values/s per core",
            bytes as f64 / pushes.max(1) as f64 / 1e3,
            pushes as f64 / el,
            values as f64 / el,
            used,
            values as f64 / used.max(1e-9),
        );
        drop(sub);

        // 1b. the same over gNMI SAMPLE
        let channel = tonic::transport::Endpoint::try_from(format!("http://127.0.0.1:{}", d.gnmi))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let creds: (MetadataValue<Ascii>, MetadataValue<Ascii>) =
            ("admin".parse().unwrap(), password.parse().unwrap());
        let mut gnmi = GNmiClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
            req.metadata_mut().insert("username", creds.0.clone());
            req.metadata_mut().insert("password", creds.1.clone());
            Ok(req)
        })
        .max_decoding_message_size(1 << 30);
        let elem = |name: &str, key: Option<(&str, &str)>| pb::PathElem {
            name: name.into(),
            key: key
                .map(|(k, v)| [(k.to_string(), v.to_string())].into_iter().collect())
                .unwrap_or_default(),
        };
        let sub_req = |leaf: &str, mode: pb::SubscriptionMode, interval: u64| pb::SubscribeRequest {
            request: Some(pb::subscribe_request::Request::Subscribe(pb::SubscriptionList {
                subscription: vec![pb::Subscription {
                    path: Some(pb::Path {
                        origin: "rfc7951".into(),
                        elem: vec![
                            elem("ietf-interfaces:interfaces", None),
                            elem("interface", Some(("name", "*"))),
                            elem(leaf, None),
                        ],
                        ..Default::default()
                    }),
                    mode: mode as i32,
                    sample_interval: interval,
                    ..Default::default()
                }],
                mode: pb::subscription_list::Mode::Stream as i32,
                encoding: pb::Encoding::JsonIetf as i32,
                ..Default::default()
            })),
            extension: Vec::new(),
        };
        let mut stream = gnmi
            .subscribe(tokio_stream::iter(vec![sub_req(
                "statistics",
                pb::SubscriptionMode::Sample,
                10_000_000,
            )]))
            .await
            .unwrap()
            .into_inner();
        loop {
            let m = stream.message().await.unwrap().unwrap();
            if matches!(m.response, Some(pb::subscribe_response::Response::SyncResponse(_))) {
                break;
            }
        }
        let (t0, c0) = (Instant::now(), cpu(pid));
        let mut updates = 0usize;
        while t0.elapsed() < Duration::from_secs(secs) {
            let m = stream.message().await.unwrap().unwrap();
            if let Some(pb::subscribe_response::Response::Update(n)) = m.response {
                updates += n.update.len();
            }
        }
        let (el, used) = (t0.elapsed().as_secs_f64(), (cpu(pid) - c0).as_secs_f64());
        println!(
            "gNMI SAMPLE (10 ms, JSON_IETF), the same leaves: {:.0} updates/s; daemon CPU {:.2} s in {el:.1} s = \
             {:.0} updates/s per core",
            updates as f64 / el,
            used,
            updates as f64 / used.max(1e-9),
        );
        drop(stream);

        // 2. on-change latency: YANG-Push
        let mut sub = Client::connect(addr, "admin", &password).await.unwrap();
        rpc(
            &mut sub,
            &format!(
                "<establish-subscription xmlns=\"{SN}\" xmlns:yp=\"{YP}\" xmlns:ds=\"{DS}\">\
                 <yp:datastore>ds:operational</yp:datastore>\
                 <yp:datastore-xpath-filter xmlns:if=\"{IF_NS}\">/if:interfaces/if:interface/if:oper-status</yp:datastore-xpath-filter>\
                 <yp:on-change><yp:sync-on-start>false</yp:sync-on-start></yp:on-change></establish-subscription>"
            ),
        )
        .await;
        let toggle = |i: usize, on: bool| {
            format!(
                "<edit-config><target><running/></target><config><interfaces xmlns=\"{IF_NS}\"><interface>\
                 <name>lo{i}</name><enabled>{on}</enabled></interface></interfaces></config></edit-config>"
            )
        };
        let rounds = env_usize("NECTAR_BENCH_EVENTS", 200);
        let (mut lat, mut commit) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let i = (r * 37) % ifs;
            let on = (r / ifs) % 2 == 1;
            let want = format!("interface=lo{i}/oper-status");
            let t = Instant::now();
            rpc(&mut cfg, &toggle(i, on)).await;
            commit.push(t.elapsed());
            loop {
                let n = tokio::time::timeout(Duration::from_secs(10), sub.notification())
                    .await
                    .expect("a push within 10 s")
                    .unwrap();
                if n.contains(&want) {
                    break;
                }
            }
            lat.push(t.elapsed());
        }
        println!("YANG-Push on-change (oper-status of {ifs} interfaces): {}", percentiles(&mut lat));
        println!("  (the commit alone: {})", percentiles(&mut commit));
        drop(sub);
        // Back to enabled for the gNMI round.
        for r in 0..rounds {
            let i = (r * 37) % ifs;
            rpc(&mut cfg, &toggle(i, true)).await;
        }

        // 2b. the same over gNMI ON_CHANGE
        let mut stream = gnmi
            .subscribe(tokio_stream::iter(vec![sub_req(
                "oper-status",
                pb::SubscriptionMode::OnChange,
                0,
            )]))
            .await
            .unwrap()
            .into_inner();
        loop {
            let m = stream.message().await.unwrap().unwrap();
            if matches!(m.response, Some(pb::subscribe_response::Response::SyncResponse(_))) {
                break;
            }
        }
        let mut lat = Vec::new();
        for r in 0..rounds {
            let i = (r * 37) % ifs;
            let on = (r / ifs) % 2 == 1;
            let name = format!("lo{i}");
            let t = Instant::now();
            rpc(&mut cfg, &toggle(i, on)).await;
            loop {
                let m = tokio::time::timeout(Duration::from_secs(10), stream.message())
                    .await
                    .expect("an update within 10 s")
                    .unwrap()
                    .unwrap();
                let Some(pb::subscribe_response::Response::Update(n)) = m.response else {
                    continue;
                };
                let here = n
                    .prefix
                    .iter()
                    .chain(n.update.iter().filter_map(|u| u.path.as_ref()))
                    .any(|p| p.elem.iter().any(|e| e.key.get("name") == Some(&name)));
                if here {
                    break;
                }
            }
            lat.push(t.elapsed());
        }
        println!("gNMI ON_CHANGE (the same): {}", percentiles(&mut lat));
    });
}
