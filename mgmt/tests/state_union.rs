//! Operational reads whose XPath is a union of paths in several modules
//! (what a NETCONF subtree filter with two top-level elements becomes) get
//! the state of every module they name (issue 17, defect 1).

use std::sync::OnceLock;

use nectar_mgmt::provider::{Callbacks, Provider, StateArgs};
use nectar_mgmt::{Core, CoreConfig, Datastore, MgmtError, Registry};
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use nectar_yang::{ModelSet, ModuleSpec};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(&[
                ModuleSpec::new("iana-if-type", &[]),
                ModuleSpec::new("ietf-interfaces", &[]),
                ModuleSpec::new("ietf-routing", &[]),
                ModuleSpec::new("ietf-ipv4-unicast-routing", &[]),
            ])
            .build()
            .expect("model set")
    })
}

/// State under two modules, each narrowed to the requested path the way
/// real providers do (an interface name in the path selects that one).
struct Both;

fn if_state(
    _: &Both,
    args: &StateArgs<'_>,
    out: &mut nectar_mgmt::ly::Tree,
) -> Result<(), MgmtError> {
    for name in ["pg0", "lo7"] {
        if let Some(p) = args.path
            && p.contains("[name=")
            && !p.contains(&format!("[name='{name}']"))
        {
            continue;
        }
        let base = format!("/ietf-interfaces:interfaces/interface[name='{name}']");
        out.new_path(
            &format!("{base}/type"),
            Some("iana-if-type:softwareLoopback"),
            false,
        )?;
        out.new_path(&format!("{base}/oper-status"), Some("up"), false)?;
    }
    Ok(())
}

fn rib_state(
    _: &Both,
    _: &StateArgs<'_>,
    out: &mut nectar_mgmt::ly::Tree,
) -> Result<(), MgmtError> {
    let rib = "/ietf-routing:routing/ribs/rib[name='ipv4-master']";
    out.new_path(
        &format!("{rib}/address-family"),
        Some("ietf-routing:ipv4"),
        false,
    )?;
    out.new_path(
        &format!("{rib}/routes/route[1]/ietf-ipv4-unicast-routing:destination-prefix"),
        Some("10.0.0.0/8"),
        false,
    )?;
    Ok(())
}

impl Provider for Both {
    fn name(&self) -> &'static str {
        "both"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .subtree("/ietf-routing:routing")
            .state("/ietf-interfaces:interfaces", if_state)
            .state("/ietf-routing:routing", rib_state)
    }
}

fn core(dir: &std::path::Path) -> Core {
    let mut reg = Registry::new();
    reg.register(Both);
    let mut cfg = CoreConfig::new(dir);
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (tx, _) = tokio::sync::broadcast::channel(16);
    Core::open(ctx(), cfg, reg, tx).expect("core opens")
}

fn get(core: &Core, xpath: &str) -> String {
    core.get(None, Datastore::Operational, Some(xpath))
        .unwrap()
        .print_string(
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
        )
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn a_union_over_two_modules_gets_the_state_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let ifs = "/ietf-interfaces:interfaces";
    let ribs = "/ietf-routing:routing/ribs";
    for xpath in [
        format!("{ifs} | {ribs}"),
        format!("{ribs} | {ifs}"),
        format!("{ribs}|{ifs}"),
        format!("{ifs}/interface[name='pg0'] | {ifs}/interface[name='lo7'] | {ribs}"),
    ] {
        let got = get(&core, &xpath);
        assert!(got.contains(r#""name":"pg0""#), "{xpath}: {got}");
        assert!(got.contains(r#""name":"lo7""#), "{xpath}: {got}");
        assert!(got.contains(r#""oper-status":"up""#), "{xpath}: {got}");
        assert!(got.contains("10.0.0.0/8"), "{xpath}: {got}");
    }
    // One branch alone still narrows as before.
    let got = get(&core, &format!("{ifs}/interface[name='pg0']"));
    assert!(
        got.contains("pg0") && !got.contains("lo7") && !got.contains("ribs"),
        "{got}"
    );
}
