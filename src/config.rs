//! The daemon configuration file (TOML).
//!
//! Every key is optional: [`Config::default`] is the embedded default the daemon runs when no
//! file is given. Reading a file is two steps, kept apart so each can be tested alone:
//! [`Config::parse`] turns text into the typed structs (unknown keys and values of the wrong
//! type are refused here, `deny_unknown_fields` everywhere), and [`Config::validate`] checks
//! what types cannot say (duplicate names, credentials, driver fields, ranges).
//! [`Config::load`] does both and reports every problem with the dotted key it concerns
//! (`netconf.listen`, `users[1].password_hash`), its line and column, and the file's name.
//!
//! This module imports only serde, toml and the crates needed to check values
//! (argon2's PHC parser, ssh-key's public key parser, tracing-subscriber's filter syntax,
//! and the bounds the doors and the core put on their limits).

// Used by main's wiring; the lead removes this once main reads the config.
#![allow(dead_code)]

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod check;
mod locate;
mod secrets;

pub(crate) use check::check_argon2_hash;

const MIB: u64 = 1024 * 1024;

/// The whole configuration file. Every table and key has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for the datastore files and the credentials made on first run.
    /// A relative path is relative to the daemon's working directory.
    pub state_dir: PathBuf,
    pub netconf: NetconfConfig,
    pub restconf: RestconfConfig,
    pub gnmi: GnmiConfig,
    pub metrics: MetricsConfig,
    pub tls: TlsConfig,
    pub ves: VesConfig,
    /// Local users. Empty means: one user `admin` in group `admin` whose password is
    /// generated on first run (see `credentials`).
    pub users: Vec<UserConfig>,
    pub dataplane: DataplaneConfig,
    pub datastore: DatastoreConfig,
    pub notifications: NotificationsConfig,
    pub subscriptions: SubscriptionsConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: PathBuf::from("./nectar-state"),
            netconf: NetconfConfig::default(),
            restconf: RestconfConfig::default(),
            gnmi: GnmiConfig::default(),
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
            ves: VesConfig::default(),
            users: Vec::new(),
            dataplane: DataplaneConfig::default(),
            datastore: DatastoreConfig::default(),
            notifications: NotificationsConfig::default(),
            subscriptions: SubscriptionsConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// `[netconf]`: NETCONF over SSH (RFC 6242).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetconfConfig {
    pub listen: SocketAddr,
    /// Concurrent sessions; further ones are refused (the SSH subsystem request fails).
    pub max_sessions: u32,
    /// Concurrent sessions of one user; that user's further ones are refused, other users
    /// are not affected (`max_sessions` still bounds them all).
    pub max_sessions_per_user: u32,
    /// Largest accepted `<rpc>` message, in bytes; a larger one is answered `too-big` and
    /// ends its session.
    pub max_message_bytes: u64,
    /// Idle sessions are closed after this many seconds; 0 = never.
    pub idle_timeout_s: u64,
    /// Seconds a client has to send its hello; the session is closed after.
    pub hello_timeout_s: u64,
    /// Deepest element nesting in a message, 8 to 512 (`malformed-message` beyond).
    pub max_xml_depth: u32,
    /// Most elements in a message (`too-big` beyond).
    pub max_xml_elements: u64,
    /// Most nodes in a subtree filter (`too-big` beyond).
    pub max_filter_nodes: u64,
    /// Longest XPath filter, in bytes (`too-big` beyond).
    pub max_xpath_bytes: u64,
    /// The SSH host key (OpenSSH private key file, unencrypted); absent = the one generated
    /// in the state directory on first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key_file: Option<PathBuf>,
}

impl Default for NetconfConfig {
    fn default() -> Self {
        NetconfConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8830)),
            max_sessions: 64,
            max_sessions_per_user: 16,
            max_message_bytes: 64 * MIB,
            idle_timeout_s: 3600,
            hello_timeout_s: 60,
            max_xml_depth: 512,
            max_xml_elements: 1_000_000,
            max_filter_nodes: 10_000,
            max_xpath_bytes: 64 * 1024,
            host_key_file: None,
        }
    }
}

