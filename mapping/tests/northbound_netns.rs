//! Real packets through the vswitch, configured only through the management API: two host
//! namespaces joined by veth pairs to afpacket ports eth0/eth1 of a dataplane whose
//! configuration comes from the management core (`MgmtHandle`, as the protocol doors use
//! it). Once through ietf-interfaces/ietf-ip/ietf-routing, once through OpenConfig on a
//! fresh dataplane. Needs root (namespaces); skipped with a message otherwise.

mod northbound_rig;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use nectar_dataplane::Dataplane;
use nectar_dataplane::port::afpacket::AfPacketPort;
use nectar_mapping::Northbound;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Core, CoreConfig, Datastore, EditStep, ErrorOption, MgmtHandle, Registry};
use nectar_testkit::netns as ns;
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags};
use northbound_rig::ctx;

struct Box_ {
    dp: Arc<Dataplane>,
    mgmt: MgmtHandle,
    sid: u32,
    _dir: tempfile::TempDir,
}

/// The vswitch on the topology's dataplane veths, as eth0 (to h1) and eth1 (to h2), with
/// the management core in front of it.
async fn vswitch(t: &ns::Topo) -> Box_ {
    let p1 = AfPacketPort::open_in_netns(&t.path("dp"), &t.dev("dh1")).unwrap();
    let p2 = AfPacketPort::open_in_netns(&t.path("dp"), &t.dev("dh2")).unwrap();
    let dp = Arc::new(
        Dataplane::builder()
            .port("eth0", p1)
            .port("eth1", p2)
            .workers(1)
            .build()
            .unwrap(),
    );
    let (nb, _h) = Northbound::new(dp.clone());
    let mut reg = Registry::new();
    reg.register(nb);
    let dir = tempfile::tempdir().unwrap();
    let (tx, _) = tokio::sync::broadcast::channel(1024);
    let core = Core::open(ctx(), CoreConfig::new(dir.path()), reg, tx.clone()).unwrap();
    let mgmt = MgmtHandle::spawn(core, tx);
    let sid = mgmt
        .open_session(UserCtx::new("op", vec!["admin".into()]), "test", None)
        .await
        .unwrap();
    Box_ {
        dp,
        mgmt,
        sid,
        _dir: dir,
    }
}

impl Box_ {
    async fn merge(&self, json: &str) {
        let t = nectar_mgmt::core::parse_json(ctx(), json).unwrap();
        self.mgmt
            .edit(
                self.sid,
                Datastore::Running,
                vec![EditStep::merge(t)],
                ErrorOption::RollbackOnError,
                false,
            )
            .await
            .unwrap();
    }

    async fn oper(&self, xpath: &str) -> serde_json::Value {
        let t = self
            .mgmt
            .get(self.sid, Datastore::Operational, Some(xpath.to_string()))
            .await
            .unwrap();
        let s = t
            .print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_default();
        serde_json::from_str(&s).unwrap()
    }
}

fn topology() -> Option<ns::Topo> {
    let t = ns::Topo::new()?;
    t.wire("h1", "10.1.0.2/24", Some("10.1.0.1")).unwrap();
    t.wire("h2", "10.2.0.2/24", Some("10.2.0.1")).unwrap();
    // A prefix behind h2 that only a static route on the vswitch reaches.
    ns::ip(&[
        "-n",
        &t.ns("h2"),
        "addr",
        "add",
        "10.99.0.1/32",
        "dev",
        "lo",
    ])
    .unwrap();
    Some(t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_across_the_vswitch_configured_through_ietf_models() {
    let Some(t) = topology() else { return };
    let b = vswitch(&t).await;
    b.merge(
        r#"{"ietf-interfaces:interfaces":{"interface":[
          {"name":"eth0","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.1.0.1","prefix-length":24}]}},
          {"name":"eth1","type":"iana-if-type:ethernetCsmacd","ietf-ip:ipv4":{"address":[{"ip":"10.2.0.1","prefix-length":24}]}}]},
         "ietf-routing:routing":{"control-plane-protocols":{"control-plane-protocol":[
          {"type":"ietf-routing:static","name":"st","static-routes":{"ietf-ipv4-unicast-routing:ipv4":{"route":[
            {"destination-prefix":"10.99.0.0/16","next-hop":{"next-hop-address":"10.2.0.2"}}]}}}]}}}"#,
    )
    .await;
    let h1 = t.path("h1");
    let ok = tokio::task::spawn_blocking(move || {
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(5))
            && ns::ping(&h1, Ipv4Addr::new(10, 99, 0, 1), Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(
        ok,
        "h1 reaches h2 and the prefix behind it through the vswitch"
    );
    // The operational counters are the dataplane's numbers.
    let v = b
        .oper("/ietf-interfaces:interfaces/interface[name='eth0']/statistics")
        .await;
    let st = b.dp.interface_stats("eth0").unwrap();
    let s = &v["ietf-interfaces:interfaces"]["interface"][0]["statistics"];
    assert_eq!(s["in-unicast-pkts"], st.rx_unicast.to_string(), "{v}");
    assert_eq!(s["out-unicast-pkts"], st.tx_unicast.to_string(), "{v}");
    assert!(st.rx_unicast >= 2 && st.tx_unicast >= 2, "{st:?}");
    let v = b
        .oper("/ietf-routing:routing/ribs/rib[name='ipv4-master']")
        .await;
    assert!(v.to_string().contains("10.99.0.0/16"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_across_the_vswitch_configured_through_openconfig() {
    let Some(t) = topology() else { return };
    let b = vswitch(&t).await;
    let iface = |name: &str, ip: &str| {
        format!(
            r#"{{"name":"{name}","config":{{"name":"{name}","type":"iana-if-type:ethernetCsmacd"}},
              "subinterfaces":{{"subinterface":[{{"index":0,"config":{{"index":0}},
                "openconfig-if-ip:ipv4":{{"addresses":{{"address":[{{"ip":"{ip}","config":{{"ip":"{ip}","prefix-length":24}}}}]}}}}}}]}}}}"#
        )
    };
    b.merge(&format!(
        r#"{{"openconfig-interfaces:interfaces":{{"interface":[{},{}]}}}}"#,
        iface("eth0", "10.1.0.1"),
        iface("eth1", "10.2.0.1")
    ))
    .await;
    let h1 = t.path("h1");
    let ok = tokio::task::spawn_blocking(move || {
        ns::ping(&h1, Ipv4Addr::new(10, 2, 0, 2), Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(ok, "h1 reaches h2 through the vswitch");
    // Configured through OpenConfig, counted the same in the IETF view.
    let st = b.dp.interface_stats("eth1").unwrap();
    let ietf = b
        .oper("/ietf-interfaces:interfaces/interface[name='eth1']/statistics")
        .await;
    let oc = b
        .oper("/openconfig-interfaces:interfaces/interface[name='eth1']/state/counters")
        .await;
    assert_eq!(
        ietf["ietf-interfaces:interfaces"]["interface"][0]["statistics"]["out-unicast-pkts"],
        st.tx_unicast.to_string()
    );
    assert_eq!(
        oc["openconfig-interfaces:interfaces"]["interface"][0]["state"]["counters"]["out-unicast-pkts"],
        st.tx_unicast.to_string()
    );
}
