//! One NETCONF session over any byte stream (an SSH channel in the daemon,
//! an in-memory pipe in tests): the hello exchange, the switch to chunked
//! framing, reading `<rpc>` messages and answering each in order, with
//! notifications interleaved (RFC 5277 :interleave). A framing error, a bad
//! hello, kill-session, close-session or the idle timeout end the session;
//! nothing a client sends can end the process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nectar_mgmt::SessionId;
use nectar_mgmt::error::{ErrorTag, ErrorType, MgmtError};
use nectar_mgmt::nacm::UserCtx;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::framing::{self, Decoder, Framing, FramingError};
use crate::notif::Subscription;
use crate::reply::{self, BASE_NS, Echo};
use crate::server::{CAP_BASE_10, CAP_BASE_11, ServerState, SessionEntry, inc};
use crate::xml::{self, Element};

/// What an operation (`crate::ops`) answers.
#[derive(Debug)]
pub(crate) enum Reply {
    Ok,
    /// Reply content (already XML).
    Body(String),
    /// `<ok/>`, then the session ends (close-session).
    CloseOk,
    /// `<ok/>`, then notifications flow.
    Subscribed(Subscription),
}

/// What to do after a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// A session's state as the operations see it.
pub(crate) struct Session<W> {
    pub shared: Arc<ServerState>,
    pub sid: SessionId,
    pub user: UserCtx,
    pub entry: Arc<SessionEntry>,
    pub writer: W,
    pub framing: Framing,
    pub subscription: Option<Subscription>,
    /// Where the session's dynamic subscriptions (RFC 8640) deliver.
    pub mailbox: Option<Arc<nectar_mgmt::push::Mailbox>>,
}

impl<W> std::fmt::Debug for Session<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("sid", &self.sid).finish()
    }
}

fn hello(shared: &ServerState, sid: SessionId) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><hello xmlns=\"{BASE_NS}\"><capabilities>"
    );
    for c in &shared.capabilities {
        s.push_str("<capability>");
        s.push_str(&xml::escape_text(c));
        s.push_str("</capability>");
    }
    s.push_str(&format!(
        "</capabilities><session-id>{sid}</session-id></hello>"
    ));
    s
}

