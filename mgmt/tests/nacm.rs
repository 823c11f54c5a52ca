//! NACM (RFC 8341) evaluator: realistic `ietf-netconf-acm` configurations in
//! RFC 7951 JSON over ietf-interfaces data, as running would hold them.

use nectar_yang::print::NodePath;
use std::sync::OnceLock;

use nectar_mgmt::nacm::{Access, Change, Decision, Denied, Nacm, NacmCounters, UserCtx};
use nectar_yang::ModelSet;
use nectar_yang::models::NETWORK;
use nectar_yang::yang2::context::Context;
use nectar_yang::yang2::data::{
    Data, DataDiffFlags, DataFormat, DataParserFlags, DataPrinterFlags, DataTree,
    DataValidationFlags,
};

fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| ModelSet::management().with(NETWORK).build().unwrap())
}

/// Parses and validates config data in RFC 7951 JSON (defaults added).
fn tree(json: &str) -> DataTree<'static> {
    let mut buf = json.as_bytes().to_vec();
    buf.push(0);
    DataTree::parse_string(
        ctx(),
        buf,
        DataFormat::JSON,
        DataParserFlags::empty(),
        DataValidationFlags::NO_STATE,
    )
    .unwrap_or_else(|e| panic!("bad test data: {e}\n{json}"))
}

const INTERFACES: &str = r#"
  "ietf-interfaces:interfaces": {
    "interface": [
      {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "uplink",
       "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24}]}},
      {"name": "eth1", "type": "iana-if-type:ethernetCsmacd", "enabled": false}
    ]
  }"#;

/// Running: the interfaces plus `nacm` (a JSON object body, or "" for none).
fn running(nacm: &str) -> DataTree<'static> {
    if nacm.is_empty() {
        tree(&format!("{{{INTERFACES}}}"))
    } else {
        tree(&format!(
            "{{{INTERFACES}, \"ietf-netconf-acm:nacm\": {nacm}}}"
        ))
    }
}

fn nacm(nacm_json: &str) -> Nacm {
    Nacm::from_tree(&running(nacm_json)).unwrap()
}

fn user(name: &str, groups: &[&str]) -> UserCtx {
    UserCtx::new(name, groups.iter().map(|g| g.to_string()).collect())
}

fn paths(t: &DataTree<'_>) -> Vec<String> {
    t.traverse().map(|n| n.data_path()).collect()
}

fn read(n: &Nacm, u: &UserCtx, path: &str) -> Decision {
    let t = running("");
    let node = t.find_path(path).unwrap();
    n.check_node(u, &node, Access::Read)
}

fn change(op: Access, path: &str, schema_path: &str) -> Change<'static> {
    Change {
        op,
        path: path.to_string(),
        schema: ctx().find_path(schema_path).unwrap(),
    }
}

const ETH2: &str = "/ietf-interfaces:interfaces/interface[name='eth2']";
const ETH2_SCHEMA: &str = "/ietf-interfaces:interfaces/interface";

/// A new interface `eth2` as a transaction lists it: the entry, its key and
/// its type.
fn create_eth2() -> Vec<Change<'static>> {
    vec![
        change(Access::Create, ETH2, ETH2_SCHEMA),
        change(
            Access::Create,
            &format!("{ETH2}/name"),
            "/ietf-interfaces:interfaces/interface/name",
        ),
        change(
            Access::Create,
            &format!("{ETH2}/type"),
            "/ietf-interfaces:interfaces/interface/type",
        ),
    ]
}

fn update_mtu_path() -> Vec<Change<'static>> {
    vec![change(
        Access::Update,
        "/ietf-interfaces:interfaces/interface[name='eth0']/description",
        "/ietf-interfaces:interfaces/interface/description",
    )]
}

/// `operators` (alice) may create, update and delete interfaces.
const OPERATORS: &str = r#"{
  "groups": {"group": [{"name": "operators", "user-name": ["alice"]}]},
  "rule-list": [{
    "name": "operators-interfaces",
    "group": ["operators"],
    "rule": [{
      "name": "write-interfaces",
      "module-name": "ietf-interfaces",
      "path": "/ietf-interfaces:interfaces/interface",
      "access-operations": "create update delete",
      "action": "permit"
    }]
  }]
}"#;

