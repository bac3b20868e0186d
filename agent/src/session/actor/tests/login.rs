//! Logins: joining one, its prompt, cancelling it when nobody is left, backing off.

use std::time::Duration;

use flyte_auth_proto::{AuthMode, ErrorKind, Event, Secret, SessionState};
use tokio::time::Instant;

use super::*;

#[test]
fn a_rejected_refresh_token_requires_a_login_and_starts_one_only_for_a_human() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    a.tokens.refresh_token = Some(Secret::new("dead"));
    let mut program = request(&mut a, Duration::ZERO, false);
    let mut human = request(&mut a, Duration::ZERO, true);
    assert_eq!(running(&a), Some(FlowKind::Refresh));

    let rejected = AgentError::rejected("idp.example.com", "invalid_grant", None);
    finish(&mut a, Err(rejected));
    let err = answered(&mut program)
        .expect("answered")
        .expect_err("login");
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    assert!(
        err.message.contains("rejected the refresh token"),
        "{}",
        err.message
    );
    assert!(
        a.tokens.refresh_token.is_none(),
        "the dead refresh token is dropped"
    );
    assert!(
        answered(&mut human).is_none(),
        "the human waits for a login"
    );
    assert!(matches!(running(&a), Some(FlowKind::Login { .. })));
}

#[test]
fn a_login_request_joins_the_login_in_progress_and_sees_its_prompt() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    let (w1, _t1) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::Pkce, false, w1);
    let generation = a.phase.flow().map(|r| r.generation);
    let prompt = Event::OpenUrl {
        url: "https://idp.example.com/auth".into(),
        opened: true,
    };
    a.on_event(prompt.clone());

    let (w2, mut t2) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::Pkce, false, w2);
    assert_eq!(a.phase.flow().map(|r| r.generation), generation, "joined");
    assert_eq!(a.waiters.len(), 2);
    let Ticket::Pending { events, .. } = &mut t2 else {
        panic!("answered at once")
    };
    assert_eq!(events.try_recv().ok(), Some(prompt), "the prompt it missed");
    assert_eq!(a.status().state, SessionState::Authenticating);
}

#[test]
fn a_login_is_cancelled_once_its_last_waiter_has_been_gone_for_the_grace_period() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    let (w1, t1) = waiter(true, Duration::ZERO);
    let (w2, t2) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::Pkce, false, w1);
    a.on_login(AuthMode::Pkce, false, w2);
    drop(t1);
    a.prune();
    assert!(a.phase.flow().is_some(), "one client still waits");
    drop(t2);
    a.prune();
    assert!(
        a.phase.flow().is_some(),
        "a client may come back within the grace period"
    );
    if let Some(run) = a.phase.flow_mut() {
        run.orphaned_since = Instant::now().checked_sub(LOGIN_GRACE);
    }
    a.prune();
    assert!(a.phase.flow().is_none(), "cancelled");
    assert_eq!(a.status().state, SessionState::LoginRequired);
}

#[test]
fn a_login_nobody_can_see_is_cancelled_at_once() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::Pkce);
    // A program without a terminal may start a browser login; if no browser opened, it
    // cannot take part.
    let mut t = request(&mut a, Duration::ZERO, false);
    assert!(matches!(running(&a), Some(FlowKind::Login { .. })));
    a.on_event(Event::OpenUrl {
        url: "https://idp.example.com/auth".into(),
        opened: false,
    });
    let err = answered(&mut t).expect("answered").expect_err("login");
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    assert!(a.phase.flow().is_none());
}

#[test]
fn a_login_that_cannot_reach_the_idp_backs_off_and_an_explicit_login_still_tries() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::DeviceFlow);
    let mut t = request(&mut a, Duration::ZERO, true);
    assert!(matches!(running(&a), Some(FlowKind::Login { .. })));
    finish(&mut a, Err(unreachable()));
    assert_eq!(
        answered(&mut t).expect("answered").map_err(|e| e.kind),
        Err(ErrorKind::IdpUnreachable)
    );
    assert!(matches!(
        a.phase,
        Phase::LoginRequired { until: Some(_), .. }
    ));
    let mut t = request(&mut a, Duration::ZERO, true);
    assert!(answered(&mut t).expect("at once").is_err());
    assert_eq!(running(&a), None, "no login loop");
    let (w, _t) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::DeviceFlow, false, w);
    assert!(matches!(running(&a), Some(FlowKind::Login { .. })));
}

#[test]
fn a_client_back_within_the_grace_period_rejoins_and_one_after_it_starts_a_new_login() {
    let rt = runtime();
    let _in = rt.enter();
    let (mut a, _h) = actor(AuthMode::DeviceFlow);
    let (w, t) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::DeviceFlow, false, w);
    let first = a.phase.flow().map(|r| r.generation);
    drop(t);
    a.prune();
    // ^C and run it again: the same login.
    let (w, _back) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::DeviceFlow, false, w);
    assert_eq!(a.phase.flow().map(|r| r.generation), first);
    a.prune();
    assert!(
        a.phase.flow().is_some_and(|r| r.orphaned_since.is_none()),
        "waited for again"
    );
    // Everyone gone for the grace period: cancelled; the next login is a new one.
    a.waiters.clear();
    a.prune();
    if let Some(run) = a.phase.flow_mut() {
        run.orphaned_since = Instant::now().checked_sub(LOGIN_GRACE);
    }
    a.prune();
    assert!(a.phase.flow().is_none());
    let (w, _t) = waiter(true, Duration::ZERO);
    a.on_login(AuthMode::DeviceFlow, false, w);
    let second = a.phase.flow().map(|r| r.generation);
    assert!(second.is_some() && second != first, "a new flow");
}
