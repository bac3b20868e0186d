//! One session's actor: owns its tokens and timers, runs at most one flow at a time.
//!
//! The loop `select!`s over its inbox, the refresh timer and the completion of the running
//! flow. Flows run as separate tasks and report back with a generation number, so the actor
//! never blocks on the network and nothing else ever mutates its state.

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::{AuthMode, Profile, Secret, SessionStatus, TokenResponse, WireError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};

use super::schedule::{backoff, jitter, refresh_delay};
use super::{Command, Issued, SessionHandle};
use crate::flows::{Effective, Grant, client_credentials, now_ms};
use crate::{AgentError, Ctx, jwt};

/// If an on-demand attempt failed less than this long ago, later requests get that error at
/// once instead of starting another attempt: many clients must not turn into a tight loop.
const ON_DEMAND_GAP: Duration = Duration::from_secs(1);
/// A token with less than this left is not worth handing out even during an outage.
const USABLE_MS: u64 = 1_000;

type FlowResult = Result<(Grant, Effective), AgentError>;
type Waiter = oneshot::Sender<Result<TokenResponse, WireError>>;

/// Starts the actor for `profile` and returns its handle.
pub(super) fn spawn(ctx: Arc<Ctx>, profile: Profile) -> SessionHandle {
    let (tx, inbox) = mpsc::channel(64);
    let (publish, snapshot) = watch::channel(None);
    let (done_tx, done_rx) = mpsc::channel(1);
    let actor = Actor {
        ctx,
        profile,
        inbox,
        publish,
        done_tx,
        done_rx,
        flow: None,
        generation: 0,
        current: None,
        refresh_token: None,
        effective: None,
        subject: None,
        waiters: Vec::new(),
        refresh_at: None,
        next_refresh_unix: None,
        failures: 0,
        last_error: None,
        last_attempt: None,
        backoff_until: None,
        last_used: Instant::now(),
        last_used_unix: now_ms() / 1000,
    };
    tokio::spawn(actor.run());
    SessionHandle { tx, snapshot }
}

struct Actor {
    ctx: Arc<Ctx>,
    profile: Profile,
    inbox: mpsc::Receiver<Command>,
    publish: watch::Sender<Option<Arc<Issued>>>,
    done_tx: mpsc::Sender<(u64, FlowResult)>,
    done_rx: mpsc::Receiver<(u64, FlowResult)>,
    /// The running flow, if any: its generation and a handle to abort it.
    flow: Option<(u64, tokio::task::AbortHandle)>,
    generation: u64,
    current: Option<Arc<Issued>>,
    refresh_token: Option<Secret>,
    effective: Option<Effective>,
    subject: Option<String>,
    waiters: Vec<Waiter>,
    refresh_at: Option<Instant>,
    next_refresh_unix: Option<u64>,
    failures: u32,
    last_error: Option<AgentError>,
    last_attempt: Option<Instant>,
    backoff_until: Option<Instant>,
    last_used: Instant,
    last_used_unix: u64,
}

