//! What every gNMI call shares: the service's settings, the management handle,
//! authentication and the bounds on calls in progress; gNMI timestamps.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nectar_mgmt::MgmtHandle;
use nectar_mgmt::limits::{Slot, Slots};
use nectar_mgmt::nacm::UserCtx;
use tokio_stream::Stream;
use tonic::Status;

use crate::auth::Auth;
use crate::proto::gnmi as pb;

/// Settings of the gNMI service (the `[gnmi]` section of the daemon's
/// configuration).
#[derive(Debug, Clone)]
pub struct Options {
    /// The shortest SAMPLE interval accepted; a sample_interval of 0 means
    /// this one, a shorter one is INVALID_ARGUMENT.
    pub min_sample_interval: Duration,
    /// The sample interval of counters under TARGET_DEFINED.
    pub target_defined_interval: Duration,
    /// How often ON_CHANGE subscriptions re-read state that has no change
    /// events of its own (values are still only sent when they change).
    pub state_poll_interval: Duration,
    /// The most updates one subscription may have waiting for a slow
    /// collector (after coalescing to the latest value per path); beyond it
    /// the subscription ends with RESOURCE_EXHAUSTED.
    pub max_pending: usize,
    /// How long a successful password check is remembered.
    pub auth_cache: Duration,
    /// The largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Get, Set and Subscribe RPCs in progress at once, over all users.
    pub max_sessions: usize,
    /// Get, Set and Subscribe RPCs in progress at once for one user.
    pub max_sessions_per_user: usize,
    /// Subscribe RPCs open at once for one user.
    pub max_subscriptions_per_user: usize,
    /// Nesting of a JSON value in a Set.
    pub document: nectar_yang::encoding::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_sample_interval: Duration::from_millis(100),
            target_defined_interval: Duration::from_secs(10),
            state_poll_interval: Duration::from_secs(1),
            max_pending: 1_000_000,
            auth_cache: Duration::from_secs(60),
            max_message_bytes: 64 << 20,
            max_sessions: 256,
            max_sessions_per_user: 64,
            max_subscriptions_per_user: 32,
            document: Default::default(),
        }
    }
}

/// What every call shares.
#[derive(Debug)]
pub struct CallContext {
    pub handle: MgmtHandle,
    pub auth: Auth,
    pub options: Options,
    /// Get, Set and Subscribe RPCs in progress, in all and per user.
    pub sessions: Arc<Slots>,
    /// Subscribe RPCs open, per user.
    pub subscriptions: Arc<Slots>,
}

impl CallContext {
    /// A Get or Set of `user` in progress, or RESOURCE_EXHAUSTED.
    pub(crate) fn session_slot(&self, user: &UserCtx) -> Result<Slot, Status> {
        self.sessions
            .try_acquire(&user.name)
            .map_err(|r| refused(user, r))
    }

    /// A Subscribe of `user` open: one session and one subscription.
    pub(crate) fn subscription_slots(&self, user: &UserCtx) -> Result<(Slot, Slot), Status> {
        let subscription = self
            .subscriptions
            .try_acquire(&user.name)
            .map_err(|r| refused(user, r))?;
        Ok((self.session_slot(user)?, subscription))
    }
}

fn refused(user: &UserCtx, r: nectar_mgmt::limits::Refused) -> Status {
    tracing::debug!(user = %user.name, reason = %r, "gnmi: call refused");
    crate::Error::from(r).into()
}

/// Nanoseconds since the Unix epoch (gNMI §2.2.1).
pub fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

pub fn to_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub type SubscribeStream =
    Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;
