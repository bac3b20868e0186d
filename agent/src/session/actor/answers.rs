//! A session actor's answers while its IdP fails or is slow: the still-valid token with a
//! warning when it is shorter-lived than the client asked for, or the error with when the
//! next try is; and how long a client waits for a refresh before it is answered anyway.

use std::time::Duration;

use flyte_auth_proto::{ErrorKind, TokenResponse, WireError};
use tokio::time::Instant;

use super::Actor;
use crate::session::now_ms;
use crate::session::schedule::{join_wait, secs_ceil};
use crate::session::{Issued, Reply, Waiter};

impl Actor {
    /// Time left before the next attempt may start, if the session is backing off.
    pub(in crate::session) fn backoff_left(&self) -> Option<Duration> {
        self.phase.backoff_left(Instant::now())
    }

    /// The answer while attempts fail and the next is `next_in` away: the still-usable token
    /// with a warning, else the last error and when the next try is.
    pub(super) fn answer_failing(&self, min_valid: Duration, next_in: Duration) -> Reply {
        let next = format!("next try in {} s", secs_ceil(next_in));
        let mut err = match &self.health.last_error {
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

    /// The answer for a client that waited long enough for a slow refresh: the still-usable
    /// token with a warning, else an error saying the IdP does not answer.
    fn answer_slow(&self, min_valid: Duration) -> Reply {
        let host = self.profile.host();
        let secs = self
            .phase
            .flow()
            .map_or(0, |r| r.started.elapsed().as_secs());
        match self.usable() {
            Some(cur) => {
                let why = format!(
                    "{host} has not answered the refresh in {secs} s; it goes on in the background"
                );
                Ok(with_warning(&cur, min_valid, &why))
            }
            None => Err(WireError::new(
                ErrorKind::IdpUnreachable,
                format!(
                    "cannot reach {host}: no answer in {secs} s; still trying in the background, ask again shortly"
                ),
            )),
        }
    }

    /// Adds a waiter to the running flow. While a refresh (or client-credentials fetch)
    /// runs, it waits only briefly (see `schedule::join_wait`): it must not sit out a stalled
    /// IdP's timeout, whether a still-valid token can serve it or not.
    pub(super) fn join_running(&mut self, mut waiter: Waiter) {
        if let Some(run) = self.phase.flow().filter(|r| r.kind.renews()) {
            let wait = join_wait(run.started.elapsed(), self.usable_for());
            if wait.is_zero() {
                let answer = self.answer_slow(waiter.min_valid);
                let _ = waiter.reply.send(answer);
                return;
            }
            waiter.answer_by = Some(Instant::now() + wait);
        }
        self.join(waiter);
    }

    /// Answers the waiters whose wait for the running refresh is over (`Answer::Overdue`).
    pub(super) fn answer_overdue(&mut self) {
        let now = Instant::now();
        for w in std::mem::take(&mut self.waiters) {
            if w.answer_by.is_none_or(|t| t > now) {
                self.waiters.push(w);
                continue;
            }
            let answer = self.answer_slow(w.min_valid);
            let _ = w.reply.send(answer);
        }
    }
}

/// `cur`'s token, with a warning saying how long it lasts and `why` it is not fresher.
pub(super) fn with_warning(cur: &Issued, min_valid: Duration, why: &str) -> TokenResponse {
    let left = cur.remaining_ms(now_ms()) / 1000;
    let mut token = cur.token.clone();
    // Bounded, so that the warning always fits the room the frame check keeps for it
    // (`flows::answer`): the reason can quote an IdP's error text.
    let text = format!(
        "the token is valid for only {left} s more (less than the {} s asked for): {why}",
        min_valid.as_secs()
    );
    token.warning = Some(flyte_auth_proto::text::bounded(
        &text,
        flyte_auth_proto::MAX_WARNING_LEN,
    ));
    token
}
