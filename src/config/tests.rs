//! Configuration parsing and validation tests.

use super::*;

/// The one problem of `text`, which must fail to load.
fn problem(text: &str) -> Problem {
    let err = Config::from_toml(text, "configuration file test.toml").unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "expected one problem, got: {err}");
    problems[0].clone()
}

/// All problems of `text`, which must fail to load.
fn problems(text: &str) -> Vec<Problem> {
    Config::from_toml(text, "configuration file test.toml")
        .unwrap_err()
        .problems()
        .to_vec()
}

const ARGON2_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
    Jq9ZU3n9uPp0AwCImRnd5PUmwS71hctqZ0J6ndrJjb8";
const ED25519_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMSkojIrB8K/hFUvdM04DhaRub9W6RP9jdzzjTBe6R+Q op@host";

#[test]
fn defaults_are_the_documented_ones() {
    let config = Config::default();
    assert_eq!(config.state_dir, PathBuf::from("./nectar-state"));
    assert_eq!(config.netconf.listen, "127.0.0.1:8830".parse().unwrap());
    assert_eq!(config.netconf.max_sessions, 64);
    assert_eq!(config.netconf.max_message_bytes, 64 * 1024 * 1024);
    assert_eq!(config.netconf.idle_timeout_s, 3600);
    assert_eq!(config.restconf.listen, "127.0.0.1:8443".parse().unwrap());
    assert!(config.restconf.tls);
    assert_eq!(config.gnmi.listen, "127.0.0.1:9339".parse().unwrap());
    assert!(config.gnmi.tls);
    assert_eq!(config.metrics.listen, "127.0.0.1:9464".parse().unwrap());
    assert!(!config.ves.enabled());
    assert_eq!(config.ves.heartbeat_interval_s, 60);
    assert_eq!(config.ves.measurement_interval_s, 60);
    assert!(config.uses_generated_admin());
    assert_eq!(config.dataplane.workers, 1);
    assert_eq!(config.dataplane.ports.len(), 1);
    assert_eq!(config.dataplane.ports[0].name, "eth0");
    assert_eq!(config.dataplane.ports[0].driver, PortDriver::Pg);
    assert_eq!(config.datastore.load, LoadFrom::Startup);
    assert_eq!(config.datastore.history, 50);
    assert_eq!(config.datastore.compact_journal_bytes, 16 * 1024 * 1024);
    assert_eq!(config.datastore.confirm_timeout_default_s, 600);
    assert_eq!(config.log.level, "info");
    assert_eq!(Config::load(None).unwrap(), config);
}

// The limits that were constants before they were keys keep their values as defaults.
#[test]
fn limit_defaults_are_the_documented_ones() {
    let c = Config::default();
    assert_eq!(c.netconf.max_sessions_per_user, 16);
    assert_eq!(c.netconf.hello_timeout_s, 60);
    assert_eq!(c.netconf.max_xml_depth, 512);
    assert_eq!(c.netconf.max_xml_elements, 1_000_000);
    assert_eq!(c.netconf.max_filter_nodes, 10_000);
    assert_eq!(c.netconf.max_xpath_bytes, 65_536);
    assert_eq!(c.restconf.max_connections, 1024);
    assert_eq!(c.restconf.max_requests, 256);
    assert_eq!(c.restconf.max_requests_per_user, 64);
    assert_eq!(c.restconf.max_streams, 64);
    assert_eq!(c.restconf.max_streams_per_user, 8);
    assert_eq!(c.restconf.max_body_bytes, 64 * 1024 * 1024);
    assert_eq!(c.gnmi.max_message_bytes, 64 * 1024 * 1024);
    assert_eq!(c.gnmi.max_sessions, 256);
    assert_eq!(c.gnmi.max_sessions_per_user, 64);
    assert_eq!(c.gnmi.max_subscriptions_per_user, 32);
    assert_eq!(c.gnmi.max_pending_updates, 1_000_000);
    assert_eq!(c.metrics.max_connections, 64);
    assert_eq!(c.datastore.max_pending_commits, 128);
    assert_eq!(c.notifications.replay_capacity, 10_000);
    assert_eq!(c.notifications.subscriber_queue, 4096);
    assert_eq!(c.limits.document_depth, 100);
    assert!((2..=4).contains(&c.limits.password_checks));
    // The doors' own defaults agree with the file's.
    let nc = nectar_netconf::NetconfSettings::default();
    assert_eq!(nc.max_sessions, c.netconf.max_sessions);
    assert_eq!(nc.max_sessions_per_user, c.netconf.max_sessions_per_user);
    assert_eq!(nc.xml.max_depth as u32, c.netconf.max_xml_depth);
    assert_eq!(nc.xml.max_elements as u64, c.netconf.max_xml_elements);
    assert_eq!(nc.filter.max_nodes as u64, c.netconf.max_filter_nodes);
    assert_eq!(nc.filter.max_xpath_bytes as u64, c.netconf.max_xpath_bytes);
    assert_eq!(nc.document.max_depth as u32, c.limits.document_depth);
    let rc = nectar_restconf::Limits::default();
    assert_eq!(rc.max_body_bytes as u64, c.restconf.max_body_bytes);
    assert_eq!(rc.max_requests as u32, c.restconf.max_requests);
    assert_eq!(
        rc.max_requests_per_user as u32,
        c.restconf.max_requests_per_user
    );
    assert_eq!(rc.max_streams as u32, c.restconf.max_streams);
    assert_eq!(
        rc.max_streams_per_user as u32,
        c.restconf.max_streams_per_user
    );
    let g = nectar_gnmi::Options::default();
    assert_eq!(g.max_message_bytes as u64, c.gnmi.max_message_bytes);
    assert_eq!(g.max_sessions as u32, c.gnmi.max_sessions);
    assert_eq!(g.max_sessions_per_user as u32, c.gnmi.max_sessions_per_user);
    assert_eq!(
        g.max_subscriptions_per_user as u32,
        c.gnmi.max_subscriptions_per_user
    );
    let n = nectar_mgmt::notify::LogLimits::default();
    assert_eq!(n.replay_capacity as u32, c.notifications.replay_capacity);
    assert_eq!(n.subscriber_queue as u32, c.notifications.subscriber_queue);
    assert_eq!(
        nectar_mgmt::core::DEFAULT_MAX_PENDING_COMMITS as u32,
        c.datastore.max_pending_commits
    );
}

