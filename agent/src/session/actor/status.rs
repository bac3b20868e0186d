//! What `status` shows about a session: its stored phase, named with what the clock
//! changes (`Phase::report`), and wall-clock times derived from tokio's clock when asked.

use flyte_auth_proto::SessionStatus;
use tokio::time::Instant;

use super::Actor;
use super::phase::Facts;
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
        let state = self.phase.report(&Facts {
            valid,
            holds_token: self.tokens.current.is_some(),
            failed: self.health.last_error.is_some(),
            idle: self.is_idle(),
            needs_human: self.profile.mode.is_interactive(),
        });
        let last_error = self
            .health
            .last_error
            .as_ref()
            .map(|e| e.to_string())
            .or_else(|| {
                self.phase
                    .login_required()
                    .filter(|_| !valid)
                    .map(str::to_owned)
            });
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
