//! Telemetry as a monitoring stack sees it: the Prometheus scrape of a running daemon checked
//! by `promtool check metrics`, and VES 7.2.1 events received by a test collector
//! (tests/telemetry/ves_collector.py) that validates every event against the official schema
//! `CommonEventFormat_30.2.1_ONAP.json` of the pytest-ves package, over HTTPS with Basic
//! authentication: heartbeat cadence, measurements, a collector outage with nothing lost and
//! order kept, collector commands, and, in network namespaces, link faults, state changes and
//! threshold-crossing alerts configured through the `nectar-telemetry` YANG module.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use nectar_testkit::daemon::{Daemon, Options};
use nectar_testkit::netns::{self, Host};
use nectar_testkit::prom::{promtool_check, sample};
use nectar_testkit::ves::{Collector, PASSWORD, USER, header, seq, start_s};

/// The daemon with `extra` in its configuration.
fn start(extra: &str) -> Daemon {
    Daemon::start(Options {
        extra: extra.to_string(),
        ..Options::default()
    })
}

/// GET /metrics: the body of a 200 in the Prometheus text format.
fn scrape(d: &Daemon) -> std::io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], d.metrics));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    Ok(body.to_owned())
}

fn ves_section(c: &Collector, extra: &str) -> String {
    format!(
        "[ves]\ncollector_url = \"{}/eventListener/v7\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\
         ca_file = \"{}\"\nsource_name = \"nectar-test\"\nretry_max_interval_s = 1\n{extra}",
        c.url(),
        c.ca.display()
    )
}

// Input: a daemon with one in-memory port and a VES collector over HTTPS, heartbeats every
// second and measurements every two. Output: valid events with the right header; heartbeats
// a second apart; measurements carrying the port's counters; the collector goes away for a
// while and comes back: every event arrives, in order (the sequence numbers arrive as
// 0, 1, 2, ... with no gap); a commandList changes the heartbeat and measurement intervals;
// and the scrape, with the VES metrics in it, passes promtool.
#[test]
fn ves_events_survive_an_outage_in_order_and_collector_commands_apply() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collector::start(&dir.path().join("collector"));
    let d = start(&ves_section(
        &c,
        "heartbeat_interval_s = 1\nmeasurement_interval_s = 2\nbatch_max_events = 10\n",
    ));

    c.wait_for("3 heartbeats and 2 measurements", 30, |c| {
        c.events("heartbeat").len() >= 3 && c.events("measurement").len() >= 2
    });
    c.assert_no_errors();
    let hb = c.events("heartbeat");
    let h = header(&hb[0]);
    assert_eq!(h["sourceName"], "nectar-test");
    assert_eq!(h["reportingEntityName"], "nectar-test");
    assert_eq!(h["version"], "4.1");
    assert_eq!(h["vesEventListenerVersion"], "7.2.1");
    assert_eq!(hb[0]["heartbeatFields"]["heartbeatInterval"], 1);
    for w in hb.windows(2) {
        let gap = start_s(&w[1]) - start_s(&w[0]);
        assert!((0.7..1.5).contains(&gap), "heartbeats {gap} s apart");
    }
    let m = &c.events("measurement")[0]["measurementFields"];
    assert_eq!(m["measurementInterval"], 2.0);
    let nic = &m["nicPerformanceArray"][0];
    assert_eq!(nic["nicIdentifier"], "eth0");
    assert_eq!(nic["receivedTotalPacketsAccumulated"], 0);
    assert_eq!(nic["administrativeState"], "outOfService");
    assert!(m["cpuUsageArray"][0]["percentUsage"].is_number(), "{m}");
    assert!(m["memoryUsageArray"][0]["memoryUsed"].as_f64().unwrap() > 0.0);

    // The collector goes away; events are buffered on disk meanwhile.
    c.stop();
    let before = c.records().len();
    std::thread::sleep(Duration::from_secs(4));
    let body = scrape(&d).unwrap();
    let buffered = sample(&body, "nectar_ves_events_buffered", &[]).unwrap();
    assert!(buffered >= 3.0, "buffered {buffered}");
    assert!(sample(&body, "nectar_ves_delivery_failures_total", &[]).unwrap() >= 1.0);

    c.restart();
    c.wait_for("the buffered events", 30, |c| {
        c.records().len() >= before + 5
    });
    c.wait_for("an empty buffer", 30, |_| {
        sample(&scrape(&d).unwrap(), "nectar_ves_events_buffered", &[]) == Some(0.0)
    });
    let recs = c.records();
    assert!(
        recs.iter().any(|r| r["batch"].as_u64().unwrap() > 1),
        "no batch was sent"
    );
    let seqs: Vec<u64> = recs.iter().map(|r| seq(&r["event"])).collect();
    let expect: Vec<u64> = (0..seqs.len() as u64).collect();
    assert_eq!(seqs, expect, "events lost or out of order");

    // Collector commands: heartbeat every 3 s, measurements every 4 s.
    c.command(serde_json::json!([
        {"command": {"commandType": "heartbeatIntervalChange", "heartbeatInterval": 3}},
        {"commandType": "measurementIntervalChange", "measurementInterval": 4}
    ]));
    c.wait_for("3 heartbeats at the new interval", 30, |c| {
        c.events("heartbeat")
            .iter()
            .filter(|e| e["heartbeatFields"]["heartbeatInterval"] == 3)
            .count()
            >= 3
    });
    let slow: Vec<Value> = c
        .events("heartbeat")
        .into_iter()
        .filter(|e| e["heartbeatFields"]["heartbeatInterval"] == 3)
        .collect();
    for w in slow.windows(2) {
        let gap = start_s(&w[1]) - start_s(&w[0]);
        assert!(
            (2.6..3.5).contains(&gap),
            "heartbeats {gap} s apart after the command"
        );
    }
    c.wait_for("a measurement at the new interval", 30, |c| {
        c.events("measurement")
            .iter()
            .any(|e| e["measurementFields"]["measurementInterval"] == 4.0)
    });
    c.assert_no_errors();

    let body = scrape(&d).unwrap();
    promtool_check(&body);
    assert!(
        sample(
            &body,
            "nectar_ves_events_sent_total",
            &[("domain", "heartbeat")]
        )
        .unwrap()
            >= 5.0
    );
    assert!(
        sample(
            &body,
            "nectar_ves_commands_total",
            &[("command", "heartbeatIntervalChange")]
        ) == Some(1.0)
    );
    assert!(sample(&body, "nectar_interface_admin_up", &[("interface", "eth0")]) == Some(0.0));
}

