//! The phase's transitions on their own: `Phase::step` is a plain function of (phase, event,
//! now) returning the next phase and the effects, so each case is one call; and the state
//! `status` reports for each phase and the facts the clock changes.

use std::time::Duration;

use flyte_auth_proto::{ErrorKind, SessionState, WireError};
use tokio::time::Instant;

use super::super::phase::{Answer, Effect, Event as Step, Facts};
/// The transitions on their own: no flow runs, so its handle is `()`.
type Phase = super::super::phase::Phase<()>;

const S: Duration = Duration::from_secs(1);

fn refreshing(resume: Phase) -> Phase {
    Phase::Refreshing {
        resume: Box::new(resume),
        flow: (),
    }
}

fn logging_in(resume: Phase) -> Phase {
    Phase::LoggingIn {
        resume: Box::new(resume),
        flow: (),
    }
}

fn login_required(until: Option<Instant>) -> Phase {
    Phase::LoginRequired {
        why: "log in".into(),
        until,
    }
}

const VALID: Facts = Facts {
    valid: true,
    holds_token: true,
    failed: false,
    idle: false,
    needs_human: false,
};
const EXPIRED: Facts = Facts {
    valid: false,
    ..VALID
};

#[test]
fn a_refresh_that_rotates_is_ready_scheduled_and_answers_with_the_token() {
    let now = Instant::now();
    let (p, fx) = Phase::Ready.step(
        Step::Started {
            login: false,
            flow: (),
        },
        now,
    );
    assert_eq!(p, refreshing(Phase::Ready));
    assert!(fx.is_empty());
    assert_eq!(p.report(&VALID), SessionState::Refreshing);
    assert_eq!(p.report(&EXPIRED), SessionState::Authenticating);

    let (p, fx) = p.step(
        Step::Obtained {
            refresh_in: Some(60 * S),
        },
        now,
    );
    assert_eq!(p, Phase::Ready);
    assert_eq!(
        fx,
        [
            Effect::Schedule(Some(now + 60 * S)),
            Effect::Answer(Answer::Token)
        ]
    );
    // Not renewable (no refresh token): answered, nothing scheduled.
    let (_, fx) = refreshing(Phase::Empty).step(Step::Obtained { refresh_in: None }, now);
    assert_eq!(fx, [Effect::Answer(Answer::Token)]);
}

#[test]
fn a_refresh_failing_while_the_token_is_valid_backs_off_and_retries_in_the_background() {
    let now = Instant::now();
    let failed = Step::Failed {
        delay: 4 * S,
        keep_fresh: true,
    };
    let (p, fx) = refreshing(Phase::Ready).step(failed, now);
    assert_eq!(p, Phase::Backoff { until: now + 4 * S });
    assert_eq!(
        fx,
        [
            Effect::Answer(Answer::Failing { next_in: 4 * S }),
            Effect::Schedule(Some(now + 4 * S)),
        ]
    );
    assert_eq!(p.backoff_left(now), Some(4 * S));
    assert_eq!(p.backoff_left(now + 4 * S), None);
    let f = Facts {
        failed: true,
        ..VALID
    };
    assert_eq!(p.report(&f), SessionState::Backoff);
}

#[test]
fn a_failure_after_expiry_schedules_nothing_and_the_next_request_tries_after_the_backoff() {
    let now = Instant::now();
    let failed = Step::Failed {
        delay: S,
        keep_fresh: false,
    };
    let (p, fx) = refreshing(Phase::Empty).step(failed, now);
    assert_eq!(p, Phase::Backoff { until: now + S });
    assert_eq!(
        fx,
        [
            Effect::Answer(Answer::Failing { next_in: S }),
            Effect::Schedule(None),
        ]
    );
    let f = Facts {
        failed: true,
        ..Facts::default()
    };
    assert_eq!(p.report(&f), SessionState::Failed);
    let f = Facts {
        failed: true,
        ..EXPIRED
    };
    assert_eq!(p.report(&f), SessionState::Expired);
}

#[test]
fn a_rejected_refresh_token_requires_a_login_forgets_the_stored_one_and_stops_refreshing() {
    let now = Instant::now();
    // An earlier backoff is kept: a request still may not start a login loop.
    let backoff = Phase::Backoff { until: now + S };
    let why = "login expired".to_owned();
    let (p, fx) = refreshing(backoff).step(Step::RefreshRejected { why: why.clone() }, now);
    assert_eq!(
        p,
        Phase::LoginRequired {
            why,
            until: Some(now + S)
        }
    );
    assert_eq!(
        fx,
        [
            Effect::ForgetStored,
            Effect::Schedule(None),
            Effect::Answer(Answer::LoginRequired)
        ]
    );
    assert_eq!(p.login_required(), Some("login expired"));
    // The still-valid token is served until it runs out; then a human must log in.
    assert_eq!(p.report(&VALID), SessionState::Ready);
    assert_eq!(p.report(&EXPIRED), SessionState::LoginRequired);
    // A renewal failing meanwhile keeps the need to log in and backs off.
    let failed = Step::Failed {
        delay: 2 * S,
        keep_fresh: false,
    };
    let (p, _) = refreshing(p).step(failed, now);
    assert_eq!(p.login_required(), Some("login expired"));
    assert_eq!(p.backoff_left(now), Some(2 * S));
}