// Input: no /nacm; bob in no group. Output: reads permitted, every write
// denied (write-default deny) and counted, exec permitted.
#[test]
fn defaults_permit_read_deny_write() {
    let n = nacm("");
    let bob = user("bob", &[]);
    assert!(n.enabled());
    assert_eq!(
        read(
            &n,
            &bob,
            "/ietf-interfaces:interfaces/interface[name='eth0']/description"
        ),
        Decision::Permit
    );
    let err = n.check_changes(&bob, &create_eth2()).unwrap_err();
    assert_eq!(
        err,
        Denied {
            path: ETH2.to_string(),
            op: Access::Create
        }
    );
    assert!(n.check_changes(&bob, &update_mtu_path()).is_err());
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "get-config"),
        Decision::Permit
    );
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "edit-config"),
        Decision::Permit
    );
    assert_eq!(
        n.counters(),
        NacmCounters {
            denied_data_writes: 2,
            ..NacmCounters::default()
        }
    );

    // Validation adds /nacm with its defaults; it is default-deny-all, so
    // only it goes.
    let mut t = running("");
    let before = paths(&t);
    assert!(before.iter().any(|p| p == "/ietf-netconf-acm:nacm"));
    n.filter_read(&bob, &mut t);
    let kept: Vec<String> = before
        .into_iter()
        .filter(|p| !p.starts_with("/ietf-netconf-acm:"))
        .collect();
    assert_eq!(paths(&t), kept, "read-default permit keeps all but /nacm");
}

// Input: a deny-everything rule-list for `*` and a config-file admin.
// Output: admin writes, reads /nacm, kills sessions; nothing is counted.
#[test]
fn admin_bypasses_nacm() {
    let cfg = r#"{
      "read-default": "deny", "exec-default": "deny",
      "rule-list": [{"name": "lockdown", "group": ["*"],
        "rule": [{"name": "deny-all", "action": "deny"}]}]
    }"#;
    let n = nacm(cfg);
    let admin = user("root", &["admin"]);
    assert!(admin.superuser);
    assert!(n.check_changes(&admin, &create_eth2()).is_ok());
    assert_eq!(
        n.check_rpc(&admin, "ietf-netconf", "kill-session"),
        Decision::Permit
    );
    assert_eq!(
        n.check_notification(
            &admin,
            "ietf-netconf-notifications",
            "netconf-config-change"
        ),
        Decision::Permit
    );
    let mut t = running(cfg);
    let before = paths(&t);
    n.filter_read(&admin, &mut t);
    assert_eq!(paths(&t), before);
    assert!(before.iter().any(|p| p == "/ietf-netconf-acm:nacm"));
    assert_eq!(n.counters(), NacmCounters::default());

    // The same rules stop a non-admin member of any group.
    let bob = user("bob", &["staff"]);
    assert!(!bob.superuser);
    assert_eq!(n.check_rpc(&bob, "ietf-netconf", "get"), Decision::Deny);
}

// Input: enable-nacm false with deny rules. Output: a non-admin does
// everything, including reading the default-deny-all /nacm.
#[test]
fn enable_nacm_false_permits_everything() {
    let cfg = r#"{
      "enable-nacm": false,
      "rule-list": [{"name": "lockdown", "group": ["*"],
        "rule": [{"name": "deny-all", "action": "deny"}]}]
    }"#;
    let n = nacm(cfg);
    let bob = user("bob", &["staff"]);
    assert!(!n.enabled());
    assert!(n.check_changes(&bob, &create_eth2()).is_ok());
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "kill-session"),
        Decision::Permit
    );
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "delete-config"),
        Decision::Permit
    );
    let mut t = running(cfg);
    let before = paths(&t);
    n.filter_read(&bob, &mut t);
    assert_eq!(paths(&t), before);
}