/// `[restconf]`: RESTCONF over HTTPS (RFC 8040).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestconfConfig {
    pub listen: SocketAddr,
    /// `false` serves plain HTTP (main logs a warning).
    pub tls: bool,
    /// Connections open at once; a further one is closed when accepted.
    pub max_connections: u32,
    /// Requests in progress at once, over all users (503 `resource-denied` beyond).
    pub max_requests: u32,
    /// Requests in progress at once for one user (429 `resource-denied` beyond;
    /// `max_requests` still bounds them all).
    pub max_requests_per_user: u32,
    /// Open event streams (SSE), over all users (503 beyond).
    pub max_streams: u32,
    /// Open event streams of one user (429 beyond; `max_streams` still bounds them all).
    pub max_streams_per_user: u32,
    /// Largest request body, in bytes (413 `too-big` beyond).
    pub max_body_bytes: u64,
}

impl Default for RestconfConfig {
    fn default() -> Self {
        RestconfConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: true,
            max_connections: 1024,
            max_requests: 256,
            max_requests_per_user: 64,
            max_streams: 64,
            max_streams_per_user: 8,
            max_body_bytes: 64 * MIB,
        }
    }
}

/// `[gnmi]`: gNMI over gRPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GnmiConfig {
    pub listen: SocketAddr,
    /// `false` serves plaintext gRPC (main logs a warning).
    pub tls: bool,
    /// Shortest SAMPLE interval accepted, in milliseconds (at least 1); a
    /// subscription's sample_interval 0 means this one, a shorter one is refused
    /// with INVALID_ARGUMENT.
    pub min_sample_interval_ms: u64,
    /// Sample interval of counters in TARGET_DEFINED subscriptions, in
    /// milliseconds (at least `min_sample_interval_ms`).
    pub target_defined_interval_ms: u64,
    /// How often ON_CHANGE subscriptions re-read state that has no change events
    /// of its own, in milliseconds (at least 1; values are still sent only when
    /// they change).
    pub state_poll_interval_ms: u64,
    /// Updates one subscription may have waiting for a slow collector, after
    /// coalescing to the latest value per path (at least 1); beyond it the
    /// subscription ends with RESOURCE_EXHAUSTED.
    pub max_pending_updates: u64,
    /// Largest request message, in bytes (RESOURCE_EXHAUSTED beyond).
    pub max_message_bytes: u64,
    /// Get, Set and Subscribe RPCs in progress at once, over all users (each is a
    /// management session; RESOURCE_EXHAUSTED beyond).
    pub max_sessions: u32,
    /// The same for one user (`max_sessions` still bounds them all).
    pub max_sessions_per_user: u32,
    /// Subscribe RPCs open at once for one user (each also counts as one of its sessions).
    pub max_subscriptions_per_user: u32,
}

impl Default for GnmiConfig {
    fn default() -> Self {
        GnmiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9339)),
            tls: true,
            min_sample_interval_ms: 100,
            target_defined_interval_ms: 10_000,
            state_poll_interval_ms: 1_000,
            max_pending_updates: 1_000_000,
            max_message_bytes: 64 * MIB,
            max_sessions: 256,
            max_sessions_per_user: 64,
            max_subscriptions_per_user: 32,
        }
    }
}

/// `[metrics]`: the Prometheus exporter, and the `/healthz` and `/readyz` probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// Serve HTTPS with the certificate RESTCONF uses (off by default).
    pub tls: bool,
    /// When set, `/metrics` requires HTTP Basic authentication by a user of this group (or
    /// of group `admin`); absent = no authentication. The probes never require it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_group: Option<String>,
    /// Connections open at once; a further one is closed when accepted.
    pub max_connections: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            tls: false,
            scrape_group: None,
            max_connections: 64,
        }
    }
}

/// `[tls]`: the certificate of the TLS listeners (RESTCONF, gNMI, metrics). Both files or
/// neither: absent = a self-signed certificate generated in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

