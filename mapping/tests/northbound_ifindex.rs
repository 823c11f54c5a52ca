//! Interface indices survive a restart (RFC 2863 §3.1.5), and a removed
//! interface's index is not handed to another one (issue 17, defect 2).

use std::path::Path;
use std::sync::Arc;

use nectar_dataplane::port::pg::pg;
use nectar_dataplane::{Dataplane, Mac};
use nectar_mapping::Northbound;
use nectar_mgmt::{Core, CoreConfig, Datastore, EditOp, EditStep, ErrorOption, Registry};
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use tokio::sync::broadcast;

mod northbound_rig;
use northbound_rig::ctx;

/// A daemon's worth of dataplane, provider and core on `dir`.
fn start(dir: &Path) -> Core {
    let mut b = Dataplane::builder();
    for i in 0..2u8 {
        let (p, _h) = pg(Mac([0x02, 0x6e, 0x63, 0, 0, i + 1]));
        b = b.port(&format!("eth{i}"), p);
    }
    let dp = Arc::new(b.build().unwrap());
    let (nb, _handle) = Northbound::new(dp);
    nb.persist_indices(dir.join("if-index.json")).unwrap();
    let mut reg = Registry::new();
    reg.register(nb);
    let (tx, _) = broadcast::channel(64);
    let mut cfg = CoreConfig::new(dir);
    cfg.load = nectar_mgmt::LoadFrom::Running;
    Core::open(ctx(), cfg, reg, tx).expect("core opens")
}

fn add_loopback(core: &mut Core, name: &str) {
    let json = format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:softwareLoopback"}}]}}}}"#
    );
    let t = nectar_mgmt::core::parse_json(ctx(), &json).unwrap();
    core.edit(
        None,
        Datastore::Running,
        vec![EditStep::merge(t)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
}

fn delete(core: &mut Core, name: &str) {
    let path = format!("/ietf-interfaces:interfaces/interface[name='{name}']");
    core.edit(
        None,
        Datastore::Running,
        vec![EditStep::at(EditOp::Delete, path, None)],
        ErrorOption::RollbackOnError,
        false,
    )
    .unwrap();
}

fn if_index(core: &Core, name: &str) -> u64 {
    let xpath = format!("/ietf-interfaces:interfaces/interface[name='{name}']/if-index");
    let t = core
        .get(None, Datastore::Operational, Some(&xpath))
        .unwrap();
    let s = t
        .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
        .unwrap()
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    v["ietf-interfaces:interfaces"]["interface"][0]["if-index"]
        .as_u64()
        .unwrap_or_else(|| panic!("no if-index for {name}: {s}"))
}

#[test]
fn if_index_survives_a_restart_and_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (z, a);
    {
        let mut core = start(dir.path());
        add_loopback(&mut core, "lo-z");
        add_loopback(&mut core, "lo-a");
        z = if_index(&core, "lo-z");
        a = if_index(&core, "lo-a");
        assert!(z < a, "{z} {a}");
        // The core and dataplane go away as with kill -9: nothing more is
        // written than what each commit wrote.
        std::mem::forget(core);
    }
    let mut core = start(dir.path());
    assert_eq!(if_index(&core, "lo-z"), z);
    assert_eq!(if_index(&core, "lo-a"), a);
    // A removed interface's index goes to nobody else, also after a restart.
    delete(&mut core, "lo-z");
    add_loopback(&mut core, "lo-b");
    let b = if_index(&core, "lo-b");
    assert!(b != z && b != a, "{b}");
    drop(core);
    let mut core = start(dir.path());
    add_loopback(&mut core, "lo-c");
    let c = if_index(&core, "lo-c");
    assert!(![z, a, b].contains(&c), "{c}");
    add_loopback(&mut core, "lo-z");
    assert_eq!(if_index(&core, "lo-z"), z);
}
