//! Subscribe through the tonic service over an in-memory connection: ONCE,
//! POLL, STREAM with SAMPLE (suppress_redundant, heartbeats), ON_CHANGE
//! (config commits, operational events, deletes, heartbeats),
//! TARGET_DEFINED, updates_only, interval checks, wildcards, slow consumers,
//! half-closed request streams and disconnects.

mod common;

use std::time::Duration;

use common::*;
use nectar_gnmi::proto::gnmi as pb;
use pb::SubscriptionMode as SM;
use pb::subscription_list::Mode as LM;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const OPER0: &str = "/ietf-interfaces:interfaces/interface[name=eth0]/oper-status";
const IN0: &str = "/ietf-interfaces:interfaces/interface[name=eth0]/statistics/in-octets";
const DESC0: &str = "/ietf-interfaces:interfaces/interface[name=eth0]/description";

/// Opens a subscription whose request stream stays open; returns the sender
/// for later requests (polls) and the response stream.
async fn open(
    c: &mut Client,
    req: pb::SubscribeRequest,
) -> (
    mpsc::Sender<pb::SubscribeRequest>,
    tonic::Streaming<pb::SubscribeResponse>,
) {
    let (tx, rx) = mpsc::channel(8);
    tx.send(req).await.unwrap();
    let s = c
        .subscribe(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, s)
}

fn poll() -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        request: Some(pb::subscribe_request::Request::Poll(pb::Poll {})),
        extension: Vec::new(),
    }
}

#[tokio::test]
async fn once_sends_everything_then_sync_then_ends() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"up""#)).await;
    let mut c = h.client().await;
    let mut s = c
        .subscribe(tokio_stream::iter(vec![list(
            LM::Once,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=*]/oper-status",
                SM::TargetDefined,
                Duration::ZERO,
            )],
        )]))
        .await
        .unwrap()
        .into_inner();
    let got = until_sync(&mut s).await;
    assert_eq!(got.get(OPER0).map(String::as_str), Some("up"));
    assert_eq!(
        got.get("/ietf-interfaces:interfaces/interface[name=eth1]/oper-status")
            .map(String::as_str),
        Some("down")
    );
    assert_eq!(got.len(), 2, "{got:?}");
    let end = tokio::time::timeout(Duration::from_secs(5), s.message())
        .await
        .unwrap()
        .unwrap();
    assert!(end.is_none(), "ONCE ends the stream with OK after sync");
}

#[tokio::test]
async fn poll_answers_each_trigger_with_fresh_data() {
    let h = harness();
    let mut c = h.client().await;
    let (tx, mut s) = open(
        &mut c,
        list(
            LM::Poll,
            pb::Encoding::JsonIetf,
            vec![sub(IN0, SM::Sample, Duration::ZERO)],
        ),
    )
    .await;
    let got = until_sync(&mut s).await;
    assert_eq!(got.get(IN0).map(String::as_str), Some("\"100\""));
    h.add_octets("eth0", 23);
    tx.send(poll()).await.unwrap();
    let got = until_sync(&mut s).await;
    assert_eq!(got.get(IN0).map(String::as_str), Some("\"123\""));
    tx.send(poll()).await.unwrap();
    let got = until_sync(&mut s).await;
    assert_eq!(got.get(IN0).map(String::as_str), Some("\"123\""));
    // A SubscriptionList again is refused.
    tx.send(list(LM::Poll, pb::Encoding::JsonIetf, vec![]))
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), s.message())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn stream_sample_sends_every_interval_and_suppress_redundant_only_changes() {
    let h = harness();
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=eth0]/statistics",
                SM::Sample,
                Duration::from_millis(50),
            )],
        ),
    )
    .await;
    let got = until_sync(&mut s).await;
    assert_eq!(got.len(), 3, "{got:?}"); // discontinuity-time, in, out
    // Unchanged values are sent again at every sample.
    let m = next(&mut s).await;
    match &m[0] {
        Msg::Update(u) => assert_eq!(u.len(), 3, "{u:?}"),
        other => panic!("{other:?}"),
    }

    let mut sr = sub(
        "/ietf-interfaces:interfaces/interface[name=eth0]/statistics",
        SM::Sample,
        Duration::from_millis(50),
    );
    sr.suppress_redundant = true;
    let (_tx2, mut s2) = open(&mut c, list(LM::Stream, pb::Encoding::Proto, vec![sr])).await;
    assert_eq!(until_sync(&mut s2).await.len(), 3);
    h.add_octets("eth0", 1);
    let m = next(&mut s2).await;
    let Msg::Update(u) = &m[0] else {
        panic!("{m:?}")
    };
    let paths: Vec<&str> = u.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            IN0,
            "/ietf-interfaces:interfaces/interface[name=eth0]/statistics/out-octets"
        ]
    );
    assert_eq!(u[0].1, "101");
    // Nothing changes: nothing comes.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s2.message())
            .await
            .is_err(),
        "suppress_redundant sent unchanged values"
    );
}

