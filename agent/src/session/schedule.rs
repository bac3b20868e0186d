//! When to refresh, how long to back off, how long a client waits for a refresh before it
//! gets the still-valid token, and when a session is forgotten: pure functions, so they are
//! tested without a runtime.

use std::time::Duration;

/// Refresh when at most this much of a token's life remains, however long it lives.
const MAX_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Never schedule a refresh sooner than this, whatever the IdP's lifetimes: no tight loops.
const MIN_DELAY: Duration = Duration::from_secs(1);
/// First retry delay after a failed refresh.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay between retries while a valid token is still served.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// Longest delay between retries once no valid token is left: someone is waiting for one,
/// so recovery must be prompt, and the calls stay bounded (at most one per 9–12 s).
pub const EXPIRED_BACKOFF_MAX: Duration = Duration::from_secs(12);
/// Each backoff delay is shortened by up to this fraction, at random, so that sessions and
/// agents that failed together do not retry together. Only shortened: a delay never
/// exceeds its nominal value, so the caps above are real bounds.
const BACKOFF_JITTER: f64 = 0.25;
/// How long a client whose `min_valid` the current token does not meet waits for a running
/// refresh before it is given the still-valid token with a warning.
pub const JOIN_WAIT: Duration = Duration::from_secs(2);
/// How long a client with no valid token to fall back on waits for a running refresh before
/// it is told the IdP does not answer: long enough for a slow IdP, short against a stalled
/// one (whose HTTP timeout is 15 s); the refresh goes on and serves the next request.
pub const EMPTY_WAIT: Duration = Duration::from_secs(5);

/// How long to wait before refreshing a token issued at `issued_ms` and expiring at
/// `expires_ms` (Unix ms), seen at `now_ms`. Refresh when a third of the lifetime or five
/// minutes remain, whichever is less, minus up to a quarter of that margin of jitter so that
/// many sessions (and many agents behind one IdP) do not refresh in lock step.
pub fn refresh_delay(issued_ms: u64, expires_ms: u64, now_ms: u64, jitter: f64) -> Duration {
    let lifetime = expires_ms.saturating_sub(issued_ms);
    let margin = (lifetime / 3).min(MAX_MARGIN.as_millis() as u64);
    let spread = (margin as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as u64;
    let at = expires_ms.saturating_sub(margin + spread);
    Duration::from_millis(at.saturating_sub(now_ms)).max(MIN_DELAY)
}

/// Delay before retry number `failures` (1 = after the first failure): exponential from 1 s,
/// capped at `cap`, shortened by up to 25 % of jitter.
pub fn backoff(failures: u32, cap: Duration, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let nominal = BACKOFF_BASE.saturating_mul(1u32 << exp).min(cap);
    nominal.mul_f64(1.0 - BACKOFF_JITTER * jitter.clamp(0.0, 1.0))
}

/// When to try again after failure number `failures`, given how much longer the current
/// token stays usable (`usable_for`; zero when none is left). While a token is served the
/// backoff may grow to [`BACKOFF_MAX`], but the retry comes no later than the token's end, so
/// that from then on the shorter [`EXPIRED_BACKOFF_MAX`] applies.
pub fn retry_delay(failures: u32, usable_for: Duration, jitter: f64) -> Duration {
    if usable_for.is_zero() {
        return backoff(failures, EXPIRED_BACKOFF_MAX, jitter);
    }
    let floor = backoff(1, BACKOFF_MAX, jitter);
    backoff(failures, BACKOFF_MAX, jitter).min(usable_for.max(floor))
}

/// How much longer a client whose `min_valid` is unmet waits for a refresh (or client
/// credentials fetch) that has been running for `running_for`. With a token still usable for
/// `usable_for`, until the refresh has had [`JOIN_WAIT`] and never past the token's end, then
/// it gets that token; with none, until the refresh has had [`EMPTY_WAIT`], then it gets an
/// error. Zero: answer now.
pub fn join_wait(running_for: Duration, usable_for: Option<Duration>) -> Duration {
    match usable_for {
        Some(usable) => JOIN_WAIT.saturating_sub(running_for).min(usable),
        None => EMPTY_WAIT.saturating_sub(running_for),
    }
}

/// Whether a session may be removed: it never held a login (no token was ever obtained, no
/// refresh token is kept), nothing is in progress for it, and nobody asked for it in
/// `forget_after`. Such sessions are typos and outages of endpoints nobody uses any more.
pub fn forgettable(
    holds_login: bool,
    busy: bool,
    unused_for: Duration,
    forget_after: Duration,
) -> bool {
    !holds_login && !busy && unused_for >= forget_after
}

/// A random number in `[0, 1)` for jitter.
pub fn jitter() -> f64 {
    rand::random::<f64>()
}

/// Whole seconds, rounded up, for messages ("next try in 3 s").
pub fn secs_ceil(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

#[cfg(test)]
mod tests;