#[test]
fn empty_file_is_the_default() {
    assert_eq!(Config::from_toml("", "x").unwrap(), Config::default());
}

#[test]
fn defaults_round_trip_through_toml() {
    let text = toml::to_string(&Config::default()).unwrap();
    assert_eq!(Config::from_toml(&text, "x").unwrap(), Config::default());
}

#[test]
fn full_file_round_trips() {
    let text = format!(
        r#"
state_dir = "/var/lib/nectar"
[netconf]
listen = "[::1]:830"
max_sessions = 8
max_message_bytes = 1048576
idle_timeout_s = 0
[restconf]
listen = "0.0.0.0:443"
tls = false
[gnmi]
listen = "192.0.2.1:57400"
[metrics]
listen = "127.0.0.1:0"
[ves]
collector_url = "https://ves.example:8443/eventListener/v7"
username = "ves"
password = "s3cret"
heartbeat_interval_s = 10
[[users]]
name = "alice"
password = "wonderland"
groups = ["admin"]
[[users]]
name = "bob"
password_hash = "{ARGON2_HASH}"
ssh_authorized_keys = ["{ED25519_KEY}"]
[dataplane]
workers = 2
[[dataplane.ports]]
name = "eth0"
driver = "afpacket"
host_interface = "veth0"
[[dataplane.ports]]
name = "eth1"
driver = "dpdk"
devargs = "net_tap0,iface=dtap0"
[[dataplane.ports]]
name = "eth2"
driver = "tap"
host_interface = "tap2"
[datastore]
load = "running"
history = 10
max_pending_commits = 4
[notifications]
replay_capacity = 3
subscriber_queue = 16
[limits]
document_depth = 20
password_checks = 1
[log]
level = "info,nectar_mgmt=debug"
"#
    );
    let config = Config::from_toml(&text, "x").unwrap();
    assert_eq!(config.netconf.listen, "[::1]:830".parse().unwrap());
    assert!(!config.restconf.tls);
    assert_eq!(config.users[1].password_hash.as_deref(), Some(ARGON2_HASH));
    assert_eq!(
        config.users[0].password.as_ref().unwrap().expose(),
        "wonderland"
    );
    assert_eq!(config.dataplane.ports[1].driver, PortDriver::Dpdk);
    assert_eq!(config.datastore.load, LoadFrom::Running);
    assert_eq!(config.datastore.compact_journal_bytes, 16 * 1024 * 1024);
    assert_eq!(config.datastore.max_pending_commits, 4);
    assert_eq!(config.notifications.replay_capacity, 3);
    assert_eq!(config.limits.document_depth, 20);
    // A per-user bound above the door's total is accepted (the total bounds it).
    assert_eq!(config.netconf.max_sessions, 8);
    assert_eq!(config.netconf.max_sessions_per_user, 16);
    // Only the gNMI listener uses TLS here, and it has a specific address.
    assert_eq!(
        config.tls_hosts(),
        vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
    );
    let again = Config::from_toml(&toml::to_string(&config).unwrap(), "x").unwrap();
    assert_eq!(again, config);
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let config =
        Config::from_toml("[[users]]\nname = \"a\"\npassword = \"hunter2-xyz\"\n", "x").unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2-xyz"), "{debug}");
}

