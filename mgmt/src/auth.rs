//! How the protocol doors authenticate their clients. The daemon owns the
//! user database (config file, generated admin); NETCONF, RESTCONF and gNMI
//! receive it as an [`Authenticator`] and turn a successful check into the
//! [`UserCtx`] that NACM evaluates.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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

    /// The turns password checks of this user database take: at most as
    /// many run at once as it has permits ([`BoundedChecks`] sets the number).
    /// `None` (the default) means the process-wide default bound of
    /// [`max_concurrent_checks`].
    fn check_slots(&self) -> Option<&tokio::sync::Semaphore> {
        None
    }
}

impl fmt::Debug for dyn Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator")
    }
}

/// Password checks running at once, over all doors, by default: each argon2
/// check takes tens of milliseconds of CPU and about 19 MB of memory, so
/// unauthenticated clients must not be able to run as many as they like (a
/// known user and an unknown one cost the same). Further checks wait for a
/// turn. The daemon configures its own number with [`BoundedChecks`].
pub fn max_concurrent_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// The turns of user databases that bring none of their own.
fn default_check_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(max_concurrent_checks()))
}

/// A user database whose password checks run at most `max` at once, over
/// every door it is given to (the daemon gives one to all of them).
pub struct BoundedChecks {
    users: Arc<dyn Authenticator>,
    slots: tokio::sync::Semaphore,
}

impl BoundedChecks {
    /// `max` is at least 1.
    pub fn new(users: Arc<dyn Authenticator>, max: usize) -> BoundedChecks {
        BoundedChecks {
            users,
            slots: tokio::sync::Semaphore::new(max.max(1)),
        }
    }
}

impl fmt::Debug for BoundedChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedChecks")
            .field("available", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl Authenticator for BoundedChecks {
    fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        self.users.check_password(user, password)
    }

    fn check_public_key(&self, user: &str, blob: &[u8]) -> Option<UserCtx> {
        self.users.check_public_key(user, blob)
    }

    fn check_slots(&self) -> Option<&tokio::sync::Semaphore> {
        Some(&self.slots)
    }
}

/// Runs `users.check_password` on the blocking pool, taking a turn of
/// `users.check_slots()` (or of the default [`max_concurrent_checks`]) for
/// it. Every door checks passwords through here.
pub async fn check_password_bounded(
    users: &Arc<dyn Authenticator>,
    user: &str,
    password: &str,
) -> Option<UserCtx> {
    let slots: &tokio::sync::Semaphore = match users.check_slots() {
        Some(own) => own,
        None => default_check_slots(),
    };
    let _slot = slots.acquire().await.ok()?;
    let users = Arc::clone(users);
    let (u, p) = (user.to_string(), password.to_string());
    tokio::task::spawn_blocking(move || users.check_password(&u, &p))
        .await
        .ok()
        .flatten()
}

/// Password checks for doors that authenticate every request (RESTCONF,
/// gNMI): the argon2 check runs on tokio's blocking pool, and a success is
/// remembered for `ttl`, keyed by the user and a salted SHA-256 of the
/// password (never the password itself), so a client sending a request per
/// call does not pay argon2 each time. Failures are never cached, so
/// guessing keeps its full cost.
pub struct PasswordCache {
    users: Arc<dyn Authenticator>,
    ttl: Duration,
    salt: [u8; 16],
    recent: Mutex<Recent>,
}

/// Recent successes: (user, salted password digest) → (identity, when).
type Recent = HashMap<(String, [u8; 32]), (UserCtx, Instant)>;

/// Remembered successes beyond this many are dropped (expired ones first).
const CACHE_MAX: usize = 4096;