// Input: group operators = {alice} may write /if:interfaces/if:interface.
// Output: alice creates and updates interfaces; bob cannot; the rule does not
// cover the /interfaces container itself.
#[test]
fn operators_may_write_interfaces() {
    let n = nacm(OPERATORS);
    let alice = user("alice", &[]);
    let bob = user("bob", &[]);
    assert!(n.check_changes(&alice, &create_eth2()).is_ok());
    assert!(n.check_changes(&alice, &update_mtu_path()).is_ok());
    assert!(n.check_changes(&bob, &create_eth2()).is_err());
    let container = [change(
        Access::Delete,
        "/ietf-interfaces:interfaces",
        "/ietf-interfaces:interfaces",
    )];
    assert_eq!(
        n.check_changes(&alice, &container),
        Err(Denied {
            path: "/ietf-interfaces:interfaces".into(),
            op: Access::Delete
        })
    );
    // ietf-ip's ipv4 is defined in ietf-ip, so a module-name of
    // ietf-interfaces does not cover it (RFC 8341 §3.4.5 step 6).
    let ipv4 = [change(
        Access::Create,
        &format!("{ETH2}/ietf-ip:ipv4"),
        "/ietf-interfaces:interfaces/interface/ietf-ip:ipv4",
    )];
    assert!(n.check_changes(&alice, &ipv4).is_err());
    assert_eq!(n.counters().denied_data_writes, 3);
}

// Input: the operators rule written in XML with a namespace prefix,
// `/if:interfaces/if:interface`. Output: same as with module names.
#[test]
fn rule_path_with_xml_prefixes() {
    let xml = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>
<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm">
  <groups><group><name>operators</name><user-name>alice</user-name></group></groups>
  <rule-list>
    <name>operators-interfaces</name>
    <group>operators</group>
    <rule>
      <name>write-interfaces</name>
      <module-name>ietf-interfaces</module-name>
      <path xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces">/if:interfaces/if:interface</path>
      <access-operations>create update delete</access-operations>
      <action>permit</action>
    </rule>
  </rule-list>
</nacm>"#;
    let mut buf = xml.as_bytes().to_vec();
    buf.push(0);
    let t = DataTree::parse_string(
        ctx(),
        buf,
        DataFormat::XML,
        DataParserFlags::empty(),
        DataValidationFlags::NO_STATE,
    )
    .unwrap();
    let n = Nacm::from_tree(&t).unwrap();
    assert!(n.check_changes(&user("alice", &[]), &create_eth2()).is_ok());
    assert!(n.check_changes(&user("bob", &[]), &create_eth2()).is_err());
    assert!(
        n.check_changes(&user("alice", &[]), &update_mtu_path())
            .is_ok()
    );
}

// Input: external (config-file) group operators for carol. Output: she may
// write while enable-external-groups is true, not once it is false.
#[test]
fn external_groups_count_unless_disabled() {
    let carol = user("carol", &["operators"]);
    assert!(
        nacm(OPERATORS)
            .check_changes(&carol, &create_eth2())
            .is_ok()
    );
    let off = OPERATORS.replacen('{', "{\"enable-external-groups\": false,", 1);
    assert!(nacm(&off).check_changes(&carol, &create_eth2()).is_err());
    // alice is in the NACM group itself, so she keeps her rights.
    assert!(
        nacm(&off)
            .check_changes(&user("alice", &[]), &create_eth2())
            .is_ok()
    );
}

// Input: a rule keyed on eth1 and one on `$USER`. Output: key predicates
// select instances; `$USER` is the session's user.
#[test]
fn key_predicates_and_user_variable() {
    let cfg = r#"{
      "rule-list": [{"name": "own", "group": ["*"], "rule": [
        {"name": "own-if", "path": "/ietf-interfaces:interfaces/interface[name=$USER]",
         "access-operations": "*", "action": "permit"},
        {"name": "eth1", "path": "/ietf-interfaces:interfaces/interface[name='eth1']",
         "access-operations": "update", "action": "permit"}
      ]}]
    }"#;
    let n = nacm(cfg);
    let eth2 = user("eth2", &["staff"]);
    assert!(n.check_changes(&eth2, &create_eth2()).is_ok());
    assert!(
        n.check_changes(&user("eth3", &["staff"]), &create_eth2())
            .is_err()
    );
    let eth1_desc = [change(
        Access::Update,
        "/ietf-interfaces:interfaces/interface[name='eth1']/description",
        "/ietf-interfaces:interfaces/interface/description",
    )];
    assert!(n.check_changes(&eth2, &eth1_desc).is_ok());
    assert!(n.check_changes(&eth2, &update_mtu_path()).is_err());
}