#[test]
fn misspelled_key_names_key_table_and_position() {
    let text = "state_dir = \"/tmp/x\"\n[netconf]\nlisen = \"127.0.0.1:1\"\n";
    let p = problem(text);
    assert_eq!(p.key, "netconf.lisen");
    assert_eq!(p.position, Some((3, 1)));
    assert!(p.message.contains("unknown key `lisen`"), "{}", p.message);
    assert!(
        p.message.contains("`listen`"),
        "lists the valid keys: {}",
        p.message
    );
    let err = Config::from_toml(text, "configuration file /etc/nectar.toml").unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("/etc/nectar.toml"), "{shown}");
    assert!(shown.contains("netconf.lisen"), "{shown}");
    assert!(shown.contains("line 3, column 1"), "{shown}");
}

#[test]
fn misspelled_keys_everywhere_are_named() {
    let cases = [
        ("stat_dir = \"x\"\n", "stat_dir"),
        ("[netconf]\nmax_session = 3\n", "netconf.max_session"),
        ("[restconf]\ntsl = false\n", "restconf.tsl"),
        ("[gnmi]\nlisten = \"127.0.0.1:1\"\ntsl = true\n", "gnmi.tsl"),
        ("[metric]\nlisten = \"127.0.0.1:1\"\n", "metric"),
        ("[ves]\ncollector = \"\"\n", "ves.collector"),
        (
            "[[users]]\nname = \"a\"\npassword = \"b\"\n[[users]]\nname = \"c\"\npasword = \"d\"\n",
            "users[1].pasword",
        ),
        ("[dataplane]\nworker = 2\n", "dataplane.worker"),
        (
            "[[dataplane.ports]]\nname = \"p\"\ndriv = \"pg\"\n",
            "dataplane.ports[0].driv",
        ),
        ("[datastore]\nhistroy = 3\n", "datastore.histroy"),
        ("[log]\nlvl = \"info\"\n", "log.lvl"),
        (
            "netconf = { listen = \"127.0.0.1:1\", lisen = 2 }\n",
            "netconf.lisen",
        ),
    ];
    for (text, key) in cases {
        let p = problem(text);
        assert_eq!(p.key, key, "for {text:?}: {p}");
        assert!(p.message.contains("unknown key"), "for {text:?}: {p}");
        assert!(p.position.is_some(), "for {text:?}: {p}");
    }
}

#[test]
fn bad_address_names_the_key() {
    let p = problem("[netconf]\nlisten = \"localhost:eight\"\n");
    assert_eq!(p.key, "netconf.listen");
    assert_eq!(p.position, Some((2, 10)));
    let shown = p.to_string();
    assert!(shown.contains("netconf.listen"), "{shown}");
    assert!(shown.contains("IP:port"), "{shown}");
}

#[test]
fn wrong_types_and_unknown_enum_values_name_the_key() {
    let cases = [
        (
            "[[dataplane.ports]]\nname = \"p\"\ndriver = \"vhost\"\n",
            "dataplane.ports[0].driver",
        ),
        ("[restconf]\ntls = \"yes\"\n", "restconf.tls"),
        ("[netconf]\nmax_sessions = -1\n", "netconf.max_sessions"),
        ("[datastore]\nload = \"candidate\"\n", "datastore.load"),
        ("state_dir = 3\n", "state_dir"),
    ];
    for (text, key) in cases {
        assert_eq!(problem(text).key, key, "for {text:?}");
    }
    assert!(problem(cases[0].0).message.contains("afpacket"));
}

#[test]
fn missing_name_names_the_entry() {
    let p = problem("[[users]]\nname = \"a\"\npassword = \"b\"\n[[users]]\npassword = \"c\"\n");
    assert!(p.key.starts_with("users[1]"), "{p}");
    assert!(p.message.contains("missing key `name`"), "{p}");
}

#[test]
fn toml_syntax_error_has_a_position() {
    let err = Config::from_toml("[netconf]\nlisten = \n", "configuration file f.toml").unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.position.map(|(line, _)| line), Some(2), "{err}");
    // A table given twice is a TOML error too.
    let p = problem("[netconf]\nmax_sessions = 1\n[netconf]\nidle_timeout_s = 1\n");
    assert_eq!(p.position.map(|(line, _)| line), Some(3), "{p}");
}

