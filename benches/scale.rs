//! The datastore at scale, end to end (`cargo bench -p nectar --bench scale`): the release
//! daemon on its default configuration plus two `pg` ports (`pg0` with an IPv4 address),
//! driven over NETCONF by a client that sends its next RPC the moment the previous reply
//! arrives (`nectar_netconf::client`, russh; no polling loop), and read back over
//! RESTCONF (curl) and gNMI (tonic, plaintext on loopback). RSS is read from `/proc`.
//!
//! Prints one row per measurement, with p50 and p99 where a row is a series:
//! 1. edit-config(candidate) + commit on a small datastore, transactions per second;
//! 2. the same changing one interface `description` with `NECTAR_BENCH_IFS` (4,000)
//!    loopback interfaces in running; 3. the same edit straight to running; 4. a NACM group
//!    edit at that size, for contrast;
//! 5. one edit-config + commit of `NECTAR_BENCH_ROUTES` (100,000) IPv4 static routes;
//! 6. one more route on top of them; 7. get-config of running, RESTCONF GET of running and
//!    gNMI Get (CONFIG) of everything; 8. RSS idle, with the interfaces, with the routes
//!    (right after the commits and after 2 s idle), and after 1,000 more commits at that
//!    size.
//!
//! `NECTAR_BENCH_TX` sets the number of transactions in a series (default 300).

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use nectar_gnmi::proto::gnmi as pb;
use nectar_gnmi::proto::gnmi::g_nmi_client::GNmiClient;
use nectar_netconf::client::Client;
use nectar_testkit::daemon::{Daemon, Options};
use tonic::metadata::{Ascii, MetadataValue};

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const IP_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-ip";
const RT_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-routing";
const V4_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-ipv4-unicast-routing";
const NACM_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm";
const IANA_IF: &str = "urn:ietf:params:xml:ns:yang:iana-if-type";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Nc(Client);

impl Nc {
    async fn rpc(&mut self, body: &str) -> String {
        let r = self.0.rpc(body).await.expect("the NETCONF session");
        assert!(
            !r.contains("<rpc-error>"),
            "{}: {r}",
            &body[..body.len().min(300)]
        );
        r
    }

    async fn edit(&mut self, target: &str, config: &str) {
        self.rpc(&format!(
            "<edit-config><target><{target}/></target><config>{config}</config></edit-config>"
        ))
        .await;
    }

    async fn commit(&mut self) {
        self.rpc("<commit/>").await;
    }
}

fn interface(name: &str, kind: &str, inner: &str) -> String {
    format!(
        "<interface><name>{name}</name><type xmlns:ianaift=\"{IANA_IF}\">ianaift:{kind}</type>{inner}</interface>"
    )
}

fn interfaces(entries: &str) -> String {
    format!("<interfaces xmlns=\"{IF_NS}\">{entries}</interfaces>")
}

fn described(descr: &str) -> String {
    interfaces(&format!(
        "<interface><name>pg0</name><description>{descr}</description></interface>"
    ))
}

fn route(i: usize) -> String {
    // 10.0.0.0/8 and beyond, one /32 each; the next hop on pg0's subnet.
    let a = 0x0a00_0000u32 + i as u32;
    format!(
        "<route><destination-prefix>{}.{}.{}.{}/32</destination-prefix><next-hop><next-hop-address>192.0.2.254</next-hop-address></next-hop></route>",
        a >> 24,
        (a >> 16) & 255,
        (a >> 8) & 255,
        a & 255
    )
}

fn routes(range: std::ops::Range<usize>) -> String {
    let mut s = String::with_capacity(range.len() * 160);
    s.push_str(&format!(
        "<routing xmlns=\"{RT_NS}\"><control-plane-protocols><control-plane-protocol>\
         <type>static</type><name>st</name><static-routes><ipv4 xmlns=\"{V4_NS}\">"
    ));
    for i in range {
        s.push_str(&route(i));
    }
    s.push_str(
        "</ipv4></static-routes></control-plane-protocol></control-plane-protocols></routing>",
    );
    s
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// p50 and p99 (and max) of a series, in milliseconds.
fn summary(lat: &mut [Duration]) -> String {
    lat.sort();
    let at = |p: f64| ms(lat[((lat.len() as f64 - 1.0) * p).round() as usize]);
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(0.5),
        at(0.99),
        ms(lat[lat.len() - 1])
    )
}

