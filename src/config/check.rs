//! Validation of a parsed [`Config`]: everything the types cannot express. Each check yields
//! a [`Problem`] naming the key; all problems are collected so the operator sees them at once.

use std::collections::HashMap;

use super::{Config, PortDriver, Problem, UserConfig};

/// Longest Linux interface name (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

pub(super) fn check(config: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    if config.state_dir.as_os_str().is_empty() {
        out.push(Problem::new("state_dir", "must not be empty"));
    }
    check_listeners(config, &mut out);
    check_netconf(config, &mut out);
    check_restconf(config, &mut out);
    check_gnmi(config, &mut out);
    check_limits(config, &mut out);
    if config.tls.cert_file.is_some() != config.tls.key_file.is_some() {
        out.push(Problem::new(
            if config.tls.cert_file.is_some() {
                "tls.key_file"
            } else {
                "tls.cert_file"
            },
            "`tls.cert_file` and `tls.key_file` go together: set both, or neither for a \
             generated self-signed certificate",
        ));
    }
    if config.metrics.max_connections == 0 {
        out.push(Problem::new(
            "metrics.max_connections",
            "must be at least 1",
        ));
    }
    if config.metrics.scrape_group.as_deref() == Some("") {
        out.push(Problem::new(
            "metrics.scrape_group",
            "must name a group (leave it out to scrape without authentication)",
        ));
    }
    check_ves(config, &mut out);
    check_users(&config.users, &mut out);
    check_dataplane(config, &mut out);
    check_datastore(config, &mut out);
    if config.log.level.len() > MAX_LOG_FILTER || config.log.level.contains(['[', ']', '{', '}']) {
        // A field filter's value is a regular expression, compiled to a DFA that can
        // take unbounded time and memory (found by the config_toml fuzz target).
        out.push(Problem::new(
            "log.level",
            format!(
                "takes levels and `target=level` directives, at most {MAX_LOG_FILTER} \
                 characters; span and field filters (`[...]`) are not accepted"
            ),
        ));
    } else if let Err(err) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        out.push(Problem::new(
            "log.level",
            format!(
                "`{}` is not a log level or filter (trace, debug, info, warn, error, \
                 or directives like `info,nectar_mgmt=debug`): {err}",
                config.log.level
            ),
        ));
    }
    out
}

/// The longest `log.level`.
const MAX_LOG_FILTER: usize = 1024;

/// Two services cannot listen on the same address (port 0 = ephemeral is exempt).
fn check_listeners(config: &Config, out: &mut Vec<Problem>) {
    let listeners = config.listeners();
    for (i, (key, addr)) in listeners.iter().enumerate() {
        if addr.port() == 0 {
            continue;
        }
        if let Some((first, _)) = listeners[..i].iter().find(|(_, other)| other == addr) {
            out.push(Problem::new(
                *key,
                format!("{addr} is already used by `{first}`"),
            ));
        }
    }
}

/// `value` at least `min` (a count where less makes no sense).
fn at_least(out: &mut Vec<Problem>, key: &str, value: u64, min: u64) {
    if value < min {
        out.push(Problem::new(
            key,
            if min == 1 {
                "must be at least 1".to_owned()
            } else {
                format!("{value} is too small (at least {min})")
            },
        ));
    }
}

/// `value` at most `max`, with why.
fn at_most(out: &mut Vec<Problem>, key: &str, value: u64, max: u64, why: &str) {
    if value > max {
        out.push(Problem::new(
            key,
            format!("{value} is too large (at most {max}: {why})"),
        ));
    }
}

