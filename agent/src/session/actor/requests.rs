//! A session actor's answers to clients: a token now, a flow to wait for, or "log in", and
//! the explicit login that replaces whatever runs.

use std::time::Duration;

use flyte_auth_proto::{AuthMode, BrowserEnv, Profile};
use tokio::time::Instant;

use super::Actor;
use crate::session::Waiter;
use crate::session::now_ms;
use crate::session::runner::FlowKind;

impl Actor {
    /// Records use; the latest client's profile wins (a rotated secret takes effect on the
    /// next flow), and its display is where the next browser opens.
    pub(super) fn touch(&mut self, profile: Box<Profile>, browser_env: BrowserEnv) {
        self.schedule.last_used = Instant::now();
        if *profile != self.profile {
            self.profile = *profile;
        }
        if !browser_env.is_empty() {
            self.browser_env = browser_env;
        }
    }

    pub(super) fn on_get_token(&mut self, min_valid: Duration, waiter: Waiter) {
        if let Some(cur) = self
            .tokens
            .current
            .as_ref()
            .filter(|c| c.satisfies(min_valid, now_ms()))
        {
            let _ = waiter.reply.send(Ok(cur.token.clone()));
            return;
        }
        if self.running.is_some() {
            self.join_running(waiter);
            return;
        }
        // After a failure no request starts an attempt before the backoff ends, however
        // many clients ask: each is answered at once, with when the next try is.
        if let Some(next_in) = self.backoff_left() {
            let answer = self.answer_failing(min_valid, next_in);
            let _ = waiter.reply.send(answer);
            return;
        }
        let kind = match self.profile.mode {
            AuthMode::ClientSecret => FlowKind::Fetch,
            _ if self.tokens.refresh_token.is_some() => FlowKind::Refresh,
            // First use since the agent started: the login may be in the store.
            _ if !self.tokens.restored => FlowKind::Restore,
            // A program without a terminal (an SDK running us) may still log in through a
            // browser, as Flyte's own clients do; it cannot show a device code.
            mode if waiter.interactive || mode == AuthMode::Pkce => FlowKind::Login {
                method: mode,
                started_interactively: waiter.interactive,
            },
            _ => {
                let _ = waiter.reply.send(Err(self.login_required_error()));
                return;
            }
        };
        self.start(kind);
        self.join_running(waiter);
    }

    pub(super) fn on_login(&mut self, method: AuthMode, import: bool, waiter: Waiter) {
        if let Some(run) = &mut self.running {
            if let FlowKind::Login {
                started_interactively,
                ..
            } = &mut run.kind
            {
                *started_interactively = true;
                self.join(waiter);
                return;
            }
            if run.kind == FlowKind::Import {
                self.join(waiter);
                return;
            }
            // The user asked to log in: that replaces a refresh in progress, and whoever
            // waited for the refresh now waits for the login, as long as it takes.
            run.abort.abort();
            self.running = None;
            for w in &mut self.waiters {
                w.answer_by = None;
            }
        }
        let method = if self.profile.mode == AuthMode::ClientSecret {
            AuthMode::ClientSecret
        } else {
            method
        };
        let kind = match (import, method) {
            (true, AuthMode::Pkce | AuthMode::DeviceFlow) => FlowKind::Import,
            _ => FlowKind::Login {
                method,
                started_interactively: true,
            },
        };
        self.start(kind);
        self.join(waiter);
    }
}
