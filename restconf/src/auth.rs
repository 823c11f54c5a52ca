//! HTTP Basic authentication (RFC 7617) against the daemon's users, and the
//! management session each user's requests run in.
//!
//! Checking a password is argon2 (tens of milliseconds of CPU, on purpose):
//! mgmt's [`PasswordCache`] runs it on the blocking pool and remembers a
//! success for [`CACHE_TTL`]; failures are never cached.
//!
//! Sessions: RESTCONF is stateless, but NACM and the datastore locks work on
//! management sessions. Each authenticated user gets one management session
//! (protocol `restconf`), opened on first use and shared by all of that
//! user's requests and connections. If the session disappears (a NETCONF
//! `kill-session`), the next request opens a new one, in the same actor call
//! that runs the request, so a request never runs without its user's
//! session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use nectar_mgmt::{Authenticator, PasswordCache, SessionSlot};

use crate::error::Error;

/// How long a successful password check is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// The authentication state of a server.
pub struct Auth {
    passwords: PasswordCache,
    clients: Mutex<HashMap<String, Arc<SessionSlot>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(auth: Arc<dyn Authenticator>) -> Self {
        Auth {
            passwords: PasswordCache::new(auth, CACHE_TTL),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Every client that has authenticated so far (for closing sessions).
    pub fn clients(&self) -> Vec<Arc<SessionSlot>> {
        lock(&self.clients).values().cloned().collect()
    }

    /// Authenticates a request from its `Authorization: Basic` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<SessionSlot>, Error> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(Error::unauthorized("authentication required"));
        };
        let text = value
            .to_str()
            .map_err(|_| Error::unauthorized("malformed Authorization header"))?;
        let (scheme, token) = text.trim().split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Error::unauthorized(
                "only the Basic authentication scheme is supported",
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Error::unauthorized("malformed Basic credentials"))?;
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(Error::unauthorized("malformed Basic credentials"));
        };
        let Some(ctx) = self.passwords.check_password(user, password).await else {
            tracing::info!("restconf: authentication failed");
            return Err(Error::unauthorized("authentication failed"));
        };
        let mut clients = lock(&self.clients);
        Ok(Arc::clone(clients.entry(ctx.name.clone()).or_insert_with(
            || Arc::new(SessionSlot::new(ctx, "restconf")),
        )))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
