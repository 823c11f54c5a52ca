//! The event stream: link changes, table overflows and restarts, fanned out to every subscriber
//! (each gets its own `std::sync::mpsc` receiver; dead subscribers are pruned). Table-full
//! events are rate-limited to one per table per second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

/// Something the management plane should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An interface became operationally up.
    LinkUp {
        /// Interface name.
        interface: String,
    },
    /// An interface became operationally down.
    LinkDown {
        /// Interface name.
        interface: String,
    },
    /// A table refused an entry because it is full.
    TableFull {
        /// Table name ("l2fib", "neighbor", "conntrack", "nat44", "buffers").
        table: &'static str,
        /// Its limit.
        limit: usize,
    },
    /// The dataplane's configuration was lost or is suspect: it was reset
    /// ([`Dataplane::reset`](crate::Dataplane::reset), a restart) or a worker thread crashed
    /// and was restarted. Whoever owns the configuration must replay all of it
    /// ([`Dataplane::replace`](crate::Dataplane::replace)).
    Reset {
        /// Why, for logs and notifications.
        reason: String,
    },
}

/// Tables that can overflow (index into the rate limiter).
pub const TABLES: [&str; 5] = ["l2fib", "neighbor", "conntrack", "nat44", "buffers"];

/// Subscribers and rate limiting.
#[derive(Debug, Default)]
pub struct EventBus {
    subs: Mutex<Vec<Sender<Event>>>,
    last_full: [AtomicU64; 5],
}

impl EventBus {
    /// A new subscription.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subs.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        rx
    }

    /// Sends an event to every subscriber.
    pub fn publish(&self, e: Event) {
        tracing::debug!(event = ?e, "dataplane event");
        let mut subs = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| s.send(e.clone()).is_ok());
    }

    /// Reports a full table, at most once per second per table.
    pub fn table_full(&self, table: &'static str, limit: usize, now: u64) {
        let i = TABLES.iter().position(|t| *t == table).unwrap_or(0);
        let last = self.last_full[i].load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < 1_000_000_000 {
            return;
        }
        if self.last_full[i]
            .compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.publish(Event::TableFull { table, limit });
        }
    }
}