// Input: staff may not read interface eth1. Output: filter_read removes
// eth1 (and the default-deny-all /nacm) and keeps eth0 untouched.
#[test]
fn denied_read_is_filtered_out() {
    let cfg = r#"{
      "rule-list": [{"name": "staff", "group": ["staff"], "rule": [
        {"name": "hide-eth1", "module-name": "ietf-interfaces",
         "path": "/ietf-interfaces:interfaces/interface[name='eth1']",
         "access-operations": "read", "action": "deny"}
      ]}]
    }"#;
    let n = nacm(cfg);
    let bob = user("bob", &["staff"]);
    let mut t = running(cfg);
    n.filter_read(&bob, &mut t);
    let got = paths(&t);
    assert!(
        got.iter()
            .any(|p| p.ends_with("interface[name='eth0']/description"))
    );
    assert!(got.iter().any(|p| p.contains("ietf-ip:ipv4")));
    assert!(!got.iter().any(|p| p.contains("eth1")), "{got:#?}");
    assert!(!got.iter().any(|p| p.contains("nacm")), "{got:#?}");
    // Users outside staff still see eth1.
    let mut t = running(cfg);
    n.filter_read(&user("carol", &["other"]), &mut t);
    assert!(paths(&t).iter().any(|p| p.contains("eth1")));
}

// Input: staff may not read /interfaces; then, the first top-level node
// (acls); then, anything ("/"). Output: those subtrees are gone, top-level
// nodes included, and the tree stays usable.
#[test]
fn denied_top_level_subtrees_go() {
    let deny = |path: &str| {
        format!(
            r#"{{"rule-list": [{{"name": "staff", "group": ["staff"], "rule": [
              {{"name": "hide", "path": "{path}", "access-operations": "read",
               "action": "deny"}}]}}]}}"#
        )
    };
    let bob = user("bob", &["staff"]);
    let print = |t: &DataTree<'_>| {
        t.print_string(DataFormat::JSON, DataPrinterFlags::WITH_SIBLINGS)
            .unwrap()
            .unwrap_or_default()
    };

    let cfg = deny("/ietf-interfaces:interfaces");
    let mut t = running(&cfg);
    nacm(&cfg).filter_read(&bob, &mut t);
    let got = paths(&t);
    assert!(
        !got.iter().any(|p| p.starts_with("/ietf-interfaces:")),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|p| p.starts_with("/ietf-routing:")),
        "{got:#?}"
    );

    let cfg = deny("/ietf-access-control-list:acls");
    let mut t = running(&cfg);
    assert!(paths(&t)[0].starts_with("/ietf-access-control-list:acls"));
    nacm(&cfg).filter_read(&bob, &mut t);
    let got = paths(&t);
    assert!(!got.iter().any(|p| p.contains("acls")), "{got:#?}");
    assert!(got.iter().any(|p| p.contains("eth1")), "{got:#?}");
    assert!(print(&t).contains("\"eth1\""));

    let cfg = deny("/");
    let mut t = running(&cfg);
    nacm(&cfg).filter_read(&bob, &mut t);
    assert_eq!(paths(&t), Vec::<String>::new());
    assert!(t.reference().is_none());
    assert!(!print(&t).contains("interfaces"));
}

// Input: read of /interfaces denied but, earlier, read of interface
// descriptions permitted. Output: the reply keeps each interface's key and
// description and nothing else.
#[test]
fn permitted_descendant_keeps_its_ancestors() {
    let cfg = r#"{
      "rule-list": [{"name": "staff", "group": ["staff"], "rule": [
        {"name": "descr", "path": "/ietf-interfaces:interfaces/interface/description",
         "access-operations": "read", "action": "permit"},
        {"name": "hide-if", "path": "/ietf-interfaces:interfaces",
         "access-operations": "read", "action": "deny"}
      ]}]
    }"#;
    let n = nacm(cfg);
    let mut t = running(cfg);
    n.filter_read(&user("bob", &["staff"]), &mut t);
    let got: Vec<String> = paths(&t)
        .into_iter()
        .filter(|p| p.starts_with("/ietf-interfaces:"))
        .collect();
    assert_eq!(
        got,
        [
            "/ietf-interfaces:interfaces",
            "/ietf-interfaces:interfaces/interface[name='eth0']",
            "/ietf-interfaces:interfaces/interface[name='eth0']/name",
            "/ietf-interfaces:interfaces/interface[name='eth0']/description",
        ]
    );
}

