//! When to refresh and how long to back off: pure functions, so they are easy to test.

use std::time::Duration;

/// Refresh when at most this much of a token's life remains, however long it lives.
const MAX_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Never schedule a refresh sooner than this, whatever the IdP's lifetimes: no tight loops.
const MIN_DELAY: Duration = Duration::from_secs(1);
/// First retry delay after a failed refresh.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay between retries.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);

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

/// Delay before retry number `failures` (1 = first failure): exponential, capped, with
/// ±20 % jitter.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_MAX);
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// A random number in `[0, 1)` for jitter.
pub fn jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_token_refreshes_five_minutes_early_plus_jitter() {
        let h = 3_600_000;
        assert_eq!(refresh_delay(0, h, 0, 0.0), Duration::from_secs(55 * 60));
        let d = refresh_delay(0, h, 0, 1.0);
        assert_eq!(d, Duration::from_secs(55 * 60 - 75));
    }

    #[test]
    fn short_token_refreshes_with_a_third_left() {
        let d = refresh_delay(0, 9_000, 0, 0.0);
        assert_eq!(d, Duration::from_secs(6));
        assert!(refresh_delay(0, 9_000, 0, 1.0) < d);
    }

    #[test]
    fn never_tighter_than_the_floor() {
        assert_eq!(refresh_delay(0, 100, 0, 0.5), MIN_DELAY);
        assert_eq!(refresh_delay(0, 3_600_000, 4_000_000, 0.5), MIN_DELAY);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(40, 0.5), BACKOFF_MAX);
        assert!(backoff(40, 1.0) <= BACKOFF_MAX.mul_f64(1.2));
        assert!(backoff(2, 0.0) >= Duration::from_millis(1600));
    }
}
