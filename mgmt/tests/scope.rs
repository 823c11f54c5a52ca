//! Scoped validation is equivalent to validating the whole datastore: random
//! valid and invalid edits go through the core, and each outcome (accepted or
//! rejected) and the resulting running must be exactly what whole-tree
//! libyang validation of the same edit gives.

mod common;

use common::*;
use nectar_mgmt::edit::{self, EditOp, EditStep};
use nectar_mgmt::ly;
use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::scope::Scope;
use nectar_mgmt::{Datastore, ErrorOption};
use nectar_yang::yang2::data::{Data, DataFormat, DataPrinterFlags, DataValidationFlags};

fn all_json(t: &ly::Tree) -> String {
    t.print_string(
        DataFormat::JSON,
        DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::WD_ALL,
    )
    .unwrap()
    .unwrap_or_default()
}

#[test]
fn interface_entries_are_validation_units() {
    let scope = Scope::analyse(ctx());
    assert!(scope.is_unit("/ietf-interfaces:interfaces/interface"));
}

#[test]
fn scoped_validation_agrees_with_whole_tree_validation() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path(), &Calls::default());
    let sid = core.open_session(UserCtx::new("t", vec!["admin".into()]), "test", None);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..400 {
        let name = format!("if{}", rand(12));
        let base = format!("/ietf-interfaces:interfaces/interface[name='{name}']");
        let step = match rand(7) {
            0 => EditStep::merge(tree(&iface(&name, ""))),
            // No type: mandatory leaf missing (invalid when the entry is new).
            1 => EditStep::merge(tree(&format!(
                r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"{name}"}}]}}}}"#
            ))),
            2 => EditStep::merge(tree(&iface(
                &name,
                &format!(r#","ietf-ip:ipv4":{{"mtu":{}}}"#, 68 + rand(20)),
            ))),
            // An address needs its subnet (mandatory choice): invalid without.
            3 => {
                let subnet = if rand(3) == 0 {
                    String::new()
                } else {
                    format!(r#","prefix-length":{}"#, 24 + rand(9))
                };
                EditStep::merge(tree(&iface(
                    &name,
                    &format!(
                        r#","ietf-ip:ipv4":{{"address":[{{"ip":"10.0.0.{}"{subnet}}}]}}"#,
                        rand(4)
                    ),
                )))
            }
            4 => EditStep::at(EditOp::Remove, base.clone(), None),
            5 => EditStep::at(EditOp::Remove, format!("{base}/ietf-ip:ipv4"), None),
            _ => EditStep::merge(tree(&iface(
                &name,
                &format!(r#","enabled":{}"#, rand(2) == 0),
            ))),
        };
        // What whole-tree validation says about the same edit.
        let mut probe = ly::dup_tree(core.running()).unwrap();
        let mut log = Vec::new();
        let applied = edit::apply_step(&mut probe, &step, &mut log);
        let expected_ok = applied.is_ok()
            && ly::validate_all(&mut probe, DataValidationFlags::NO_STATE)
                .1
                .is_ok();

        let got = core.edit(
            Some(sid),
            Datastore::Running,
            vec![step],
            ErrorOption::RollbackOnError,
            false,
        );
        assert_eq!(got.is_ok(), expected_ok, "disagreement on an edit: {got:?}");
        if got.is_ok() {
            accepted += 1;
            // Same content, defaults included.
            assert_eq!(all_json(core.running()), all_json(&probe));
        } else {
            rejected += 1;
        }
        // Running is always valid as a whole.
        let mut check = ly::dup_tree(core.running()).unwrap();
        assert!(
            ly::validate_all(&mut check, DataValidationFlags::NO_STATE)
                .1
                .is_ok()
        );
    }
    assert!(
        accepted > 50 && rejected > 20,
        "accepted {accepted}, rejected {rejected}"
    );
}

/// The daemon's model set: every network model, deviations applied.
fn network_ctx() -> &'static nectar_yang::yang2::context::Context {
    nectar_yang::ModelSet::management()
        .with(nectar_yang::models::NETWORK)
        .with(nectar_yang::models::DEVIATIONS)
        .build()
        .unwrap()
}

#[test]
fn routes_interfaces_and_bridge_domains_are_units_in_the_daemons_models() {
    let scope = Scope::analyse(network_ctx());
    for list in [
        "/ietf-interfaces:interfaces/interface",
        "/ietf-routing:routing/control-plane-protocols/control-plane-protocol/static-routes/ietf-ipv4-unicast-routing:ipv4/route",
        "/nectar-bridge:bridge-domains/bridge-domain",
        "/ietf-nat:nat/instances/instance/mapping-table/mapping-entry",
    ] {
        assert!(scope.is_unit(list), "{list}");
    }
}