fn check_restconf(config: &Config, out: &mut Vec<Problem>) {
    let r = &config.restconf;
    for (key, v) in [
        ("restconf.max_connections", r.max_connections),
        ("restconf.max_requests", r.max_requests),
        ("restconf.max_streams", r.max_streams),
    ] {
        at_least(out, key, v.into(), 1);
    }
    at_least(
        out,
        "restconf.max_requests_per_user",
        r.max_requests_per_user.into(),
        1,
    );
    at_least(
        out,
        "restconf.max_streams_per_user",
        r.max_streams_per_user.into(),
        1,
    );
    at_least(out, "restconf.max_body_bytes", r.max_body_bytes, 4096);
}

fn check_limits(config: &Config, out: &mut Vec<Problem>) {
    let l = &config.limits;
    at_least(out, "limits.document_depth", l.document_depth.into(), 1);
    at_most(
        out,
        "limits.document_depth",
        l.document_depth.into(),
        nectar_yang::encoding::MAX_DEPTH_BOUND as u64,
        "JSON deeper than that is refused by the JSON parser anyway",
    );
    at_least(out, "limits.password_checks", l.password_checks.into(), 1);
    at_most(
        out,
        "limits.password_checks",
        l.password_checks.into(),
        64,
        "each running check holds about 19 MB",
    );
    let s = &config.subscriptions;
    at_least(
        out,
        "subscriptions.max_per_session",
        s.max_per_session.into(),
        1,
    );
    at_least(out, "subscriptions.max_total", s.max_total.into(), 1);
    at_most(
        out,
        "subscriptions.max_total",
        s.max_total.into(),
        100_000,
        "every subscription is a task with its own copy of what it selects",
    );
    at_least(out, "subscriptions.queue", s.queue.into(), 2);
    at_most(
        out,
        "subscriptions.queue",
        s.queue.into(),
        1 << 20,
        "each subscription may hold this many notifications in memory",
    );
    at_least(
        out,
        "subscriptions.min_period_ms",
        s.min_period_ms.into(),
        10,
    );
    at_least(
        out,
        "subscriptions.state_poll_ms",
        s.state_poll_ms.into(),
        100,
    );
    let n = &config.notifications;
    at_least(
        out,
        "notifications.replay_capacity",
        n.replay_capacity.into(),
        1,
    );
    at_most(
        out,
        "notifications.replay_capacity",
        n.replay_capacity.into(),
        1_000_000,
        "every kept notification stays in memory",
    );
    at_least(out, "notifications.replay_bytes", n.replay_bytes, 1 << 16);
    at_least(
        out,
        "notifications.subscriber_queue",
        n.subscriber_queue.into(),
        1,
    );
    at_most(
        out,
        "notifications.subscriber_queue",
        n.subscriber_queue.into(),
        1 << 20,
        "the queue is allocated whole, shared by the subscribers",
    );
    at_least(
        out,
        "datastore.max_pending_commits",
        config.datastore.max_pending_commits.into(),
        1,
    );
}

fn check_gnmi(config: &Config, out: &mut Vec<Problem>) {
    let g = &config.gnmi;
    for (key, v) in [
        ("gnmi.min_sample_interval_ms", g.min_sample_interval_ms),
        ("gnmi.state_poll_interval_ms", g.state_poll_interval_ms),
        ("gnmi.max_pending_updates", g.max_pending_updates),
        ("gnmi.max_sessions", g.max_sessions.into()),
    ] {
        if v == 0 {
            out.push(Problem::new(key, "must be at least 1"));
        }
    }
    at_least(
        out,
        "gnmi.max_sessions_per_user",
        g.max_sessions_per_user.into(),
        1,
    );
    at_least(
        out,
        "gnmi.max_subscriptions_per_user",
        g.max_subscriptions_per_user.into(),
        1,
    );
    at_least(out, "gnmi.max_message_bytes", g.max_message_bytes, 4096);
    if g.target_defined_interval_ms < g.min_sample_interval_ms {
        out.push(Problem::new(
            "gnmi.target_defined_interval_ms",
            format!(
                "must be at least gnmi.min_sample_interval_ms ({})",
                g.min_sample_interval_ms
            ),
        ));
    }
}

