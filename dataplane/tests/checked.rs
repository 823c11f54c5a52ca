//! A batch checked once and applied from what the check worked out: the same result as
//! applying it, and never a stale one when the configuration changed in between.

mod common;

use common::*;
use nectar_dataplane::control::*;
use nectar_dataplane::dataplane::OpenedPorts;

fn route(prefix: &str, via: &str) -> Op {
    Op::AddRoute {
        vrf: "default".into(),
        prefix: net(prefix),
        target: RouteTarget::NextHops(vec![NextHop::via(ip(via))]),
    }
}

// Input: a batch checked, then applied from its check. Output: the routes it adds, as
// apply would.
#[test]
fn applying_a_checked_batch_installs_it() {
    let lab = Lab::new(1);
    lab.routed("pg0", &["10.0.0.1/24"]);
    let ops = vec![
        route("11.0.0.0/24", "10.0.0.2"),
        route("11.0.1.0/24", "10.0.0.2"),
    ];
    let checked = lab.dp.check_batch(&ops).unwrap();
    let before = lab.dp.routes("default");
    assert!(
        !before.iter().any(|(p, _)| *p == net("11.0.0.0/24")),
        "check applies nothing"
    );
    lab.dp
        .apply_checked(&ops, checked, OpenedPorts::default())
        .unwrap();
    let after = lab.dp.routes("default");
    assert!(after.iter().any(|(p, _)| *p == net("11.0.0.0/24")));
    assert!(after.iter().any(|(p, _)| *p == net("11.0.1.0/24")));
    assert!(lab.dp.lookup("default", ip("11.0.1.9")).is_some());
}

// Input: a batch checked; another batch applied; the first applied from its check.
// Output: both batches' routes: the check, made before the other batch, is not installed
// as is (that would drop the other batch's route).
#[test]
fn a_check_made_before_another_change_is_not_installed_as_is() {
    let lab = Lab::new(1);
    lab.routed("pg0", &["10.0.0.1/24"]);
    let first = vec![route("11.0.0.0/24", "10.0.0.2")];
    let checked = lab.dp.check_batch(&first).unwrap();
    lab.dp.apply(&[route("12.0.0.0/24", "10.0.0.3")]).unwrap();
    lab.dp
        .apply_checked(&first, checked, OpenedPorts::default())
        .unwrap();
    let after = lab.dp.routes("default");
    assert!(after.iter().any(|(p, _)| *p == net("11.0.0.0/24")));
    assert!(
        after.iter().any(|(p, _)| *p == net("12.0.0.0/24")),
        "the change made after the check survives: {after:?}"
    );
    // A batch that became invalid in between is refused, and changes nothing.
    let bad = vec![Op::DelRoute {
        vrf: "default".into(),
        prefix: net("13.0.0.0/24"),
    }];
    let add13 = [route("13.0.0.0/24", "10.0.0.2")];
    lab.dp.apply(&add13).unwrap();
    let checked = lab.dp.check_batch(&bad).unwrap();
    lab.dp.apply(&bad).unwrap();
    let before = lab.dp.routes("default");
    assert!(
        lab.dp
            .apply_checked(&bad, checked, OpenedPorts::default())
            .is_err()
    );
    assert_eq!(lab.dp.routes("default"), before);
}