#[tokio::test]
async fn heartbeats_resend_unchanged_values() {
    let h = harness();
    let mut c = h.client().await;
    let mut sr = sub(IN0, SM::Sample, Duration::from_millis(20));
    sr.suppress_redundant = true;
    sr.heartbeat_interval = Duration::from_millis(150).as_nanos() as u64;
    let (_tx, mut s) = open(&mut c, list(LM::Stream, pb::Encoding::Proto, vec![sr])).await;
    until_sync(&mut s).await;
    let start = tokio::time::Instant::now();
    let m = next(&mut s).await;
    assert_eq!(m, vec![Msg::Update(vec![(IN0.into(), "100".into(), 0)])]);
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );

    let mut oc = sub(DESC0, SM::OnChange, Duration::ZERO);
    oc.heartbeat_interval = Duration::from_millis(100).as_nanos() as u64;
    h.merge(&iface("eth0", r#","description":"hb""#)).await;
    let (_tx, mut s) = open(&mut c, list(LM::Stream, pb::Encoding::Proto, vec![oc])).await;
    assert_eq!(
        until_sync(&mut s).await.get(DESC0).map(String::as_str),
        Some("hb")
    );
    for _ in 0..2 {
        assert_eq!(
            next(&mut s).await,
            vec![Msg::Update(vec![(DESC0.into(), "hb".into(), 0)])]
        );
    }
}

#[tokio::test]
async fn on_change_reports_commits_events_and_deletes() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"first""#)).await;
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::JsonIetf,
            vec![
                sub(
                    "/ietf-interfaces:interfaces/interface[name=*]/description",
                    SM::OnChange,
                    Duration::ZERO,
                ),
                sub(
                    "/ietf-interfaces:interfaces/interface[name=*]/oper-status",
                    SM::OnChange,
                    Duration::ZERO,
                ),
            ],
        ),
    )
    .await;
    let got = until_sync(&mut s).await;
    assert_eq!(got.get(DESC0).map(String::as_str), Some("\"first\""));
    assert_eq!(got.get(OPER0).map(String::as_str), Some("\"up\""));
    assert_eq!(got.len(), 3, "{got:?}");

    // A commit.
    h.merge(&iface("eth0", r#","description":"second""#)).await;
    assert_eq!(
        next(&mut s).await,
        vec![Msg::Update(vec![(DESC0.into(), "\"second\"".into(), 0)])]
    );
    // An operational event (the dataplane's oper-status change).
    h.set_oper("eth0", false);
    assert_eq!(
        next(&mut s).await,
        vec![Msg::Update(vec![(OPER0.into(), "\"down\"".into(), 0)])]
    );
    // Counters change without events: ON_CHANGE of other leaves says nothing.
    h.add_octets("eth0", 5);
    // A delete.
    let mut d = h.client().await;
    d.set(pb::SetRequest {
        delete: vec![path(DESC0)],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(next(&mut s).await, vec![Msg::Delete(vec![DESC0.into()])]);
}

#[tokio::test]
async fn on_change_sees_state_without_events_by_polling() {
    let mut o = options();
    o.state_poll_interval = Duration::from_millis(50);
    let h = harness_with(o);
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(IN0, SM::OnChange, Duration::ZERO)],
        ),
    )
    .await;
    until_sync(&mut s).await;
    h.add_octets("eth0", 1);
    assert_eq!(
        next(&mut s).await,
        vec![Msg::Update(vec![(IN0.into(), "101".into(), 0)])]
    );
}