/// `[ves]`: the ONAP VES 7.2 client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VesConfig {
    /// `http://` or `https://` URL of the collector; empty = VES off.
    pub collector_url: String,
    /// HTTP basic authentication towards the collector (both or neither).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    pub heartbeat_interval_s: u64,
    pub measurement_interval_s: u64,
    /// `sourceName` and `reportingEntityName` of the events; absent = the host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// PEM file of CA certificates to trust for an `https://` collector (besides the
    /// public web roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Bound of the on-disk buffer (`<state_dir>/ves-buffer`) that keeps events while the
    /// collector is unreachable, in bytes; past it the oldest events are discarded.
    pub buffer_max_bytes: u64,
    /// Events per batch (`eventBatch`) at most; a batch holds events of one domain.
    pub batch_max_events: u32,
    /// Longest wait between two delivery attempts (the backoff doubles up to it), in seconds.
    pub retry_max_interval_s: u64,
}

impl VesConfig {
    /// Whether a collector is configured.
    pub fn enabled(&self) -> bool {
        !self.collector_url.is_empty()
    }
}

impl Default for VesConfig {
    fn default() -> Self {
        VesConfig {
            collector_url: String::new(),
            username: None,
            password: None,
            heartbeat_interval_s: 60,
            measurement_interval_s: 60,
            source_name: None,
            ca_file: None,
            // About ten hours of heartbeats and 64-port measurements at the default rates.
            buffer_max_bytes: 64 * MIB,
            batch_max_events: 50,
            retry_max_interval_s: 60,
        }
    }
}

/// One `[[users]]` entry. It needs at least one way in: `password`, `password_hash` or
/// `ssh_authorized_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// A clear-text password (prefer `password_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// An argon2 hash in PHC format (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// OpenSSH public keys (`ssh-ed25519 AAAA... comment`), one per entry.
    #[serde(default)]
    pub ssh_authorized_keys: Vec<String>,
    /// A file holding the clear-text password (e.g. a mounted Kubernetes Secret); read at
    /// start-up, one trailing newline ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// A file holding the argon2 hash (`nectar --hash-password` makes one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash_file: Option<PathBuf>,
    /// A file of OpenSSH public keys, one per line (`authorized_keys` format without
    /// options; blank lines and `#` comments ignored), added to `ssh_authorized_keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_authorized_keys_file: Option<PathBuf>,
    /// NACM groups; group `admin` may do everything.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// `[dataplane]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataplaneConfig {
    /// Forwarding worker threads.
    pub workers: u32,
    /// The box's ports; they exist from start-up as system-created interfaces.
    /// Absent = one in-memory port `eth0`; `ports = []` = no ports.
    pub ports: Vec<PortConfig>,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            workers: 1,
            ports: vec![PortConfig {
                name: "eth0".to_owned(),
                driver: PortDriver::Pg,
                host_interface: None,
                devargs: None,
            }],
        }
    }
}

/// One `[[dataplane.ports]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Interface name in the models (`ietf-interfaces` / `openconfig-interfaces`).
    pub name: String,
    #[serde(default)]
    pub driver: PortDriver,
    /// Linux interface the port is bound to (`afpacket`, `tap`; required for both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_interface: Option<String>,
    /// DPDK device arguments, e.g. `net_tap0,iface=dtap0` (`dpdk`; required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devargs: Option<String>,
}

/// How a port moves packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortDriver {
    /// In-memory packet generator / capture: no privileges needed.
    #[default]
    Pg,
    /// Linux `AF_PACKET` socket on `host_interface`.
    Afpacket,
    /// A Linux TAP device named `host_interface`.
    Tap,
    /// A DPDK poll-mode driver given by `devargs` (cargo feature `dpdk`).
    Dpdk,
}

impl PortDriver {
    pub fn as_str(self) -> &'static str {
        match self {
            PortDriver::Pg => "pg",
            PortDriver::Afpacket => "afpacket",
            PortDriver::Tap => "tap",
            PortDriver::Dpdk => "dpdk",
        }
    }
}

