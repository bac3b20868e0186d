//! A session actor carrying out its transitions: the phase moves on by `Phase::step`, and
//! the effects it returns are done here, in order.

use tokio::time::Instant;

use super::Actor;
use super::answers::with_warning;
use super::phase::{Answer, Effect, Event};
use crate::session::Waiter;
use crate::session::runner::{FlowKind, Running};

impl Actor {
    /// Moves the phase on by `event` and carries out what that requires.
    pub(super) fn advance(&mut self, event: Event<Running>) {
        let (phase, effects) = std::mem::take(&mut self.phase).step(event, Instant::now());
        self.phase = phase;
        for effect in effects {
            self.apply(effect);
        }
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::Schedule(at) => self.schedule.refresh_at = at,
            Effect::ForgetStored => self.forget_stored(),
            Effect::Redispatch => self.redispatch(),
            Effect::Answer(Answer::Token) => {
                if let Some(cur) = self.tokens.current.clone() {
                    self.answer_all(|_| Ok(cur.token.clone()));
                }
            }
            Effect::Answer(Answer::Failing { next_in }) => {
                for w in std::mem::take(&mut self.waiters) {
                    let answer = self.answer_failing(w.min_valid, next_in);
                    let _ = w.reply.send(answer);
                }
            }
            Effect::Answer(Answer::Error(e)) => self.answer_all(|_| Err(e.clone())),
            Effect::Answer(Answer::LoginRequired) => self.answer_login_required(),
            Effect::Answer(Answer::Overdue) => self.answer_overdue(),
        }
    }

    /// One clear message to every non-interactive waiter, and a login for the interactive
    /// ones if no usable token is left (never a silent browser from the background).
    fn answer_login_required(&mut self) {
        let usable = self.usable();
        let err = self.login_required_error();
        let answer = |w: &Waiter| match &usable {
            Some(c) => Ok(with_warning(c, w.min_valid, &err.message)),
            None => Err(err.clone()),
        };
        let waiters = std::mem::take(&mut self.waiters);
        let (interactive, others): (Vec<_>, Vec<_>) =
            waiters.into_iter().partition(|w| w.interactive);
        for w in others {
            let a = answer(&w);
            let _ = w.reply.send(a);
        }
        if usable.is_none() && !interactive.is_empty() {
            self.start(FlowKind::Login {
                method: self.profile.mode,
                started_interactively: true,
            });
            self.waiters = interactive;
        } else {
            for w in interactive {
                let a = answer(&w);
                let _ = w.reply.send(a);
            }
        }
    }
}
