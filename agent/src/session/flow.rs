//! The flows a session actor runs: what kind, and running one as its own task.

use std::sync::Arc;

use flyte_auth_proto::{AuthMode, BrowserEnv, Event, Profile, Secret};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::flows::{Effective, Grant, client_credentials, device, pkce, refresh};
use crate::{AgentError, Ctx};

/// Result of a flow: new tokens and the settings they were obtained with.
pub(super) type FlowResult = Result<(Grant, Effective), AgentError>;

/// What a running flow does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FlowKind {
    /// Client credentials (API key / app secret).
    Fetch,
    /// Refresh-token grant.
    Refresh,
    /// Interactive login. `started_interactively` is false for a PKCE login a
    /// non-interactive client started hoping a browser could be opened.
    Login {
        method: AuthMode,
        started_interactively: bool,
    },
}

impl FlowKind {
    pub fn is_login(&self) -> bool {
        matches!(self, FlowKind::Login { .. })
    }
}

/// A flow in progress.
#[derive(Debug)]
pub(super) struct Running {
    pub generation: u64,
    pub abort: AbortHandle,
    pub kind: FlowKind,
    /// The login prompt so far, replayed to clients that join late.
    pub prompt: Option<Event>,
    /// Prompts from the flow task.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Since when no client has been waiting (logins are cancelled after a grace period).
    pub orphaned_since: Option<Instant>,
}

/// Everything a flow task needs, cloned out of the actor.
pub(super) struct FlowInput {
    pub ctx: Arc<Ctx>,
    pub profile: Profile,
    pub kind: FlowKind,
    pub refresh_token: Option<Secret>,
    pub browser_env: BrowserEnv,
}

/// Discovery, then the grant for `kind`.
pub(super) async fn run(input: FlowInput, events: mpsc::UnboundedSender<Event>) -> FlowResult {
    let FlowInput {
        ctx,
        profile,
        kind,
        refresh_token,
        browser_env,
    } = input;
    let http = ctx.http.for_profile(&profile)?;
    let settings = ctx
        .discovery
        .get(&http, &profile.endpoint, profile.host())
        .await?;
    let eff = Effective::resolve(&profile, &settings)?;
    let grant = match kind {
        FlowKind::Fetch => client_credentials::fetch(&http, &profile, &eff).await?,
        FlowKind::Refresh => {
            let rt = refresh_token.ok_or_else(|| AgentError::LoginRequired {
                host: profile.host().to_owned(),
            })?;
            refresh::refresh(&http, &profile, &eff, &rt).await?
        }
        FlowKind::Login {
            method: AuthMode::DeviceFlow,
            ..
        } => device::login(&http, &profile, &eff, &settings, &events).await?,
        FlowKind::Login {
            method: AuthMode::Pkce,
            ..
        } => pkce::login(&http, &profile, &eff, &settings, &events, &browser_env).await?,
        FlowKind::Login {
            method: AuthMode::ClientSecret,
            ..
        } => client_credentials::fetch(&http, &profile, &eff).await?,
    };
    Ok((grant, eff))
}

/// Whether a failed refresh means the refresh token is dead (so a human must log in again)
/// rather than a passing fault.
pub(super) fn refresh_token_rejected(e: &AgentError) -> bool {
    matches!(e, AgentError::Rejected { error, .. } if error == "invalid_grant" || error == "invalid_token")
}