impl fmt::Display for PortDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[datastore]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatastoreConfig {
    /// Which persisted datastore becomes running at start-up.
    pub load: LoadFrom,
    /// Commits kept in the history (for rollback).
    pub history: u32,
    /// Bytes the history may hold (paths, values and JSON of the kept commits); beyond it
    /// the oldest commits go, the newest always stays.
    pub history_bytes: u64,
    /// Journal size, in bytes, that triggers snapshot compaction.
    pub compact_journal_bytes: u64,
    /// Confirmed-commit timeout when the client gives none, in seconds (RFC 6241 says 600).
    pub confirm_timeout_default_s: u64,
    /// Requests that may change a datastore (edits, commits, copies, rollbacks, RPCs)
    /// waiting for the datastore or running, over every door; a further one is refused
    /// with `resource-denied` rather than queued.
    pub max_pending_commits: u32,
}

impl Default for DatastoreConfig {
    fn default() -> Self {
        DatastoreConfig {
            load: LoadFrom::Startup,
            history: 50,
            history_bytes: 64 * MIB,
            compact_journal_bytes: 16 * MIB,
            confirm_timeout_default_s: 600,
            max_pending_commits: 128,
        }
    }
}

/// `[notifications]`: the notification log behind NETCONF notifications (RFC 5277) and
/// RESTCONF event streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Notifications kept for replay (`startTime`, `start-time`); the oldest go first.
    pub replay_capacity: u32,
    /// Bytes the kept notifications may hold (their JSON); beyond it the oldest go, the
    /// newest always stays. A config-change notification of a bulk commit lists every
    /// edit: 100,000 routes are about 48 MB.
    pub replay_bytes: u64,
    /// Notifications one subscriber may have waiting (rounded up to a power of two); a
    /// subscriber further behind has its subscription ended (NETCONF: the session;
    /// RESTCONF: the stream), and can replay what it missed.
    pub subscriber_queue: u32,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            replay_capacity: 10_000,
            replay_bytes: 32 * MIB,
            subscriber_queue: 4096,
        }
    }
}

/// `[subscriptions]`: dynamic subscriptions (RFC 8639 and YANG-Push, RFC 8641) over
/// NETCONF and RESTCONF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionsConfig {
    /// Subscriptions one session may hold (one NETCONF session; RESTCONF: one per
    /// stream); more are refused with `insufficient-resources`.
    pub max_per_session: u32,
    /// Subscriptions of the whole daemon.
    pub max_total: u32,
    /// Notifications a subscription's receiver may leave unread before the
    /// subscription is suspended (`subscription-suspended`, `insufficient-resources`);
    /// it resumes once the receiver has read half of them.
    pub queue: u32,
    /// The shortest period of a periodic subscription, in milliseconds (a shorter one is
    /// refused with `period-unsupported` and this as the hint).
    pub min_period_ms: u32,
    /// How often an on-change subscription of the operational datastore re-reads state
    /// that changes without an event (counters), in milliseconds.
    pub state_poll_ms: u32,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        let d = nectar_mgmt::push::Limits::default();
        SubscriptionsConfig {
            max_per_session: d.per_session as u32,
            max_total: d.total as u32,
            queue: d.queue as u32,
            min_period_ms: d.min_period.as_millis() as u32,
            state_poll_ms: d.state_poll.as_millis() as u32,
        }
    }
}

impl SubscriptionsConfig {
    /// The engine's limits.
    pub fn limits(&self) -> nectar_mgmt::push::Limits {
        nectar_mgmt::push::Limits {
            per_session: self.max_per_session as usize,
            total: self.max_total as usize,
            queue: self.queue as usize,
            min_period: std::time::Duration::from_millis(self.min_period_ms.into()),
            state_poll: std::time::Duration::from_millis(self.state_poll_ms.into()),
        }
    }
}

/// `[limits]`: bounds shared by every door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deepest nesting of a client document (JSON values or XML elements of YANG data, a
    /// RESTCONF `fields` expression), 1 to 128.
    pub document_depth: u32,
    /// Password checks (argon2, about 19 MB each) running at once over all doors; others
    /// wait their turn. Default: the number of CPUs, between 2 and 4.
    pub password_checks: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            document_depth: 100,
            password_checks: nectar_mgmt::auth::max_concurrent_checks() as u32,
        }
    }
}

