//! A session actor's answers to clients: a token now, a flow to wait for, or "log in", and
//! the explicit login that replaces whatever runs.

use std::time::Duration;

use flyte_auth_proto::{AuthMode, BrowserEnv, Profile};
use tokio::time::Instant;

use super::Actor;
use super::decide::{self, Ask, Decision};
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
        let satisfied = self
            .tokens
            .current
            .as_ref()
            .filter(|c| c.satisfies(min_valid, now_ms()));
        let ask = Ask {
            satisfied: satisfied.is_some(),
            running: self.phase.flow().is_some(),
            backoff_left: self.backoff_left(),
            mode: self.profile.mode,
            has_refresh_token: self.tokens.refresh_token.is_some(),
            restored: self.tokens.restored,
            interactive: waiter.interactive,
        };
        match decide::request(&ask) {
            Decision::Serve => {
                if let Some(cur) = satisfied {
                    let _ = waiter.reply.send(Ok(cur.token.clone()));
                }
            }
            Decision::Join => self.join_running(waiter),
            Decision::Failing { next_in } => {
                let answer = self.answer_failing(min_valid, next_in);
                let _ = waiter.reply.send(answer);
            }
            Decision::Start(kind) => {
                self.start(kind);
                self.join_running(waiter);
            }
            Decision::LoginRequired => {
                let _ = waiter.reply.send(Err(self.login_required_error()));
            }
        }
    }

    pub(super) fn on_login(&mut self, method: AuthMode, import: bool, waiter: Waiter) {
        if let Some(run) = self.phase.flow_mut() {
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
            self.phase.take_flow();
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
