//! The session's phase, the one stored answer to "in which state is this session", and its
//! transitions: a plain function of (phase, event, now) that returns the next phase and the
//! effects the actor carries out (answer the waiters, schedule the refresh, forget the
//! stored login, hand the waiters back). No runtime, no clock of its own: tested directly.
//!
//! Two facts change with the clock alone, without an event, and so are not phases: a held
//! token running out, and a session nobody used for the idle time. `status` reads them when
//! it reports (`report`): a `Ready` session whose token ran out shows `expired`, an unused
//! one `idle`.

use std::time::Duration;

use flyte_auth_proto::{SessionState, WireError};
use tokio::time::Instant;

/// Where a session is. Exactly one holds; whether a token is held, and the count of failures,
/// are data beside it (`Tokens`, `Health`), since each can go with several phases.
///
/// `F` is the running flow's handle (its task, prompt and events; `runner::Running` in the
/// actor), held by the phase that runs it, so that which flow runs and what the phase is
/// cannot disagree. The transitions do not look into it: tests use `()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum Phase<F = ()> {
    /// Nothing obtained, nothing failed: a new session.
    #[default]
    Empty,
    /// A login or an import runs (a human may be looking at its prompt). `resume` is where
    /// the session goes back to if it is cancelled.
    LoggingIn { resume: Box<Phase<F>>, flow: F },
    /// A refresh, client-credentials fetch or store lookup runs; `resume` as above.
    Refreshing { resume: Box<Phase<F>>, flow: F },
    /// The last attempt obtained a token.
    Ready,
    /// The last attempt failed with a passing fault: no attempt starts before `until`.
    Backoff { until: Instant },
    /// A human must log in, for `why` (a held token may still be served until it runs out).
    /// A login that could not reach the IdP also backs off: no attempt before `until`.
    LoginRequired { why: String, until: Option<Instant> },
}

/// What happens to a session.
#[derive(Debug, Clone)]
pub(super) enum Event<F = ()> {
    /// The flow `flow` starts: a login or import (`login`), else a renewal or store lookup.
    /// One that replaces a running flow takes over where that one would have gone back to.
    Started { login: bool, flow: F },
    /// The running flow was cancelled (its waiters left).
    Cancelled,
    /// The wait of some clients for a slow refresh is over; the refresh goes on.
    WaitOver,
    /// A token was obtained; it is refreshed in `refresh_in` if it can be renewed.
    Obtained { refresh_in: Option<Duration> },
    /// A renewal failed with a passing fault: no attempt for `delay`. `keep_fresh`: a usable
    /// token is still served and someone uses the session, so it is retried in the background.
    Failed { delay: Duration, keep_fresh: bool },
    /// A login failed with `error`; one that could not reach the IdP backs off for `delay`.
    LoginFailed {
        why: String,
        error: WireError,
        delay: Option<Duration>,
    },
    /// The IdP rejected the refresh token: a human must log in, for `why`.
    RefreshRejected { why: String },
    /// The store lookup found a login; `with_token`: its access token is still good.
    Restored { with_token: bool },
    /// The store lookup found nothing (`note`: why a login is needed, if it says).
    NothingStored { note: Option<String> },
}

/// What the actor does after a transition, in order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Effect {
    /// Answer every waiter.
    Answer(Answer),
    /// The proactive refresh (or retry) is due at this time; `None`: none is.
    Schedule(Option<Instant>),
    /// Delete the stored login (its refresh token is dead).
    ForgetStored,
    /// Hand the waiters back to the request path (the store has been consulted).
    Redispatch,
}

/// How the waiters are answered.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Answer {
    /// With the token just obtained.
    Token,
    /// With the still-usable token and a warning, else the error and when the next try is.
    Failing { next_in: Duration },
    /// With this error.
    Error(WireError),
    /// The clients whose wait for a slow refresh is over, each with the still-usable token
    /// and a warning, else an error saying the IdP does not answer; the others wait on.
    Overdue,
    /// "Log in": the still-usable token with a warning, else the error; interactive waiters
    /// with no usable token get a login started for them.
    LoginRequired,
}

