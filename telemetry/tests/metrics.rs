//! The exporter over a dataplane of in-memory ports: a scrape taken through the real listener
//! shows each interface's counters, the per-node drops by reason, table sizes and the ACL rule
//! hits of the traffic sent, and `promtool check metrics` finds nothing wrong with it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use nectar_dataplane::control::{AclAction, AclConfig, AclRule, InterfaceConfig, Op};
use nectar_dataplane::headers::Builder;
use nectar_dataplane::port::pg::pg;
use nectar_dataplane::{Dataplane, IpNet, Mac};
use nectar_telemetry::metrics::{Metrics, serve};
use nectar_testkit::prom::{promtool_check, sample};

// Input: two routed pg ports, p0 with an ACL permitting UDP to port 53 and denying the rest;
// 5 UDP/53 and 3 UDP/80 packets and 2 broadcast UDP/9 frames into p0. Output: p0's received
// counters, ACL hits per rule (acl, ace), drop reasons and the table gauges, in a scrape that
// promtool accepts.
#[tokio::test]
async fn scrape_shows_interface_counters_acl_hits_and_passes_promtool() {
    let (p0, h0) = pg(Mac([2, 0, 0, 0, 0, 1]));
    let (p1, _h1) = pg(Mac([2, 0, 0, 0, 0, 2]));
    let dp = Arc::new(
        Dataplane::builder()
            .port("p0", p0)
            .port("p1", p1)
            .build()
            .unwrap(),
    );
    let rule = |action, dport| AclRule {
        proto: Some(17),
        dst_ports: dport,
        ..AclRule::any(action)
    };
    dp.apply(&[
        Op::SetAcl(AclConfig {
            name: "edge".into(),
            rules: vec![
                rule(AclAction::Permit, Some((53, 53))),
                rule(AclAction::Deny, None),
            ],
        }),
        Op::SetInterface {
            name: "p0".into(),
            config: InterfaceConfig {
                admin_up: true,
                acl_in: Some("edge".into()),
                ..Default::default()
            },
        },
        Op::AddAddress {
            interface: "p0".into(),
            prefix: "10.0.0.1/24".parse::<IpNet>().unwrap(),
        },
    ])
    .unwrap();
    let udp = |dport| {
        Builder::eth(Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 9]))
            .ipv4("10.0.0.9".parse().unwrap(), "10.9.9.9".parse().unwrap())
            .udp(1000, dport)
            .payload(&[0; 18])
            .build()
    };
    for _ in 0..5 {
        h0.send(&udp(53));
    }
    for _ in 0..3 {
        h0.send(&udp(80));
    }
    let bcast = Builder::eth(Mac::BROADCAST, Mac([2, 0, 0, 0, 0, 9]))
        .ipv4("10.0.0.9".parse().unwrap(), "10.0.0.255".parse().unwrap())
        .udp(1000, 9)
        .payload(&[0; 18])
        .build();
    h0.send(&bcast);
    h0.send(&bcast);
    dp.poll();

    let metrics = Metrics::new("test");
    metrics.add_dataplane(dp.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, metrics, std::future::pending()));
    let body = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        buf.split_once("\r\n\r\n").unwrap().1.to_owned()
    })
    .await
    .unwrap();

    let p0 = [("interface", "p0")];
    assert_eq!(
        sample(&body, "nectar_interface_receive_packets_total", &p0),
        Some(10.0)
    );
    assert_eq!(
        sample(
            &body,
            "nectar_interface_receive_broadcast_packets_total",
            &p0
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&body, "nectar_interface_receive_unicast_packets_total", &p0),
        Some(8.0)
    );
    assert!(sample(&body, "nectar_interface_receive_bytes_total", &p0).unwrap() >= 600.0);
    assert_eq!(sample(&body, "nectar_interface_admin_up", &p0), Some(1.0));
    assert_eq!(
        sample(&body, "nectar_interface_admin_up", &[("interface", "p1")]),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &body,
            "nectar_acl_rule_hits_total",
            &[("acl", "edge"), ("ace", "1")]
        ),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &body,
            "nectar_acl_rule_hits_total",
            &[("acl", "edge"), ("ace", "2")]
        ),
        Some(5.0),
        "the 3 UDP/80 and the 2 broadcasts to UDP/9 meet the deny rule"
    );
    assert_eq!(
        sample(
            &body,
            "nectar_acl_rule_octets_total",
            &[("acl", "edge"), ("ace", "1")]
        ),
        Some(5.0 * 46.0),
        "five IPv4 packets of 20 + 8 + 18 octets (IP lengths, not the 60-octet frames)"
    );
    assert!(
        body.contains("nectar_dataplane_drops_total{node="),
        "{body}"
    );
    assert!(
        sample(
            &body,
            "nectar_dataplane_table_capacity",
            &[("table", "l2fib")]
        )
        .unwrap()
            > 0.0
    );
    assert!(
        body.contains(
            "nectar_interface_info{interface=\"p0\",kind=\"port\",mac=\"02:00:00:00:00:01\"} 1"
        ),
        "{body}"
    );

    promtool_check(&body);
}
