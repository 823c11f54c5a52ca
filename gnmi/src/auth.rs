//! Authentication of gNMI calls: the `username` and `password` gRPC metadata
//! (gNMI §3.1, as gNMI clients send them) checked against the daemon's users.
//!
//! The check is argon2 and deliberately slow: mgmt's `PasswordCache` runs it
//! on the blocking pool and remembers successes briefly, so a collector that
//! opens a call per request does not pay argon2 each time.

use std::sync::Arc;
use std::time::Duration;

use nectar_mgmt::nacm::UserCtx;
use nectar_mgmt::{Authenticator, PasswordCache};
use tonic::Status;
use tonic::metadata::MetadataMap;

/// The authenticator behind a short-lived cache of successes.
#[derive(Debug)]
pub struct Auth {
    cache: PasswordCache,
}

impl Auth {
    /// `ttl` zero disables the cache.
    pub fn new(users: Arc<dyn Authenticator>, ttl: Duration) -> Self {
        Auth {
            cache: PasswordCache::new(users, ttl),
        }
    }

    /// The user a call's metadata authenticates, or UNAUTHENTICATED.
    pub async fn check(&self, md: &MetadataMap) -> Result<UserCtx, Status> {
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (Some(user), Some(password)) = (get("username"), get("password")) else {
            return Err(Status::unauthenticated(
                "credentials required: send username and password as gRPC metadata",
            ));
        };
        match self.cache.check_password(&user, &password).await {
            Some(ctx) => Ok(ctx),
            None => {
                tracing::info!(user = %user, "gnmi: authentication failed");
                Err(Status::unauthenticated("invalid username or password"))
            }
        }
    }
}