#[test]
fn duplicate_user_names_are_refused() {
    let p = problem(
        "[[users]]\nname = \"admin\"\npassword = \"x\"\n\
         [[users]]\nname = \"admin\"\npassword = \"y\"\n",
    );
    assert_eq!(p.key, "users[1].name");
    assert_eq!(p.position, Some((5, 8)));
    assert!(p.message.contains("users[0]"), "{p}");
}

#[test]
fn user_needs_a_way_in() {
    let p = problem("[[users]]\nname = \"nobody\"\ngroups = [\"admin\"]\n");
    assert_eq!(p.key, "users[0]");
    assert!(p.message.contains("no way to log in"), "{p}");
    // Keys alone are enough.
    Config::from_toml(
        &format!("[[users]]\nname = \"k\"\nssh_authorized_keys = [\"{ED25519_KEY}\"]\n"),
        "x",
    )
    .unwrap();
}

#[test]
fn password_and_hash_together_are_refused() {
    let p = problem(&format!(
        "[[users]]\nname = \"a\"\npassword = \"x\"\npassword_hash = \"{ARGON2_HASH}\"\n"
    ));
    assert_eq!(p.key, "users[0].password");
}

#[test]
fn malformed_credentials_name_the_key() {
    let p = problem("[[users]]\nname = \"a\"\npassword_hash = \"$argon2id$v=19$m=oops\"\n");
    assert_eq!(p.key, "users[0].password_hash");
    let p = problem("[[users]]\nname = \"a\"\npassword_hash = \"$2b$12$abcdefghijklmnopqrstuv\"\n");
    assert_eq!(p.key, "users[0].password_hash");
    let p = problem(&format!(
        "[[users]]\nname = \"a\"\nssh_authorized_keys = [\"{ED25519_KEY}\", \"ssh-ed25519 AAAAnope\"]\n"
    ));
    assert_eq!(p.key, "users[0].ssh_authorized_keys[1]");
    assert_eq!(p.position.map(|(line, _)| line), Some(3));
}

#[test]
fn port_rules_name_the_key() {
    let p = problem("[[dataplane.ports]]\nname = \"eth0\"\ndriver = \"afpacket\"\n");
    assert_eq!(p.key, "dataplane.ports[0].host_interface");
    assert!(p.message.contains("afpacket"), "{p}");
    let p = problem("[[dataplane.ports]]\nname = \"eth0\"\ndriver = \"dpdk\"\n");
    assert_eq!(p.key, "dataplane.ports[0].devargs");
    let p = problem("[[dataplane.ports]]\nname = \"eth0\"\ndevargs = \"net_null0\"\n");
    assert_eq!(p.key, "dataplane.ports[0].devargs");
    let p = problem("[[dataplane.ports]]\nname = \"eth0\"\n[[dataplane.ports]]\nname = \"eth0\"\n");
    assert_eq!(p.key, "dataplane.ports[1].name");
    let p = problem(
        "[[dataplane.ports]]\nname = \"a\"\ndriver = \"tap\"\nhost_interface = \"a-very-long-interface-name\"\n",
    );
    assert_eq!(p.key, "dataplane.ports[0].host_interface");
    // No ports at all is allowed when asked for explicitly.
    let config = Config::from_toml("[dataplane]\nports = []\n", "x").unwrap();
    assert!(config.dataplane.ports.is_empty());
}