fn check_netconf(config: &Config, out: &mut Vec<Problem>) {
    let netconf = &config.netconf;
    if netconf.max_sessions == 0 {
        out.push(Problem::new("netconf.max_sessions", "must be at least 1"));
    }
    if netconf.max_message_bytes < 4096 {
        out.push(Problem::new(
            "netconf.max_message_bytes",
            format!(
                "{} is too small (at least 4096 bytes)",
                netconf.max_message_bytes
            ),
        ));
    }
    at_least(
        out,
        "netconf.max_sessions_per_user",
        netconf.max_sessions_per_user.into(),
        1,
    );
    at_least(out, "netconf.hello_timeout_s", netconf.hello_timeout_s, 1);
    // A hello is three levels deep, an edit-config's data starts at the fourth.
    at_least(
        out,
        "netconf.max_xml_depth",
        netconf.max_xml_depth.into(),
        8,
    );
    at_most(
        out,
        "netconf.max_xml_depth",
        netconf.max_xml_depth.into(),
        nectar_netconf::xml::MAX_DEPTH_BOUND as u64,
        "each level is a frame of recursion when a message is copied or printed",
    );
    at_least(
        out,
        "netconf.max_xml_elements",
        netconf.max_xml_elements,
        64,
    );
    at_least(out, "netconf.max_filter_nodes", netconf.max_filter_nodes, 1);
    at_least(out, "netconf.max_xpath_bytes", netconf.max_xpath_bytes, 1);
}

fn check_ves(config: &Config, out: &mut Vec<Problem>) {
    let ves = &config.ves;
    if ves.enabled() {
        let rest = ves
            .collector_url
            .strip_prefix("http://")
            .or_else(|| ves.collector_url.strip_prefix("https://"));
        match rest {
            None => out.push(Problem::new(
                "ves.collector_url",
                format!(
                    "`{}` is not an http:// or https:// URL (empty turns VES off)",
                    ves.collector_url
                ),
            )),
            Some(rest) if rest.is_empty() || rest.starts_with('/') => out.push(Problem::new(
                "ves.collector_url",
                format!("`{}` has no host", ves.collector_url),
            )),
            Some(rest) if rest.chars().any(char::is_whitespace) => out.push(Problem::new(
                "ves.collector_url",
                format!("`{}` contains white space", ves.collector_url),
            )),
            Some(_) => {}
        }
    }
    match (&ves.username, &ves.password) {
        (Some(_), None) => out.push(Problem::new(
            "ves.password",
            "missing: `ves.username` is set, so `ves.password` must be too",
        )),
        (None, Some(_)) => out.push(Problem::new(
            "ves.username",
            "missing: `ves.password` is set, so `ves.username` must be too",
        )),
        _ => {}
    }
    for (key, value) in [
        ("ves.heartbeat_interval_s", ves.heartbeat_interval_s),
        ("ves.measurement_interval_s", ves.measurement_interval_s),
        ("ves.retry_max_interval_s", ves.retry_max_interval_s),
    ] {
        if value == 0 {
            out.push(Problem::new(key, "must be at least 1 second"));
        }
    }
    if ves.buffer_max_bytes < 64 * 1024 {
        out.push(Problem::new(
            "ves.buffer_max_bytes",
            format!(
                "{} is too small (at least 65536 bytes)",
                ves.buffer_max_bytes
            ),
        ));
    }
    if ves.batch_max_events == 0 {
        out.push(Problem::new("ves.batch_max_events", "must be at least 1"));
    }
    if ves
        .source_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        out.push(Problem::new("ves.source_name", "must not be empty"));
    }
}