impl Actor {
    async fn run(mut self) {
        loop {
            let timer = self.refresh_at.filter(|_| self.flow.is_none());
            tokio::select! {
                cmd = self.inbox.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                Some((generation, result)) = self.done_rx.recv() => {
                    if self.flow.as_ref().is_some_and(|(g, _)| *g == generation) {
                        self.flow = None;
                        self.on_flow_done(result);
                    }
                }
                _ = sleep_until(timer.unwrap_or_else(Instant::now)), if timer.is_some() => {
                    self.refresh_at = None;
                    self.next_refresh_unix = None;
                    if self.is_idle() {
                        tracing::debug!(endpoint = %self.profile.endpoint, "session idle; not refreshing");
                    } else {
                        self.start_flow();
                    }
                }
            }
        }
        if let Some((_, h)) = self.flow.take() {
            h.abort();
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::GetToken {
                profile,
                min_valid,
                reply,
            } => {
                self.last_used = Instant::now();
                self.last_used_unix = now_ms() / 1000;
                // The latest client's view wins: a rotated secret takes effect on the next flow.
                if *profile != self.profile {
                    self.profile = *profile;
                }
                self.on_get_token(min_valid, reply);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
        }
    }

    fn on_get_token(&mut self, min_valid: Duration, reply: Waiter) {
        let now = now_ms();
        if let Some(cur) = self
            .current
            .as_ref()
            .filter(|c| c.satisfies(min_valid, now))
        {
            let _ = reply.send(Ok(cur.token.clone()));
            return;
        }
        if self.flow.is_some() {
            self.waiters.push(reply);
            return;
        }
        let in_backoff = self.backoff_until.is_some_and(|t| Instant::now() < t);
        if in_backoff {
            if let Some(cur) = self.usable() {
                let _ = reply.send(Ok(cur.token.clone()));
                return;
            }
            let recent = self
                .last_attempt
                .is_some_and(|t| t.elapsed() < ON_DEMAND_GAP);
            if let (true, Some(e)) = (recent, &self.last_error) {
                let _ = reply.send(Err(e.to_wire()));
                return;
            }
        }
        if self.profile.mode.is_interactive() && self.refresh_token.is_none() {
            let e = AgentError::LoginRequired {
                host: self.profile.host().to_owned(),
            };
            let _ = reply.send(Err(e.to_wire()));
            return;
        }
        self.waiters.push(reply);
        self.start_flow();
    }

    /// Starts the flow that gets this session a new token: client credentials, or (for
    /// interactive sessions) the refresh-token grant.
    fn start_flow(&mut self) {
        self.generation += 1;
        let generation = self.generation;
        let ctx = self.ctx.clone();
        let profile = self.profile.clone();
        let done = self.done_tx.clone();
        let task = tokio::spawn(async move {
            let result = run_flow(&ctx, &profile).await;
            let _ = done.send((generation, result)).await;
        });
        self.flow = Some((generation, task.abort_handle()));
        self.last_attempt = Some(Instant::now());
    }

    fn on_flow_done(&mut self, result: FlowResult) {
        match result {
            Ok((grant, eff)) => self.on_success(grant, eff),
            Err(e) => self.on_failure(e),
        }
    }

    fn on_success(&mut self, grant: Grant, eff: Effective) {
        let host = self.profile.host().to_owned();
        let claims = jwt::claims(grant.access_token.expose()).unwrap_or_default();
        self.subject = claims.display_subject().or_else(|| self.subject.take());
        if grant.refresh_token.is_some() {
            self.refresh_token = grant.refresh_token.clone();
        }
        let issued = Arc::new(Issued {
            token: TokenResponse {
                access_token: grant.access_token,
                token_type: grant.token_type,
                expires_at: grant.expires_at_ms / 1000,
                header_key: eff.header_key.clone(),
            },
            issued_at_ms: grant.issued_at_ms,
            expires_at_ms: grant.expires_at_ms,
        });
        self.effective = Some(eff);
        self.current = Some(issued.clone());
        self.publish.send_replace(Some(issued.clone()));
        if self.failures > 0 {
            tracing::info!(%host, failures = self.failures, "token refresh recovered");
        }
        self.failures = 0;
        self.last_error = None;
        self.backoff_until = None;
        let delay = refresh_delay(
            issued.issued_at_ms,
            issued.expires_at_ms,
            now_ms(),
            jitter(),
        );
        self.schedule(delay);
        tracing::info!(%host, mode = %self.profile.mode, expires_in_s = issued.remaining_ms(now_ms()) / 1000,
            refresh_in_s = delay.as_secs(), "obtained access token");
        for w in self.waiters.drain(..) {
            let _ = w.send(Ok(issued.token.clone()));
        }
    }

    fn on_failure(&mut self, e: AgentError) {
        self.failures += 1;
        let delay = backoff(self.failures, jitter());
        self.backoff_until = Some(Instant::now() + delay);
        tracing::warn!(host = %self.profile.host(), failures = self.failures, retry_in_ms = delay.as_millis() as u64,
            error = %e, "getting a token failed");
        let usable = self.usable();
        for w in self.waiters.drain(..) {
            let _ = w.send(match &usable {
                Some(cur) => Ok(cur.token.clone()),
                None => Err(e.to_wire()),
            });
        }
        // Retry in the background only while there is a token worth keeping fresh and someone
        // still uses this session; otherwise the next request tries again.
        if usable.is_some() && !self.is_idle() {
            self.schedule(delay);
        } else {
            self.refresh_at = None;
            self.next_refresh_unix = None;
        }
        self.last_error = Some(e);
    }

    fn schedule(&mut self, delay: Duration) {
        self.refresh_at = Some(Instant::now() + delay);
        self.next_refresh_unix = Some((now_ms() + delay.as_millis() as u64) / 1000);
    }

    /// The current token if it still has a little validity left.
    fn usable(&self) -> Option<Arc<Issued>> {
        self.current
            .clone()
            .filter(|c| c.remaining_ms(now_ms()) > USABLE_MS)
    }

    fn is_idle(&self) -> bool {
        self.last_used.elapsed() > self.ctx.settings.idle_session
    }

    fn status(&self) -> SessionStatus {
        let now = now_ms();
        let eff = self.effective.as_ref();
        let state = match (&self.flow, &self.current) {
            (Some(_), Some(_)) => "refreshing",
            (Some(_), None) => "authenticating",
            (None, _) if self.last_error.is_some() && self.usable().is_some() => "backoff",
            (None, Some(c)) if c.remaining_ms(now) > 0 && self.is_idle() => "idle",
            (None, Some(c)) if c.remaining_ms(now) > 0 => "ready",
            (None, Some(_)) => "expired",
            (None, None) if self.last_error.is_some() => "failed",
            (None, None) if self.profile.mode.is_interactive() => "login_required",
            (None, None) => "empty",
        };
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
            state: state.to_owned(),
            subject: self.subject.clone(),
            expires_at: self.current.as_ref().map(|c| c.expires_at_ms / 1000),
            next_refresh_at: self.next_refresh_unix,
            last_error: self.last_error.as_ref().map(|e| e.to_string()),
            last_used_at: Some(self.last_used_unix),
        }
    }
}

/// Discovery, then the grant for the profile's mode.
async fn run_flow(ctx: &Ctx, profile: &Profile) -> FlowResult {
    let http = ctx.http.for_profile(profile)?;
    let settings = ctx
        .discovery
        .get(&http, &profile.endpoint, profile.host())
        .await?;
    let eff = Effective::resolve(profile, &settings)?;
    let grant = match profile.mode {
        AuthMode::ClientSecret => client_credentials::fetch(&http, profile, &eff).await?,
        AuthMode::Pkce | AuthMode::DeviceFlow => {
            return Err(AgentError::LoginRequired {
                host: profile.host().to_owned(),
            });
        }
    };
    Ok((grant, eff))
}