/// Runs `$n` transactions (the block, with `$i` counting) one after the other and prints a
/// row: rate, p50, p99, max.
macro_rules! series {
    ($label:expr, $n:expr, |$i:pat_param| $body:block $(,)?) => {{
        let n: usize = $n;
        let mut lat = Vec::with_capacity(n);
        let start = Instant::now();
        for $i in 0..n {
            let t = Instant::now();
            $body
            lat.push(t.elapsed());
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("{:<72} {rate:>8.0} tx/s  {}", $label, summary(&mut lat));
    }};
}

fn main() {
    let n = env_usize("NECTAR_BENCH_TX", 300);
    let ifs = env_usize("NECTAR_BENCH_IFS", 4000);
    let nroutes = env_usize("NECTAR_BENCH_ROUTES", 100_000);
    let d = Daemon::start(Options {
        extra: "[[dataplane.ports]]\nname = \"pg0\"\ndriver = \"pg\"\n\
                [[dataplane.ports]]\nname = \"pg1\"\ndriver = \"pg\"\n"
            .into(),
        gnmi_plaintext: true,
        ..Default::default()
    });
    let pid = d.child.id();
    let password = d.password();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], d.netconf));
        let mut nc = Nc(Client::connect(addr, "admin", &password).await.unwrap());
        println!("daemon RSS idle (embedded default + two pg ports): {:.0} MB", rss_mb(pid));
        nc.edit(
            "running",
            &interfaces(&interface(
                "pg0",
                "ethernetCsmacd",
                &format!("<ipv4 xmlns=\"{IP_NS}\"><address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address></ipv4>"),
            )),
        )
        .await;

        // 1. a small datastore
        for i in 0..50 {
            nc.edit("candidate", &described(&format!("warm {i}"))).await;
            nc.commit().await;
        }
        series!("edit-config(candidate) + commit, small datastore", n * 3, |i| {
            nc.edit("candidate", &described(&format!("small {i}"))).await;
            nc.commit().await;
        });

        // 2-4. at `ifs` loopback interfaces
        let mut all = String::new();
        for i in 0..ifs {
            all.push_str(&interface(&format!("lo{i}"), "softwareLoopback", ""));
        }
        let t = Instant::now();
        nc.edit("candidate", &interfaces(&all)).await;
        nc.commit().await;
        println!(
            "loading {ifs} loopback interfaces (one edit-config + commit): {:.0} ms; RSS {:.0} MB",
            ms(t.elapsed()),
            rss_mb(pid)
        );
        series!(
            &format!("edit-config(candidate) + commit of one description, {ifs} interfaces"),
            n,
            |i| {
                nc.edit("candidate", &described(&format!("cand {i}"))).await;
                nc.commit().await;
            },
        );
        series!(
            &format!("edit-config(running) of one description, {ifs} interfaces"),
            n,
            |i| {
                nc.edit("running", &described(&format!("run {i}"))).await;
            },
        );
        series!(
            &format!("edit-config(candidate) + commit of a NACM group, {ifs} interfaces"),
            n,
            |i| {
                nc.edit(
                    "candidate",
                    &format!(
                        "<nacm xmlns=\"{NACM_NS}\"><groups><group><name>bench</name><user-name>u{i}</user-name></group></groups></nacm>"
                    ),
                )
                .await;
                nc.commit().await;
            },
        );
        // Back to a datastore of routes only.
        let mut gone = String::new();
        for i in 0..ifs {
            gone.push_str(&format!(
                "<interface xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"delete\"><name>lo{i}</name></interface>"
            ));
        }
        nc.edit("candidate", &interfaces(&gone)).await;
        nc.commit().await;

        // 5. bulk routes
        let bulk = routes(0..nroutes);
        let t = Instant::now();
        nc.edit("candidate", &bulk).await;
        nc.commit().await;
        println!(
            "bulk commit of {nroutes} IPv4 static routes ({:.1} MB of XML): {:.0} ms; RSS {:.0} MB",
            bulk.len() as f64 / 1e6,
            ms(t.elapsed()),
            rss_mb(pid)
        );
        drop(bulk);

        // 6. one more route on top
        series!(
            &format!("one more static route on top of {nroutes} (edit-config + commit)"),
            n / 3,
            |i| {
                nc.edit("candidate", &routes(nroutes + i..nroutes + i + 1)).await;
                nc.commit().await;
            },
        );
        println!(
            "daemon RSS with {nroutes} routes, right after these commits: {:.0} MB",
            rss_mb(pid)
        );
        // What it holds once the requests stop (freed memory handed back).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = rss_mb(pid);
        println!("daemon RSS with {nroutes} routes, 2 s idle: {before:.0} MB");
        // Memory stays flat over many commits at this size.
        let first = nroutes + n;
        for i in 0..1000 {
            let r = first + i / 2;
            if i % 2 == 0 {
                nc.edit("candidate", &routes(r..r + 1)).await;
            } else {
                nc.edit(
                    "candidate",
                    &routes(r..r + 1).replace("<route>", "<route xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"delete\">"),
                )
                .await;
            }
            nc.commit().await;
        }
        println!(
            "daemon RSS after 1,000 more commits (a route added, then deleted): {:.0} MB ({:+.0} MB)",
            rss_mb(pid),
            rss_mb(pid) - before
        );

        // 7. reads of the whole datastore
        let mut size = 0;
        series!(&format!("get-config of running, {nroutes} routes"), 10, |_| {
            size = nc
                .rpc("<get-config><source><running/></source></get-config>")
                .await
                .len();
        });
        println!("  (reply {:.1} MB)", size as f64 / 1e6);
        let url = format!(
            "https://127.0.0.1:{}/restconf/ds/ietf-datastores:running",
            d.restconf
        );
        let cert = d.cert();
        series!(&format!("RESTCONF GET of running (curl), {nroutes} routes"), 10, |_| {
            let out = Command::new("curl")
                .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                .arg(&cert)
                .args(["-u", &format!("admin:{password}"), &url])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
        });
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
        series!(&format!("gNMI Get (CONFIG, JSON_IETF) of everything, {nroutes} routes"), 10, |_| {
            let req = pb::GetRequest {
                path: vec![pb::Path::default()],
                r#type: pb::get_request::DataType::Config as i32,
                encoding: pb::Encoding::JsonIetf as i32,
                ..Default::default()
            };
            gnmi.get(req).await.expect("gNMI Get");
        });
        println!("daemon RSS at the end: {:.0} MB", rss_mb(pid));
    });
}