// Input: edit-config denied for group readers. Output: readers cannot
// edit-config but can get; the denial is counted.
#[test]
fn rpc_rule_denies_edit_config() {
    let cfg = r#"{
      "groups": {"group": [{"name": "readers", "user-name": ["rita"]}]},
      "rule-list": [{"name": "readers", "group": ["readers"], "rule": [
        {"name": "no-edit", "module-name": "ietf-netconf", "rpc-name": "edit-config",
         "access-operations": "exec", "action": "deny"}
      ]}]
    }"#;
    let n = nacm(cfg);
    let rita = user("rita", &[]);
    assert_eq!(
        n.check_rpc(&rita, "ietf-netconf", "edit-config"),
        Decision::Deny
    );
    assert_eq!(n.check_rpc(&rita, "ietf-netconf", "get"), Decision::Permit);
    assert_eq!(
        n.check_rpc(&user("bob", &[]), "ietf-netconf", "edit-config"),
        Decision::Permit
    );
    // A rule for another module does not match.
    assert_eq!(
        n.check_rpc(&rita, "ietf-netconf-nmda", "edit-data"),
        Decision::Permit
    );
    assert_eq!(n.counters().denied_operations, 1);
}

// Input: no rules. Output: kill-session and delete-config are denied by
// default, close-session always permitted; an explicit rule permits
// kill-session.
#[test]
fn built_in_rpc_defaults() {
    let n = nacm("");
    let bob = user("bob", &["staff"]);
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "kill-session"),
        Decision::Deny
    );
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "delete-config"),
        Decision::Deny
    );
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "close-session"),
        Decision::Permit
    );
    assert_eq!(n.check_rpc(&bob, "ietf-netconf", "lock"), Decision::Permit);
    assert_eq!(n.counters().denied_operations, 2);

    let cfg = r#"{
      "exec-default": "deny",
      "rule-list": [{"name": "ops", "group": ["staff"], "rule": [
        {"name": "kill", "module-name": "ietf-netconf", "rpc-name": "kill-session",
         "access-operations": "exec", "action": "permit"},
        {"name": "nothing-else", "rpc-name": "*", "action": "deny"}
      ]}]
    }"#;
    let n = nacm(cfg);
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "kill-session"),
        Decision::Permit
    );
    assert_eq!(n.check_rpc(&bob, "ietf-netconf", "get"), Decision::Deny);
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "close-session"),
        Decision::Permit,
        "close-session is always permitted"
    );
    assert_eq!(
        n.check_rpc(&user("nogroup", &[]), "ietf-netconf", "get"),
        Decision::Deny
    );
}

// Input: two rule-lists that disagree, in both orders; two rules in one
// list. Output: the first match wins.
#[test]
fn first_matching_rule_wins() {
    let permit = r#"{"name": "permit-list", "group": ["staff"], "rule": [
        {"name": "p", "path": "/ietf-interfaces:interfaces", "access-operations": "*",
         "action": "permit"}]}"#;
    let deny = r#"{"name": "deny-list", "group": ["staff"], "rule": [
        {"name": "d", "path": "/ietf-interfaces:interfaces", "access-operations": "*",
         "action": "deny"}]}"#;
    let bob = user("bob", &["staff"]);
    let n = nacm(&format!(r#"{{"rule-list": [{permit}, {deny}]}}"#));
    assert!(n.check_changes(&bob, &create_eth2()).is_ok());
    let n = nacm(&format!(r#"{{"rule-list": [{deny}, {permit}]}}"#));
    assert!(n.check_changes(&bob, &create_eth2()).is_err());

    // Within one rule-list: the narrower rule first.
    let cfg = r#"{"rule-list": [{"name": "l", "group": ["staff"], "rule": [
        {"name": "eth2", "path": "/ietf-interfaces:interfaces/interface[name='eth2']",
         "access-operations": "create", "action": "deny"},
        {"name": "all", "path": "/ietf-interfaces:interfaces", "action": "permit"}]}]}"#;
    let n = nacm(cfg);
    let err = n.check_changes(&bob, &create_eth2()).unwrap_err();
    assert_eq!(err.path, ETH2);
    assert!(n.check_changes(&bob, &update_mtu_path()).is_ok());
    // A rule whose access-operations do not include the request is skipped.
    let upd = [change(Access::Update, ETH2, ETH2_SCHEMA)];
    assert!(n.check_changes(&bob, &upd).is_ok());
}

