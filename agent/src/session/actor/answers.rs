//! A session actor's answers while its IdP fails or is slow: the still-valid token with a
//! warning when it is shorter-lived than the client asked for, or the error with when the
//! next try is; and how long a client waits for a refresh that a valid token could spare.

use std::time::Duration;

use flyte_auth_proto::{ErrorKind, TokenResponse, WireError};
use tokio::time::Instant;

use super::Actor;
use crate::flows::now_ms;
use crate::session::schedule::{secs_ceil, stale_wait};
use crate::session::{Issued, Reply, Waiter};

impl Actor {
    /// Time left before the next attempt may start, if the session is backing off.
    pub(in crate::session) fn backoff_left(&self) -> Option<Duration> {
        let left = self.backoff_until?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some(left)
    }

    /// The answer while attempts fail and the next is `next_in` away: the still-usable token
    /// with a warning, else the last error and when the next try is.
    pub(super) fn answer_failing(&self, min_valid: Duration, next_in: Duration) -> Reply {
        let next = format!("next try in {} s", secs_ceil(next_in));
        let mut err = match &self.last_error {
            Some(e) => e.to_wire(),
            None => WireError::new(
                ErrorKind::IdpUnreachable,
                format!("cannot reach {}", self.profile.host()),
            ),
        };
        match self.usable() {
            Some(cur) => {
                let why = format!("refreshing it failed: {}; {next}", err.message);
                Ok(with_warning(&cur, min_valid, &why))
            }
            None => {
                err.message = format!("{}; {next}", err.message);
                Err(err)
            }
        }
    }

    /// The still-usable token with a warning that the refresh is slow, if there is one.
    fn answer_slow(&self, min_valid: Duration) -> Option<TokenResponse> {
        let cur = self.usable()?;
        let secs = self
            .running
            .as_ref()
            .map_or(0, |r| r.started.elapsed().as_secs());
        let why = format!(
            "{} has not answered the refresh in {secs} s; it goes on in the background",
            self.profile.host()
        );
        Some(with_warning(&cur, min_valid, &why))
    }

    /// Adds a waiter to the running flow. One that the current token could serve, though
    /// it is shorter-lived than asked for, waits for a refresh only briefly (see
    /// `schedule::stale_wait`): it must not sit out a stalled IdP's timeout.
    pub(super) fn join_running(&mut self, mut waiter: Waiter) {
        let renewing = self.running.as_ref().filter(|r| r.kind.renews());
        if let (Some(run), Some(usable_for)) = (renewing, self.usable_for()) {
            let wait = stale_wait(run.started.elapsed(), usable_for);
            if wait.is_zero()
                && let Some(token) = self.answer_slow(waiter.min_valid)
            {
                let _ = waiter.reply.send(Ok(token));
                return;
            }
            waiter.stale_at = Some(Instant::now() + wait);
        }
        self.join(waiter);
    }

    /// Gives the still-valid token to the waiters whose wait for the refresh is over; if the
    /// token ran out meanwhile, they wait for the refresh after all.
    pub(super) fn serve_stale_waiters(&mut self) {
        let now = Instant::now();
        for mut w in std::mem::take(&mut self.waiters) {
            if w.stale_at.is_none_or(|t| t > now) {
                self.waiters.push(w);
                continue;
            }
            match self.answer_slow(w.min_valid) {
                Some(token) => {
                    let _ = w.reply.send(Ok(token));
                }
                None => {
                    w.stale_at = None;
                    self.waiters.push(w);
                }
            }
        }
    }
}

/// `cur`'s token, with a warning saying how long it lasts and `why` it is not fresher.
pub(super) fn with_warning(cur: &Issued, min_valid: Duration, why: &str) -> TokenResponse {
    let left = cur.remaining_ms(now_ms()) / 1000;
    let mut token = cur.token.clone();
    token.warning = Some(format!(
        "the token is valid for only {left} s more (less than the {} s asked for): {why}",
        min_valid.as_secs()
    ));
    token
}
