//! How a session actor takes the end of a flow: new tokens, a rejected refresh token, a
//! failed login or a passing fault.

use std::sync::Arc;

use super::Actor;
use super::phase::Event;
use crate::AgentError;
use crate::flows::{Grant, subject};
use crate::session::runner::{FlowKind, FlowOk, FlowResult, Stored, refresh_token_rejected};
use crate::session::schedule::{jitter, refresh_delay};
use crate::session::{Effective, now_ms};
use crate::session::{Issued, Waiter};
use flyte_auth_proto::{AuthMode, TokenResponse, WireError};

impl Actor {
    pub(super) fn on_flow_done(&mut self, kind: FlowKind, result: FlowResult) {
        match (result, kind) {
            (Ok(FlowOk::Tokens { grant, eff, stored }), _) => self.on_success(*grant, eff, stored),
            (Ok(FlowOk::Restored(stored)), _) => self.on_restored(*stored),
            (Ok(FlowOk::NothingStored { note }), _) => self.on_nothing_stored(note),
            (Err(e), FlowKind::Refresh) if refresh_token_rejected(&e) => {
                self.on_refresh_rejected(e)
            }
            (Err(e), FlowKind::Login { .. } | FlowKind::Import) => {
                tracing::warn!(host = %self.profile.host(), error = %e, "login failed");
                let (why, error) = (e.to_string(), e.to_wire());
                let delay = self.health.login_failed(e, jitter());
                self.advance(Event::LoginFailed { why, error, delay });
            }
            (Err(e), _) => self.on_failure(e),
        }
    }

    fn on_success(&mut self, grant: Grant, eff: Effective, stored: Stored) {
        let host = self.profile.host().to_owned();
        self.tokens.subject = subject(&grant).or_else(|| self.tokens.subject.take());
        self.tokens.restored = true;
        self.health.storage_error = match stored {
            Stored::Failed(why) => Some(why),
            Stored::Saved | Stored::NotNeeded => None,
        };
        // A refresh response without a refresh token keeps the old one (RFC 6749 §6).
        if grant.refresh_token.is_some() {
            self.tokens.refresh_token = grant.refresh_token.clone();
        }
        let issued = self.publish_token(grant, eff);
        let failures = self.health.recovered();
        if failures > 0 {
            tracing::info!(%host, failures, "token refresh recovered");
        }
        let renewable =
            self.profile.mode == AuthMode::ClientSecret || self.tokens.refresh_token.is_some();
        let delay = refresh_delay(
            issued.issued_at_ms,
            issued.expires_at_ms,
            now_ms(),
            jitter(),
        );
        let refresh_in = renewable.then_some(delay);
        tracing::info!(%host, mode = %self.profile.mode, expires_in_s = issued.remaining_ms(now_ms()) / 1000,
            refresh_in_s = refresh_in.map(|d| d.as_secs()), "obtained access token");
        self.advance(Event::Obtained { refresh_in });
    }

    /// The IdP rejected the refresh token: a human must log in (`Effect`s: forget the
    /// stored login, no refresh scheduled, answer "log in").
    fn on_refresh_rejected(&mut self, e: AgentError) {
        let host = self.profile.host().to_owned();
        tracing::warn!(%host, error = %e, "refresh token rejected; login required");
        self.tokens.refresh_token = None;
        let why = format!(
            "login expired for {host} (the identity provider rejected the refresh token): run `flyte-auth login`"
        );
        self.advance(Event::RefreshRejected { why });
    }

    fn on_failure(&mut self, e: AgentError) {
        let usable_for = self.usable_for();
        let delay = self
            .health
            .failed(e, usable_for.unwrap_or_default(), jitter());
        if let Some(e) = &self.health.last_error {
            tracing::warn!(host = %self.profile.host(), failures = self.health.failures,
                retry_in_ms = delay.as_millis() as u64, error = %e, "getting a token failed");
        }
        // Retry in the background only while there is a token worth keeping fresh and someone
        // still uses this session; otherwise the next request after the backoff tries again.
        let keep_fresh = usable_for.is_some() && !self.is_idle();
        self.advance(Event::Failed { delay, keep_fresh });
    }

    pub(super) fn answer_all(
        &mut self,
        answer: impl Fn(&Waiter) -> Result<TokenResponse, WireError>,
    ) {
        for w in self.waiters.drain(..) {
            let a = answer(&w);
            let _ = w.reply.send(a);
        }
    }

    /// Makes `grant` the session's current token: published to the fast path.
    pub(super) fn publish_token(&mut self, grant: Grant, eff: Effective) -> Arc<Issued> {
        let issued = Arc::new(Issued {
            token: TokenResponse {
                access_token: grant.access_token,
                token_type: grant.token_type,
                expires_at: grant.expires_at_ms / 1000,
                header_key: eff.header_key.clone(),
                warning: None,
            },
            issued_at_ms: grant.issued_at_ms,
            expires_at_ms: grant.expires_at_ms,
        });
        self.tokens.effective = Some(eff);
        self.tokens.ever_obtained = true;
        // The superseded token is dropped here (and by the last connection still sending
        // it): `Secret` zeroizes it.
        self.tokens.current = Some(issued.clone());
        self.publish.send_replace(Some(issued.clone()));
        issued
    }
}