#[test]
fn value_ranges_name_the_key() {
    let cases = [
        ("state_dir = \"\"\n", "state_dir"),
        ("[netconf]\nmax_sessions = 0\n", "netconf.max_sessions"),
        (
            "[netconf]\nmax_message_bytes = 10\n",
            "netconf.max_message_bytes",
        ),
        ("[ves]\ncollector_url = \"ftp://x\"\n", "ves.collector_url"),
        ("[ves]\nusername = \"u\"\n", "ves.password"),
        (
            "[ves]\nheartbeat_interval_s = 0\n",
            "ves.heartbeat_interval_s",
        ),
        ("[dataplane]\nworkers = 0\n", "dataplane.workers"),
        ("[datastore]\nhistory = 0\n", "datastore.history"),
        (
            "[datastore]\nconfirm_timeout_default_s = 0\n",
            "datastore.confirm_timeout_default_s",
        ),
        ("[log]\nlevel = \"loud=[\"\n", "log.level"),
        // A field filter's regular expression whose DFA has 2^25 states: refused before
        // it is compiled (the fuzz target found one that ran for minutes).
        (
            "[log]\nlevel = \"x[s{f=(a|b)*a(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)}]=debug\"\n",
            "log.level",
        ),
        ("[gnmi]\nlisten = \"127.0.0.1:8830\"\n", "gnmi.listen"),
        // Limits: 0 where a bound of nothing makes no sense, and absurd sizes.
        (
            "[netconf]\nmax_sessions_per_user = 0\n",
            "netconf.max_sessions_per_user",
        ),
        (
            "[netconf]\nhello_timeout_s = 0\n",
            "netconf.hello_timeout_s",
        ),
        ("[netconf]\nmax_xml_depth = 2\n", "netconf.max_xml_depth"),
        (
            "[netconf]\nmax_xml_depth = 100000\n",
            "netconf.max_xml_depth",
        ),
        (
            "[netconf]\nmax_xml_elements = 3\n",
            "netconf.max_xml_elements",
        ),
        (
            "[netconf]\nmax_filter_nodes = 0\n",
            "netconf.max_filter_nodes",
        ),
        (
            "[netconf]\nmax_xpath_bytes = 0\n",
            "netconf.max_xpath_bytes",
        ),
        (
            "[restconf]\nmax_connections = 0\n",
            "restconf.max_connections",
        ),
        ("[restconf]\nmax_requests = 0\n", "restconf.max_requests"),
        (
            "[restconf]\nmax_requests_per_user = 0\n",
            "restconf.max_requests_per_user",
        ),
        ("[restconf]\nmax_streams = 0\n", "restconf.max_streams"),
        (
            "[restconf]\nmax_streams_per_user = 0\n",
            "restconf.max_streams_per_user",
        ),
        (
            "[restconf]\nmax_body_bytes = 100\n",
            "restconf.max_body_bytes",
        ),
        ("[gnmi]\nmax_message_bytes = 0\n", "gnmi.max_message_bytes"),
        ("[gnmi]\nmax_sessions = 0\n", "gnmi.max_sessions"),
        (
            "[gnmi]\nmax_sessions_per_user = 0\n",
            "gnmi.max_sessions_per_user",
        ),
        (
            "[gnmi]\nmax_subscriptions_per_user = 0\n",
            "gnmi.max_subscriptions_per_user",
        ),
        (
            "[metrics]\nmax_connections = 0\n",
            "metrics.max_connections",
        ),
        (
            "[datastore]\nmax_pending_commits = 0\n",
            "datastore.max_pending_commits",
        ),
        (
            "[notifications]\nreplay_capacity = 0\n",
            "notifications.replay_capacity",
        ),
        (
            "[notifications]\nreplay_capacity = 50000000\n",
            "notifications.replay_capacity",
        ),
        (
            "[notifications]\nsubscriber_queue = 0\n",
            "notifications.subscriber_queue",
        ),
        ("[limits]\ndocument_depth = 0\n", "limits.document_depth"),
        ("[limits]\ndocument_depth = 1000\n", "limits.document_depth"),
        ("[limits]\npassword_checks = 0\n", "limits.password_checks"),
        (
            "[limits]\npassword_checks = 1000\n",
            "limits.password_checks",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(problem(text).key, key, "for {text:?}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let found = problems("[dataplane]\nworkers = 0\n[datastore]\nhistory = 0\n");
    let keys: Vec<_> = found.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["dataplane.workers", "datastore.history"]);
}

#[test]
fn load_reads_a_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nectar.toml");
    std::fs::write(&path, "[metrics]\nlisten = \"127.0.0.1:19464\"\n").unwrap();
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(config.metrics.listen, "127.0.0.1:19464".parse().unwrap());

    std::fs::write(&path, "[metrics]\nlisten = \"127.0.0.1\"\n").unwrap();
    let shown = Config::load(Some(&path)).unwrap_err().to_string();
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(shown.contains("metrics.listen"), "{shown}");

    let missing = dir.path().join("absent.toml");
    let err = Config::load(Some(&missing)).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("absent.toml"));
}

#[test]
fn tls_hosts_skip_unspecified_and_plain_listeners() {
    let config = Config::from_toml(
        "[restconf]\nlisten = \"0.0.0.0:8443\"\n[gnmi]\nlisten = \"10.0.0.1:9339\"\ntls = false\n",
        "x",
    )
    .unwrap();
    assert!(config.tls_hosts().is_empty());
    assert_eq!(
        Config::default().tls_hosts(),
        vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn a_log_filter_past_its_bound_names_the_key() {
    let text = format!("[log]\nlevel = \"info,{}=debug\"\n", "a".repeat(1100));
    assert_eq!(problem(&text).key, "log.level");
}