fn check_users(users: &[UserConfig], out: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, user) in users.iter().enumerate() {
        let at = format!("users[{i}]");
        if !valid_user_name(&user.name) {
            out.push(Problem::new(
                format!("{at}.name"),
                format!(
                    "`{}` is not a valid user name (1 to 64 printable characters, \
                     no white space, `:` or `/`)",
                    user.name.escape_debug()
                ),
            ));
        }
        if let Some(first) = seen.get(user.name.as_str()) {
            out.push(Problem::new(
                format!("{at}.name"),
                format!("user `{}` is already defined by users[{first}]", user.name),
            ));
        } else {
            seen.insert(&user.name, i);
        }
        let passwords: Vec<&str> = [
            ("password", user.password.is_some()),
            ("password_hash", user.password_hash.is_some()),
            ("password_file", user.password_file.is_some()),
            ("password_hash_file", user.password_hash_file.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| *key)
        .collect();
        let keys = !user.ssh_authorized_keys.is_empty() || user.ssh_authorized_keys_file.is_some();
        if passwords.len() > 1 {
            out.push(Problem::new(
                format!("{at}.{}", passwords[0]),
                format!(
                    "user `{}` has both `{}` and `{}`; keep one",
                    user.name, passwords[0], passwords[1]
                ),
            ));
        } else if passwords.is_empty() && !keys {
            out.push(Problem::new(
                at.clone(),
                format!(
                    "user `{}` has no way to log in: set `password`, `password_hash`, \
                     `password_file`, `password_hash_file`, `ssh_authorized_keys` or \
                     `ssh_authorized_keys_file`",
                    user.name
                ),
            ));
        }
        for (key, path) in [
            ("password_file", &user.password_file),
            ("password_hash_file", &user.password_hash_file),
            ("ssh_authorized_keys_file", &user.ssh_authorized_keys_file),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                out.push(Problem::new(format!("{at}.{key}"), "must not be empty"));
            }
        }
        if user
            .password
            .as_ref()
            .is_some_and(|p| p.expose().is_empty())
        {
            out.push(Problem::new(
                format!("{at}.password"),
                format!("user `{}` has an empty password", user.name),
            ));
        }
        if let Some(hash) = &user.password_hash
            && let Err(why) = check_argon2_hash(hash)
        {
            out.push(Problem::new(
                format!("{at}.password_hash"),
                format!("user `{}`: {why}", user.name),
            ));
        }
        for (k, line) in user.ssh_authorized_keys.iter().enumerate() {
            if let Err(err) = ssh_key::PublicKey::from_openssh(line.trim()) {
                out.push(Problem::new(
                    format!("{at}.ssh_authorized_keys[{k}]"),
                    format!(
                        "user `{}`: not an OpenSSH public key (`ssh-ed25519 AAAA... comment`): {err}",
                        user.name
                    ),
                ));
            }
        }
        for (g, group) in user.groups.iter().enumerate() {
            if group.is_empty() || group.chars().any(|c| c.is_whitespace() || c.is_control()) {
                out.push(Problem::new(
                    format!("{at}.groups[{g}]"),
                    format!("`{}` is not a valid group name", group.escape_debug()),
                ));
            }
        }
    }
}

fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == '/')
}