#[tokio::test]
async fn target_defined_is_on_change_for_config_and_status_and_samples_counters() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"td""#)).await;
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=eth0]",
                SM::TargetDefined,
                Duration::ZERO,
            )],
        ),
    )
    .await;
    let got = until_sync(&mut s).await;
    assert!(
        got.contains_key(DESC0) && got.contains_key(IN0) && got.contains_key(OPER0),
        "{got:?}"
    );
    // Within the target-defined interval (200 ms) the counters come again,
    // unchanged config does not.
    let m = wait_for(&mut s, |m| matches!(m, Msg::Update(_))).await;
    let Msg::Update(u) = m else { unreachable!() };
    let paths: Vec<&str> = u.iter().map(|(p, _, _)| p.as_str()).collect();
    assert!(paths.contains(&IN0), "{paths:?}");
    assert!(!paths.contains(&DESC0), "{paths:?}");
    assert!(!paths.contains(&OPER0), "{paths:?}");
    // oper-status is on change.
    h.set_oper("eth0", false);
    wait_for(
        &mut s,
        |m| matches!(m, Msg::Update(u) if u.iter().any(|(p, v, _)| p == OPER0 && v == "down")),
    )
    .await;
}

#[tokio::test]
async fn updates_only_skips_the_initial_state() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"x""#)).await;
    let mut c = h.client().await;
    let mut req = list(
        LM::Stream,
        pb::Encoding::Proto,
        vec![sub(DESC0, SM::OnChange, Duration::ZERO)],
    );
    if let Some(pb::subscribe_request::Request::Subscribe(l)) = &mut req.request {
        l.updates_only = true;
    }
    let (_tx, mut s) = open(&mut c, req).await;
    assert_eq!(next(&mut s).await, vec![Msg::Sync]);
    h.merge(&iface("eth0", r#","description":"y""#)).await;
    assert_eq!(
        next(&mut s).await,
        vec![Msg::Update(vec![(DESC0.into(), "y".into(), 0)])]
    );
}

#[tokio::test]
async fn bad_subscriptions_are_refused_up_front() {
    let h = harness();
    let mut c = h.client().await;
    let subscribe = |req| {
        let mut c = c.clone();
        async move { c.subscribe(tokio_stream::iter(vec![req])).await }
    };
    let e = subscribe(list(
        LM::Stream,
        pb::Encoding::Proto,
        vec![sub(IN0, SM::Sample, Duration::from_millis(1))],
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("below the supported minimum"),
        "{}",
        e.message()
    );
    let e = subscribe(list(
        LM::Stream,
        pb::Encoding::Ascii,
        vec![sub(IN0, SM::Sample, Duration::ZERO)],
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    let e = subscribe(list(
        LM::Stream,
        pb::Encoding::Proto,
        vec![sub("/no/such", SM::Sample, Duration::ZERO)],
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .subscribe(tokio_stream::iter(vec![poll()]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_half_closed_request_stream_keeps_a_stream_subscription() {
    let h = harness();
    let mut c = h.client().await;
    // The request stream ends right after the SubscriptionList.
    let mut s = c
        .subscribe(tokio_stream::iter(vec![list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(OPER0, SM::OnChange, Duration::ZERO)],
        )]))
        .await
        .unwrap()
        .into_inner();
    until_sync(&mut s).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.set_oper("eth0", false);
    assert_eq!(
        next(&mut s).await,
        vec![Msg::Update(vec![(OPER0.into(), "down".into(), 0)])]
    );
}

async fn gnmi_sessions(h: &Harness) -> usize {
    h.handle
        .sessions()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.protocol == "gnmi")
        .count()
}

#[tokio::test]
async fn a_disconnect_stops_the_subscription_and_closes_its_session() {
    let h = harness();
    let mut c = h.client().await;
    let (tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(IN0, SM::Sample, Duration::from_millis(10))],
        ),
    )
    .await;
    until_sync(&mut s).await;
    assert_eq!(gnmi_sessions(&h).await, 1);
    // The collector goes away: its stream and connection are dropped.
    drop(s);
    drop(tx);
    drop(c);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gnmi_sessions(&h).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session outlived the disconnect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_slow_collector_gets_the_latest_value_per_path() {
    let h = harness();
    // Enough ports that a few samples fill every transport buffer between
    // the outbox and the client (HTTP/2 window, socket buffers).
    const PORTS: usize = 500;
    for i in 0..PORTS {
        h.ports.lock().unwrap().insert(
            format!("p{i:03}"),
            Port {
                oper_up: true,
                in_octets: 0,
                out_octets: 0,
            },
        );
    }
    let leaves = PORTS + 2;
    let p0 = "/ietf-interfaces:interfaces/interface[name=p000]/statistics/in-octets";
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=*]/statistics/in-octets",
                SM::Sample,
                Duration::from_millis(10),
            )],
        ),
    )
    .await;
    assert_eq!(until_sync(&mut s).await.len(), leaves);
    // Do not read for a while: dozens of samples are taken meanwhile.
    let mut samples_taken = 0;
    for _ in 0..40 {
        h.add_octets("p000", 1);
        tokio::time::sleep(Duration::from_millis(25)).await;
        samples_taken += 1;
    }
    let latest = h.ports.lock().unwrap()["p000"].in_octets.to_string();
    let mut received = 0usize;
    let mut coalesced = 0u32;
    loop {
        let m = next(&mut s).await;
        let Msg::Update(u) = &m[0] else {
            panic!("{m:?}")
        };
        received += u.len();
        coalesced = coalesced.max(u.iter().map(|(_, _, d)| *d).max().unwrap_or(0));
        if u.iter().any(|(p, v, _)| p == p0 && *v == latest) {
            break;
        }
    }
    // Without coalescing the backlog would be every sample taken.
    assert!(
        received < 8 * leaves,
        "{received} updates received before the latest value; {samples_taken} x {leaves} were sampled"
    );
    assert!(coalesced > 0, "no update reports coalesced duplicates");
}

