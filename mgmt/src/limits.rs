//! Bounds on what clients hold at once, shared by the protocol doors: a
//! [`Slots`] counts holdings (NETCONF sessions, RESTCONF requests and event
//! streams, gNMI RPCs and subscriptions) against a total for the door and a
//! bound per user, so one user reaching its bound never takes the others'
//! share. A [`Slot`] is one holding; dropping it gives it back.
//!
//! Each door turns a [`Refused`] into its own standard error (NETCONF: a
//! refused SSH subsystem; RESTCONF: `resource-denied` with 429 or 503; gNMI:
//! RESOURCE_EXHAUSTED). Imports std and the crate's error type only.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Holdings counted against a total and a per-user bound.
pub struct Slots {
    /// What is counted, for messages ("NETCONF sessions").
    what: &'static str,
    /// The configuration keys of the two bounds, for messages.
    keys: (&'static str, &'static str),
    max_total: usize,
    max_per_user: usize,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    total: usize,
    per_user: HashMap<String, usize>,
}

impl fmt::Debug for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("what", &self.what)
            .field("max_total", &self.max_total)
            .field("max_per_user", &self.max_per_user)
            .finish_non_exhaustive()
    }
}

/// Why a slot was not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The door holds `max` already, over all users.
    Total {
        what: &'static str,
        key: &'static str,
        max: usize,
    },
    /// This user holds `max` already.
    PerUser {
        what: &'static str,
        key: &'static str,
        user: String,
        max: usize,
    },
}

impl Refused {
    /// Whether the user's own bound was reached (else the door's total).
    pub fn is_per_user(&self) -> bool {
        matches!(self, Refused::PerUser { .. })
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Total { what, key, max } => write!(
                f,
                "too many {what}: the server allows {max} at once over all users ({key}); \
                 retry when one ends"
            ),
            Refused::PerUser {
                what,
                key,
                user,
                max,
            } => write!(
                f,
                "too many {what}: user {user} already has {max}, the most one user may \
                 have at once ({key}); end one first"
            ),
        }
    }
}

impl std::error::Error for Refused {}

/// A refusal as RFC 6241 says it: `resource-denied` (error-type protocol).
impl From<Refused> for crate::error::MgmtError {
    fn from(r: Refused) -> Self {
        crate::error::MgmtError::protocol(crate::error::ErrorTag::ResourceDenied, r.to_string())
    }
}

impl Slots {
    /// `max_total` holdings over all users, `max_per_user` for each user.
    /// `what` names the holdings and `keys` the two bounds' configuration
    /// keys (total, per user) in refusal messages.
    pub fn new(
        what: &'static str,
        keys: (&'static str, &'static str),
        max_total: usize,
        max_per_user: usize,
    ) -> Arc<Slots> {
        Arc::new(Slots {
            what,
            keys,
            max_total,
            max_per_user,
            held: Mutex::new(Held::default()),
        })
    }

    /// One more holding for `user`, or why not.
    pub fn try_acquire(self: &Arc<Self>, user: &str) -> Result<Slot, Refused> {
        let mut held = self.lock();
        let mine = held.per_user.get(user).copied().unwrap_or(0);
        if mine >= self.max_per_user {
            return Err(Refused::PerUser {
                what: self.what,
                key: self.keys.1,
                user: user.to_string(),
                max: self.max_per_user,
            });
        }
        if held.total >= self.max_total {
            return Err(Refused::Total {
                what: self.what,
                key: self.keys.0,
                max: self.max_total,
            });
        }
        held.total += 1;
        *held.per_user.entry(user.to_string()).or_insert(0) += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            user: user.to_string(),
        })
    }

    /// Holdings of `user` now.
    pub fn held_by(&self, user: &str) -> usize {
        self.lock().per_user.get(user).copied().unwrap_or(0)
    }

    /// Holdings over all users now.
    pub fn total(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(&self, user: &str) {
        let mut held = self.lock();
        held.total = held.total.saturating_sub(1);
        if let Some(n) = held.per_user.get_mut(user) {
            *n -= 1;
            if *n == 0 {
                held.per_user.remove(user);
            }
        }
    }
}

/// One holding; given back when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    user: String,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("what", &self.slots.what)
            .field("user", &self.user)
            .finish()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release(&self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_total_bounds() {
        let s = Slots::new("things", ("x.max", "x.max_per_user"), 3, 2);
        let a1 = s.try_acquire("alice").unwrap();
        let _a2 = s.try_acquire("alice").unwrap();
        let e = s.try_acquire("alice").unwrap_err();
        assert!(e.is_per_user(), "{e}");
        assert!(e.to_string().contains("x.max_per_user"), "{e}");
        assert!(e.to_string().contains("alice already has 2"), "{e}");
        // Another user still gets one: alice's bound is hers alone.
        let _b1 = s.try_acquire("bob").unwrap();
        // The total is reached now: bob is refused by it.
        let e = s.try_acquire("bob").unwrap_err();
        assert!(!e.is_per_user(), "{e}");
        assert!(e.to_string().contains("allows 3 at once"), "{e}");
        assert_eq!(s.total(), 3);
        drop(a1);
        assert_eq!(s.held_by("alice"), 1);
        let _b2 = s.try_acquire("bob").unwrap();
        assert_eq!(s.held_by("bob"), 2);
        assert_eq!(s.total(), 3);
    }

    #[test]
    fn a_user_without_holdings_is_forgotten() {
        let s = Slots::new("things", ("a", "b"), 10, 10);
        let slot = s.try_acquire("carol").unwrap();
        drop(slot);
        assert_eq!(s.held_by("carol"), 0);
        assert!(s.lock().per_user.is_empty());
        assert_eq!(s.total(), 0);
    }
}