// The same property on the daemon's models, where units hold leafrefs to
// other units (a route's outgoing interface, an interface's bridge domain)
// and units nest (routes inside a routing protocol instance): random edits
// that create, reference and delete leafref targets are accepted or refused,
// and leave the same datastore, exactly as whole-tree validation says.
#[test]
fn scoped_validation_agrees_with_whole_tree_validation_across_references() {
    let ctx = network_ctx();
    let scope = Scope::analyse(ctx);
    let parse = |json: &str| nectar_mgmt::ly::parse_json(ctx, json).unwrap();
    let mut running = ly::dup_tree(&parse("{}")).unwrap();
    let mut seed: u64 = 0x2545f4914f6cdd1d;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    const IFS: &str = "/ietf-interfaces:interfaces/interface";
    const BDS: &str = "/nectar-bridge:bridge-domains/bridge-domain";
    const RT: &str = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol[type='ietf-routing:static'][name='st']/static-routes/ietf-ipv4-unicast-routing:ipv4/route";
    let route = |prefix: &str, hop: &str| {
        format!(
            r#"{{"ietf-routing:routing":{{"control-plane-protocols":{{"control-plane-protocol":[{{"type":"ietf-routing:static","name":"st","static-routes":{{"ietf-ipv4-unicast-routing:ipv4":{{"route":[{{"destination-prefix":"{prefix}","next-hop":{hop}}}]}}}}}}]}}}}}}"#
        )
    };
    let (mut accepted, mut rejected, mut scoped) = (0, 0, 0);
    for _ in 0..600 {
        let i = rand(6);
        let j = rand(6);
        let step = match rand(10) {
            0 | 1 => EditStep::merge(parse(&format!(
                r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"if{i}","type":"iana-if-type:ethernetCsmacd","description":"d{j}"}}]}}}}"#
            ))),
            2 => EditStep::at(EditOp::Remove, format!("{IFS}[name='if{i}']"), None),
            3 | 4 => EditStep::merge(parse(&route(
                &format!("10.0.{i}.0/24"),
                &format!(r#"{{"outgoing-interface":"if{j}"}}"#),
            ))),
            5 => EditStep::merge(parse(&route(
                &format!("10.1.{i}.0/24"),
                &format!(r#"{{"next-hop-address":"192.0.2.{j}"}}"#),
            ))),
            6 => EditStep::at(
                EditOp::Remove,
                format!("{RT}[destination-prefix='10.0.{i}.0/24']"),
                None,
            ),
            7 => EditStep::merge(parse(&format!(
                r#"{{"nectar-bridge:bridge-domains":{{"bridge-domain":[{{"name":"bd{i}"}}]}}}}"#
            ))),
            8 => EditStep::at(EditOp::Remove, format!("{BDS}[name='bd{i}']"), None),
            _ => EditStep::merge(parse(&format!(
                r#"{{"ietf-interfaces:interfaces":{{"interface":[{{"name":"if{i}","type":"iana-if-type:ethernetCsmacd","nectar-bridge:switchport":{{"bridge-domain":"bd{j}"}}}}]}}}}"#
            ))),
        };
        let mut candidate = ly::dup_tree(&running).unwrap();
        let mut log = Vec::new();
        if edit::apply_step(&mut candidate, &step, &mut log).is_err() || log.is_empty() {
            continue;
        }
        let mut whole = ly::dup_tree(&candidate).unwrap();
        let expected_ok = ly::validate_all(&mut whole, DataValidationFlags::NO_STATE)
            .1
            .is_ok();
        let got = scope.validate(&mut candidate, &log);
        if !log.iter().any(|t| {
            matches!(t, edit::Touched::Deleted { .. }) && !t_path(t).starts_with("/ietf-routing:")
        }) {
            scoped += 1;
        }
        assert_eq!(
            got.is_ok(),
            expected_ok,
            "disagreement on {:?}: {got:?}",
            step.path
        );
        if expected_ok {
            accepted += 1;
            assert_eq!(all_json(&candidate), all_json(&whole));
            running = candidate;
        } else {
            rejected += 1;
        }
    }
    assert!(
        accepted > 150 && rejected > 30 && scoped > 100,
        "accepted {accepted}, rejected {rejected}, scoped {scoped}"
    );
}

fn t_path(t: &edit::Touched) -> &str {
    match t {
        edit::Touched::Created { path, .. }
        | edit::Touched::Deleted { path, .. }
        | edit::Touched::Modified { path, .. } => path,
    }
}
