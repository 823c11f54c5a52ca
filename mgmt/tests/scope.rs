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
