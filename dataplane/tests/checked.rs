//! A batch prepared once and committed from what the prepare worked out: the same result as
//! applying it, and never a stale one when the configuration changed in between.

mod common;

use common::*;
use nectar_dataplane::control::*;

fn route(prefix: &str, via: &str) -> Op {
    Op::AddRoute {
        vrf: "default".into(),
        prefix: net(prefix),
        target: RouteTarget::NextHops(vec![NextHop::via(ip(via))]),
    }
}

// Input: a batch prepared, then committed. Output: the routes it adds, as
// apply would.
#[test]
fn applying_a_checked_batch_installs_it() {
    let lab = Lab::new(1);
    lab.routed("pg0", &["10.0.0.1/24"]);
    let ops = vec![
        route("11.0.0.0/24", "10.0.0.2"),
        route("11.0.1.0/24", "10.0.0.2"),
    ];
    let prepared = lab.dp.prepare(ops.clone()).unwrap();
    let before = lab.dp.routes("default");
    assert!(
        !before.iter().any(|(p, _)| *p == net("11.0.0.0/24")),
        "prepare applies nothing"
    );
    assert_eq!(lab.dp.commit(prepared).unwrap(), ops);
    let after = lab.dp.routes("default");
    assert!(after.iter().any(|(p, _)| *p == net("11.0.0.0/24")));
    assert!(after.iter().any(|(p, _)| *p == net("11.0.1.0/24")));
    assert!(lab.dp.lookup("default", ip("11.0.1.9")).is_some());
}

// Input: a batch prepared; another batch applied; the first committed.
// Output: both batches' routes: the prepared tables, made before the other batch, are not
// installed as they are (that would drop the other batch's route).
#[test]
fn a_check_made_before_another_change_is_not_installed_as_is() {
    let lab = Lab::new(1);
    lab.routed("pg0", &["10.0.0.1/24"]);
    let first = vec![route("11.0.0.0/24", "10.0.0.2")];
    let prepared = lab.dp.prepare(first).unwrap();
    lab.dp.apply(&[route("12.0.0.0/24", "10.0.0.3")]).unwrap();
    lab.dp.commit(prepared).unwrap();
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
    let prepared = lab.dp.prepare(bad.clone()).unwrap();
    lab.dp.apply(&bad).unwrap();
    let before = lab.dp.routes("default");
    assert!(lab.dp.commit(prepared).is_err());
    assert_eq!(lab.dp.routes("default"), before);
}
