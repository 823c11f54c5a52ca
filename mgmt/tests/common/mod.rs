//! Shared fixtures: a model set with ietf-interfaces and ietf-ip, and two
//! providers that record every callback and can be told to fail.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, OnceLock};

use nectar_mgmt::provider::{Callbacks, CbArgs, Provider};
use nectar_mgmt::{Core, CoreConfig, MgmtError, Registry};
use nectar_yang::yang2::context::Context;
use nectar_yang::{ModelSet, ModuleSpec};

pub const IETF_IF: &[ModuleSpec] = &[
    ModuleSpec::new("iana-if-type", &[]),
    ModuleSpec::new("ietf-interfaces", &[]),
    ModuleSpec::new("ietf-ip", &[]),
];

pub fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(IETF_IF)
            .build()
            .expect("model set")
    })
}

pub type Calls = Arc<Mutex<Vec<String>>>;

/// Serves /interfaces (all of it, ietf-ip included). Refuses in prepare an
/// interface whose description is "refuse-a".
pub struct IfProvider {
    pub calls: Calls,
}

/// Serves the ietf-ip subtree only. Refuses in prepare an MTU of 1234.
pub struct IpProvider {
    pub calls: Calls,
}

fn log(calls: &Calls, who: &str, phase: &str, args: &CbArgs<'_>) {
    calls.lock().unwrap().push(format!(
        "{who} {phase} {:?} {}",
        args.change.op, args.change.path
    ));
}

impl Provider for IfProvider {
    fn name(&self) -> &'static str {
        "if"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces")
            .prepare(|p: &mut Self, a| {
                log(&p.calls, "if", "prepare", a);
                if a.change.new.as_deref() == Some("refuse-a") {
                    return Err(MgmtError::operation_failed("provider if refuses")
                        .with_path(a.change.path.clone()));
                }
                Ok(())
            })
            .apply(|p, a| log(&p.calls, "if", "apply", a))
            .abort(|p, a| log(&p.calls, "if", "abort", a))
    }

    fn apply_done(&mut self, _tree: &nectar_mgmt::ly::Tree) {
        self.calls.lock().unwrap().push("if apply_done".into());
    }

    fn abort_done(&mut self) {
        self.calls.lock().unwrap().push("if abort_done".into());
    }
}

impl Provider for IpProvider {
    fn name(&self) -> &'static str {
        "ip"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new()
            .subtree("/ietf-interfaces:interfaces/interface/ietf-ip:ipv4")
            .prepare(|p: &mut Self, a| {
                log(&p.calls, "ip", "prepare", a);
                if a.change.new.as_deref() == Some("1234") {
                    return Err(MgmtError::operation_failed("provider ip refuses MTU 1234")
                        .with_path(a.change.path.clone()));
                }
                Ok(())
            })
            .apply(|p, a| log(&p.calls, "ip", "apply", a))
            .abort(|p, a| log(&p.calls, "ip", "abort", a))
            .subtree("/ietf-interfaces:interfaces/interface/ietf-ip:ipv6")
            .apply(|p, a| log(&p.calls, "ip", "apply", a))
    }

    fn abort_done(&mut self) {
        self.calls.lock().unwrap().push("ip abort_done".into());
    }
}

pub fn registry(calls: &Calls) -> Registry {
    let mut r = Registry::new();
    r.register(IfProvider {
        calls: calls.clone(),
    });
    r.register(IpProvider {
        calls: calls.clone(),
    });
    r
}

pub fn open(dir: &std::path::Path, calls: &Calls) -> Core {
    let mut cfg = CoreConfig::new(dir);
    cfg.load = nectar_mgmt::LoadFrom::Running;
    let (tx, _) = tokio::sync::broadcast::channel(1024);
    Core::open(ctx(), cfg, registry(calls), tx).expect("core opens")
}

pub fn tree(json: &str) -> nectar_mgmt::ly::Tree {
    nectar_mgmt::core::parse_json(ctx(), json).expect("test JSON parses")
}

/// One interface as RFC 7951 JSON.
pub fn iface(name: &str, extra: &str) -> String {
    format!(
        r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"{extra}}}]}}}}"#
    )
}

/// Running as compact JSON (explicit nodes).
pub fn running_json(core: &Core) -> String {
    use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
    core.running()
        .print_string(
            DataFormat::JSON,
            DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK,
        )
        .unwrap()
        .unwrap_or_default()
}
