//! Datastore behaviour through the core: each edit operation, validation
//! failures, provider failures, locks, candidate, confirmed commit, history
//! and rollback, persistence across a reopen.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{CommitOptions, Datastore, EditOp, EditStep, ErrorOption, ErrorTag, Source};

fn admin() -> UserCtx {
    UserCtx::new("alice", vec!["admin".into()])
}

fn merge(
    core: &mut nectar_mgmt::Core,
    sid: u32,
    json: &str,
) -> Result<Option<u64>, nectar_mgmt::Errors> {
    core.edit(
        Some(sid),
        Datastore::Running,
        vec![EditStep::merge(tree(json))],
        ErrorOption::RollbackOnError,
        false,
    )
    .map(|o| o.commit)
}

const ETH0: &str = "/ietf-interfaces:interfaces/interface[name='eth0']";

#[test]
fn merge_creates_then_modifies_and_providers_see_each_node() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);

    assert_eq!(
        merge(&mut core, sid, &iface("eth0", r#","description":"uplink""#)).unwrap(),
        Some(1)
    );
    let c = calls.lock().unwrap().clone();
    assert!(c.contains(&format!("if prepare Create {ETH0}")), "{c:?}");
    assert!(
        c.contains(&format!("if apply Create {ETH0}/description")),
        "{c:?}"
    );
    // enabled defaults to true: the provider learns the default too.
    assert!(
        c.contains(&format!("if apply Create {ETH0}/enabled")),
        "{c:?}"
    );
    assert!(c.contains(&"if apply_done".to_string()));
    calls.lock().unwrap().clear();

    assert_eq!(
        merge(
            &mut core,
            sid,
            &iface("eth0", r#","description":"core uplink""#)
        )
        .unwrap(),
        Some(2)
    );
    let c = calls.lock().unwrap().clone();
    assert_eq!(
        c.iter()
            .filter(|l| l.starts_with("if apply "))
            .cloned()
            .collect::<Vec<_>>(),
        vec![format!("if apply Modify {ETH0}/description")]
    );
    assert!(running_json(&core).contains("core uplink"));
}

#[test]
fn create_on_existing_is_data_exists_and_delete_of_missing_is_data_missing() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", "")).unwrap();
    let before = running_json(&core);

    let create = EditStep::at(EditOp::Create, ETH0, Some(tree(&iface("eth0", ""))));
    let err = core
        .edit(
            Some(sid),
            Datastore::Running,
            vec![create],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::DataExists);
    assert_eq!(err.first().path.as_deref(), Some(ETH0));

    let missing = "/ietf-interfaces:interfaces/interface[name='nope']";
    let err = core
        .edit(
            Some(sid),
            Datastore::Running,
            vec![EditStep::at(EditOp::Delete, missing, None)],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::DataMissing);

    // remove of something absent is not an error and changes nothing.
    let out = core
        .edit(
            Some(sid),
            Datastore::Running,
            vec![EditStep::at(EditOp::Remove, missing, None)],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap();
    assert_eq!(out.commit, None);
    assert_eq!(running_json(&core), before);
    assert_eq!(core.commit_id(), 1);

    // delete of an existing entry works, and deleting a leaf that only holds
    // its default is data-missing (RFC 6243 explicit mode).
    let err = core
        .edit(
            Some(sid),
            Datastore::Running,
            vec![EditStep::at(
                EditOp::Delete,
                format!("{ETH0}/enabled"),
                None,
            )],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::DataMissing);
    core.edit(
        Some(sid),
        Datastore::Running,
        vec![EditStep::at(EditOp::Delete, ETH0, None)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    assert!(!running_json(&core).contains("eth0"));
}

#[test]
fn replace_touches_only_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(
        &mut core,
        sid,
        &iface("eth0", r#","description":"a","enabled":false"#),
    )
    .unwrap();
    calls.lock().unwrap().clear();

    let data = tree(&iface("eth0", r#","description":"b""#));
    core.edit(
        Some(sid),
        Datastore::Running,
        vec![EditStep::at(EditOp::Replace, ETH0, Some(data))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    let applied: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("if apply "))
        .cloned()
        .collect();
    // enabled was explicit false and is absent from the replacement: it goes
    // back to its default (true); description changes; nothing else.
    assert_eq!(
        applied,
        vec![
            format!("if apply Modify {ETH0}/enabled"),
            format!("if apply Modify {ETH0}/description")
        ],
        "{applied:?}"
    );
    let json = running_json(&core);
    assert!(
        json.contains(r#""description":"b""#) && !json.contains("false"),
        "{json}"
    );
}

#[test]
fn invalid_data_changes_nothing_and_reaches_no_provider() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", "")).unwrap();
    let before = running_json(&core);
    calls.lock().unwrap().clear();

    // An interface without its mandatory type.
    let err = merge(
        &mut core,
        sid,
        r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth1"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::MissingElement, "{err}");
    assert!(
        err.first().path.as_deref().unwrap_or("").contains("eth1"),
        "{err:?}"
    );
    assert_eq!(running_json(&core), before);
    assert!(calls.lock().unwrap().is_empty());
    assert_eq!(core.commit_id(), 1);
}

#[test]
fn prepare_failure_in_one_provider_aborts_every_provider_and_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", "")).unwrap();
    let before = running_json(&core);
    calls.lock().unwrap().clear();

    // Both providers are touched; the second (ip) refuses.
    let err = merge(
        &mut core,
        sid,
        &iface("eth0", r#","description":"x","ietf-ip:ipv4":{"mtu":1234}"#),
    )
    .unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::OperationFailed);
    let c = calls.lock().unwrap().clone();
    assert!(c.iter().any(|l| l.starts_with("if prepare")), "{c:?}");
    assert!(c.iter().any(|l| l.starts_with("ip prepare")), "{c:?}");
    assert!(
        c.iter().any(|l| l.starts_with("if abort")),
        "the provider that prepared fine is aborted: {c:?}"
    );
    assert!(c.contains(&"ip abort_done".to_string()), "{c:?}");
    assert!(
        !c.iter().any(|l| l.contains(" apply ")),
        "nothing applied: {c:?}"
    );
    assert_eq!(running_json(&core), before);
    assert_eq!(core.commit_id(), 1);
    drop(core);
    // Nothing of the failed transaction reached the disk either.
    let core = open(dir.path(), &Calls::default());
    assert_eq!(running_json(&core), before);
}

#[test]
fn locks_conflict_and_go_with_their_session() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let a = core.open_session(admin(), "test", None);
    let b = core.open_session(admin(), "test", None);

    core.lock(a, Datastore::Running).unwrap();
    let e = core.lock(b, Datastore::Running).unwrap_err();
    assert_eq!(e.tag, ErrorTag::LockDenied);
    assert_eq!(e.info, vec![("session-id".to_string(), a.to_string())]);
    let e = merge(&mut core, b, &iface("eth0", "")).unwrap_err();
    assert_eq!(e.first().tag, ErrorTag::InUse);
    assert_eq!(
        core.unlock(b, Datastore::Running).unwrap_err().tag,
        ErrorTag::LockDenied
    );
    // The holder itself can still edit.
    merge(&mut core, a, &iface("eth0", "")).unwrap();

    core.close_session(a, None);
    core.lock(b, Datastore::Running).unwrap();
    core.unlock(b, Datastore::Running).unwrap();
}

#[test]
fn candidate_edits_commit_and_discard() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    core.edit(
        Some(sid),
        Datastore::Candidate,
        vec![EditStep::merge(tree(&iface("eth0", "")))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    assert!(
        !running_json(&core).contains("eth0"),
        "running untouched until commit"
    );
    // A lock on a candidate with uncommitted changes is refused.
    assert_eq!(
        core.lock(sid, Datastore::Candidate).unwrap_err().tag,
        ErrorTag::LockDenied
    );
    assert_eq!(
        core.commit(Some(sid), CommitOptions::default()).unwrap(),
        Some(1)
    );
    assert!(running_json(&core).contains("eth0"));

    core.edit(
        Some(sid),
        Datastore::Candidate,
        vec![EditStep::merge(tree(&iface("eth1", "")))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    core.discard_changes(Some(sid)).unwrap();
    assert_eq!(
        core.commit(Some(sid), CommitOptions::default()).unwrap(),
        None
    );
    assert!(!running_json(&core).contains("eth1"));
}

#[test]
fn unconfirmed_commit_rolls_back_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", "")).unwrap();
    let before = running_json(&core);

    core.edit(
        Some(sid),
        Datastore::Candidate,
        vec![EditStep::merge(tree(&iface("eth1", "")))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    let opts = CommitOptions {
        confirmed: true,
        timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    core.commit(Some(sid), opts).unwrap();
    assert!(running_json(&core).contains("eth1"));
    assert!(core.confirm_deadline().is_some());

    core.tick(Instant::now()); // not yet
    assert!(running_json(&core).contains("eth1"));
    core.tick(Instant::now() + Duration::from_secs(31));
    assert_eq!(running_json(&core), before, "rolled back");
    assert!(core.confirm_deadline().is_none());
    // The rollback is a commit of its own, by the system.
    let h = core.history();
    assert_eq!(h[0].user, "system");
    assert!(h[0].comment.contains("timed out"), "{:?}", h[0]);
}

#[test]
fn confirming_commit_keeps_the_change_and_cancel_reverts_it() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let a = core.open_session(admin(), "test", None);
    let b = core.open_session(admin(), "test", None);
    core.edit(
        Some(a),
        Datastore::Candidate,
        vec![EditStep::merge(tree(&iface("eth1", "")))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    core.commit(
        Some(a),
        CommitOptions {
            confirmed: true,
            ..Default::default()
        },
    )
    .unwrap();
    // Another session cannot confirm a non-persistent confirmed commit.
    assert_eq!(
        core.commit(Some(b), CommitOptions::default())
            .unwrap_err()
            .first()
            .tag,
        ErrorTag::InvalidValue
    );
    core.commit(Some(a), CommitOptions::default()).unwrap();
    core.tick(Instant::now() + Duration::from_secs(3600));
    assert!(running_json(&core).contains("eth1"), "confirmed");

    // persist: any session confirms or cancels with the persist-id.
    core.edit(
        Some(a),
        Datastore::Candidate,
        vec![EditStep::merge(tree(&iface("eth2", "")))],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    core.commit(
        Some(a),
        CommitOptions {
            confirmed: true,
            persist: Some("tok".into()),
            ..Default::default()
        },
    )
    .unwrap();
    core.close_session(a, None);
    assert!(
        running_json(&core).contains("eth2"),
        "persist survives its session"
    );
    assert!(core.cancel_commit(Some(b), Some("wrong")).is_err());
    core.cancel_commit(Some(b), Some("tok")).unwrap();
    assert!(!running_json(&core).contains("eth2"));
    assert!(running_json(&core).contains("eth1"));
}

#[test]
fn rollback_to_commit_n_restores_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", r#","description":"one""#)).unwrap();
    let after1 = running_json(&core);
    merge(&mut core, sid, &iface("eth0", r#","description":"two""#)).unwrap();
    merge(&mut core, sid, &iface("eth1", "")).unwrap();
    core.edit(
        Some(sid),
        Datastore::Running,
        vec![EditStep::at(EditOp::Delete, ETH0, None)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    assert_eq!(core.commit_id(), 4);

    assert_eq!(core.rollback_to(Some(sid), 1, None).unwrap(), Some(5));
    assert_eq!(running_json(&core), after1);
    let h = core.history();
    assert_eq!(h.len(), 5);
    assert_eq!(h[0].comment, "rollback to commit 1");
    // Rolling back the rollback: to commit 4's content.
    core.rollback_to(Some(sid), 4, None).unwrap();
    assert!(running_json(&core).contains("eth1") && !running_json(&core).contains("eth0"));
    // Unknown commits are refused.
    assert!(core.rollback_to(Some(sid), 99, None).is_err());
}

#[test]
fn history_keeps_the_last_commits_with_user_time_comment_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    for i in 0..55 {
        merge(
            &mut core,
            sid,
            &iface("eth0", &format!(r#","description":"d{i}""#)),
        )
        .unwrap();
    }
    let h = core.history();
    assert_eq!(h.len(), 50);
    assert_eq!(h[0].id, 55);
    assert_eq!(h[49].id, 6);
    assert_eq!(h[0].user, "alice");
    assert!(h[0].time.ends_with('Z'));
    assert!(serde_json::to_string(&h[0].ops).unwrap().contains("d54"));
    // Rollback reaches back to the commit before the oldest kept, not further.
    assert!(core.rollback_to(Some(sid), 4, None).is_err());
    core.rollback_to(Some(sid), 5, None).unwrap();
    assert!(running_json(&core).contains(r#""description":"d4""#));
}

#[test]
fn reopen_restores_running_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let expected = {
        let mut core = open(dir.path(), &calls);
        let sid = core.open_session(admin(), "test", None);
        merge(&mut core, sid, &iface("eth0", r#","description":"x""#)).unwrap();
        merge(&mut core, sid, &iface("eth1", r#","enabled":false"#)).unwrap();
        core.edit(
            Some(sid),
            Datastore::Running,
            vec![EditStep::at(EditOp::Delete, ETH0, None)],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap();
        running_json(&core)
    };
    let calls2 = Calls::default();
    let mut core = open(dir.path(), &calls2);
    assert_eq!(running_json(&core), expected);
    assert_eq!(core.commit_id(), 3);
    assert_eq!(core.history().len(), 3);
    // The providers were given the stored configuration at start-up.
    assert!(
        calls2
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("if apply Create") && l.contains("eth1"))
    );
    // History survives: rollback across the restart.
    let sid = core.open_session(admin(), "test", None);
    core.rollback_to(Some(sid), 1, None).unwrap();
    assert!(running_json(&core).contains("eth0"));
}

#[test]
fn startup_is_what_the_daemon_boots_from_once_saved() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    {
        let mut core = open(dir.path(), &calls);
        let sid = core.open_session(admin(), "test", None);
        merge(&mut core, sid, &iface("eth0", "")).unwrap();
        core.copy_config(
            Some(sid),
            Datastore::Startup,
            Source::Datastore(Datastore::Running),
        )
        .unwrap();
        merge(&mut core, sid, &iface("eth1", "")).unwrap();
    }
    let mut cfg = nectar_mgmt::CoreConfig::new(dir.path());
    cfg.load = nectar_mgmt::LoadFrom::Startup;
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let core = nectar_mgmt::Core::open(ctx(), cfg, registry(&calls), tx).unwrap();
    let json = running_json(&core);
    assert!(json.contains("eth0") && !json.contains("eth1"), "{json}");
}

#[test]
fn non_admin_users_may_read_but_not_write_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let admin_sid = core.open_session(admin(), "test", None);
    merge(&mut core, admin_sid, &iface("eth0", "")).unwrap();
    let bob = core.open_session(UserCtx::new("bob", vec!["operators".into()]), "test", None);
    let err = merge(&mut core, bob, &iface("eth1", "")).unwrap_err();
    assert_eq!(err.first().tag, ErrorTag::AccessDenied);
    let got = core.get(Some(bob), Datastore::Running, None).unwrap();
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    let json = got
        .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
        .unwrap()
        .unwrap_or_default();
    assert!(json.contains("eth0"), "{json}");
    assert!(
        !json.contains("ietf-netconf-acm"),
        "NACM rules are default-deny-all: {json}"
    );
}

#[test]
fn coverage_check_refuses_models_without_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _) = tokio::sync::broadcast::channel(16);
    // No providers at all: ietf-interfaces' configuration is uncovered.
    let err = nectar_mgmt::Core::open(
        ctx(),
        nectar_mgmt::CoreConfig::new(dir.path()),
        nectar_mgmt::Registry::new(),
        tx,
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("/ietf-interfaces:interfaces/interface"),
        "{err}"
    );
}

#[test]
fn commit_history_is_operational_state() {
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(&mut core, sid, &iface("eth0", "")).unwrap();
    let t = core
        .get(
            Some(sid),
            Datastore::Operational,
            Some("/nectar-mgmt:commit-history"),
        )
        .unwrap();
    let json = t
        .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let c = &v["nectar-mgmt:commit-history"]["commit"][0];
    assert_eq!(c["id"], "1");
    assert_eq!(c["user"], "alice");
    assert!(c["diff"].as_str().unwrap().contains("eth0"), "{json}");
}

#[test]
fn yang_library_is_operational_state_with_datastores_and_locations() {
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    core.set_schema_location("https://192.0.2.1/schema/{name}@{revision}.yang")
        .unwrap();
    let sid = core.open_session(admin(), "test", None);
    let t = core
        .get(
            Some(sid),
            Datastore::Operational,
            Some("/ietf-yang-library:yang-library"),
        )
        .unwrap();
    let json = t
        .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lib = &v["ietf-yang-library:yang-library"];
    let content_id = lib["content-id"].as_str().unwrap();
    assert_eq!(content_id, core.yang_library_content_id());
    assert_eq!(content_id.len(), 8, "{content_id}");
    let ds: Vec<_> = lib["datastore"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for name in ["running", "candidate", "startup", "operational"] {
        assert!(
            ds.contains(&format!("ietf-datastores:{name}").as_str()),
            "{ds:?}"
        );
    }
    let modules = lib["module-set"][0]["module"].as_array().unwrap();
    let ifs = modules
        .iter()
        .find(|m| m["name"] == "ietf-interfaces")
        .expect("ietf-interfaces listed");
    assert_eq!(ifs["revision"], "2018-02-20");
    assert_eq!(
        ifs["location"][0],
        "https://192.0.2.1/schema/ietf-interfaces@2018-02-20.yang"
    );
    let nc = modules
        .iter()
        .find(|m| m["name"] == "ietf-netconf")
        .unwrap();
    assert!(
        nc["feature"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "candidate"),
        "{nc}"
    );
}

#[test]
fn committed_nacm_rules_take_effect_for_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let admin_sid = core.open_session(admin(), "test", None);
    let bob = core.open_session(UserCtx::new("bob", vec!["operators".into()]), "test", None);
    assert_eq!(
        merge(&mut core, bob, &iface("eth0", ""))
            .unwrap_err()
            .first()
            .tag,
        ErrorTag::AccessDenied
    );

    let rule = r#"{"ietf-netconf-acm:nacm":{"rule-list":[{"name":"ops","group":["operators"],
        "rule":[{"name":"ifs","module-name":"ietf-interfaces","path":"/ietf-interfaces:interfaces",
                 "access-operations":"*","action":"permit"}]}]}}"#;
    merge(&mut core, admin_sid, rule).unwrap();
    assert!(merge(&mut core, bob, &iface("eth0", "")).unwrap().is_some());
    assert!(running_json(&core).contains("eth0"));
}

#[test]
fn commit_diffs_are_hidden_from_users_who_may_not_read_the_changed_data() {
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let admin_sid = core.open_session(admin(), "test", None);
    // Staff may read everything but interface descriptions.
    let rule = r#"{"ietf-netconf-acm:nacm":{"groups":{"group":[{"name":"staff","user-name":["bob"]}]},
        "rule-list":[{"name":"staff","group":["staff"],
        "rule":[{"name":"no-descr","module-name":"ietf-interfaces",
                 "path":"/ietf-interfaces:interfaces/interface/description",
                 "access-operations":"read","action":"deny"}]}]}}"#;
    merge(&mut core, admin_sid, rule).unwrap();
    merge(
        &mut core,
        admin_sid,
        &iface("eth0", r#","description":"secret-uplink""#),
    )
    .unwrap();
    merge(&mut core, admin_sid, &iface("eth1", "")).unwrap();

    let history = |core: &nectar_mgmt::Core, sid| {
        let t = core
            .get(
                Some(sid),
                Datastore::Operational,
                Some("/nectar-mgmt:commit-history"),
            )
            .unwrap();
        let json = t
            .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&json).unwrap()
    };
    let bob = core.open_session(UserCtx::new("bob", vec!["staff".into()]), "test", None);
    let seen = history(&core, bob);
    let commits = seen["nectar-mgmt:commit-history"]["commit"]
        .as_array()
        .unwrap();
    let diff_of = |id: &str| {
        commits
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["diff"].clone())
            .unwrap()
    };
    assert!(
        !seen.to_string().contains("secret-uplink"),
        "bob must not see the description: {seen}"
    );
    // The NACM commit (nacm is default-deny-all) and the described
    // interface stay hidden; the plain interface is visible.
    assert!(diff_of("1").is_null(), "{seen}");
    assert!(diff_of("2").is_null(), "{seen}");
    assert!(diff_of("3").as_str().unwrap().contains("eth1"), "{seen}");
    // The admin sees every diff.
    let all = history(&core, admin_sid);
    assert!(all.to_string().contains("secret-uplink"));
}

/// NACM rule-list names in running, in order.
fn rule_lists(core: &nectar_mgmt::Core) -> Vec<String> {
    let json = running_json(core);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["ietf-netconf-acm:nacm"]["rule-list"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

// An edit that fails after deleting entries of an ordered-by-user list leaves
// them where they stood, whatever the order of the deletions: undoing a
// change of running or of the candidate must not reorder ACL entries or NACM
// rule-lists.
#[test]
fn a_failed_edit_keeps_the_order_of_ordered_by_user_entries() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    let lists = r#"{"ietf-netconf-acm:nacm":{"rule-list":[
        {"name":"a","group":["g"]},{"name":"b","group":["g"]},
        {"name":"c","group":["g"]},{"name":"d","group":["g"]}]}}"#;
    merge(&mut core, sid, lists).unwrap();
    let order = vec!["a", "b", "c", "d"];
    assert_eq!(rule_lists(&core), order);
    let rl = |n: &str| format!("/ietf-netconf-acm:nacm/rule-list[name='{n}']");
    for deleted in [
        vec!["a"],
        vec!["b", "c"],
        vec!["c", "b"],
        vec!["d", "a", "c"],
    ] {
        for target in [Datastore::Running, Datastore::Candidate] {
            let mut steps: Vec<EditStep> = deleted
                .iter()
                .map(|n| EditStep::at(EditOp::Delete, rl(n), None))
                .collect();
            // Then one that fails: the entry to delete does not exist.
            steps.push(EditStep::at(EditOp::Delete, rl("nope"), None));
            let e = core
                .edit(
                    Some(sid),
                    target,
                    steps,
                    ErrorOption::RollbackOnError,
                    false,
                )
                .unwrap_err();
            assert_eq!(e.first().tag, ErrorTag::DataMissing, "{deleted:?}");
            assert_eq!(rule_lists(&core), order, "{deleted:?} on {target:?}");
            let cand = core.get(Some(sid), Datastore::Candidate, None).unwrap();
            let cand = nectar_yang::encoding::print_tree(
                &cand,
                &nectar_yang::encoding::PrintOptions::json(),
            )
            .unwrap();
            let at = |n: &str| {
                cand.find(&format!("\"name\":\"{n}\""))
                    .unwrap_or_else(|| panic!("{n} in {cand}"))
            };
            assert!(
                at("a") < at("b") && at("b") < at("c") && at("c") < at("d"),
                "{cand}"
            );
        }
    }
}

/// A datastore's interface names and descriptions, sorted.
fn ifaces_of(core: &nectar_mgmt::Core, ds: Datastore) -> Vec<(String, String)> {
    let t = core.get(None, ds, None).unwrap();
    let json = nectar_yang::encoding::print_tree(&t, &nectar_yang::encoding::PrintOptions::json())
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut out: Vec<(String, String)> = v["ietf-interfaces:interfaces"]["interface"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap().to_owned(),
                        i["description"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// The candidate is running plus the session's pending edits until it is read,
// validated or running moves: each of those sees exactly what a copy taken at
// the first edit would hold (RFC 6241 §8.3), however many edits pend.
#[test]
fn candidate_edits_are_seen_as_a_copy_would_show_them() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    let edit = |core: &mut nectar_mgmt::Core, ds, json: &str| {
        core.edit(
            Some(sid),
            ds,
            vec![EditStep::merge(tree(json))],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap()
    };
    edit(
        &mut core,
        Datastore::Running,
        &iface("eth0", r#","description":"r0""#),
    );
    // An unmodified candidate follows running.
    edit(
        &mut core,
        Datastore::Running,
        &iface("eth0", r#","description":"r1""#),
    );
    assert_eq!(
        ifaces_of(&core, Datastore::Candidate),
        pairs(&[("eth0", "r1")])
    );

    edit(
        &mut core,
        Datastore::Candidate,
        &iface("eth1", r#","description":"c1""#),
    );
    let e = core
        .edit(
            Some(sid),
            Datastore::Candidate,
            vec![EditStep::at(
                EditOp::Create,
                format!("{ETH0}/description"),
                Some(tree(&iface("eth0", r#","description":"x""#))),
            )],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap_err();
    assert_eq!(e.first().tag, ErrorTag::DataExists);
    assert_eq!(
        ifaces_of(&core, Datastore::Candidate),
        pairs(&[("eth0", "r1"), ("eth1", "c1")])
    );
    assert_eq!(
        ifaces_of(&core, Datastore::Running),
        pairs(&[("eth0", "r1")])
    );
    core.validate(Source::Datastore(Datastore::Candidate))
        .unwrap();
    // Running moves under the pending edit: the candidate keeps what it was.
    edit(
        &mut core,
        Datastore::Running,
        &iface("eth0", r#","description":"r2""#),
    );
    assert_eq!(
        ifaces_of(&core, Datastore::Candidate),
        pairs(&[("eth0", "r1"), ("eth1", "c1")])
    );
    core.commit(Some(sid), CommitOptions::default()).unwrap();
    assert_eq!(
        ifaces_of(&core, Datastore::Running),
        pairs(&[("eth0", "r1"), ("eth1", "c1")])
    );

    // Many pending edits (more than the lazy candidate keeps), a delete among them.
    for i in 0..100 {
        edit(
            &mut core,
            Datastore::Candidate,
            &iface(&format!("m{i:03}"), ""),
        );
    }
    core.edit(
        Some(sid),
        Datastore::Candidate,
        vec![EditStep::at(EditOp::Delete, ETH0, None)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    let cand = ifaces_of(&core, Datastore::Candidate);
    assert_eq!(cand.len(), 101, "{cand:?}");
    assert!(!cand.iter().any(|(n, _)| n == "eth0"));
    assert_eq!(ifaces_of(&core, Datastore::Running).len(), 2);
    core.commit(Some(sid), CommitOptions::default()).unwrap();
    assert_eq!(ifaces_of(&core, Datastore::Running), cand);
    // Discarded edits leave no trace.
    edit(&mut core, Datastore::Candidate, &iface("gone", ""));
    core.discard_changes(Some(sid)).unwrap();
    assert_eq!(ifaces_of(&core, Datastore::Candidate), cand);
}

/// Running as libyang prints it with-defaults `explicit`: a default leaf that
/// became explicit would show.
fn running_explicit(core: &nectar_mgmt::Core) -> String {
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    core.running()
        .print_string(
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::WD_EXPLICIT,
        )
        .unwrap()
        .unwrap_or_default()
}

// Candidate edits are tried on running and undone: running is left exactly as
// it was, default flags included, whatever the edits did (deletes of subtrees
// holding defaults, replaces, failures).
#[test]
fn candidate_edits_leave_running_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let mut core = open(dir.path(), &calls);
    let sid = core.open_session(admin(), "test", None);
    merge(
        &mut core,
        sid,
        &iface(
            "eth0",
            r#","description":"d","ietf-ip:ipv4":{"address":[{"ip":"10.0.0.1","prefix-length":24}]}"#,
        ),
    )
    .unwrap();
    merge(&mut core, sid, &iface("eth1", "")).unwrap();
    let before = running_explicit(&core);
    let all_before = running_json(&core);
    let edits = [
        EditStep::at(EditOp::Delete, ETH0, None),
        EditStep::at(
            EditOp::Replace,
            ETH0,
            Some(tree(&iface("eth0", r#","enabled":false"#))),
        ),
        EditStep::at(EditOp::Remove, format!("{ETH0}/ietf-ip:ipv4"), None),
        EditStep::merge(tree(&iface("eth2", r#","ietf-ip:ipv4":{"mtu":1400}"#))),
    ];
    for step in edits {
        core.edit(
            Some(sid),
            Datastore::Candidate,
            vec![step],
            ErrorOption::RollbackOnError,
            false,
        )
        .unwrap();
        assert_eq!(running_explicit(&core), before);
        assert_eq!(running_json(&core), all_before);
    }
    core.discard_changes(Some(sid)).unwrap();
    assert_eq!(running_explicit(&core), before);
}

// The history is bounded in bytes as well as in commits: big commits push the oldest out
// (a rollback to them is refused), the newest always stays, and a reopen keeps the bound.
#[test]
fn the_history_is_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let open_bounded = || {
        let mut cfg = nectar_mgmt::CoreConfig::new(dir.path());
        cfg.load = nectar_mgmt::LoadFrom::Running;
        cfg.history_bytes = 8 * 1024;
        let (tx, _) = tokio::sync::broadcast::channel(64);
        nectar_mgmt::Core::open(ctx(), cfg, registry(&calls), tx).unwrap()
    };
    let mut core = open_bounded();
    let sid = core.open_session(admin(), "test", None);
    // Each commit holds about 3 KB (the description, in the operation and its undo).
    for i in 0..10 {
        let d = format!("{i}").repeat(1500);
        merge(
            &mut core,
            sid,
            &iface("eth0", &format!(r#","description":"{d}""#)),
        )
        .unwrap();
    }
    let kept: Vec<u64> = core.history().iter().map(|r| r.id).collect();
    let bytes: usize = core.history().iter().map(|r| r.bytes()).sum();
    assert!(
        kept.len() >= 2 && kept.len() < 5 && bytes <= 8 * 1024,
        "{kept:?}, {bytes} bytes"
    );
    assert_eq!(kept[0], 10, "newest first: {kept:?}");
    let oldest = *kept.last().unwrap();
    let e = core.rollback_to(Some(sid), oldest - 2, None).unwrap_err();
    assert_eq!(e.first().tag, ErrorTag::InvalidValue);
    assert!(e.first().message.contains("no longer in the history"));
    core.rollback_to(Some(sid), 9, None).unwrap();
    // Commit 9 set the ninth description.
    assert!(running_json(&core).contains(&"8".repeat(1500)));
    // One commit bigger than the bound stays alone.
    let d = "x".repeat(20_000);
    merge(
        &mut core,
        sid,
        &iface("eth0", &format!(r#","description":"{d}""#)),
    )
    .unwrap();
    assert_eq!(core.history().len(), 1);
    drop(core);
    let core = open_bounded();
    assert_eq!(core.history().len(), 1);
}
