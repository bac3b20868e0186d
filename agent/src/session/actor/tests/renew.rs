//! Renewing tokens: rotation, failures with and without a valid token, a rejected refresh
//! token, idle sessions, and the end of a cancelled flow.

use std::time::Duration;

use flyte_auth_proto::{AuthMode, ErrorKind, Secret, SessionState};
use tokio::time::Instant;

use super::*;

#[test]
fn a_refresh_that_rotates_the_refresh_token_keeps_the_new_one_and_answers_its_waiters() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, handle) = actor(AuthMode::Pkce);
    a.tokens.refresh_token = Some(Secret::new("rt1"));
    let mut t = request(&mut a, Duration::from_secs(60), false);
    assert_eq!(running(&a), Some(FlowKind::Refresh));
    assert!(answered(&mut t).is_none(), "waits for the refresh");

    finish(&mut a, tokens(grant("at2", Some("rt2"), 0, HOUR_MS)));
    let token = answered(&mut t).expect("answered").expect("a token");
    assert_eq!(token.access_token.expose(), "at2");
    assert_eq!(
        a.tokens.refresh_token.as_ref().map(Secret::expose),
        Some("rt2")
    );
    assert!(
        a.schedule.refresh_at.is_some(),
        "the next refresh is scheduled"
    );
    assert!(
        handle.snapshot.borrow().is_some(),
        "published to the fast path"
    );
    assert_eq!(a.status().state, SessionState::Ready);

    // A refresh answer without a refresh token keeps the one the session has.
    a.start(FlowKind::Refresh);
    finish(&mut a, tokens(grant("at3", None, 0, HOUR_MS)));
    assert_eq!(
        a.tokens.refresh_token.as_ref().map(Secret::expose),
        Some("rt2")
    );
    assert_eq!(a.health.failures, 0);
}

#[test]
fn a_failed_refresh_while_the_token_is_valid_serves_it_with_a_warning_and_retries_later() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    a.tokens.refresh_token = Some(Secret::new("rt"));
    // Ten minutes left of an hour: short of what the client asks for, still usable.
    a.publish_token(grant("at", None, 50 * 60_000, HOUR_MS), eff());
    let mut t = request(&mut a, Duration::from_secs(3600), false);
    assert_eq!(running(&a), Some(FlowKind::Refresh));

    finish(&mut a, Err(unreachable()));
    let token = answered(&mut t)
        .expect("answered")
        .expect("the valid token");
    let warning = token.warning.expect("a warning");
    assert!(warning.contains("refreshing it failed"), "{warning}");
    assert_eq!(a.health.failures, 1);
    assert!(a.schedule.refresh_at.is_some(), "retried in the background");
    assert_eq!(a.status().state, SessionState::Backoff);

    // During the backoff a request is answered at once and starts nothing.
    let mut t = request(&mut a, Duration::from_secs(3600), false);
    assert!(answered(&mut t).expect("at once").is_ok());
    assert_eq!(running(&a), None);
}

#[test]
fn a_failure_with_no_valid_token_is_an_error_saying_when_the_next_try_is() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::ClientSecret);
    let mut t = request(&mut a, Duration::ZERO, false);
    assert_eq!(running(&a), Some(FlowKind::Fetch));

    finish(&mut a, Err(unreachable()));
    let err = answered(&mut t).expect("answered").expect_err("no token");
    assert_eq!(err.kind, ErrorKind::IdpUnreachable);
    assert!(err.message.ends_with("next try in 1 s"), "{}", err.message);
    // Nothing to keep fresh: the next request after the backoff tries again.
    assert!(a.schedule.refresh_at.is_none());
    assert_eq!(a.status().state, SessionState::Failed);

    let mut t = request(&mut a, Duration::ZERO, false);
    let err = answered(&mut t)
        .expect("at once")
        .expect_err("still failing");
    assert!(err.message.contains("next try in"), "{}", err.message);
    assert_eq!(running(&a), None, "no attempt during the backoff");

    // Once the backoff is over, a request makes the next attempt; its failure doubles it.
    a.phase = Phase::Backoff {
        until: Instant::now(),
    };
    let mut t = request(&mut a, Duration::ZERO, false);
    assert_eq!(running(&a), Some(FlowKind::Fetch));
    finish(&mut a, Err(unreachable()));
    let err = answered(&mut t).expect("answered").expect_err("no token");
    assert!(err.message.ends_with("next try in 2 s"), "{}", err.message);
    assert_eq!(a.health.failures, 2);
}

#[test]
fn a_token_that_ran_out_with_nothing_renewing_it_is_expired() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::ClientSecret);
    a.publish_token(grant("at", None, HOUR_MS + 1, HOUR_MS), eff());
    assert_eq!(a.status().state, SessionState::Expired);
}

#[test]
fn an_idle_session_stops_refreshing_and_a_used_one_refreshes() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    a.tokens.refresh_token = Some(Secret::new("rt"));
    a.publish_token(grant("at", None, 0, HOUR_MS), eff());
    a.refresh_in(Duration::ZERO);
    a.on_timer();
    assert_eq!(running(&a), Some(FlowKind::Refresh), "in use: refreshed");

    let (mut a, _h) = actor(AuthMode::Pkce);
    a.tokens.refresh_token = Some(Secret::new("rt"));
    a.publish_token(grant("at", None, 0, HOUR_MS), eff());
    let idle = a.ctx.settings.idle_session + Duration::from_secs(1);
    let Some(long_ago) = Instant::now().checked_sub(idle) else {
        return; // The machine has been up for less than the idle time: nothing to show.
    };
    a.schedule.last_used = long_ago;
    a.refresh_in(Duration::ZERO);
    a.on_timer();
    assert_eq!(running(&a), None, "idle: not refreshed");
    assert!(a.schedule.refresh_at.is_none());
    assert_eq!(a.status().state, SessionState::Idle);
}

#[test]
fn the_end_of_a_cancelled_flow_changes_nothing() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::ClientSecret);
    let mut t = request(&mut a, Duration::ZERO, false);
    let old = a.phase.flow().map(|r| r.generation).expect("a fetch");
    a.on_flow_end(old + 1, Err(unreachable()));
    assert!(answered(&mut t).is_none());
    assert_eq!(a.health.failures, 0);
    assert_eq!(running(&a), Some(FlowKind::Fetch));
}
