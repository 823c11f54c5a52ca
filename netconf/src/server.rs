//! State shared by every NETCONF session of the process: settings, the
//! capabilities of the hello, the session table with the RFC 6022 counters,
//! global statistics, and the `ietf-netconf-monitoring` state built from
//! them (sessions, datastores with their locks, schemas, statistics).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nectar_mgmt::error::MgmtError;
use nectar_mgmt::ly::Tree;
use nectar_mgmt::{Datastore, MgmtHandle, SessionId};
use tokio::sync::Notify;
use yang2::context::Context;
use yang2::data::DataTree;

/// Limits and timeouts of the NETCONF server (the `[netconf]` section of
/// the daemon's configuration, and `limits.document_depth`).
#[derive(Debug, Clone)]
pub struct NetconfSettings {
    /// Concurrent NETCONF sessions; further subsystem requests are refused.
    pub max_sessions: u32,
    /// Concurrent NETCONF sessions of one user; further subsystem requests
    /// of that user are refused (other users are not affected).
    pub max_sessions_per_user: u32,
    /// Largest accepted message, in bytes (framing included); a larger one
    /// is answered `too-big` and ends its session.
    pub max_message_bytes: usize,
    /// A session that sends nothing for this long (and holds no
    /// notification subscription) is closed; `None` = never.
    pub idle_timeout: Option<Duration>,
    /// Time a client has to send its hello after the server's.
    pub hello_timeout: Duration,
    /// Nesting and element count of one message.
    pub xml: crate::xml::Limits,
    /// Size of one subtree or XPath filter.
    pub filter: crate::filter::Limits,
    /// Nesting of the YANG data in a message (`<config>`, RPC input).
    pub document: nectar_yang::encoding::Limits,
}

impl Default for NetconfSettings {
    fn default() -> Self {
        NetconfSettings {
            max_sessions: 64,
            max_sessions_per_user: 16,
            max_message_bytes: 64 << 20,
            idle_timeout: Some(Duration::from_secs(3600)),
            hello_timeout: Duration::from_secs(60),
            xml: Default::default(),
            filter: Default::default(),
            document: Default::default(),
        }
    }
}

pub const CAP_BASE_10: &str = "urn:ietf:params:netconf:base:1.0";
pub const CAP_BASE_11: &str = "urn:ietf:params:netconf:base:1.1";
pub const MONITORING_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring";
pub const NMDA_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda";
pub const WD_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults";
pub const NOTIF_NS: &str = "urn:ietf:params:xml:ns:netconf:notification:1.0";

/// One NETCONF session as the monitoring data shows it.
#[derive(Debug)]
pub struct SessionEntry {
    pub id: SessionId,
    pub username: String,
    pub source_host: Option<String>,
    pub login_time: String,
    pub in_rpcs: AtomicU32,
    pub in_bad_rpcs: AtomicU32,
    pub out_rpc_errors: AtomicU32,
    pub out_notifications: AtomicU32,
    /// Signalled when another session kills this one.
    pub kill: Notify,
}

/// RFC 6022 global statistics.
#[derive(Debug, Default)]
pub struct Stats {
    pub in_bad_hellos: AtomicU32,
    pub in_sessions: AtomicU32,
    pub dropped_sessions: AtomicU32,
    pub in_rpcs: AtomicU32,
    pub in_bad_rpcs: AtomicU32,
    pub out_rpc_errors: AtomicU32,
    pub out_notifications: AtomicU32,
}

pub(crate) fn inc(c: &AtomicU32) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Everything the sessions share.
pub struct ServerState {
    pub settings: NetconfSettings,
    pub ctx: &'static Context,
    pub mgmt: MgmtHandle,
    pub notifications: Option<Arc<nectar_mgmt::notify::Notifications>>,
    /// Dynamic subscriptions (RFC 8639/8641), shared with the other doors.
    pub subscriptions: Option<Arc<nectar_mgmt::push::Subscriptions>>,
    pub capabilities: Vec<String>,
    pub start_time: String,
    pub stats: Stats,
    pub sessions: Mutex<BTreeMap<SessionId, Arc<SessionEntry>>>,
    /// When each global lock was taken, by which session.
    pub lock_times: Mutex<HashMap<Datastore, (SessionId, String)>>,
    /// Sessions running or starting, in all and per user
    /// (`max_sessions`, `max_sessions_per_user`).
    pub slots: Arc<nectar_mgmt::limits::Slots>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("settings", &self.settings)
            .finish()
    }
}

/// Whether a module's source declares YANG 1.1.
fn is_yang11(name: &str) -> bool {
    nectar_yang::models::embedded(name).is_some_and(|m| {
        m.text.split(';').take(8).any(|s| {
            let s = s.trim();
            s.starts_with("yang-version")
                && s.trim_start_matches("yang-version")
                    .trim()
                    .trim_matches('"')
                    .trim_matches('\'')
                    == "1.1"
        })
    })
}

