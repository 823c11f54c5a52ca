//! Authentication of gNMI calls: the `username` and `password` gRPC metadata
//! (gNMI §3.1, as gNMI clients send them) checked against the daemon's users.
//!
//! The check is argon2 and deliberately slow, so it runs on the blocking pool,
//! and a success is remembered for a short time (keyed by the user and a
//! salted SHA-256 of the password, never the password itself): a collector
//! that opens a call per request does not pay argon2 each time. Failures are
//! never cached, so guessing keeps its full cost.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nectar_mgmt::Authenticator;
use nectar_mgmt::nacm::UserCtx;
use sha2::{Digest, Sha256};
use tonic::Status;
use tonic::metadata::MetadataMap;

/// Entries kept at most; expired ones are purged first.
const MAX_ENTRIES: usize = 1024;

/// Recent successes: (user, salted password digest) → (user, when).
type Cache = HashMap<(String, [u8; 32]), (UserCtx, Instant)>;

/// The authenticator plus the cache of recent successes.
pub struct Auth {
    users: Arc<dyn Authenticator>,
    ttl: Duration,
    salt: [u8; 16],
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("ttl", &self.ttl).finish()
    }
}

fn random_salt() -> [u8; 16] {
    // RandomState is seeded from the OS's randomness once per process.
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6e65_6374_6172);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

impl Auth {
    /// `ttl` zero disables the cache.
    pub fn new(users: Arc<dyn Authenticator>, ttl: Duration) -> Self {
        Auth {
            users,
            ttl,
            salt: random_salt(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// The user a call's metadata authenticates, or UNAUTHENTICATED.
    pub async fn check(&self, md: &MetadataMap) -> Result<UserCtx, Status> {
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (Some(user), Some(password)) = (get("username"), get("password")) else {
            return Err(Status::unauthenticated(
                "credentials required: send username and password as gRPC metadata",
            ));
        };
        let key = (user.clone(), self.digest(&password));
        let now = Instant::now();
        if !self.ttl.is_zero()
            && let Some((ctx, at)) = self.cache.lock().expect("auth cache").get(&key)
            && now.duration_since(*at) < self.ttl
        {
            return Ok(ctx.clone());
        }
        let users = self.users.clone();
        let checked = {
            let user = user.clone();
            tokio::task::spawn_blocking(move || users.check_password(&user, &password))
                .await
                .map_err(|_| Status::internal("the password check did not complete"))?
        };
        let Some(ctx) = checked else {
            tracing::info!(user = %user, "gnmi: authentication failed");
            return Err(Status::unauthenticated("invalid username or password"));
        };
        if !self.ttl.is_zero() {
            let mut cache = self.cache.lock().expect("auth cache");
            if cache.len() >= MAX_ENTRIES {
                cache.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
                if cache.len() >= MAX_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key, (ctx.clone(), now));
        }
        Ok(ctx)
    }
}
