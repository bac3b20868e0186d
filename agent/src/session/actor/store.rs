//! A session actor and the token store: restoring a login on first use, forgetting a dead
//! one, and logout (revoke at the IdP, delete the stored login).

use std::future::Future;

use super::Actor;
use super::phase::Event;
use crate::AgentError;
use crate::flows::{Grant, revoke};
use crate::session::now_ms;
use crate::session::schedule::{jitter, refresh_delay};
use crate::store::StoredSession;

/// A restored access token with less than this left is refreshed rather than served.
const RESTORE_MIN_MS: u64 = 60_000;

impl Actor {
    /// A login came back from the store: use its access token while it lasts, refresh with
    /// its refresh token otherwise, and join the proactive scheduler.
    pub(super) fn on_restored(&mut self, stored: StoredSession) {
        let host = self.profile.host().to_owned();
        self.tokens.restored = true;
        let eff = stored.effective();
        self.tokens.refresh_token = Some(stored.refresh_token.clone());
        self.tokens.subject = stored
            .subject
            .clone()
            .or_else(|| self.tokens.subject.take());
        let now = now_ms();
        let access = match (stored.access_token, stored.access_expires_at_ms) {
            (Some(token), Some(exp)) if exp > now + RESTORE_MIN_MS => Some((token, exp)),
            _ => None,
        };
        match access {
            Some((access_token, expires_at_ms)) => {
                let grant = Grant {
                    access_token,
                    token_type: "Bearer".to_owned(),
                    issued_at_ms: stored.access_issued_at_ms.unwrap_or(now).min(now),
                    expires_at_ms,
                    refresh_token: None,
                    id_token: None,
                };
                let issued = self.publish_token(grant, eff);
                let delay = refresh_delay(issued.issued_at_ms, issued.expires_at_ms, now, jitter());
                self.refresh_in(delay);
                tracing::info!(%host, "restored login from the store; its access token is still valid");
                self.advance(Event::Restored { with_token: true });
            }
            None => {
                self.tokens.effective = Some(eff);
                tracing::info!(%host, "restored login from the store; refreshing its access token");
                self.advance(Event::Restored { with_token: false });
            }
        }
    }

    /// Nothing to restore: every waiter gets the decision it would have got without a store.
    pub(super) fn on_nothing_stored(&mut self, note: Option<String>) {
        self.tokens.restored = true;
        self.advance(Event::NothingStored { note });
    }

    /// Hands the waiters back to the normal path now that the store has been consulted.
    pub(super) fn redispatch(&mut self) {
        for w in std::mem::take(&mut self.waiters) {
            let min_valid = w.min_valid;
            self.on_get_token(min_valid, w);
        }
    }

    /// Deletes the stored login (its refresh token is dead) in the background.
    pub(super) fn forget_stored(&self) {
        let (ctx, key) = (self.ctx.clone(), self.profile.session_key());
        tokio::spawn(async move {
            if let Err(e) = ctx.stores.delete(&key).await {
                tracing::warn!(error = %e, "cannot remove a dead login from the store");
            }
        });
    }

    /// Ends the session: waiting clients get "logged out", and the returned task revokes the
    /// refresh token (where the IdP allows) and deletes the stored login. It resolves to
    /// whether there was a login to forget.
    pub(super) fn logout(&mut self) -> impl Future<Output = bool> + Send + 'static {
        // A login in progress counts as something to log out of: it is cancelled.
        let had_flow = self
            .phase
            .take_flow()
            .map(|run| run.abort.abort())
            .is_some();
        let host = self.profile.host().to_owned();
        let msg = format!("logged out of {host}: run `flyte-auth login`");
        self.answer_all(|_| Err(AgentError::Login(msg.clone()).to_wire()));
        self.publish.send_replace(None);
        let had_token = self.tokens.current.take().is_some() || had_flow;
        let rt = self
            .tokens
            .refresh_token
            .take()
            .map(|rt| (rt, self.tokens.effective.clone()));
        let (ctx, profile) = (self.ctx.clone(), self.profile.clone());
        async move {
            let key = profile.session_key();
            let stored = match rt {
                Some(found) => Some(found),
                None => match ctx.stores.load(&key).await {
                    Ok(Some(s)) => Some((s.refresh_token.clone(), Some(s.effective()))),
                    _ => None,
                },
            };
            let had_login = had_token || stored.is_some();
            if let Some((rt, eff)) = stored {
                revoke::revoke_quietly(&ctx, &profile, &rt, eff).await;
            }
            if let Err(e) = ctx.stores.delete(&key).await {
                tracing::warn!(%host, error = %e, "cannot delete the stored login");
            }
            tracing::info!(%host, "logged out");
            had_login
        }
    }
}
