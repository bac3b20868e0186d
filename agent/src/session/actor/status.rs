//! What `status` shows about a session, derived from the actor's state when asked: the
//! state's name (one pure function of the facts that decide it) and wall-clock times.

use flyte_auth_proto::{SessionState, SessionStatus};
use tokio::time::Instant;

use super::Actor;
use crate::session::now_ms;

impl Actor {
    pub(super) fn status(&self) -> SessionStatus {
        let now = now_ms();
        let eff = self.tokens.effective.as_ref();
        let valid = self
            .tokens
            .current
            .as_ref()
            .is_some_and(|c| c.remaining_ms(now) > 0);
        let state = name(&Facts {
            flow: self.running.as_ref().map(|r| {
                if r.kind.is_login() {
                    Flow::Login
                } else {
                    Flow::Other
                }
            }),
            valid,
            holds_token: self.tokens.current.is_some(),
            login_required: self.health.login_required.is_some(),
            failed: self.health.last_error.is_some(),
            idle: self.is_idle(),
            needs_human: self.profile.mode.is_interactive(),
        });
        let last_error = self
            .health
            .last_error
            .as_ref()
            .map(|e| e.to_string())
            .or_else(|| self.health.login_required.clone().filter(|_| !valid));
        SessionStatus {
            endpoint: self.profile.endpoint.clone(),
            mode: self.profile.mode,
            client_id: eff
                .map(|e| e.client_id.clone())
                .or_else(|| self.profile.client_id.clone()),
            scopes: eff
                .map(|e| e.scopes.clone())
                .or_else(|| self.profile.scopes.clone())
                .unwrap_or_default(),
            audience: eff
                .and_then(|e| e.audience.clone())
                .or_else(|| self.profile.audience.clone()),
            state,
            subject: self.tokens.subject.clone(),
            expires_at: self.tokens.current.as_ref().map(|c| c.expires_at_ms / 1000),
            // With no refresh scheduled, the end of the backoff is when the next try can be.
            next_refresh_at: self
                .schedule
                .refresh_at
                .map(|at| unix_ms(at, now) / 1000)
                .or_else(|| {
                    self.backoff_left()
                        .map(|left| (now + left.as_millis() as u64).div_ceil(1000))
                }),
            last_error,
            last_used_at: Some(unix_ms(self.schedule.last_used, now) / 1000),
            storage: Some(self.storage_note()),
        }
    }

    /// Where this session's login is kept, and any problem keeping it: said clearly, since a
    /// login that silently lives in memory only is lost at the next restart.
    fn storage_note(&self) -> String {
        let stores = &self.ctx.stores;
        if !self.profile.mode.is_interactive() {
            return "not stored: the API key or client secret stays where you keep it".to_owned();
        }
        if let Some(e) = &self.health.storage_error {
            return format!("{} — SAVING FAILED: {e}", stores.describe());
        }
        match (stores.persistent(), stores.warning()) {
            (true, _) => stores.describe(),
            (false, Some(w)) => format!("memory only — {w}"),
            (false, None) => "memory only (--store memory): logins end with the agent".to_owned(),
        }
    }
}

/// The wall-clock time (Unix ms) of `at` on tokio's clock, seen from `now_ms`: the one
/// reference point, taken when the status is reported.
fn unix_ms(at: Instant, now_ms: u64) -> u64 {
    let now = Instant::now();
    match at.checked_duration_since(now) {
        Some(ahead) => now_ms + ahead.as_millis() as u64,
        None => now_ms.saturating_sub(now.duration_since(at).as_millis() as u64),
    }
}

/// The flow a session runs, as far as its state's name goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// An interactive login or an import.
    Login,
    /// A refresh, client-credentials fetch or store lookup.
    Other,
}

/// What decides a session's state.
#[derive(Debug, Clone, Copy, Default)]
struct Facts {
    flow: Option<Flow>,
    /// It holds a token that has not expired.
    valid: bool,
    /// It holds a token, expired or not.
    holds_token: bool,
    /// A human must log in (logged out, refresh token rejected, login failed).
    login_required: bool,
    /// The last attempt failed.
    failed: bool,
    /// Nobody asked for it in the idle time.
    idle: bool,
    /// Its mode logs in a human (browser or device), not an API key.
    needs_human: bool,
}

/// The name of the state the `facts` describe.
fn name(f: &Facts) -> SessionState {
    match (f.flow, f.valid) {
        (Some(Flow::Login), _) | (Some(Flow::Other), false) => SessionState::Authenticating,
        (Some(Flow::Other), true) => SessionState::Refreshing,
        (None, false) if f.login_required => SessionState::LoginRequired,
        (None, true) if f.failed => SessionState::Backoff,
        (None, true) if f.idle => SessionState::Idle,
        (None, true) => SessionState::Ready,
        (None, false) if f.holds_token => SessionState::Expired,
        (None, false) if f.failed => SessionState::Failed,
        (None, false) if f.needs_human => SessionState::LoginRequired,
        (None, false) => SessionState::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_is_named_from_the_facts_that_decide_it() {
        let valid = Facts {
            valid: true,
            holds_token: true,
            ..Facts::default()
        };
        let expired = Facts {
            holds_token: true,
            ..Facts::default()
        };
        let human = Facts {
            needs_human: true,
            ..Facts::default()
        };
        let cases = [
            (Facts::default(), SessionState::Empty),
            (human, SessionState::LoginRequired),
            (
                Facts {
                    flow: Some(Flow::Login),
                    ..valid
                },
                SessionState::Authenticating,
            ),
            (
                Facts {
                    flow: Some(Flow::Other),
                    ..human
                },
                SessionState::Authenticating,
            ),
            (
                Facts {
                    flow: Some(Flow::Other),
                    ..valid
                },
                SessionState::Refreshing,
            ),
            (valid, SessionState::Ready),
            (
                Facts {
                    failed: true,
                    ..valid
                },
                SessionState::Backoff,
            ),
            (
                Facts {
                    idle: true,
                    ..valid
                },
                SessionState::Idle,
            ),
            (
                Facts {
                    login_required: true,
                    ..valid
                },
                SessionState::Ready,
            ),
            (
                Facts {
                    login_required: true,
                    ..expired
                },
                SessionState::LoginRequired,
            ),
            (expired, SessionState::Expired),
            (
                Facts {
                    failed: true,
                    ..Facts::default()
                },
                SessionState::Failed,
            ),
        ];
        for (facts, state) in cases {
            assert_eq!(name(&facts), state, "{facts:?}");
        }
    }
}