impl<F> Phase<F> {
    /// The phase after `event` at `now`, and what the actor must do.
    pub(super) fn step(self, event: Event<F>, now: Instant) -> (Phase<F>, Vec<Effect>) {
        match event {
            // The refresh goes on: only some waiters are answered.
            Event::WaitOver => (self, vec![Effect::Answer(Answer::Overdue)]),
            Event::Started { login, flow } => {
                let resume = Box::new(self.settled());
                let next = if login {
                    Phase::LoggingIn { resume, flow }
                } else {
                    Phase::Refreshing { resume, flow }
                };
                (next, vec![])
            }
            Event::Cancelled => (self.settled(), vec![]),
            Event::Obtained { refresh_in } => {
                let mut effects: Vec<_> = refresh_in
                    .map(|d| Effect::Schedule(Some(now + d)))
                    .into_iter()
                    .collect();
                effects.push(Effect::Answer(Answer::Token));
                (Phase::Ready, effects)
            }
            Event::Failed { delay, keep_fresh } => {
                let until = now + delay;
                let next = match self.settled() {
                    // Still a human must log in; meanwhile the renewal backs off.
                    Phase::LoginRequired { why, .. } => Phase::LoginRequired {
                        why,
                        until: Some(until),
                    },
                    _ => Phase::Backoff { until },
                };
                let effects = vec![
                    Effect::Answer(Answer::Failing { next_in: delay }),
                    Effect::Schedule(keep_fresh.then_some(until)),
                ];
                (next, effects)
            }
            Event::LoginFailed { why, error, delay } => {
                let until = delay.map(|d| now + d).or_else(|| self.until());
                let next = Phase::LoginRequired { why, until };
                (next, vec![Effect::Answer(Answer::Error(error))])
            }
            Event::RefreshRejected { why } => {
                let until = self.until();
                let effects = vec![
                    Effect::ForgetStored,
                    Effect::Schedule(None),
                    Effect::Answer(Answer::LoginRequired),
                ];
                (Phase::LoginRequired { why, until }, effects)
            }
            Event::Restored { with_token } => {
                let next = if with_token {
                    Phase::Ready
                } else {
                    self.settled()
                };
                (next, vec![Effect::Redispatch])
            }
            Event::NothingStored { note } => {
                let next = match note {
                    Some(why) => Phase::LoginRequired {
                        why,
                        until: self.until(),
                    },
                    None => self.settled(),
                };
                (next, vec![Effect::Redispatch])
            }
        }
    }

    /// Where the session stands apart from a running flow.
    fn settled(self) -> Phase<F> {
        match self {
            Phase::LoggingIn { resume, .. } | Phase::Refreshing { resume, .. } => *resume,
            p => p,
        }
    }

    fn settled_ref(&self) -> &Phase<F> {
        match self {
            Phase::LoggingIn { resume, .. } | Phase::Refreshing { resume, .. } => resume,
            p => p,
        }
    }

    /// The running flow, if one runs.
    pub(super) fn flow(&self) -> Option<&F> {
        match self {
            Phase::LoggingIn { flow, .. } | Phase::Refreshing { flow, .. } => Some(flow),
            _ => None,
        }
    }

    /// The running flow, to update its prompt or read its events.
    pub(super) fn flow_mut(&mut self) -> Option<&mut F> {
        match self {
            Phase::LoggingIn { flow, .. } | Phase::Refreshing { flow, .. } => Some(flow),
            _ => None,
        }
    }

    /// Takes the running flow out (it ended or is dropped): the phase becomes where the
    /// session stands without it.
    pub(super) fn take_flow(&mut self) -> Option<F> {
        match std::mem::take(self) {
            Phase::LoggingIn { resume, flow } | Phase::Refreshing { resume, flow } => {
                *self = *resume;
                Some(flow)
            }
            p => {
                *self = p;
                None
            }
        }
    }

    /// When the backoff ends, if the session backs off (running flow or not).
    fn until(&self) -> Option<Instant> {
        match self.settled_ref() {
            Phase::Backoff { until } => Some(*until),
            Phase::LoginRequired { until, .. } => *until,
            _ => None,
        }
    }

    /// Time left at `now` before the next attempt may start, if backing off.
    pub(super) fn backoff_left(&self, now: Instant) -> Option<Duration> {
        let left = self.until()?.checked_duration_since(now)?;
        (!left.is_zero()).then_some(left)
    }

    /// Why a human must log in, if one must.
    pub(super) fn login_required(&self) -> Option<&str> {
        match self.settled_ref() {
            Phase::LoginRequired { why, .. } => Some(why),
            _ => None,
        }
    }

    /// The state `status` reports, given the facts the clock changes and the data beside
    /// the phase.
    pub(super) fn report(&self, f: &Facts) -> SessionState {
        match self {
            Phase::LoggingIn { .. } => SessionState::Authenticating,
            Phase::Refreshing { .. } if f.valid => SessionState::Refreshing,
            Phase::Refreshing { .. } => SessionState::Authenticating,
            // A valid token is served whatever else holds: the question is only how fresh.
            _ if f.valid && f.failed => SessionState::Backoff,
            _ if f.valid && f.idle => SessionState::Idle,
            _ if f.valid => SessionState::Ready,
            Phase::LoginRequired { .. } => SessionState::LoginRequired,
            _ if f.holds_token => SessionState::Expired,
            _ if f.failed => SessionState::Failed,
            _ if f.needs_human => SessionState::LoginRequired,
            _ => SessionState::Empty,
        }
    }
}

/// What `status` reads beside the phase.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Facts {
    /// It holds a token that has not expired (the clock decides).
    pub(super) valid: bool,
    /// It holds a token, expired or not.
    pub(super) holds_token: bool,
    /// The last attempt failed (its error is kept for `status`).
    pub(super) failed: bool,
    /// Nobody asked for it in the idle time (the clock decides).
    pub(super) idle: bool,
    /// Its mode logs in a human (browser or device), not an API key.
    pub(super) needs_human: bool,
}
