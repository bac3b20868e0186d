//! The health rules on their own: plain functions of (health, event, now), no actor, no
//! runtime.

use std::time::Duration;

use tokio::time::Instant;

use super::super::parts::Health;
use super::*;

const S: Duration = Duration::from_secs(1);

#[test]
fn failures_back_off_longer_each_time_and_a_token_forgives_them() {
    let now = Instant::now();
    let mut h = Health::default();
    assert_eq!(h.backoff_left(now), None);
    // With nothing valid to serve: 1 s, 2 s, 4 s … capped at 12 s.
    assert_eq!(h.failed(unreachable(), Duration::ZERO, now, 0.0), S);
    assert_eq!(h.backoff_left(now), Some(S));
    assert_eq!(
        h.backoff_left(now + S),
        None,
        "over once the delay has passed"
    );
    assert_eq!(h.failed(unreachable(), Duration::ZERO, now, 0.0), 2 * S);
    for _ in 0..10 {
        h.failed(unreachable(), Duration::ZERO, now, 0.0);
    }
    assert_eq!(h.failed(unreachable(), Duration::ZERO, now, 0.0), 12 * S);
    // While a token is served the backoff may grow further, up to its end.
    assert_eq!(h.failed(unreachable(), 3600 * S, now, 0.0), 300 * S);
    assert_eq!(h.failed(unreachable(), 30 * S, now, 0.0), 30 * S);
    assert!(h.last_error.is_some());

    assert_eq!(h.recovered(), 15);
    assert_eq!((h.failures, h.backoff_left(now)), (0, None));
    assert!(h.last_error.is_none() && h.login_required.is_none());
}

#[test]
fn a_failed_login_requires_a_login_and_backs_off_only_when_the_idp_was_unreachable() {
    let now = Instant::now();
    let mut h = Health::default();
    h.login_failed(
        AgentError::rejected("idp.example.com", "access_denied", None),
        now,
        0.0,
    );
    assert!(h.login_required.is_some());
    assert_eq!(h.backoff_left(now), None, "a refusal is not retried later");
    h.login_failed(unreachable(), now, 0.0);
    assert_eq!(h.backoff_left(now), Some(S));
    assert_eq!(h.failures, 1);
}
