//! A session actor's waiting clients: joining a flow, seeing its prompts, and going away.

use flyte_auth_proto::Event;
use tokio::time::Instant;

use super::phase::Event as Step;
use super::{Actor, LOGIN_GRACE};
use crate::session::Waiter;
use crate::session::runner::FlowKind;

impl Actor {
    /// Adds a waiter to the running flow, replaying the prompt it missed.
    pub(super) fn join(&mut self, waiter: Waiter) {
        if let Some(prompt) = self.phase.flow().and_then(|r| r.prompt.clone()) {
            if self.cannot_show(&prompt, &waiter) {
                let _ = waiter.reply.send(Err(self.login_required_error()));
                return;
            }
            let _ = waiter.events.send(prompt);
        }
        self.waiters.push(waiter);
    }

    /// A non-interactive client cannot take part in a login whose browser did not open,
    /// unless a human at a terminal started it.
    fn cannot_show(&self, prompt: &Event, waiter: &Waiter) -> bool {
        let started_interactively = matches!(
            self.phase.flow().map(|r| &r.kind),
            Some(FlowKind::Login {
                started_interactively: true,
                ..
            })
        );
        !waiter.interactive
            && !started_interactively
            && matches!(
                prompt,
                Event::OpenUrl { opened: false, .. } | Event::DeviceCode { .. }
            )
    }

    pub(super) fn on_event(&mut self, event: Event) {
        let Some(run) = self.phase.flow_mut() else {
            return;
        };
        if matches!(event, Event::OpenUrl { .. } | Event::DeviceCode { .. }) {
            run.prompt = Some(event.clone());
        }
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            if self.cannot_show(&event, &w) {
                let _ = w.reply.send(Err(self.login_required_error()));
            } else {
                let _ = w.events.send(event.clone());
                self.waiters.push(w);
            }
        }
        if self.waiters.is_empty() && self.phase.flow().is_some_and(|r| r.kind.is_login()) {
            self.cancel_login("nobody can see the login prompt");
        }
    }

    /// Drops waiters whose client went away; cancels a login nobody waits for any more.
    pub(super) fn prune(&mut self) {
        self.waiters.retain(|w| !w.reply.is_closed());
        let Some(run) = self.phase.flow_mut() else {
            return;
        };
        if !run.kind.is_login() || !self.waiters.is_empty() {
            run.orphaned_since = None;
            return;
        }
        let since = *run.orphaned_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= LOGIN_GRACE {
            self.cancel_login("every client waiting for it has gone");
        }
    }

    pub(super) fn cancel_login(&mut self, why: &str) {
        if let Some(run) = self.phase.take_flow() {
            run.abort.abort();
            tracing::info!(host = %self.profile.host(), "login cancelled: {why}");
            self.advance(Step::Cancelled);
        }
    }
}
