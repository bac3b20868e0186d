//! The health rules on their own: plain functions of (health, event), and the backoff they
//! put the phase in; no actor, no runtime.

use std::time::Duration;

use tokio::time::Instant;

use super::super::parts::Health;
use super::super::phase::Event as Step;
use super::*;

/// The transitions on their own: no flow runs, so its handle is `()`.
type Phase = super::super::phase::Phase<()>;

const S: Duration = Duration::from_secs(1);

/// The phase after a renewal that failed with `delay` at `now`.
fn failed_at(phase: Phase, delay: Duration, now: Instant) -> Phase {
    let event = Step::Failed {
        delay,
        keep_fresh: false,
    };
    phase.step(event, now).0
}

#[test]
fn failures_back_off_longer_each_time_and_a_token_forgives_them() {
    let now = Instant::now();
    let mut h = Health::default();
    let phase = Phase::Empty;
    assert_eq!(phase.backoff_left(now), None);
    // With nothing valid to serve: 1 s, 2 s, 4 s … capped at 12 s.
    let delay = h.failed(unreachable(), Duration::ZERO, 0.0);
    assert_eq!(delay, S);
    let phase = failed_at(phase, delay, now);
    assert_eq!(phase.backoff_left(now), Some(S));
    assert_eq!(
        phase.backoff_left(now + S),
        None,
        "over once the delay has passed"
    );
    assert_eq!(h.failed(unreachable(), Duration::ZERO, 0.0), 2 * S);
    for _ in 0..10 {
        h.failed(unreachable(), Duration::ZERO, 0.0);
    }
    assert_eq!(h.failed(unreachable(), Duration::ZERO, 0.0), 12 * S);
    // While a token is served the backoff may grow further, up to its end.
    assert_eq!(h.failed(unreachable(), 3600 * S, 0.0), 300 * S);
    assert_eq!(h.failed(unreachable(), 30 * S, 0.0), 30 * S);
    assert!(h.last_error.is_some());

    assert_eq!(h.recovered(), 15);
    let phase = phase.step(Step::Obtained { refresh_in: None }, now).0;
    assert_eq!((h.failures, phase.backoff_left(now)), (0, None));
    assert!(h.last_error.is_none() && phase.login_required().is_none());
}

#[test]
fn a_failed_login_requires_a_login_and_backs_off_only_when_the_idp_was_unreachable() {
    let now = Instant::now();
    let mut h = Health::default();
    let refused = AgentError::rejected("idp.example.com", "access_denied", None);
    let (why, error) = (refused.to_string(), refused.to_wire());
    let delay = h.login_failed(refused, 0.0);
    let phase = Phase::Empty
        .step(Step::LoginFailed { why, error, delay }, now)
        .0;
    assert!(phase.login_required().is_some());
    assert_eq!(
        phase.backoff_left(now),
        None,
        "a refusal is not retried later"
    );
    let e = unreachable();
    let (why, error) = (e.to_string(), e.to_wire());
    let delay = h.login_failed(e, 0.0);
    let phase = phase.step(Step::LoginFailed { why, error, delay }, now).0;
    assert_eq!(phase.backoff_left(now), Some(S));
    assert_eq!(h.failures, 1);
}
