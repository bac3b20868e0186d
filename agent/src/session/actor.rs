//! One session's actor: owns its tokens, timers and the one flow it runs at a time.
//!
//! The loop `select!`s over its inbox, the running flow's prompts and completion, the refresh
//! timer, the deadline of clients waiting for a slow refresh, the time it may be forgotten,
//! and (while a flow runs) a tick that notices clients that went away. Flows run as their own
//! tasks, so the actor never waits on the network or a human, and nothing else mutates its
//! state. The policy (when to retry, how long a client waits) is in `schedule.rs`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use flyte_auth_proto::{BrowserEnv, Event, Profile, SessionKey, WireError};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

mod answers;
mod decide;
mod effects;
mod forget;
mod outcome;
mod parts;
mod phase;
mod requests;
mod status;
mod store;
#[cfg(test)]
mod tests;
mod waiters;

use self::parts::{Health, Schedule, Tokens};
use self::phase::{Event as Step, Phase};
use super::runner::{self, FlowInput, FlowKind, FlowResult, Running};
use super::{Command, Issued, Map, SessionHandle, Waiter};
use crate::session::now_ms;
use crate::{AgentError, Ctx};

/// A token with less than this left is not worth handing out even during an outage.
const USABLE_MS: u64 = 1_000;
/// How often a running flow checks for clients that went away.
const PRUNE_EVERY: Duration = Duration::from_millis(250);
/// A login nobody waits for any more is cancelled after this long (a client may reconnect).
const LOGIN_GRACE: Duration = Duration::from_secs(3);

/// Starts the actor for `profile` and returns its handle.
/// `registry` is the map it is listed in under `key` with `id`; it takes itself out of it
/// when it is forgotten.
pub(super) fn spawn(
    ctx: Arc<Ctx>,
    profile: Profile,
    key: SessionKey,
    id: u64,
    registry: Weak<Map>,
) -> SessionHandle {
    let (actor, handle) = Actor::new(ctx, profile, key, id, registry);
    tokio::spawn(actor.run());
    handle
}

impl Actor {
    /// An actor not yet running, and its handle. Its handlers are synchronous: tests drive
    /// them directly (`actor/tests.rs`).
    fn new(
        ctx: Arc<Ctx>,
        profile: Profile,
        key: SessionKey,
        id: u64,
        registry: Weak<Map>,
    ) -> (Actor, SessionHandle) {
        let (tx, inbox) = mpsc::channel(64);
        let (publish, snapshot) = watch::channel(None);
        let (done_tx, done_rx) = mpsc::channel(1);
        let actor = Actor {
            ctx,
            profile,
            key,
            id,
            registry,
            inbox,
            publish,
            done_tx,
            done_rx,
            generation: 0,
            tokens: Tokens::default(),
            waiters: Vec::new(),
            browser_env: Vec::new(),
            schedule: Schedule::new(Instant::now()),
            health: Health::default(),
            phase: Phase::Empty,
        };
        (actor, SessionHandle { tx, snapshot, id })
    }
}

pub(super) struct Actor {
    ctx: Arc<Ctx>,
    /// The latest client's profile (a rotated secret takes effect on the next flow).
    profile: Profile,
    /// Where the registry lists this session, and under which id.
    key: SessionKey,
    id: u64,
    registry: Weak<Map>,
    inbox: mpsc::Receiver<Command>,
    publish: watch::Sender<Option<Arc<Issued>>>,
    done_tx: mpsc::Sender<(u64, FlowResult)>,
    done_rx: mpsc::Receiver<(u64, FlowResult)>,
    /// Tells a flow's result from a cancelled earlier one's.
    generation: u64,
    tokens: Tokens,
    waiters: Vec<Waiter>,
    /// Display environment of the latest client, for logins the actor starts itself.
    browser_env: BrowserEnv,
    schedule: Schedule,
    health: Health,
    /// Where the session is: the one stored state, moved on by `Phase::step` only. A running
    /// phase holds the one flow in progress.
    phase: Phase<Running>,
}

