//! The local users: password and public-key checks, and NACM groups.
//!
//! One [`Users`] value is built at start-up and shared (it is cheap to clone behind an `Arc`)
//! by NETCONF, RESTCONF and gNMI. Argon2 verification costs tens of milliseconds of CPU on
//! purpose: async callers should run [`Users::verify_password`] in `spawn_blocking`.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, Result};
use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use ssh_key::sha2::{Digest as _, Sha256};

use super::GENERATED_ADMIN;
use crate::config::{Secret, UserConfig};

/// The group whose members may do everything (NACM rules aside).
pub const ADMIN_GROUP: &str = "admin";

/// An argon2id hash with the default parameters of a password nobody knows. Verifying an
/// unknown user's password against it takes as long as for a real user, so response time
/// does not tell which user names exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmVjdGFyLWR1bW15LXNhbHQ$\
                          3bqYX0ZJ4cW4mFq7Yh1n2rT0zLk8sPe6dVu9aQbCxEw";

/// All local users, by name.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: BTreeMap<String, User>,
}

/// One user.
#[derive(Clone)]
pub struct User {
    name: String,
    password: Option<Password>,
    /// Authorized public keys as RFC 4253 key blobs (algorithm name + key data).
    keys: Vec<Vec<u8>>,
    groups: Vec<String>,
}

#[derive(Clone)]
enum Password {
    /// From `password = "..."` in the config file.
    Plain(Secret),
    /// An argon2 PHC string.
    Hash(String),
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field(
                "password",
                &match self.password {
                    None => "none",
                    Some(Password::Plain(_)) => "plain (redacted)",
                    Some(Password::Hash(_)) => "argon2 hash (redacted)",
                },
            )
            .field("keys", &self.keys.len())
            .field("groups", &self.groups)
            .finish()
    }
}

impl User {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the user is in group `admin`.
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// Whether the user can log in with a password at all.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Whether the user has authorized SSH keys.
    pub fn has_public_keys(&self) -> bool {
        !self.keys.is_empty()
    }
}

impl Users {
    /// The users of a validated configuration (see `Config::validate`).
    pub fn from_config(users: &[UserConfig]) -> Result<Users> {
        let mut out = BTreeMap::new();
        for (i, user) in users.iter().enumerate() {
            let password = match (&user.password, &user.password_hash) {
                (_, Some(hash)) => Some(Password::Hash(hash.clone())),
                (Some(plain), None) => Some(Password::Plain(plain.clone())),
                (None, None) => None,
            };
            let keys = user
                .ssh_authorized_keys
                .iter()
                .enumerate()
                .map(|(k, line)| {
                    ssh_key::PublicKey::from_openssh(line.trim())
                        .and_then(|key| key.to_bytes())
                        .with_context(|| format!("users[{i}].ssh_authorized_keys[{k}]"))
                })
                .collect::<Result<Vec<_>>>()?;
            out.insert(
                user.name.clone(),
                User {
                    name: user.name.clone(),
                    password,
                    keys,
                    groups: user.groups.clone(),
                },
            );
        }
        Ok(Users { users: out })
    }

    /// The single user `admin` in group `admin`, with the generated password's hash.
    pub fn generated_admin(password_hash: String) -> Users {
        let admin = User {
            name: GENERATED_ADMIN.to_owned(),
            password: Some(Password::Hash(password_hash)),
            keys: Vec::new(),
            groups: vec![ADMIN_GROUP.to_owned()],
        };
        Users {
            users: BTreeMap::from([(admin.name.clone(), admin)]),
        }
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// A user's NACM groups; `None` for an unknown user.
    pub fn groups(&self, name: &str) -> Option<&[String]> {
        self.users.get(name).map(User::groups)
    }

    /// Whether `name` is a known user in group `admin`.
    pub fn is_admin(&self, name: &str) -> bool {
        self.users.get(name).is_some_and(User::is_admin)
    }

    /// Checks a password: argon2 verification for a hash, a constant-time comparison for a
    /// clear-text password from the config file (after an argon2 check of the same cost).
    /// Unknown users and users without a password cost the same time as a real check and
    /// are refused. CPU-bound: see the module docs.
    pub fn verify_password(&self, name: &str, password: &str) -> bool {
        match self.users.get(name).and_then(|u| u.password.as_ref()) {
            Some(Password::Hash(phc)) => verify_argon2(phc, password),
            Some(Password::Plain(expected)) => {
                // The same argon2 cost as every other check, so timing does not
                // tell a user with a clear-text password from an unknown name.
                let _ = verify_argon2(DUMMY_HASH, password);
                constant_time_eq(expected.expose(), password)
            }
            None => {
                let _ = verify_argon2(DUMMY_HASH, password);
                false
            }
        }
    }

    /// Checks a public key, given as its RFC 4253 blob (what an SSH client offers; with russh,
    /// `key.to_bytes()`), against the user's authorized keys. The comment is not compared.
    pub fn verify_public_key_blob(&self, name: &str, blob: &[u8]) -> bool {
        self.users
            .get(name)
            .is_some_and(|u| u.keys.iter().any(|k| k.as_slice() == blob))
    }

    /// [`verify_public_key_blob`](Self::verify_public_key_blob) for an ssh-key public key.
    pub fn verify_public_key(&self, name: &str, key: &ssh_key::PublicKey) -> bool {
        key.to_bytes()
            .is_ok_and(|blob| self.verify_public_key_blob(name, &blob))
    }
}

fn verify_argon2(phc: &str, password: &str) -> bool {
    // The algorithm, version and parameters come from the PHC string.
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Compares SHA-256 digests byte by byte without early exit, so neither the position of the
/// first difference nor the length of the expected password shows in the timing.
fn constant_time_eq(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
pub(super) const DUMMY_HASH_FOR_TESTS: &str = DUMMY_HASH;

impl nectar_mgmt::Authenticator for Users {
    fn check_password(&self, user: &str, password: &str) -> Option<nectar_mgmt::nacm::UserCtx> {
        self.verify_password(user, password)
            .then(|| self.user_ctx(user))
            .flatten()
    }

    fn check_public_key(&self, user: &str, blob: &[u8]) -> Option<nectar_mgmt::nacm::UserCtx> {
        self.verify_public_key_blob(user, blob)
            .then(|| self.user_ctx(user))
            .flatten()
    }
}

impl Users {
    /// The NACM identity of a known user.
    fn user_ctx(&self, name: &str) -> Option<nectar_mgmt::nacm::UserCtx> {
        let groups = self.groups(name)?.to_vec();
        Some(nectar_mgmt::nacm::UserCtx::new(name, groups))
    }
}