/// The capabilities of the server's hello (RFC 6241 §8, RFC 7950 §5.6.4,
/// RFC 8526 §2): the protocol capabilities, the yang-library 1.1 capability
/// with the content-id, and one module capability per implemented YANG 1.0
/// module (YANG 1.1 modules are listed in the yang library only).
pub fn capabilities(ctx: &Context, content_id: &str, notifications: bool) -> Vec<String> {
    let mut caps: Vec<String> = [
        CAP_BASE_10,
        CAP_BASE_11,
        "urn:ietf:params:netconf:capability:writable-running:1.0",
        "urn:ietf:params:netconf:capability:candidate:1.0",
        "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
        "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
        "urn:ietf:params:netconf:capability:validate:1.1",
        "urn:ietf:params:netconf:capability:startup:1.0",
        "urn:ietf:params:netconf:capability:xpath:1.0",
        "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&also-supported=report-all,report-all-tagged,trim",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if notifications {
        caps.push("urn:ietf:params:netconf:capability:notification:1.0".into());
        caps.push("urn:ietf:params:netconf:capability:interleave:1.0".into());
    }
    let yl_rev = ctx
        .get_module_implemented("ietf-yang-library")
        .and_then(|m| m.revision().map(str::to_string))
        .unwrap_or_else(|| "2019-01-04".into());
    caps.push(format!(
        "urn:ietf:params:netconf:capability:yang-library:1.1?revision={yl_rev}&content-id={content_id}"
    ));
    let mut modules: Vec<_> = ctx
        .modules(true)
        .filter(|m| m.is_implemented() && !is_yang11(m.name()))
        .collect();
    modules.sort_by(|a, b| a.name().cmp(b.name()));
    for m in modules {
        let mut cap = format!("{}?module={}", m.namespace(), m.name());
        if let Some(r) = m.revision() {
            cap.push_str(&format!("&revision={r}"));
        }
        let features: Vec<String> = enabled_features(m.name())
            .into_iter()
            .filter(|f| m.feature_value(f).unwrap_or(false))
            .collect();
        if !features.is_empty() {
            cap.push_str(&format!("&features={}", features.join(",")));
        }
        caps.push(cap);
    }
    caps
}

/// Features enabled for a module, as the model set declares them.
fn enabled_features(module: &str) -> Vec<String> {
    nectar_yang::specs::ALL
        .iter()
        .flat_map(|list| list.iter())
        .find(|s| s.name == module)
        .map(|s| s.features.iter().map(|f| f.to_string()).collect())
        .unwrap_or_default()
}

impl ServerState {
    /// Builds the `/ietf-netconf-monitoring:netconf-state` tree. Lock
    /// holders come from the core (`locks`: datastore → holder).
    pub fn monitoring_state(
        &self,
        locks: &[(Datastore, Option<SessionId>)],
    ) -> Result<Tree, MgmtError> {
        let ctx = self.ctx;
        let mut t: Tree = DataTree::new(ctx);
        const B: &str = "/ietf-netconf-monitoring:netconf-state";
        for c in &self.capabilities {
            t.new_path(&format!("{B}/capabilities/capability"), Some(c), false)?;
        }
        let times = self
            .lock_times
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        for (ds, holder) in locks {
            let p = format!("{B}/datastores/datastore[name='{}']", ds.as_str());
            t.new_path(&p, None, false)?;
            if let Some(h) = holder {
                let time = times
                    .get(ds)
                    .filter(|(s, _)| s == h)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_else(nectar_mgmt::types::now_rfc3339);
                t.new_path(
                    &format!("{p}/locks/global-lock/locked-by-session"),
                    Some(&h.to_string()),
                    false,
                )?;
                t.new_path(
                    &format!("{p}/locks/global-lock/locked-time"),
                    Some(&time),
                    false,
                )?;
            }
        }
        for m in ctx.modules(false) {
            let version = m.revision().unwrap_or("");
            for fmt in ["yang", "yin"] {
                let p = format!(
                    "{B}/schemas/schema[identifier='{}'][version='{version}'][format='ietf-netconf-monitoring:{fmt}']",
                    m.name()
                );
                t.new_path(&format!("{p}/namespace"), Some(m.namespace()), false)?;
                t.new_path(&format!("{p}/location"), Some("NETCONF"), false)?;
            }
        }
        let sessions: Vec<Arc<SessionEntry>> = self
            .sessions
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for s in sessions {
            let p = format!("{B}/sessions/session[session-id='{}']", s.id);
            t.new_path(
                &format!("{p}/transport"),
                Some("ietf-netconf-monitoring:netconf-ssh"),
                false,
            )?;
            t.new_path(&format!("{p}/username"), Some(&s.username), false)?;
            if let Some(h) = &s.source_host {
                t.new_path(&format!("{p}/source-host"), Some(h), false)?;
            }
            t.new_path(&format!("{p}/login-time"), Some(&s.login_time), false)?;
            for (leaf, c) in [
                ("in-rpcs", &s.in_rpcs),
                ("in-bad-rpcs", &s.in_bad_rpcs),
                ("out-rpc-errors", &s.out_rpc_errors),
                ("out-notifications", &s.out_notifications),
            ] {
                t.new_path(
                    &format!("{p}/{leaf}"),
                    Some(&c.load(Ordering::Relaxed).to_string()),
                    false,
                )?;
            }
        }
        let st = &self.stats;
        t.new_path(
            &format!("{B}/statistics/netconf-start-time"),
            Some(&self.start_time),
            false,
        )?;
        for (leaf, c) in [
            ("in-bad-hellos", &st.in_bad_hellos),
            ("in-sessions", &st.in_sessions),
            ("dropped-sessions", &st.dropped_sessions),
            ("in-rpcs", &st.in_rpcs),
            ("in-bad-rpcs", &st.in_bad_rpcs),
            ("out-rpc-errors", &st.out_rpc_errors),
            ("out-notifications", &st.out_notifications),
        ] {
            t.new_path(
                &format!("{B}/statistics/{leaf}"),
                Some(&c.load(Ordering::Relaxed).to_string()),
                false,
            )?;
        }
        Ok(t)
    }
}