/// `datastore.load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadFrom {
    /// Running starts as a copy of startup.
    #[default]
    Startup,
    /// Running starts as the persisted running (snapshot + journal).
    Running,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter: a level (`info`) or directives (`info,nectar_mgmt=debug`).
    /// `RUST_LOG`, when set, is for main to prefer.
    pub level: String,
    /// `text` (human-readable) or `json` (one JSON object per line, for log collectors);
    /// `--log-format` overrides it.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// `log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A string that never shows in `Debug` output or logs. `expose` gives the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Config {
    /// Reads, parses and validates the configuration file at `path`; `None` gives the embedded
    /// default. Every error names the file and the key (with line and column).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            let config = Config::default();
            config.validate().map_err(|problems| ConfigError::Invalid {
                origin: "the embedded default configuration".to_owned(),
                problems,
            })?;
            return Ok(config);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, &format!("configuration file {}", path.display()))
    }

    /// Parses and validates TOML text; `origin` names where it came from in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config = Config::parse(text).map_err(|problem| ConfigError::Invalid {
            origin: origin.to_owned(),
            problems: vec![problem],
        })?;
        config.validate().map_err(|mut problems| {
            locate::add_positions(text, &mut problems);
            ConfigError::Invalid {
                origin: origin.to_owned(),
                problems,
            }
        })?;
        Ok(config)
    }

    /// Parses TOML text into the typed configuration, without the checks of [`validate`].
    /// A TOML syntax error, an unknown key or a value of the wrong type is one [`Problem`]
    /// naming the key.
    ///
    /// [`validate`]: Config::validate
    pub fn parse(text: &str) -> Result<Config, Problem> {
        toml::from_str(text).map_err(|err| locate::problem_from_toml(text, &err))
    }

    /// Checks what the types cannot: duplicate names, user credentials, driver fields,
    /// value ranges. Returns every problem found, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let problems = check::check(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Addresses the self-signed TLS certificate should name, besides `localhost`,
    /// `127.0.0.1` and `::1`: the hosts of the TLS listeners (RESTCONF and gNMI when their
    /// `tls` is on), except the unspecified addresses `0.0.0.0` and `::`.
    pub fn tls_hosts(&self) -> Vec<IpAddr> {
        let mut hosts = Vec::new();
        for (tls, addr) in [
            (self.restconf.tls, self.restconf.listen),
            (self.gnmi.tls, self.gnmi.listen),
            (self.metrics.tls, self.metrics.listen),
        ] {
            let ip = addr.ip();
            if tls && !ip.is_unspecified() && !hosts.contains(&ip) {
                hosts.push(ip);
            }
        }
        hosts
    }

    /// The listeners, named by their key, for main's start-up log.
    pub fn listeners(&self) -> [(&'static str, SocketAddr); 4] {
        [
            ("netconf.listen", self.netconf.listen),
            ("restconf.listen", self.restconf.listen),
            ("gnmi.listen", self.gnmi.listen),
            ("metrics.listen", self.metrics.listen),
        ]
    }

    /// Whether the generated `admin` user is used (no `[[users]]` in the file).
    pub fn uses_generated_admin(&self) -> bool {
        self.users.is_empty()
    }
}

/// One thing wrong with a configuration, tied to the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `netconf.listen` or `users[1].password_hash`; empty when the
    /// problem is not about one key (a TOML syntax error before any key).
    pub key: String,
    /// 1-based line and column in the file, when known.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl Problem {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            position: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.key[..], self.position) {
            ("", Some((line, col))) => write!(f, "line {line}, column {col}: ")?,
            ("", None) => {}
            (key, Some((line, col))) => write!(f, "`{key}` (line {line}, column {col}): ")?,
            (key, None) => write!(f, "`{key}`: ")?,
        }
        f.write_str(&self.message)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not a valid configuration.
    Invalid {
        /// "configuration file PATH" or "the embedded default configuration".
        origin: String,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems found (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(
                    f,
                    "cannot read configuration file {}: {source}",
                    path.display()
                )
            }
            ConfigError::Invalid { origin, problems } => match &problems[..] {
                [one] => write!(f, "invalid {origin}: {one}"),
                many => {
                    write!(f, "invalid {origin}: {} problems", many.len())?;
                    for problem in many {
                        write!(f, "\n  {problem}")?;
                    }
                    Ok(())
                }
            },
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Invalid { .. } => None,
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests;
