//! The VES client with a real dataplane, management core and collector, in network
//! namespaces: link faults, state changes, threshold-crossing alerts configured through the
//! `nectar-telemetry` model, and a confirmed-commit rollback fault. Every event is validated
//! by the test collector against the official VES 7.2.1 schema.

use std::sync::Arc;
use std::time::Duration;

use nectar_dataplane::Dataplane;
use nectar_dataplane::control::{InterfaceConfig, Op};
use nectar_dataplane::port::afpacket::AfPacketPort;
use nectar_mgmt::edit::EditStep;
use nectar_mgmt::{Caller, CommitOptions, Core, CoreConfig, Datastore, ErrorOption, MgmtHandle};
use nectar_telemetry::ves::provider::TelemetryProvider;
use nectar_telemetry::ves::{Ves, VesSettings, VesState};
use nectar_testkit::netns::{self, Host};
use nectar_testkit::ves::{Collector, PASSWORD, USER, header, seq};

fn ctx() -> &'static nectar_yang::yang2::context::Context {
    nectar_yang::ModelSet::management()
        .with(nectar_yang::models::TELEMETRY)
        .build()
        .unwrap()
}

async fn edit(handle: &MgmtHandle, ds: Datastore, json: &str) -> Result<(), String> {
    let tree = nectar_mgmt::core::parse_json(handle.context(), json).map_err(|e| e.to_string())?;
    handle
        .edit(
            Caller::system(),
            ds,
            vec![EditStep::merge(tree)],
            ErrorOption::RollbackOnError,
            false,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Waits on the collector without blocking the runtime's other tasks.
async fn wait_for(c: &Collector, what: &str, secs: u64, pred: impl Fn(&Collector) -> bool) {
    tokio::task::block_in_place(|| c.wait_for(what, secs, pred))
}

// Input: a dataplane port on a veth whose far end is in a namespace, the interface enabled; a
// threshold on received packets per second set through the nectar-telemetry model; broadcast
// traffic, then the far end taken down and up; a confirmed commit left to time out.
// Output (each event valid against the VES schema): a threshold whose falling value exceeds
// the rising one is refused and changes nothing; a TCA SET while traffic flows above the
// threshold and a CLEAR with the same eventId after; a linkDown fault raised and cleared with
// the same eventId and start time; stateChange inService → outOfService → inService; a
// configurationRolledBack fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_faults_state_changes_and_tcas_from_a_namespace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_test_writer()
        .try_init();
    if !netns::available() {
        return;
    }
    let net = Host::new("v", true);
    let dir = tempfile::tempdir().unwrap();
    let c = Collector::start(&dir.path().join("collector"));

    let port = AfPacketPort::open_in_netns(
        &format!("/var/run/netns/{}", net.dp_ns.as_ref().unwrap()),
        &net.dp_dev,
    )
    .unwrap();
    let dp = Arc::new(
        Dataplane::builder()
            .port("p1", port)
            .workers(1)
            .build()
            .unwrap(),
    );
    dp.apply(&[Op::SetInterface {
        name: "p1".into(),
        config: InterfaceConfig {
            admin_up: true,
            ..Default::default()
        },
    }])
    .unwrap();

    // The veth's carrier comes up a moment after the link is set up.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !dp.stats().interface("p1").unwrap().oper_up {
        assert!(std::time::Instant::now() < deadline, "p1 never came up");
        dp.maintenance();
        std::thread::sleep(Duration::from_millis(50));
    }

    let shared = VesState::new();
    let mut registry = nectar_mgmt::Registry::new();
    registry.register(TelemetryProvider::new(shared.clone()));
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let mut core_cfg = CoreConfig::new(dir.path().join("state"));
    core_cfg.confirm_timeout = Duration::from_secs(1);
    let core =
        tokio::task::block_in_place(|| Core::open(ctx(), core_cfg, registry, events.clone()))
            .unwrap();
    let handle = MgmtHandle::spawn(core, events);

    let metrics = nectar_telemetry::metrics::Metrics::new("test");
    let ves = Ves::start(
        VesSettings {
            collector_url: c.url(),
            username: Some(USER.into()),
            password: Some(PASSWORD.into()),
            heartbeat_interval: Duration::from_secs(60),
            measurement_interval: Duration::from_secs(60),
            source_name: "nectar-ns".into(),
            ca_pem: Some(std::fs::read(&c.ca).unwrap()),
            buffer_dir: dir.path().join("ves"),
            buffer_max_bytes: 1 << 20,
            batch_max_events: 10,
            retry_max_interval: Duration::from_secs(1),
        },
        &shared,
        Some(dp.clone()),
        Some(&handle),
        metrics.registry(),
    )
    .unwrap();

    // Bad input changes nothing.
    let err = edit(
        &handle,
        Datastore::Running,
        r#"{"nectar-telemetry:telemetry":{"ves":{"thresholds":{"threshold":[
            {"name":"bad","metric":"rx-packets-per-second","rising-threshold":"5","falling-threshold":"9"}]}}}}"#,
    )
    .await
    .unwrap_err();
    assert!(err.contains("falling-threshold must not exceed"), "{err}");
    assert!(shared.thresholds().thresholds.is_empty());

    edit(
        &handle,
        Datastore::Running,
        r#"{"nectar-telemetry:telemetry":{"ves":{"thresholds":{"evaluation-interval":1,"threshold":[
            {"name":"rx-burst","metric":"rx-packets-per-second","interface":"p1",
             "rising-threshold":"20","falling-threshold":"2","severity":"minor"}]}}}}"#,
    )
    .await
    .unwrap();
    assert_eq!(shared.thresholds().thresholds.len(), 1);

    let mut ping = net.blast(3);
    wait_for(&c, "a TCA SET", 30, |c| {
        c.events("thresholdCrossingAlert")
            .iter()
            .any(|e| e["thresholdCrossingAlertFields"]["alertAction"] == "SET")
    })
    .await;
    let _ = ping.wait();
    wait_for(&c, "a TCA CLEAR", 30, |c| {
        c.events("thresholdCrossingAlert")
            .iter()
            .any(|e| e["thresholdCrossingAlertFields"]["alertAction"] == "CLEAR")
    })
    .await;
    let tca = c.events("thresholdCrossingAlert");
    let f = &tca[0]["thresholdCrossingAlertFields"];
    assert_eq!(f["alertDescription"], "rx-burst");
    assert_eq!(f["interfaceName"], "p1");
    assert_eq!(f["eventSeverity"], "MINOR");
    assert_eq!(f["alertType"], "INTERFACE-ANOMALY");
    assert!(f["alertValue"].as_str().unwrap().parse::<f64>().unwrap() >= 20.0);
    assert_eq!(
        header(&tca[0])["eventId"],
        header(tca.last().unwrap())["eventId"]
    );

    // The operational state shows the client and the threshold's last value.
    let state = handle
        .get(
            Caller::system(),
            Datastore::Operational,
            Some("/nectar-telemetry:telemetry".into()),
        )
        .await
        .map(|t| {
            use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
            t.print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
                .unwrap()
                .unwrap_or_default()
        })
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let ves_state = &state["nectar-telemetry:telemetry"]["ves"];
    assert_eq!(ves_state["status"]["enabled"], true, "{state}");
    assert_eq!(ves_state["status"]["heartbeat-interval"], 60, "{state}");
    assert!(
        ves_state["status"]["events-sent"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2,
        "{state}"
    );
    let value = &ves_state["thresholds"]["threshold"][0]["value"][0];
    assert_eq!(value["target"], "p1", "{state}");
    assert_eq!(value["crossed"], false, "{state}");

    // Link down, then up.
    net.set_host_link(false);
    wait_for(&c, "a linkDown fault", 30, |c| {
        c.events("fault").iter().any(|e| {
            e["faultFields"]["alarmCondition"] == "linkDown"
                && e["faultFields"]["eventSeverity"] == "MAJOR"
        })
    })
    .await;
    net.set_host_link(true);
    wait_for(&c, "the linkDown clear", 30, |c| {
        c.events("fault")
            .iter()
            .any(|e| e["faultFields"]["eventSeverity"] == "NORMAL")
    })
    .await;
    let faults = c.events("fault");
    let (raise, clear) = (&faults[0], &faults[1]);
    assert_eq!(raise["faultFields"]["alarmInterfaceA"], "p1");
    assert_eq!(raise["faultFields"]["vfStatus"], "Active");
    assert!(
        raise["faultFields"]["specificProblem"]
            .as_str()
            .unwrap()
            .contains("p1")
    );
    assert_eq!(header(raise)["eventId"], header(clear)["eventId"]);
    assert_eq!(
        header(raise)["startEpochMicrosec"],
        header(clear)["startEpochMicrosec"]
    );
    assert!(seq(clear) > seq(raise));
    wait_for(&c, "two state changes", 30, |c| {
        c.events("stateChange").len() >= 2
    })
    .await;
    let sc = c.events("stateChange");
    let states: Vec<(&str, &str)> = sc
        .iter()
        .map(|e| {
            let f = &e["stateChangeFields"];
            (
                f["oldState"].as_str().unwrap(),
                f["newState"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![("inService", "outOfService"), ("outOfService", "inService")]
    );
    assert_eq!(sc[0]["stateChangeFields"]["stateInterface"], "p1");

    // A confirmed commit nobody confirms is rolled back: a fault says so.
    edit(
        &handle,
        Datastore::Candidate,
        r#"{"nectar-telemetry:telemetry":{"ves":{"thresholds":{"evaluation-interval":5}}}}"#,
    )
    .await
    .unwrap();
    handle
        .commit(
            Caller::system(),
            CommitOptions {
                confirmed: true,
                timeout: Some(Duration::from_secs(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_for(&c, "a configurationRolledBack fault", 30, |c| {
        c.events("fault")
            .iter()
            .any(|e| e["faultFields"]["alarmCondition"] == "configurationRolledBack")
    })
    .await;
    c.assert_no_errors();
    ves.stop().await;
}