// Input: a daemon whose port is an AF_PACKET socket on a veth, with broadcast traffic
// arriving from a namespace. Output: the scrape shows the port's received packets and bytes,
// drops by node and reason, table sizes and limits, and the management metrics; promtool
// finds nothing wrong with it.
#[test]
fn a_scrape_of_a_daemon_with_traffic_passes_promtool() {
    if !netns::available() {
        return;
    }
    let net = Host::new("m", false);
    let d = start(&format!(
        "[dataplane]\nworkers = 1\n[[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\nhost_interface = \"{}\"\n",
        net.dp_dev
    ));
    let mut ping = net.blast(2);
    let _ = ping.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let body = scrape(&d).unwrap();
        if sample(
            &body,
            "nectar_interface_receive_packets_total",
            &[("interface", "eth0")],
        )
        .unwrap_or(0.0)
            >= 50.0
        {
            break body;
        }
        assert!(Instant::now() < deadline, "no traffic counted: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    promtool_check(&body);
    let rx = |n: &str| sample(&body, n, &[("interface", "eth0")]).unwrap_or(-1.0);
    assert!(rx("nectar_interface_receive_bytes_total") >= 50.0 * 60.0);
    assert!(rx("nectar_interface_receive_broadcast_packets_total") >= 50.0);
    assert_eq!(rx("nectar_interface_admin_up"), 0.0);
    assert_eq!(rx("nectar_interface_oper_up"), 0.0);
    assert!(
        body.contains("nectar_dataplane_drops_total{"),
        "no drop counters: {body}"
    );
    assert_eq!(
        sample(
            &body,
            "nectar_dataplane_table_entries",
            &[("table", "conntrack")]
        ),
        Some(0.0)
    );
    assert!(
        sample(
            &body,
            "nectar_dataplane_table_capacity",
            &[("table", "conntrack")]
        )
        .unwrap()
            > 0.0
    );
    assert!(body.contains("# TYPE nectar_mgmt_commit_duration_seconds histogram"));
    // Families with labels show once a door records into them (RPCs, sessions).
    assert!(sample(&body, "process_open_fds", &[]).unwrap() > 0.0);
}