/// Accepts an argon2 (id, i or d) hash in PHC string format with valid parameters.
pub(crate) fn check_argon2_hash(hash: &str) -> Result<(), String> {
    use argon2::password_hash::PasswordHash;
    let parsed = PasswordHash::new(hash)
        .map_err(|err| format!("not a PHC password hash (`$argon2id$v=19$m=...`): {err}"))?;
    if argon2::Algorithm::try_from(parsed.algorithm).is_err() {
        return Err(format!(
            "hash algorithm `{}` is not argon2 (expected `$argon2id$...`)",
            parsed.algorithm
        ));
    }
    argon2::Params::try_from(&parsed).map_err(|err| format!("bad argon2 parameters: {err}"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("the argon2 hash has no salt or no output".to_owned());
    }
    Ok(())
}

fn check_dataplane(config: &Config, out: &mut Vec<Problem>) {
    let dataplane = &config.dataplane;
    if dataplane.workers == 0 {
        out.push(Problem::new("dataplane.workers", "must be at least 1"));
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut host_interfaces: HashMap<&str, usize> = HashMap::new();
    for (i, port) in dataplane.ports.iter().enumerate() {
        let at = format!("dataplane.ports[{i}]");
        if port.name.is_empty()
            || port.name.len() > 64
            || port
                .name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            out.push(Problem::new(
                format!("{at}.name"),
                format!(
                    "`{}` is not a valid port name (1 to 64 bytes, no white space)",
                    port.name.escape_debug()
                ),
            ));
        }
        if let Some(first) = names.get(port.name.as_str()) {
            out.push(Problem::new(
                format!("{at}.name"),
                format!(
                    "port `{}` is already defined by dataplane.ports[{first}]",
                    port.name
                ),
            ));
        } else {
            names.insert(&port.name, i);
        }
        let driver = port.driver;
        let (needs_host, needs_devargs) = match driver {
            PortDriver::Pg => (false, false),
            PortDriver::Afpacket | PortDriver::Tap => (true, false),
            PortDriver::Dpdk => (false, true),
        };
        match (&port.host_interface, needs_host) {
            (None, true) => out.push(Problem::new(
                format!("{at}.host_interface"),
                format!(
                    "missing: port `{}` uses driver `{driver}`, which needs `host_interface`",
                    port.name
                ),
            )),
            (Some(_), false) => out.push(Problem::new(
                format!("{at}.host_interface"),
                format!(
                    "port `{}` uses driver `{driver}`, which takes no `host_interface` \
                     (only afpacket and tap do)",
                    port.name
                ),
            )),
            (Some(ifname), true) => {
                if ifname.is_empty()
                    || ifname.len() > IFNAME_MAX
                    || ifname
                        .chars()
                        .any(|c| c == '/' || c.is_whitespace() || c.is_control())
                {
                    out.push(Problem::new(
                        format!("{at}.host_interface"),
                        format!(
                            "`{}` is not a Linux interface name (1 to {IFNAME_MAX} bytes, \
                             no `/` or white space)",
                            ifname.escape_debug()
                        ),
                    ));
                } else if let Some(first) = host_interfaces.get(ifname.as_str()) {
                    out.push(Problem::new(
                        format!("{at}.host_interface"),
                        format!("`{ifname}` is already used by dataplane.ports[{first}]"),
                    ));
                } else {
                    host_interfaces.insert(ifname, i);
                }
            }
            (None, false) => {}
        }
        match (&port.devargs, needs_devargs) {
            (None, true) => out.push(Problem::new(
                format!("{at}.devargs"),
                format!(
                    "missing: port `{}` uses driver `dpdk`, which needs `devargs` \
                     (e.g. \"net_tap0,iface=dtap0\")",
                    port.name
                ),
            )),
            (Some(devargs), true) if devargs.trim().is_empty() => {
                out.push(Problem::new(format!("{at}.devargs"), "must not be empty"))
            }
            (Some(_), false) => out.push(Problem::new(
                format!("{at}.devargs"),
                format!(
                    "port `{}` uses driver `{driver}`, which takes no `devargs` (only dpdk does)",
                    port.name
                ),
            )),
            _ => {}
        }
    }
}

fn check_datastore(config: &Config, out: &mut Vec<Problem>) {
    let datastore = &config.datastore;
    if datastore.history == 0 {
        out.push(Problem::new("datastore.history", "must be at least 1"));
    }
    if datastore.compact_journal_bytes < 4096 {
        out.push(Problem::new(
            "datastore.compact_journal_bytes",
            format!(
                "{} is too small (at least 4096 bytes)",
                datastore.compact_journal_bytes
            ),
        ));
    }
    if datastore.confirm_timeout_default_s == 0 {
        out.push(Problem::new(
            "datastore.confirm_timeout_default_s",
            "must be at least 1 second",
        ));
    }
}