impl fmt::Debug for PasswordCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl PasswordCache {
    /// `ttl` zero disables the cache.
    pub fn new(users: Arc<dyn Authenticator>, ttl: Duration) -> PasswordCache {
        PasswordCache {
            users,
            ttl,
            salt: random_salt(),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// The user `user`/`password` authenticates, if any.
    pub async fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(password.as_bytes());
        let key = (user.to_string(), <[u8; 32]>::from(h.finalize()));
        let now = Instant::now();
        if !self.ttl.is_zero()
            && let Some((ctx, at)) = self.lock().get(&key)
            && now.duration_since(*at) < self.ttl
        {
            return Some(ctx.clone());
        }
        let ctx = check_password_bounded(&self.users, user, password).await?;
        if !self.ttl.is_zero() {
            let mut recent = self.lock();
            if recent.len() >= CACHE_MAX {
                recent.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
                if recent.len() >= CACHE_MAX {
                    recent.clear();
                }
            }
            recent.insert(key, (ctx.clone(), now));
        }
        Some(ctx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A per-process random salt (std's RandomState is seeded from the OS).
fn random_salt() -> [u8; 16] {
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x6e65_6374_6172);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl Authenticator for Counting {
        fn check_password(&self, user: &str, password: &str) -> Option<UserCtx> {
            self.0.fetch_add(1, Ordering::SeqCst);
            (password == "right").then(|| UserCtx::new(user, vec![]))
        }
        fn check_public_key(&self, _: &str, _: &[u8]) -> Option<UserCtx> {
            None
        }
    }

    #[tokio::test]
    async fn successes_are_remembered_and_failures_are_not() {
        let users = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = PasswordCache::new(users.clone(), Duration::from_secs(60));
        assert_eq!(
            cache.check_password("bob", "right").await.unwrap().name,
            "bob"
        );
        assert!(cache.check_password("bob", "right").await.is_some());
        assert_eq!(
            users.0.load(Ordering::SeqCst),
            1,
            "the second check is cached"
        );
        assert!(cache.check_password("bob", "wrong").await.is_none());
        assert!(cache.check_password("bob", "wrong").await.is_none());
        assert_eq!(users.0.load(Ordering::SeqCst), 3, "failures always pay");
        assert!(cache.check_password("eve", "right").await.is_some());
        assert_eq!(
            users.0.load(Ordering::SeqCst),
            4,
            "the key includes the user"
        );
        let off = PasswordCache::new(users.clone(), Duration::ZERO);
        off.check_password("bob", "right").await;
        off.check_password("bob", "right").await;
        assert_eq!(users.0.load(Ordering::SeqCst), 6);
    }

    /// Sleeps like an argon2 check, counting the checks running at once.
    struct Slow {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl Authenticator for Slow {
        fn check_password(&self, _: &str, _: &str) -> Option<UserCtx> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.now.fetch_sub(1, Ordering::SeqCst);
            None
        }
        fn check_public_key(&self, _: &str, _: &[u8]) -> Option<UserCtx> {
            None
        }
    }

    /// `n` checks of an unknown user at once, half through the cache and half
    /// straight to the bounded check; every one is refused.
    async fn refuse_unknown(cache: &Arc<PasswordCache>, users: &Arc<dyn Authenticator>, n: usize) {
        let mut tasks = Vec::new();
        for i in 0..n {
            let cache = Arc::clone(cache);
            let users = Arc::clone(users);
            tasks.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    cache.check_password("nobody", "x").await
                } else {
                    check_password_bounded(&users, "nobody", "x").await
                }
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_none());
        }
    }

    // Issue 17, defect 9: unauthenticated clients drove as many argon2
    // checks (19 MB each) at once as they sent requests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_checks_are_bounded() {
        let slow = Arc::new(Slow {
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        });
        let users: Arc<dyn Authenticator> = slow.clone();
        let cache = Arc::new(PasswordCache::new(users.clone(), Duration::from_secs(60)));
        refuse_unknown(&cache, &users, 64).await;
        let max = slow.max.load(Ordering::SeqCst);
        assert!(
            max >= 1 && max <= max_concurrent_checks(),
            "{max} checks at once"
        );
    }

    // The configured bound (`limits.password_checks`) holds for every door
    // sharing the database, through the cache and without it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_configured_bound_holds() {
        for bound in [1, 3] {
            let slow = Arc::new(Slow {
                now: AtomicUsize::new(0),
                max: AtomicUsize::new(0),
            });
            let inner: Arc<dyn Authenticator> = slow.clone();
            let users: Arc<dyn Authenticator> = Arc::new(BoundedChecks::new(inner, bound));
            let cache = Arc::new(PasswordCache::new(users.clone(), Duration::from_secs(60)));
            refuse_unknown(&cache, &users, 32).await;
            let max = slow.max.load(Ordering::SeqCst);
            if bound == 1 {
                assert_eq!(max, 1, "one check at a time");
            } else {
                assert!(
                    (2..=bound).contains(&max),
                    "{max} checks at once, bound {bound}"
                );
            }
        }
    }
}
