//! Commit latency against datastore size: edit+commit of one list entry with
//! 1k, 10k and 100k interfaces in running (validation, providers, fsynced
//! journal included), and a get of the whole running tree at 100k.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::provider::{Callbacks, Provider};
use nectar_mgmt::{Core, CoreConfig, Datastore, EditStep, ErrorOption, LoadFrom, Registry};
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use nectar_yang::{ModelSet, ModuleSpec};

/// Accepts every interface change, as a provider with nothing to program.
struct Interfaces;

impl Provider for Interfaces {
    fn name(&self) -> &'static str {
        "interfaces"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .apply(|_, _| {})
    }
}

fn core_with(n: usize, dir: &std::path::Path) -> (Core, u32) {
    let ctx = ModelSet::management()
        .with(&[
            ModuleSpec::new("iana-if-type", &[]),
            ModuleSpec::new("ietf-interfaces", &[]),
        ])
        .build()
        .unwrap();
    let mut reg = Registry::new();
    reg.register(Interfaces);
    let mut cfg = CoreConfig::new(dir);
    cfg.load = LoadFrom::Running;
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let mut core = Core::open(ctx, cfg, reg, tx).unwrap();
    let sid = core.open_session(UserCtx::new("bench", vec!["admin".into()]), "bench", None);
    let mut json = String::from(r#"{"ietf-interfaces:interfaces":{"interface":["#);
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"name":"eth{i}","type":"iana-if-type:ethernetCsmacd","description":"port {i}"}}"#
        ));
    }
    json.push_str("]}}");
    let tree = nectar_mgmt::core::parse_json(ctx, &json).unwrap();
    core.edit(
        Some(sid),
        Datastore::Running,
        vec![EditStep::merge(tree)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
    core.compact();
    (core, sid)
}

fn commit_one_entry(c: &mut Criterion) {
    let mut group = c.benchmark_group("edit_commit_one_entry");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    for n in [1_000usize, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let (mut core, sid) = core_with(n, dir.path());
        let ctx = core.context();
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                i += 1;
                let json = format!(
                    r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"new{i}","type":"iana-if-type:ethernetCsmacd"}}]}}}}"#
                );
                let tree = nectar_mgmt::core::parse_json(ctx, &json).unwrap();
                let out = core
                    .edit(Some(sid), Datastore::Running, vec![EditStep::merge(tree)], ErrorOption::RollbackOnError, false)
                    .unwrap();
                assert!(out.commit.is_some());
            })
        });
    }
    group.finish();
}

fn get_whole_tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_running");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    let dir = tempfile::tempdir().unwrap();
    let (core, sid) = core_with(100_000, dir.path());
    group.bench_function("100000_json", |b| {
        b.iter(|| {
            let t = core.get(Some(sid), Datastore::Running, None).unwrap();
            t.print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
                .unwrap()
                .unwrap()
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, commit_one_entry, get_whole_tree);
criterion_main!(benches);
