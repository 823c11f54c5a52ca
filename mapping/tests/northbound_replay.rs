//! Automatic replay: when the dataplane loses its configuration (`Dataplane::reset`, the
//! restart hook) or a worker thread crashes, the mapping replays running into it on its own
//! (nobody calls `NorthboundHandle::replay`), forwarding resumes and the operational state is
//! what it was; the management event bus carries a `nectar-interfaces:dataplane-restart`
//! notification.

mod northbound_rig;

use std::time::{Duration, Instant};

use nectar_dataplane::Mac;
use nectar_dataplane::control::DEFAULT_VRF;
use nectar_dataplane::headers::build::Builder;
use nectar_dataplane::headers::{ARP_REQUEST, Arp, ETH_P_ARP, Ethernet};
use nectar_mgmt::Event;
use northbound_rig::*;

const HOST: Mac = Mac([0x02, 0, 0, 0, 0, 9]);

const ROUTE: &str = r#"{"ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
  {"type":"ietf-routing:static","name":"st","static-routes":{"ietf-ipv4-unicast-routing:ipv4":{"route":[
    {"destination-prefix":"192.0.2.0/24","next-hop":{"next-hop-address":"10.0.0.254"}}]}}}]}}}"#;

/// An ARP request for 10.0.0.1 from a host on eth0.
fn arp_request() -> Vec<u8> {
    Builder::eth(Mac::BROADCAST, HOST)
        .arp(
            ARP_REQUEST,
            HOST,
            "10.0.0.9".parse().unwrap(),
            Mac::ZERO,
            "10.0.0.1".parse().unwrap(),
        )
        .build()
}

/// Whether eth0 answers an ARP request for its address within `wait` (polling the
/// dataplane when it has no worker threads).
fn eth0_answers_arp(r: &Rig, wait: Duration) -> bool {
    let _ = r.pg[0].take();
    r.pg[0].send(&arp_request());
    let deadline = Instant::now() + wait;
    loop {
        r.dp.poll();
        for f in r.pg[0].take() {
            let e = Ethernet::parse(&f).unwrap();
            if e.ethertype == ETH_P_ARP {
                let a = Arp::parse(&f[e.header_len..]).unwrap();
                if a.spa == "10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap() && a.tha == HOST {
                    return true;
                }
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `dataplane-restart` notifications on the management bus: waits for the first (the
/// event forwarder runs on a thread of its own), then takes what else is there.
fn restart_notes(r: &mut Rig) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match r.events.try_recv() {
            Ok(Event::Notification { json, .. })
                if json.contains("nectar-interfaces:dataplane-restart") =>
            {
                out.push(json.to_string())
            }
            Ok(_) => {}
            Err(_) if out.is_empty() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => return out,
        }
    }
}

#[test]
fn a_dataplane_reset_is_replayed_without_anyone_asking() {
    let mut r = rig();
    r.merge(ETH0_ADDR).unwrap();
    r.merge(ROUTE).unwrap();
    assert!(eth0_answers_arp(&r, Duration::ZERO));
    let before = r.oper("/ietf-interfaces:interfaces/interface[name='eth0']");
    let replays = r.nb.replays();

    r.dp.reset().unwrap();
    wait_for("the automatic replay", || r.nb.replays() > replays);

    assert!(
        eth0_answers_arp(&r, Duration::ZERO),
        "eth0 answers ARP again"
    );
    let t = r.dp.tables();
    let eth0 = t.iface(t.if_index("eth0").unwrap()).unwrap();
    assert!(eth0.admin_up);
    assert_eq!(eth0.mtu, 1400);
    assert!(
        r.dp.lookup(DEFAULT_VRF, "192.0.2.7".parse().unwrap())
            .is_some(),
        "the static route is back"
    );
    let mut after = r.oper("/ietf-interfaces:interfaces/interface[name='eth0']");
    // Counters went on counting (the ARP exchange); everything else is as before.
    let strip = |v: &mut serde_json::Value| {
        v["ietf-interfaces:interfaces"]["interface"][0]
            .as_object_mut()
            .unwrap()
            .remove("statistics");
    };
    let mut before = before;
    strip(&mut before);
    strip(&mut after);
    assert_eq!(after, before);
    let notes = restart_notes(&mut r);
    assert_eq!(
        notes,
        vec![
            r#"{"nectar-interfaces:dataplane-restart":{"reason":"the dataplane was reset"}}"#
                .to_string()
        ]
    );
}

#[test]
fn a_crashed_worker_is_restarted_and_the_configuration_replayed() {
    let mut r = rig_with_workers(1);
    r.merge(ETH0_ADDR).unwrap();
    assert!(eth0_answers_arp(&r, Duration::from_secs(20)));
    let replays = r.nb.replays();
    assert_eq!(r.dp.worker_restarts(), 0);

    assert!(r.dp.inject_worker_panic());
    wait_for("the worker restart", || r.dp.worker_restarts() == 1);
    wait_for("the automatic replay", || r.nb.replays() > replays);

    assert!(
        eth0_answers_arp(&r, Duration::from_secs(20)),
        "the restarted worker forwards with the replayed configuration"
    );
    // After a worker crash the dataplane still holds its configuration: a replay replaces
    // it with the same one, without error.
    r.nb.replay().unwrap();
    assert!(eth0_answers_arp(&r, Duration::from_secs(20)));
    let notes = restart_notes(&mut r);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("worker 0 crashed (injected worker fault"),
        "{}",
        notes[0]
    );
}
