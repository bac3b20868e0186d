//! A session actor's state besides its flow and waiters, grouped by concern: the tokens it
//! holds, when things are due (tokio's clock only), and how getting tokens goes, with the
//! rules by which that changes: plain functions of (health, event). Where the session is
//! (and until when it backs off) is its `Phase` (`phase.rs`).

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::Secret;
use tokio::time::Instant;

use crate::AgentError;
use crate::session::schedule::retry_delay;
use crate::session::{Effective, Issued};

/// What the session holds: its tokens and what they were obtained with.
#[derive(Default)]
pub(super) struct Tokens {
    /// The token served, also published to the fast path.
    pub(super) current: Option<Arc<Issued>>,
    pub(super) refresh_token: Option<Secret>,
    pub(super) effective: Option<Effective>,
    /// Who is logged in (unverified), for `status`.
    pub(super) subject: Option<String>,
    /// Whether a token was ever obtained (or restored): sessions that never got one are
    /// forgotten when unused.
    pub(super) ever_obtained: bool,
    /// Whether the store was consulted for this session's login (done once, on first use).
    pub(super) restored: bool,
}

/// When things happen, on tokio's clock only: wall-clock times for `status` are derived
/// from these when reported (`status.rs`), so no second clock is kept in step.
pub(super) struct Schedule {
    /// When the proactive refresh (or retry) is due.
    pub(super) refresh_at: Option<Instant>,
    /// When a client last asked for this session.
    pub(super) last_used: Instant,
    /// A request was reaching this session when it was to be forgotten: look again then.
    pub(super) forget_not_before: Option<Instant>,
    /// When the running flow next checks for clients that went away.
    pub(super) next_prune: Instant,
}

impl Schedule {
    pub(super) fn new(now: Instant) -> Schedule {
        Schedule {
            refresh_at: None,
            last_used: now,
            forget_not_before: None,
            next_prune: now,
        }
    }
}

/// How getting tokens goes: failures, backoff, and what a human must do.
#[derive(Default)]
pub(super) struct Health {
    /// Attempts failed in a row.
    pub(super) failures: u32,
    pub(super) last_error: Option<AgentError>,
    /// Why the latest login could not be saved, if it could not.
    pub(super) storage_error: Option<String>,
}

impl Health {
    /// A token was obtained: failures, backoff and any need to log in are over. Returns how
    /// many attempts had failed in a row.
    pub(super) fn recovered(&mut self) -> u32 {
        let failures = self.failures;
        self.failures = 0;
        self.last_error = None;
        failures
    }

    /// An attempt failed with `e` while the current token stays usable for `usable_for`
    /// (zero: none is): no attempt before the returned delay is over (the phase keeps when
    /// that is, `Phase::Backoff`).
    pub(super) fn failed(&mut self, e: AgentError, usable_for: Duration, jitter: f64) -> Duration {
        self.failures += 1;
        let delay = retry_delay(self.failures, usable_for, jitter);
        self.last_error = Some(e);
        delay
    }

    /// A login failed with `e` (a human must log in: `Phase::LoginRequired`). One that could
    /// not reach the endpoint or IdP also backs off like a refresh, for the returned delay,
    /// so that clients asking in a loop do not turn into a loop of calls (`flyte-auth login`
    /// still tries at once).
    pub(super) fn login_failed(&mut self, e: AgentError, jitter: f64) -> Option<Duration> {
        let delay = e.is_transient().then(|| {
            self.failures += 1;
            retry_delay(self.failures, Duration::ZERO, jitter)
        });
        self.last_error = Some(e);
        delay
    }
}