// Input: a `*` rule-list with module-name `*` and no rule-type, permitting
// all. Output: applies to any user with some group, not to a user with no
// group at all (RFC 8341 §3.4.4 step 5: no groups, only defaults).
#[test]
fn star_group_and_module() {
    let cfg = r#"{"rule-list": [{"name": "all", "group": ["*"], "rule": [
        {"name": "all", "module-name": "*", "access-operations": "*", "action": "permit"}]}]}"#;
    let n = nacm(cfg);
    assert!(
        n.check_changes(&user("bob", &["whatever"]), &create_eth2())
            .is_ok()
    );
    assert!(
        n.check_changes(&user("nobody", &[]), &create_eth2())
            .is_err()
    );
    // The match-all rule also opens the default-deny-all /nacm.
    let nacm_leaf = [change(
        Access::Update,
        "/ietf-netconf-acm:nacm/write-default",
        "/ietf-netconf-acm:nacm/write-default",
    )];
    assert!(
        n.check_changes(&user("bob", &["whatever"]), &nacm_leaf)
            .is_ok()
    );
}

// Input: read-default and write-default permit, no rule for /nacm.
// Output: /nacm (nacm:default-deny-all) stays unreadable and unwritable for
// non-admins, until a rule permits it.
#[test]
fn default_deny_all_protects_nacm() {
    let cfg = r#"{"write-default": "permit",
      "groups": {"group": [{"name": "sec", "user-name": ["sam"]}]},
      "rule-list": [{"name": "sec", "group": ["sec"], "rule": [
        {"name": "nacm", "module-name": "ietf-netconf-acm", "path": "/ietf-netconf-acm:nacm",
         "access-operations": "read update", "action": "permit"}]}]}"#;
    let n = nacm(cfg);
    let bob = user("bob", &["staff"]);
    let sam = user("sam", &[]);
    let t = running(cfg);
    let leaf = t.find_path("/ietf-netconf-acm:nacm/read-default").unwrap();
    assert_eq!(n.check_node(&bob, &leaf, Access::Read), Decision::Deny);
    assert_eq!(n.check_node(&sam, &leaf, Access::Read), Decision::Permit);
    let upd = [change(
        Access::Update,
        "/ietf-netconf-acm:nacm/read-default",
        "/ietf-netconf-acm:nacm/read-default",
    )];
    assert!(n.check_changes(&bob, &upd).is_err());
    assert!(n.check_changes(&sam, &upd).is_ok());
    // write-default permit does open ordinary data.
    assert!(n.check_changes(&bob, &create_eth2()).is_ok());

    let mut t = running(cfg);
    n.filter_read(&bob, &mut t);
    assert!(!paths(&t).iter().any(|p| p.contains("nacm")));
    assert!(paths(&t).iter().any(|p| p.contains("eth1")));
    let mut t = running(cfg);
    n.filter_read(&sam, &mut t);
    assert!(paths(&t).iter().any(|p| p.contains("rule-list")));
}

// Input: notification rules. Output: a denied notification is dropped and
// counted; others follow read-default.
#[test]
fn notification_rules() {
    let cfg = r#"{"rule-list": [{"name": "staff", "group": ["staff"], "rule": [
        {"name": "no-config-change", "module-name": "ietf-netconf-notifications",
         "notification-name": "netconf-config-change", "access-operations": "read",
         "action": "deny"}]}]}"#;
    let n = nacm(cfg);
    let bob = user("bob", &["staff"]);
    let m = "ietf-netconf-notifications";
    assert_eq!(
        n.check_notification(&bob, m, "netconf-config-change"),
        Decision::Deny
    );
    assert_eq!(
        n.check_notification(&bob, m, "netconf-session-start"),
        Decision::Permit
    );
    assert_eq!(
        n.check_notification(&bob, "nc-notifications", "replayComplete"),
        Decision::Permit
    );
    assert_eq!(n.counters().denied_notifications, 1);
}

