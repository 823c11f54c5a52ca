//! NETCONF benchmark (a bench binary printing figures, `cargo bench -p
//! nectar-netconf --bench netconf`): a Rust client over real SSH (russh)
//! against the in-process server on a real management core whose journal is
//! fsynced per commit, measuring
//! 1. small edit-config + commit transactions per second on one session
//!    (candidate edit, then commit: two RPCs per transaction, each waiting
//!    for its reply), and edit-config straight to running;
//! 2. get-config latency with 10,000 interfaces in running (whole
//!    datastore, and a subtree filter selecting one interface).
//!
//! The models are the management modules plus ietf-interfaces/ietf-ip,
//! served by a provider that accepts every change (the daemon's dataplane
//! provider is not involved: this measures NETCONF + the core).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

/// The bench client: a reply with an rpc-error is a failed run.
struct Nc(nectar_netconf::client::Client);

impl Nc {
    async fn connect(addr: std::net::SocketAddr) -> Nc {
        Nc(
            nectar_netconf::client::Client::connect(addr, "admin", "admin-pw")
                .await
                .unwrap(),
        )
    }

    async fn rpc(&mut self, body: &str) -> String {
        let r = self.0.rpc(body).await.unwrap();
        assert!(!r.contains("<rpc-error>"), "{body}: {r}");
        r
    }
}

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

fn iface(name: &str, descr: &str) -> String {
    format!(
        "<interface><name>{name}</name><type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:ethernetCsmacd</type><description>{descr}</description></interface>"
    )
}

fn edit(target: &str, entries: &str) -> String {
    format!(
        "<edit-config><target><{target}/></target><config><interfaces xmlns=\"{IF_NS}\">{entries}</interfaces></config></edit-config>"
    )
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let server = common::start();
    let addr = server.addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut nc = Nc::connect(addr).await;
        nc.rpc(&edit("running", &iface("eth0", "start"))).await;

        // 1. transactions: candidate edit + commit
        let n = 3000;
        for i in 0..200 {
            nc.rpc(&edit("candidate", &iface("eth0", &format!("warm{i}")))).await;
            nc.rpc("<commit/>").await;
        }
        let t = Instant::now();
        for i in 0..n {
            nc.rpc(&edit("candidate", &iface("eth0", &format!("d{i}")))).await;
            nc.rpc("<commit/>").await;
        }
        let el = t.elapsed();
        println!(
            "edit-config(candidate) + commit: {n} transactions in {:.2} s = {:.0} transactions/s ({:.0} us each)",
            el.as_secs_f64(),
            n as f64 / el.as_secs_f64(),
            el.as_micros() as f64 / n as f64
        );
        let t = Instant::now();
        for i in 0..n {
            nc.rpc(&edit("running", &iface("eth0", &format!("r{i}")))).await;
        }
        let el = t.elapsed();
        println!(
            "edit-config(running), one commit each: {n} transactions in {:.2} s = {:.0} transactions/s",
            el.as_secs_f64(),
            n as f64 / el.as_secs_f64()
        );

        // 2. get-config with 10k interfaces
        let mut all = String::new();
        for i in 0..10_000 {
            all.push_str(&iface(&format!("if{i:05}"), &format!("interface {i}")));
        }
        let t = Instant::now();
        nc.rpc(&edit("running", &all)).await;
        println!(
            "loading 10,000 interfaces in one edit-config: {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let mut lat = Vec::new();
        let mut size = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let r = nc.rpc("<get-config><source><running/></source></get-config>").await;
            lat.push(t.elapsed());
            size = r.len();
        }
        println!(
            "get-config of 10,001 interfaces ({:.1} MB reply): median {:.0} ms, p90 {:.0} ms",
            size as f64 / 1e6,
            percentile(&mut lat, 0.5).as_secs_f64() * 1e3,
            percentile(&mut lat, 0.9).as_secs_f64() * 1e3
        );
        let mut lat = Vec::new();
        let filter = format!(
            "<get-config><source><running/></source><filter><interfaces xmlns=\"{IF_NS}\"><interface><name>if04242</name></interface></interfaces></filter></get-config>"
        );
        for _ in 0..200 {
            let t = Instant::now();
            let r = nc.rpc(&filter).await;
            lat.push(t.elapsed());
            assert!(r.contains("interface 4242"));
        }
        println!(
            "get-config with a subtree filter for one of 10,001 interfaces: median {:.2} ms, p90 {:.2} ms",
            percentile(&mut lat, 0.5).as_secs_f64() * 1e3,
            percentile(&mut lat, 0.9).as_secs_f64() * 1e3
        );
    });
    drop(server);
}
