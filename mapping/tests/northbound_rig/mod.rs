//! The northbound test rig shared by `northbound*.rs`: a pg dataplane with ports eth0..eth2,
//! the daemon's model set (network models + nectar's deviations), the `Northbound` provider
//! in a management core, the event forwarder. Config goes in through `Core::edit`.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use nectar_dataplane::port::pg::{PgHandle, pg};
use nectar_dataplane::{Dataplane, IpNet, Mac};
use nectar_mapping::{Northbound, NorthboundHandle};
use nectar_mgmt::{
    Core, CoreConfig, Datastore, EditOp, EditStep, ErrorOption, Errors, Event, Registry,
};
use nectar_yang::ModelSet;
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use tokio::sync::broadcast;

pub fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        ModelSet::management()
            .with(nectar_yang::models::NETWORK)
            .with(nectar_yang::models::DEVIATIONS)
            .build()
            .expect("model set")
    })
}

pub struct Rig {
    pub dp: Arc<Dataplane>,
    pub pg: Vec<PgHandle>,
    pub core: Core,
    pub nb: NorthboundHandle,
    pub events: broadcast::Receiver<Event>,
    _dir: tempfile::TempDir,
}

pub fn rig() -> Rig {
    rig_with_workers(0)
}

/// The rig with `workers` forwarding threads (0: the test drives forwarding with `poll`).
pub fn rig_with_workers(workers: usize) -> Rig {
    let mut b = Dataplane::builder().workers(workers);
    let mut pgs = Vec::new();
    for i in 0..3u8 {
        let (p, h) = pg(Mac([0x02, 0x6e, 0x63, 0, 0, i + 1]));
        b = b.port(&format!("eth{i}"), p);
        pgs.push(h);
    }
    let dp = Arc::new(b.build().unwrap());
    let (nb, handle) = Northbound::new(dp.clone());
    let mut reg = Registry::new();
    reg.register(nb);
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = broadcast::channel(1024);
    nectar_mapping::spawn_event_forwarder(&dp, tx.clone()).unwrap();
    let core = Core::open(ctx(), CoreConfig::new(dir.path()), reg, tx).expect("core opens");
    Rig {
        dp,
        pg: pgs,
        core,
        nb: handle,
        events: rx,
        _dir: dir,
    }
}

impl Rig {
    pub fn merge(&mut self, json: &str) -> Result<Option<u64>, Errors> {
        let t = nectar_mgmt::core::parse_json(ctx(), json).expect("test JSON parses");
        self.core
            .edit(
                None,
                Datastore::Running,
                vec![EditStep::merge(t)],
                ErrorOption::RollbackOnError,
                false,
            )
            .map(|o| o.commit)
    }

    pub fn delete(&mut self, path: &str) -> Result<Option<u64>, Errors> {
        self.core
            .edit(
                None,
                Datastore::Running,
                vec![EditStep::at(EditOp::Delete, path, None)],
                ErrorOption::RollbackOnError,
                false,
            )
            .map(|o| o.commit)
    }

    pub fn oper(&self, xpath: &str) -> serde_json::Value {
        let t = self
            .core
            .get(None, Datastore::Operational, Some(xpath))
            .expect("operational get");
        let s = t
            .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_else(|| "{}".into());
        serde_json::from_str(&s).unwrap()
    }

    pub fn running(&self) -> String {
        self.core
            .running()
            .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_default()
    }
}

pub const ETH0_ADDR: &str = r#"{"ietf-interfaces:interfaces":{"interface":[{"name":"eth0","type":"iana-if-type:ethernetCsmacd",
  "ietf-ip:ipv4":{"mtu":1400,"address":[{"ip":"10.0.0.1","prefix-length":24}]},
  "ietf-ip:ipv6":{"address":[{"ip":"2001:db8::1","prefix-length":64}]}}]}}"#;

pub fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}
