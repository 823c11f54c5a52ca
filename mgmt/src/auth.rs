//! How the protocol doors authenticate their clients. The daemon owns the
//! user database (config file, generated admin); NETCONF, RESTCONF and gNMI
//! receive it as an [`Authenticator`] and turn a successful check into the
//! [`UserCtx`] that NACM evaluates.

use std::fmt;

use crate::nacm::UserCtx;

/// The local user database as the protocol crates see it.
pub trait Authenticator: Send + Sync + 'static {
    /// Checks a password. CPU-bound on purpose (argon2, tens of ms): async
    /// callers run it in `spawn_blocking`. Unknown users cost the same time
    /// and are refused.
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx>;

    /// Checks an SSH public key given as its RFC 4253 blob (algorithm name
    /// and key data, as an SSH client offers it).
    fn check_public_key(&self, user: &str, blob: &[u8]) -> Option<UserCtx>;
}

impl fmt::Debug for dyn Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator")
    }
}
