//! Large transactions (thousands of changed nodes), whose journal record is
//! printed while the providers prepare: what is journaled replays to the same
//! running after a reopen, rollback still works, and a provider refusing the
//! transaction leaves running, the journal and the providers as they were.

mod common;

use common::*;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Datastore, EditStep, ErrorOption};

fn admin() -> UserCtx {
    UserCtx::new("alice", vec!["admin".into()])
}

/// `n` interfaces (with an address each, a nested subtree of another module)
/// in one tree; the interface named `refuse` gets the description the test
/// provider refuses.
fn many(n: usize, tag: &str, refuse: Option<usize>) -> String {
    let mut entries = Vec::new();
    for i in 0..n {
        let descr = if refuse == Some(i) { "refuse-a" } else { tag };
        entries.push(format!(
            r#"{{"name":"{tag}{i}","type":"iana-if-type:ethernetCsmacd","description":"{descr}",
               "ietf-ip:ipv4":{{"address":[{{"ip":"10.{}.{}.1","prefix-length":24}}]}}}}"#,
            i >> 8,
            i & 255
        ));
    }
    format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{}]}}}}"#,
        entries.join(",")
    )
}

fn commit(core: &mut nectar_mgmt::Core, json: &str) -> Result<Option<u64>, nectar_mgmt::Errors> {
    core.edit(
        None,
        Datastore::Running,
        vec![EditStep::merge(tree(json))],
        ErrorOption::RollbackOnError,
        false,
    )
    .map(|o| o.commit)
}

// Input: a first commit of 1,500 interfaces (over 10,000 changed nodes), then a
// second one adding 1,500 more. Output: after a reopen, running is what it was
// (both journal records replayed), and a rollback to the first commit removes
// exactly the second one's interfaces.
#[test]
fn large_commits_replay_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let (first, second) = {
        let mut core = open(dir.path(), &calls);
        assert_eq!(commit(&mut core, &many(1500, "a", None)).unwrap(), Some(1));
        let first = running_json(&core);
        assert_eq!(commit(&mut core, &many(1500, "b", None)).unwrap(), Some(2));
        assert!(core.history()[0].changes > 10_000);
        (first, running_json(&core))
    };
    assert!(second.contains("\"b1499\"") && second.contains("\"a1499\""));
    let mut core = open(dir.path(), &Calls::default());
    assert_eq!(running_json(&core), second);
    let sid = core.open_session(admin(), "test", None);
    core.rollback_to(Some(sid), 1, None).unwrap();
    assert_eq!(running_json(&core), first);
}

// Input: a commit of 1,500 interfaces of which the last one carries a value a
// provider refuses in prepare. Output: the commit is refused, running is as
// before, every provider prepared was aborted, and nothing was journaled (a
// reopen shows the state before).
#[test]
fn a_large_commit_refused_in_prepare_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let before = {
        let mut core = open(dir.path(), &calls);
        commit(&mut core, &many(10, "a", None)).unwrap();
        let before = running_json(&core);
        calls.lock().unwrap().clear();
        let err = commit(&mut core, &many(1500, "b", Some(1499))).unwrap_err();
        assert!(err.to_string().contains("refuses"), "{err}");
        assert_eq!(running_json(&core), before);
        assert_eq!(core.commit_id(), 1);
        let calls = calls.lock().unwrap();
        assert!(calls.iter().any(|l| l == "if abort_done"), "{calls:?}");
        assert!(!calls.iter().any(|l| l.contains(" apply ")));
        before
    };
    let core = open(dir.path(), &Calls::default());
    assert_eq!(running_json(&core), before);
    assert_eq!(core.commit_id(), 1);
}
