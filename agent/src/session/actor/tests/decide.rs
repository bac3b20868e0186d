//! The request path's decisions on their own: one call each, no actor, no runtime.

use std::time::Duration;

use flyte_auth_proto::AuthMode;

use super::super::decide::{self, Ask, Decision};
use super::*;

const ASK: Ask = Ask {
    satisfied: false,
    running: false,
    backoff_left: None,
    mode: AuthMode::DeviceFlow,
    has_refresh_token: false,
    restored: true,
    interactive: false,
};

#[test]
fn a_good_token_is_served_a_running_flow_joined_and_a_backoff_answered_at_once() {
    let a = Ask {
        satisfied: true,
        running: true,
        ..ASK
    };
    assert_eq!(decide::request(&a), Decision::Serve);
    let a = Ask {
        running: true,
        backoff_left: Some(Duration::from_secs(3)),
        ..ASK
    };
    assert_eq!(decide::request(&a), Decision::Join);
    let next_in = Duration::from_secs(3);
    let a = Ask {
        backoff_left: Some(next_in),
        has_refresh_token: true,
        ..ASK
    };
    assert_eq!(decide::request(&a), Decision::Failing { next_in });
}

#[test]
fn the_flow_a_request_starts_follows_the_mode_and_what_the_session_holds() {
    let start = |a: Ask| match decide::request(&a) {
        Decision::Start(kind) => Some(kind),
        _ => None,
    };
    let secret = Ask {
        mode: AuthMode::ClientSecret,
        has_refresh_token: true,
        restored: false,
        ..ASK
    };
    assert_eq!(start(secret), Some(FlowKind::Fetch));
    let refresh = Ask {
        has_refresh_token: true,
        restored: false,
        ..ASK
    };
    assert_eq!(start(refresh), Some(FlowKind::Refresh));
    let first_use = Ask {
        restored: false,
        ..ASK
    };
    assert_eq!(start(first_use), Some(FlowKind::Restore));
    let human = Ask {
        interactive: true,
        ..ASK
    };
    assert_eq!(
        start(human),
        Some(FlowKind::Login {
            method: AuthMode::DeviceFlow,
            started_interactively: true
        })
    );
    // A program without a terminal may still try a browser login, never a device code.
    let program = Ask {
        mode: AuthMode::Pkce,
        ..ASK
    };
    assert_eq!(
        start(program),
        Some(FlowKind::Login {
            method: AuthMode::Pkce,
            started_interactively: false
        })
    );
    assert_eq!(decide::request(&ASK), Decision::LoginRequired);
}

#[test]
fn the_timer_renews_a_used_session_and_never_logs_in() {
    assert_eq!(
        decide::timer(false, AuthMode::ClientSecret, false),
        Some(FlowKind::Fetch)
    );
    assert_eq!(
        decide::timer(false, AuthMode::Pkce, true),
        Some(FlowKind::Refresh)
    );
    assert_eq!(decide::timer(false, AuthMode::Pkce, false), None);
    assert_eq!(
        decide::timer(true, AuthMode::ClientSecret, true),
        None,
        "idle"
    );
}