#[tokio::test]
async fn a_collector_too_slow_for_the_bound_is_told_so() {
    let mut o = options();
    o.max_pending = 2;
    let h = harness_with(o);
    let mut c = h.client().await;
    let (_tx, mut s) = open(
        &mut c,
        list(
            LM::Stream,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=*]/statistics",
                SM::Sample,
                Duration::from_millis(10),
            )],
        ),
    )
    .await;
    let e = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.message())
            .await
            .unwrap()
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gnmi_sessions(&h).await != 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn nacm_filters_subscriptions() {
    let h = harness();
    h.merge(&iface("eth0", r#","description":"hidden""#)).await;
    h.merge(
        r#"{"ietf-netconf-acm:nacm":{"groups":{"group":[{"name":"operators","user-name":["oper"]}]},
            "rule-list":[{"name":"ops","group":["operators"],"rule":[{"name":"no-desc",
            "path":"/ietf-interfaces:interfaces/interface/description",
            "access-operations":"read","action":"deny"}]}]}}"#,
    )
    .await;
    let mut c = h.client_as(Some(("oper", "oper-pw"))).await;
    let mut s = c
        .subscribe(tokio_stream::iter(vec![list(
            LM::Once,
            pb::Encoding::Proto,
            vec![sub(
                "/ietf-interfaces:interfaces/interface[name=eth0]",
                SM::TargetDefined,
                Duration::ZERO,
            )],
        )]))
        .await
        .unwrap()
        .into_inner();
    let got = until_sync(&mut s).await;
    assert!(got.contains_key(OPER0), "{got:?}");
    assert!(!got.contains_key(DESC0), "{got:?}");
}

#[tokio::test]
async fn openconfig_paths_with_prefix_and_target() {
    let h = harness();
    let mut c = h.client().await;
    let mut req = list(
        LM::Once,
        pb::Encoding::JsonIetf,
        vec![pb::Subscription {
            path: Some(path("/interface[name=*]/state/oper-status")),
            ..Default::default()
        }],
    );
    if let Some(pb::subscribe_request::Request::Subscribe(l)) = &mut req.request {
        l.prefix = Some(pb::Path {
            origin: "openconfig".into(),
            target: "dut".into(),
            elem: vec![pb::PathElem {
                name: "interfaces".into(),
                key: Default::default(),
            }],
            ..Default::default()
        });
    }
    let mut s = c
        .subscribe(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let r = tokio::time::timeout(Duration::from_secs(5), s.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(pb::subscribe_response::Response::Update(n)) = r.response else {
        panic!("{r:?}")
    };
    assert_eq!(n.prefix.as_ref().unwrap().target, "dut");
    let prefix = n.prefix.as_ref().unwrap();
    assert_eq!(prefix.origin, "openconfig");
    assert_eq!(show(prefix), "/interfaces/interface[name=eth0]/state");
    assert_eq!(show(n.update[0].path.as_ref().unwrap()), "/oper-status");
    assert_eq!(val(&n.update[0]), "\"UP\"");
}
