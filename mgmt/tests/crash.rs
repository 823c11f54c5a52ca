//! Durability under SIGKILL: a child process commits in a loop and prints
//! `ack N` after each acknowledged commit; the parent kills it at random
//! moments (also in the middle of journal compactions, which the child makes
//! frequent) and reopens the datastore. Running must equal the last
//! acknowledged commit (or the one in flight, which may have reached the disk
//! before its acknowledgement), and every file must load.
//!
//! Input: 200+ commits across many kills. Output: after each restart,
//! running holds exactly interfaces if1..ifK and the counter says K.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{CoreConfig, Datastore, EditStep, ErrorOption, LoadFrom};

const CHILD_ENV: &str = "NECTAR_CRASH_CHILD_DIR";

fn open_running(dir: &std::path::Path) -> nectar_mgmt::Core {
    let mut cfg = CoreConfig::new(dir);
    cfg.load = LoadFrom::Running;
    // Compact often, so kills also land inside compactions.
    cfg.compact_bytes = 8 << 10;
    let (tx, _) = tokio::sync::broadcast::channel(16);
    nectar_mgmt::Core::open(ctx(), cfg, registry(&Calls::default()), tx)
        .expect("datastore loads after a kill")
}

/// The commits made so far: (K, interfaces if1..ifK present, counter = K).
fn state_of(core: &nectar_mgmt::Core) -> (u64, Vec<String>, Option<String>) {
    let json = running_json(core);
    let v: serde_json::Value =
        serde_json::from_str(if json.is_empty() { "{}" } else { &json }).unwrap();
    let list = v["ietf-interfaces:interfaces"]["interface"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut names = Vec::new();
    let mut counter = None;
    for e in list {
        let name = e["name"].as_str().unwrap().to_string();
        if name == "counter" {
            counter = e["description"].as_str().map(str::to_string);
        } else {
            names.push(name);
        }
    }
    (core.commit_id(), names, counter)
}

/// The child process's entry point (commits until killed), not a test of its
/// own: ignored in normal runs, started by the parent with `--ignored`.
#[test]
#[ignore = "child process of sigkill_never_loses_an_acknowledged_commit"]
fn crash_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by the crash test with its state directory");
    let mut core = open_running(std::path::Path::new(&dir));
    let sid = core.open_session(UserCtx::new("crash", vec!["admin".into()]), "test", None);
    let mut stdout = std::io::stdout().lock();
    loop {
        let k = core.commit_id() + 1;
        let json = format!(
            r#"{{"ietf-interfaces:interfaces":{{"interface":[
                {{"name":"if{k}","type":"iana-if-type:ethernetCsmacd","description":"{}"}},
                {{"name":"counter","type":"iana-if-type:softwareLoopback","description":"{k}"}}]}}}}"#,
            "x".repeat(200)
        );
        let out = core
            .edit(
                Some(sid),
                Datastore::Running,
                vec![EditStep::merge(tree(&json))],
                ErrorOption::RollbackOnError,
                false,
            )
            .expect("commit");
        assert_eq!(out.commit, Some(k));
        use std::io::Write;
        writeln!(stdout, "ack {k}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn sigkill_never_loses_an_acknowledged_commit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };

    let mut acked: u64 = 0;
    let mut kills = 0;
    let started = Instant::now();
    while acked < 200 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "too slow: {acked} commits acknowledged"
        );
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait for a few acknowledgements, then kill after a random delay.
        let want = 1 + rand() % 12;
        let mut seen = 0;
        while seen < want {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("ack ") => {
                    acked = acked.max(l[4..].parse().unwrap());
                    seen += 1;
                }
                Some(_) => {}
                None => panic!("child ended early"),
            }
        }
        std::thread::sleep(Duration::from_micros(rand() % 3000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // Acknowledgements already written before the kill still count.
        for l in lines.map_while(Result::ok) {
            if let Some(n) = l.strip_prefix("ack ") {
                acked = acked.max(n.parse().unwrap());
            }
        }

        let core = open_running(dir.path());
        let (k, names, counter) = state_of(&core);
        assert!(
            k == acked || k == acked + 1,
            "after kill {kills}: running is at commit {k}, last acknowledged {acked}"
        );
        let expected: Vec<String> = (1..=k).map(|i| format!("if{i}")).collect();
        let mut names_sorted = names.clone();
        names_sorted.sort_by_key(|n| n[2..].parse::<u64>().unwrap());
        assert_eq!(names_sorted, expected, "after kill {kills}");
        assert_eq!(counter, Some(k.to_string()), "after kill {kills}");
        acked = k;
    }
    println!("{acked} commits acknowledged across {kills} kills");
    assert!(kills >= 10, "only {kills} kills");
}