/// Why a hello is refused.
fn check_hello(msg: &[u8], limits: &xml::Limits) -> Result<Framing, String> {
    let text = std::str::from_utf8(msg).map_err(|_| "hello is not UTF-8".to_string())?;
    let root =
        xml::parse_with(text, limits).map_err(|e| format!("hello is not well-formed XML: {e}"))?;
    if root.local != "hello" || root.ns.as_deref() != Some(BASE_NS) {
        return Err(format!("expected a hello, got <{}>", root.qname));
    }
    if root.child("session-id", BASE_NS).is_some() {
        // RFC 6241 §8.1: a client hello with a session-id ends the session.
        return Err("the client hello carries a session-id".into());
    }
    let caps: Vec<String> = root
        .child("capabilities", BASE_NS)
        .map(|c| {
            c.elements()
                .filter(|e| e.local == "capability")
                .map(|e| e.text().trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    if caps.iter().any(|c| c == CAP_BASE_11) {
        Ok(Framing::Chunked)
    } else if caps.iter().any(|c| c == CAP_BASE_10) {
        Ok(Framing::EndOfMessage)
    } else {
        Err("the client supports neither base:1.0 nor base:1.1".into())
    }
}

/// Runs a session to its end. `peer` is the client's address.
pub(crate) async fn run<S>(
    shared: Arc<ServerState>,
    stream: S,
    user: UserCtx,
    peer: Option<SocketAddr>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer_s = peer.map(|p| p.to_string());
    let sid = match shared
        .mgmt
        .open_session(user.clone(), "netconf", peer_s)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot open a management session");
            return;
        }
    };
    let entry = Arc::new(SessionEntry {
        id: sid,
        username: user.name.clone(),
        source_host: peer.map(|p| p.ip().to_string()),
        login_time: nectar_mgmt::types::now_rfc3339(),
        in_rpcs: Default::default(),
        in_bad_rpcs: Default::default(),
        out_rpc_errors: Default::default(),
        out_notifications: Default::default(),
        kill: Default::default(),
    });
    if let Ok(mut m) = shared.sessions.lock() {
        m.insert(sid, Arc::clone(&entry));
    }
    inc(&shared.stats.in_sessions);
    tracing::info!(session = sid, user = %user.name, peer = ?peer, "NETCONF session started");

    let (reader, writer) = tokio::io::split(stream);
    let mut session = Session {
        shared: Arc::clone(&shared),
        sid,
        user,
        entry: Arc::clone(&entry),
        writer,
        framing: Framing::EndOfMessage,
        subscription: None,
        mailbox: None,
    };
    let end = session.serve(reader).await;
    if let Some(subs) = &shared.subscriptions {
        subs.end_session(sid);
    }
    let killed = matches!(end, End::Killed);
    match &end {
        End::Closed => tracing::info!(session = sid, "NETCONF session closed"),
        End::Eof => tracing::info!(session = sid, "NETCONF client disconnected"),
        End::Killed => tracing::info!(session = sid, "NETCONF session killed"),
        End::Error(e) => {
            tracing::warn!(session = sid, error = %e, "NETCONF session ended");
        }
    }
    if !matches!(end, End::Closed) {
        inc(&shared.stats.dropped_sessions);
    }
    let _ = session.writer.shutdown().await;
    if !killed && let Err(e) = shared.mgmt.close_session(sid).await {
        tracing::warn!(session = sid, error = %e, "closing the management session failed");
    }
    if let Ok(mut m) = shared.sessions.lock() {
        m.remove(&sid);
    }
    if let Ok(mut m) = shared.lock_times.lock() {
        m.retain(|_, (s, _)| *s != sid);
    }
}

/// What woke the session loop.
enum Wake {
    Read(std::io::Result<usize>),
    Kill,
    Idle,
    Notif(crate::notif::Item),
    Push(nectar_mgmt::push::Out),
}

/// How a session ended.
#[derive(Debug)]
enum End {
    Closed,
    Eof,
    Killed,
    Error(String),
}

impl<W: AsyncWrite + Unpin + Send> Session<W> {
    /// Frames and sends one message.
    pub async fn send(&mut self, msg: &str) -> std::io::Result<()> {
        let bytes = framing::encode(self.framing, msg.as_bytes());
        self.writer.write_all(&bytes).await?;
        self.writer.flush().await
    }

    async fn serve<R: AsyncRead + Unpin>(&mut self, mut reader: R) -> End {
        let shared = Arc::clone(&self.shared);
        let max = shared.settings.max_message_bytes;
        let mut decoder = Decoder::new(Framing::EndOfMessage, max);
        if let Err(e) = self.send(&hello(&shared, self.sid)).await {
            return End::Error(format!("sending the hello: {e}"));
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut hello_done = false;
        let mut last_input = Instant::now();
        loop {
            // Every complete message buffered so far.
            loop {
                let msg = match decoder.next_message() {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        if !hello_done {
                            inc(&shared.stats.in_bad_hellos);
                        } else if let FramingError::TooBig { max } = e {
                            // RFC 6241 appendix A: too-big. The message is
                            // not read, so the reply has no message-id; the
                            // session ends, as the README says.
                            inc(&shared.stats.in_bad_rpcs);
                            inc(&self.entry.in_bad_rpcs);
                            let err = MgmtError::new(
                                ErrorType::Rpc,
                                ErrorTag::TooBig,
                                format!(
                                    "the message is larger than {max} bytes \
                                     (netconf.max_message_bytes); the session ends"
                                ),
                            );
                            let _ = self.send_errors(&Echo::default(), &[err]).await;
                        }
                        return End::Error(format!("framing error: {e}"));
                    }
                };
                if !hello_done {
                    match check_hello(&msg, &shared.settings.xml) {
                        Ok(f) => {
                            hello_done = true;
                            self.framing = f;
                            decoder.set_framing(f);
                            tracing::debug!(session = self.sid, framing = ?f, "hello exchanged");
                        }
                        Err(e) => {
                            inc(&shared.stats.in_bad_hellos);
                            return End::Error(e);
                        }
                    }
                    continue;
                }
                match self.message(&msg).await {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Close) => return End::Closed,
                    Err(e) => return End::Error(format!("writing a reply: {e}")),
                }
            }
            let timeout = if !hello_done {
                Some(shared.settings.hello_timeout)
            } else if self.subscription.is_some()
                || self.mailbox.as_ref().is_some_and(|m| m.is_active())
            {
                None
            } else {
                shared.settings.idle_timeout
            };
            let idle = async {
                match timeout {
                    Some(t) => {
                        let left = t.saturating_sub(last_input.elapsed());
                        tokio::time::sleep(left.max(Duration::from_millis(1))).await
                    }
                    None => std::future::pending().await,
                }
            };
            let wake = {
                let entry = Arc::clone(&self.entry);
                let notif = async {
                    match self.subscription.as_mut() {
                        Some(s) => s.next().await,
                        None => std::future::pending().await,
                    }
                };
                let mailbox = self.mailbox.clone();
                let push = async {
                    match mailbox {
                        Some(m) => m.next().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    r = reader.read(&mut buf) => Wake::Read(r),
                    out = push => Wake::Push(out),
                    _ = entry.kill.notified() => Wake::Kill,
                    _ = idle => Wake::Idle,
                    item = notif => Wake::Notif(item),
                }
            };
            match wake {
                Wake::Read(Ok(0)) => return End::Eof,
                Wake::Read(Ok(n)) => {
                    decoder.push(&buf[..n]);
                    last_input = Instant::now();
                }
                Wake::Read(Err(e)) => return End::Error(format!("reading: {e}")),
                Wake::Kill => return End::Killed,
                Wake::Idle => {
                    return End::Error(if hello_done {
                        "idle timeout".into()
                    } else {
                        "no hello from the client in time".into()
                    });
                }
                Wake::Notif(crate::notif::Item::Lagged(lost)) => {
                    return End::Error(format!(
                        "the notification subscriber fell behind and lost {lost} notifications \
                         (more than notifications.subscriber_queue waiting); the session ends \
                         so that the client can subscribe again with a startTime"
                    ));
                }
                Wake::Push(out) => {
                    inc(&self.shared.stats.out_notifications);
                    self.entry.out_notifications.fetch_add(1, Ordering::Relaxed);
                    let msg = crate::notif::envelope(&out.event_time(), &out.content);
                    if let Err(e) = self.send(&msg).await {
                        return End::Error(format!("writing a notification: {e}"));
                    }
                }
                Wake::Notif(item) => {
                    if let Err(e) = self.deliver(item).await {
                        return End::Error(format!("writing a notification: {e}"));
                    }
                }
            }
        }
    }

    /// Handles one message after the hello.
    async fn message(&mut self, msg: &[u8]) -> std::io::Result<Flow> {
        let shared = Arc::clone(&self.shared);
        let parsed = std::str::from_utf8(msg)
            .map_err(|_| reply::malformed("the message is not UTF-8"))
            .and_then(|t| {
                xml::parse_with(t, &shared.settings.xml).map_err(|e| {
                    if e.0.starts_with(xml::TOO_MANY_ELEMENTS) {
                        MgmtError::new(ErrorType::Rpc, ErrorTag::TooBig, e.0)
                    } else {
                        reply::malformed(format!("the message is not well-formed XML: {e}"))
                    }
                })
            });
        let root = match parsed {
            Ok(r) => r,
            Err(err) => {
                inc(&shared.stats.in_bad_rpcs);
                inc(&self.entry.in_bad_rpcs);
                self.send_errors(&Echo::default(), &[err]).await?;
                return Ok(Flow::Continue);
            }
        };
        if root.local != "rpc" || root.ns.as_deref() != Some(BASE_NS) {
            inc(&shared.stats.in_bad_rpcs);
            inc(&self.entry.in_bad_rpcs);
            let e = reply::malformed(format!("expected an rpc, got <{}>", root.qname));
            self.send_errors(&Echo::default(), &[e]).await?;
            return Ok(Flow::Continue);
        }
        let echo = echo_of(&root);
        if root.attr("message-id").is_none() {
            inc(&shared.stats.in_bad_rpcs);
            inc(&self.entry.in_bad_rpcs);
            self.send_errors(&echo, &[reply::missing_attribute("message-id", "rpc")])
                .await?;
            return Ok(Flow::Continue);
        }
        let ops: Vec<&Element> = root.elements().collect();
        let op = match ops.as_slice() {
            [op] => *op,
            [] => {
                inc(&shared.stats.in_bad_rpcs);
                inc(&self.entry.in_bad_rpcs);
                let e = reply::missing_element(ErrorType::Rpc, "rpc operation");
                self.send_errors(&echo, &[e]).await?;
                return Ok(Flow::Continue);
            }
            [_, second, ..] => {
                inc(&shared.stats.in_bad_rpcs);
                inc(&self.entry.in_bad_rpcs);
                let e = MgmtError::new(
                    ErrorType::Rpc,
                    ErrorTag::BadElement,
                    "an rpc carries exactly one operation",
                )
                .with_info("bad-element", second.local.clone());
                self.send_errors(&echo, &[e]).await?;
                return Ok(Flow::Continue);
            }
        };
        inc(&shared.stats.in_rpcs);
        inc(&self.entry.in_rpcs);
        let started = Instant::now();
        let name = op.local.clone();
        let result = self.dispatch(op).await;
        let ok = result.is_ok();
        // An operation the server does not know is counted as "unknown":
        // client-chosen names must not grow the metric's label set.
        let known = match &result {
            Err(errs) => !errs
                .0
                .iter()
                .any(|e| matches!(e.tag, ErrorTag::UnknownElement | ErrorTag::UnknownNamespace)),
            Ok(_) => true,
        };
        let label = if known { name.as_str() } else { "unknown" };
        nectar_mgmt::metrics::rpc("netconf", label, started.elapsed(), ok);
        match result {
            Ok(Reply::Ok) => self.send(&reply::ok(&echo)).await?,
            Ok(Reply::Body(b)) => self.send(&reply::body(&echo, &b)).await?,
            Ok(Reply::CloseOk) => {
                self.send(&reply::ok(&echo)).await?;
                return Ok(Flow::Close);
            }
            Ok(Reply::Subscribed(sub)) => {
                self.send(&reply::ok(&echo)).await?;
                self.subscription = Some(sub);
            }
            Err(errs) => self.send_errors(&echo, &errs.0).await?,
        }
        Ok(Flow::Continue)
    }

    pub async fn send_errors(&mut self, echo: &Echo, errs: &[MgmtError]) -> std::io::Result<()> {
        inc(&self.shared.stats.out_rpc_errors);
        inc(&self.entry.out_rpc_errors);
        let text = reply::errors(Some(self.shared.ctx), echo, errs);
        self.send(&text).await
    }

    /// Sends a notification (or ends the subscription), counting it.
    async fn deliver(&mut self, item: crate::notif::Item) -> std::io::Result<()> {
        match item {
            crate::notif::Item::Send(text) => {
                inc(&self.shared.stats.out_notifications);
                self.entry.out_notifications.fetch_add(1, Ordering::Relaxed);
                self.send(&text).await
            }
            crate::notif::Item::SendAndEnd(text) => {
                self.subscription = None;
                self.send(&text).await
            }
            crate::notif::Item::Skip | crate::notif::Item::Lagged(_) => Ok(()),
        }
    }
}

/// The rpc attributes a reply echoes, with declarations of their prefixes.
fn echo_of(root: &Element) -> Echo {
    let mut echo = Echo::default();
    for a in &root.attrs {
        if let Some((p, _)) = a.qname.split_once(':')
            && p != "xml"
            && !echo.decls.iter().any(|(d, _)| d == p)
            && let Some(ns) = root.resolve_prefix(p)
        {
            echo.decls.push((p.to_string(), ns));
        }
        echo.attrs.push(a.clone());
    }
    echo
}