impl Actor {
    async fn run(mut self) {
        loop {
            let timer = self
                .schedule
                .refresh_at
                .filter(|_| self.phase.flow().is_none());
            // A fixed deadline, not a sleep restarted on every message: a client asking for
            // `status` in a loop must not keep an orphaned login alive.
            let prune_at = self.phase.flow().map(|_| self.schedule.next_prune);
            let answer_by = self.waiters.iter().filter_map(|w| w.answer_by).min();
            let forget_at = self.forget_at();
            tokio::select! {
                cmd = self.inbox.recv() => match cmd {
                    Some(Command::Logout { reply }) => {
                        // Revoking and deleting take the network and the keyring: finish them
                        // in their own task while this actor ends.
                        let forget = self.logout();
                        tokio::spawn(async move {
                            let _ = reply.send(forget.await);
                        });
                        break;
                    }
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                Some((generation, result)) = self.done_rx.recv() => self.on_flow_end(generation, result),
                Some(event) = recv_event(self.phase.flow_mut()) => self.on_event(event),
                _ = sleep_until(timer.unwrap_or_else(Instant::now)), if timer.is_some() => self.on_timer(),
                _ = sleep_until(prune_at.unwrap_or_else(Instant::now)), if prune_at.is_some() => {
                    self.schedule.next_prune = Instant::now() + PRUNE_EVERY;
                    self.prune();
                }
                _ = sleep_until(answer_by.unwrap_or_else(Instant::now)), if answer_by.is_some() => self.advance(Step::WaitOver),
                _ = sleep_until(forget_at.unwrap_or_else(Instant::now)), if forget_at.is_some() => {
                    if self.forget() {
                        break;
                    }
                }
            }
        }
        if let Some(run) = self.phase.take_flow() {
            run.abort.abort();
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::GetToken {
                profile,
                min_valid,
                browser_env,
                waiter,
            } => {
                self.touch(profile, browser_env);
                self.on_get_token(min_valid, waiter);
            }
            Command::Login {
                profile,
                method,
                import,
                browser_env,
                waiter,
            } => {
                self.touch(profile, browser_env);
                self.on_login(method, import, waiter);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Logout { .. } => {}
        }
    }

    /// The flow of `generation` ended (a cancelled one's end is ignored).
    fn on_flow_end(&mut self, generation: u64, result: FlowResult) {
        if self.phase.flow().is_none_or(|r| r.generation != generation) {
            return;
        }
        // Prompts and warnings the flow sent before it finished reach the waiters before
        // its result does.
        while let Some(event) = self.phase.flow_mut().and_then(|r| r.events.try_recv().ok()) {
            self.on_event(event);
        }
        if let Some(run) = self.phase.take_flow() {
            self.on_flow_done(run.kind, result);
        }
    }

    fn on_timer(&mut self) {
        self.schedule.refresh_at = None;
        let idle = self.is_idle();
        if idle {
            tracing::debug!(endpoint = %self.profile.endpoint, "session idle; not refreshing");
        }
        let has_rt = self.tokens.refresh_token.is_some();
        if let Some(kind) = decide::timer(idle, self.profile.mode, has_rt) {
            self.start(kind);
        }
    }

    fn start(&mut self, kind: FlowKind) {
        self.generation += 1;
        let generation = self.generation;
        let (events_tx, events) = mpsc::unbounded_channel();
        let input = FlowInput {
            ctx: self.ctx.clone(),
            profile: self.profile.clone(),
            kind: kind.clone(),
            refresh_token: self.tokens.refresh_token.clone(),
            effective: self.tokens.effective.clone(),
            browser_env: self.browser_env.clone(),
        };
        let done = self.done_tx.clone();
        let task = tokio::spawn(async move {
            let result = runner::run(input, events_tx).await;
            let _ = done.send((generation, result)).await;
        });
        let abort = task.abort_handle();
        self.schedule.next_prune = Instant::now() + PRUNE_EVERY;
        let login = kind.is_login();
        let flow = Running {
            generation,
            abort,
            kind,
            prompt: None,
            events,
            orphaned_since: None,
            started: Instant::now(),
        };
        self.advance(Step::Started { login, flow });
    }

    pub(super) fn login_required_error(&self) -> WireError {
        match self.phase.login_required() {
            Some(why) => AgentError::Login(why.to_owned()).to_wire(),
            None => AgentError::LoginRequired {
                host: self.profile.host().to_owned(),
            }
            .to_wire(),
        }
    }

    fn refresh_in(&mut self, delay: Duration) {
        self.schedule.refresh_at = Some(Instant::now() + delay);
    }

    /// The current token if it still has a little validity left.
    pub(super) fn usable(&self) -> Option<Arc<Issued>> {
        self.tokens
            .current
            .clone()
            .filter(|c| c.remaining_ms(now_ms()) > USABLE_MS)
    }

    /// How much longer the current token may be handed out; `None` if it may not now.
    pub(super) fn usable_for(&self) -> Option<Duration> {
        let left = self.tokens.current.as_ref()?.remaining_ms(now_ms());
        (left > USABLE_MS).then(|| Duration::from_millis(left - USABLE_MS))
    }

    pub(super) fn is_idle(&self) -> bool {
        self.schedule.last_used.elapsed() > self.ctx.settings.idle_session
    }
}

async fn recv_event(running: Option<&mut Running>) -> Option<Event> {
    match running {
        Some(r) => r.events.recv().await,
        None => std::future::pending().await,
    }
}