// Input: a libyang diff creating eth2 with an ipv4 address. Output:
// check_diff expands the created subtree, so a rule that only covers
// ietf-interfaces nodes is not enough for the ietf-ip ones.
#[test]
fn check_diff_expands_created_subtrees() {
    let n = nacm(OPERATORS);
    let alice = user("alice", &[]);
    let before = running("");
    let add = |extra: &str| {
        tree(&format!(
            r#"{{"ietf-interfaces:interfaces": {{"interface": [
              {{"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "uplink",
               "ietf-ip:ipv4": {{"address": [{{"ip": "192.0.2.1", "prefix-length": 24}}]}}}},
              {{"name": "eth1", "type": "iana-if-type:ethernetCsmacd", "enabled": false}},
              {{"name": "eth2", "type": "iana-if-type:ethernetCsmacd"{extra}}}]}}}}"#
        ))
    };
    let plain = add("");
    let diff = before.diff(&plain, DataDiffFlags::empty()).unwrap();
    assert!(n.check_diff(&alice, &diff).is_ok());
    assert!(n.check_diff(&user("bob", &[]), &diff).is_err());

    let with_ip = add(r#", "ietf-ip:ipv4": {"enabled": true}"#);
    let diff = before.diff(&with_ip, DataDiffFlags::empty()).unwrap();
    let err = n.check_diff(&alice, &diff).unwrap_err();
    assert_eq!(err.op, Access::Create);
    assert!(err.path.contains("ietf-ip:ipv4"), "{}", err.path);
}

// Input: a reload of the rules. Output: the counters carry over.
#[test]
fn reload_keeps_counters() {
    let n = nacm("");
    let bob = user("bob", &[]);
    assert_eq!(
        n.check_rpc(&bob, "ietf-netconf", "kill-session"),
        Decision::Deny
    );
    let n2 = n.reload(&running(OPERATORS)).unwrap();
    assert_eq!(n2.counters().denied_operations, 1);
    assert!(
        n2.check_changes(&user("alice", &[]), &create_eth2())
            .is_ok()
    );
}

// Input: a non-admin reads a tree without /nacm and the defaults. Output:
// check_data on a path agrees with check_node on the node.
#[test]
fn check_data_by_path() {
    let n = nacm(
        r#"{"read-default": "deny", "rule-list": [{"name": "s", "group": ["staff"],
      "rule": [{"name": "eth0", "path": "/ietf-interfaces:interfaces/interface[name='eth0']",
        "access-operations": "read", "action": "permit"}]}]}"#,
    );
    let bob = user("bob", &["staff"]);
    let schema = ctx()
        .find_path("/ietf-interfaces:interfaces/interface/enabled")
        .unwrap();
    let p0 = "/ietf-interfaces:interfaces/interface[name='eth0']/enabled";
    let p1 = "/ietf-interfaces:interfaces/interface[name='eth1']/enabled";
    assert_eq!(
        n.check_data(&bob, &schema, p0, Access::Read),
        Decision::Permit
    );
    assert_eq!(
        n.check_data(&bob, &schema, p1, Access::Read),
        Decision::Deny
    );
    assert_eq!(read(&n, &bob, p1), Decision::Deny);
    assert_eq!(
        n.check_data(&bob, &schema, "not a path", Access::Read),
        Decision::Deny
    );
}

// Input: a rule denying read of the list key `name` of eth1. Output: the
// whole eth1 entry goes (an entry cannot be shown without its key).
#[test]
fn denied_key_removes_its_entry() {
    let cfg = r#"{"rule-list": [{"name": "staff", "group": ["staff"], "rule": [
        {"name": "key", "path": "/ietf-interfaces:interfaces/interface[name='eth1']/name",
         "access-operations": "read", "action": "deny"}]}]}"#;
    let mut t = running(cfg);
    nacm(cfg).filter_read(&user("bob", &["staff"]), &mut t);
    let got = paths(&t);
    assert!(!got.iter().any(|p| p.contains("eth1")), "{got:#?}");
    assert!(got.iter().any(|p| p.contains("eth0']/name")), "{got:#?}");
}

// The evaluator is shared by every session task.
#[test]
fn nacm_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Nacm>();
    shared::<UserCtx>();
}
