//! Tests of the schedule: refresh times, backoff growth, caps and jitter, the bound on calls
//! during an outage, the wait for a stalled refresh, and when a session is forgotten.

use super::*;

const S: Duration = Duration::from_secs(1);

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
    assert_eq!(backoff(1, BACKOFF_MAX, 0.0), S);
    assert_eq!(backoff(3, BACKOFF_MAX, 0.0), 4 * S);
    assert_eq!(backoff(40, BACKOFF_MAX, 0.0), BACKOFF_MAX);
    assert_eq!(backoff(40, EXPIRED_BACKOFF_MAX, 0.0), EXPIRED_BACKOFF_MAX);
    assert_eq!(backoff(u32::MAX, BACKOFF_MAX, 0.0), BACKOFF_MAX);
}

#[test]
fn jitter_only_shortens_by_at_most_a_quarter() {
    for j in [0.0, 0.3, 0.7, 0.999, 1.0, -5.0, 7.0] {
        for n in 1..20 {
            let d = backoff(n, EXPIRED_BACKOFF_MAX, j);
            let nominal = backoff(n, EXPIRED_BACKOFF_MAX, 0.0);
            assert!(d <= nominal && d >= nominal.mul_f64(0.75), "{n} {j}: {d:?}");
        }
    }
    // Different draws give different delays: retries do not line up.
    assert_ne!(backoff(5, BACKOFF_MAX, 0.1), backoff(5, BACKOFF_MAX, 0.9));
}

#[test]
fn the_retry_comes_no_later_than_the_end_of_the_served_token() {
    // Plenty of validity left: the long cap applies.
    assert_eq!(retry_delay(9, 3600 * S, 0.0), 256 * S);
    assert_eq!(retry_delay(12, 3600 * S, 0.0), BACKOFF_MAX);
    // Little left: retry when it runs out, never sooner than the first step.
    assert_eq!(retry_delay(9, 30 * S, 0.0), 30 * S);
    assert_eq!(retry_delay(9, Duration::from_millis(10), 0.0), S);
    // Nothing left: the short cap.
    assert_eq!(retry_delay(9, Duration::ZERO, 0.0), EXPIRED_BACKOFF_MAX);
    assert_eq!(retry_delay(2, Duration::ZERO, 0.0), 2 * S);
}

/// Attempts a session makes in an outage of `outage` that starts when its refresh is due,
/// with a token that stays usable for `usable` more, every attempt failing at once and a
/// client asking all the time (so each retry happens as soon as it is allowed).
fn attempts_in_outage(outage: Duration, usable: Duration, jitter: f64) -> (u32, Duration) {
    let (mut t, mut failures) = (Duration::ZERO, 0);
    loop {
        failures += 1;
        let next = t + retry_delay(failures, usable.saturating_sub(t), jitter);
        if next > outage {
            // The attempt after the outage ends succeeds: recovery takes `next - outage`.
            return (failures, next - outage);
        }
        t = next;
    }
}

#[test]
fn a_minute_long_outage_costs_a_bounded_number_of_calls_and_recovery_one_step() {
    for j in [0.0, 0.5, 1.0] {
        // A 20 s token refreshed with a third of its life left, then 60 s down.
        let (calls, recovery) = attempts_in_outage(60 * S, 7 * S, j);
        assert!(calls <= 12, "{calls} calls (jitter {j})");
        assert!(recovery <= EXPIRED_BACKOFF_MAX, "{recovery:?} (jitter {j})");
        // An hour-long token: the outage ends before it does; the backoff may grow further.
        let (calls, _) = attempts_in_outage(60 * S, 300 * S, j);
        assert!(calls <= 7, "{calls} calls (jitter {j})");
        // Cold session (nothing ever obtained): the short cap from the first failure on.
        let (calls, recovery) = attempts_in_outage(60 * S, Duration::ZERO, j);
        assert!(calls <= 12, "{calls} calls (jitter {j})");
        assert!(recovery <= EXPIRED_BACKOFF_MAX);
    }
    // An hour down costs at most one call per 9 s once nothing valid is left.
    let (calls, _) = attempts_in_outage(3600 * S, 7 * S, 1.0);
    assert!(calls <= 3600 / 9 + 5, "{calls}");
}

#[test]
fn a_client_waits_for_a_refresh_at_most_two_seconds_and_never_past_the_tokens_end() {
    let stale_wait = |running_for, usable_for| join_wait(running_for, Some(usable_for));
    assert_eq!(stale_wait(Duration::ZERO, 30 * S), JOIN_WAIT);
    assert_eq!(
        stale_wait(Duration::from_millis(500), 30 * S),
        1500 * Duration::from_millis(1)
    );
    // A refresh running for longer is stuck: the still-valid token now.
    assert_eq!(stale_wait(10 * S, 30 * S), Duration::ZERO);
    assert_eq!(
        stale_wait(Duration::ZERO, Duration::from_millis(300)),
        Duration::from_millis(300)
    );
}

#[test]
fn a_client_with_nothing_valid_waits_for_a_refresh_at_most_five_seconds() {
    assert_eq!(join_wait(Duration::ZERO, None), EMPTY_WAIT);
    assert_eq!(join_wait(4 * S, None), S);
    // Joining a refresh that has hung for long: fail fast.
    assert_eq!(join_wait(14 * S, None), Duration::ZERO);
}

#[test]
fn only_sessions_that_never_held_a_login_are_forgotten_and_only_when_unused() {
    let ten_min = 600 * S;
    assert!(forgettable(false, false, ten_min, ten_min));
    assert!(!forgettable(false, false, ten_min - S, ten_min));
    assert!(!forgettable(true, false, 10 * ten_min, ten_min));
    assert!(!forgettable(false, true, 10 * ten_min, ten_min));
}

#[test]
fn seconds_round_up() {
    assert_eq!(secs_ceil(Duration::from_millis(1)), 1);
    assert_eq!(secs_ceil(Duration::from_millis(1000)), 1);
    assert_eq!(secs_ceil(Duration::from_millis(9001)), 10);
    assert_eq!(secs_ceil(Duration::ZERO), 0);
}