#[test]
fn a_login_replacing_a_refresh_and_then_cancelled_goes_back_to_where_the_session_was() {
    let now = Instant::now();
    let backoff = Phase::Backoff { until: now + S };
    let p = refreshing(backoff.clone());
    // `flyte-auth login` replaces the refresh; its waiters join the login.
    let (p, _) = p.step(
        Step::Started {
            login: true,
            flow: (),
        },
        now,
    );
    assert_eq!(p, logging_in(backoff.clone()));
    assert_eq!(p.report(&VALID), SessionState::Authenticating);
    assert_eq!(
        p.backoff_left(now),
        Some(S),
        "status still shows the next try"
    );
    // The last waiter left: cancelled, and back to backing off.
    let (p, fx) = p.step(Step::Cancelled, now);
    assert_eq!(p, backoff);
    assert!(fx.is_empty());
}

#[test]
fn a_failed_login_requires_one_and_backs_off_only_when_the_idp_was_unreachable() {
    let now = Instant::now();
    let error = WireError::new(ErrorKind::LoginRequired, "denied");
    let refused = Step::LoginFailed {
        why: "denied".into(),
        error: error.clone(),
        delay: None,
    };
    let (p, fx) = logging_in(Phase::Empty).step(refused.clone(), now);
    assert_eq!(p, login_required(None).with_why("denied"));
    assert_eq!(fx, [Effect::Answer(Answer::Error(error.clone()))]);
    // A refusal keeps a backoff already running, and does not start one.
    let (p, _) = logging_in(Phase::Backoff { until: now + S }).step(refused, now);
    assert_eq!(p.backoff_left(now), Some(S));
    let unreachable = Step::LoginFailed {
        why: "cannot reach".into(),
        error,
        delay: Some(2 * S),
    };
    let (p, _) = logging_in(Phase::Empty).step(unreachable, now);
    assert_eq!(p.backoff_left(now), Some(2 * S));
    assert_eq!(p.report(&Facts::default()), SessionState::LoginRequired);
}

#[test]
fn the_store_lookup_hands_the_waiters_back_ready_or_as_it_was() {
    let now = Instant::now();
    let (p, fx) = refreshing(Phase::Empty).step(Step::Restored { with_token: true }, now);
    assert_eq!((p, fx), (Phase::Ready, vec![Effect::Redispatch]));
    let (p, _) = refreshing(Phase::Empty).step(Step::Restored { with_token: false }, now);
    assert_eq!(p, Phase::Empty);
    let (p, _) = refreshing(Phase::Empty).step(Step::NothingStored { note: None }, now);
    assert_eq!(p, Phase::Empty);
    let note = Some("the keyring is locked".to_owned());
    let (p, fx) = refreshing(Phase::Empty).step(Step::NothingStored { note }, now);
    assert_eq!(p.login_required(), Some("the keyring is locked"));
    assert_eq!(fx, [Effect::Redispatch]);
}

#[test]
fn an_unused_session_reports_idle_and_a_token_run_out_expired() {
    let idle = Facts {
        idle: true,
        ..VALID
    };
    assert_eq!(Phase::Ready.report(&idle), SessionState::Idle);
    assert_eq!(Phase::Ready.report(&VALID), SessionState::Ready);
    assert_eq!(Phase::Ready.report(&EXPIRED), SessionState::Expired);
    // Idle says nothing while a refresh runs or a login is required and nothing is valid.
    assert_eq!(
        refreshing(Phase::Ready).report(&idle),
        SessionState::Refreshing
    );
    assert_eq!(
        login_required(None).report(&Facts {
            idle: true,
            ..EXPIRED
        }),
        SessionState::LoginRequired
    );
}

#[test]
fn a_new_session_is_empty_or_waits_for_a_human() {
    let human = Facts {
        needs_human: true,
        ..Facts::default()
    };
    assert_eq!(Phase::Empty.report(&Facts::default()), SessionState::Empty);
    assert_eq!(Phase::Empty.report(&human), SessionState::LoginRequired);
    assert_eq!(
        logging_in(Phase::Empty).report(&human),
        SessionState::Authenticating
    );
    assert_eq!(
        refreshing(Phase::Empty).report(&human),
        SessionState::Authenticating
    );
}

impl Phase {
    fn with_why(self, why: &str) -> Phase {
        match self {
            Phase::LoginRequired { until, .. } => Phase::LoginRequired {
                why: why.into(),
                until,
            },
            p => p,
        }
    }
}

#[test]
fn a_running_phase_holds_its_flow_and_taking_it_out_leaves_where_the_session_stands() {
    let now = Instant::now();
    let backoff = super::super::phase::Phase::<u32>::Backoff { until: now + S };
    let (mut p, _) = backoff.clone().step(
        Step::Started {
            login: false,
            flow: 7,
        },
        now,
    );
    assert_eq!(p.flow(), Some(&7));
    if let Some(f) = p.flow_mut() {
        *f = 8;
    }
    assert_eq!(p.flow(), Some(&8));
    // A login replacing the refresh takes over its handle's place: the old one is gone.
    let (mut p, _) = p.step(
        Step::Started {
            login: true,
            flow: 9,
        },
        now,
    );
    assert_eq!(p.flow(), Some(&9));
    assert_eq!(p.take_flow(), Some(9));
    assert_eq!(p, backoff, "no flow: where the session stood");
    assert_eq!(p.flow(), None);
    assert_eq!(p.take_flow(), None);
    assert_eq!(p, backoff);
}

#[test]
fn the_wait_for_a_slow_refresh_ending_answers_the_overdue_waiters_and_the_refresh_goes_on() {
    let now = Instant::now();
    let p = refreshing(Phase::Ready);
    let (next, fx) = p.clone().step(Step::WaitOver, now);
    assert_eq!(next, p, "still refreshing");
    assert_eq!(fx, [Effect::Answer(Answer::Overdue)]);
}
