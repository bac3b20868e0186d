//! Runs a session's flows as their own tasks: which kind (a grant, restoring a login from
//! the store, importing one), and saving new tokens before they are handed out.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use flyte_auth_proto::{AuthMode, BrowserEnv, Event, Profile, Secret};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::Effective;
use crate::flows::{Grant, client_credentials, device, pkce, refresh, subject};
use crate::store::{FORMAT_VERSION, StoreError, StoredSession};
use crate::{AgentError, Ctx};

/// Result of a flow.
pub(super) type FlowResult = Result<FlowOk, AgentError>;

/// What a successful flow produced.
#[derive(Debug)]
pub(super) enum FlowOk {
    /// New tokens, the settings they were obtained with, and how storing them went.
    Tokens {
        grant: Box<Grant>,
        eff: Effective,
        stored: Stored,
    },
    /// A login found in the store (its access token may still be valid).
    Restored(Box<StoredSession>),
    /// Nothing usable in the store; `note` says why when something was there.
    NothingStored { note: Option<String> },
}

/// Whether new tokens were written to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stored {
    /// Nothing to keep (API keys, or no refresh token).
    NotNeeded,
    /// Written before being handed out.
    Saved,
    /// Writing failed; the session works from memory.
    Failed(String),
}

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
    /// Look for this session's login in the store (first use after an agent start).
    Restore,
    /// Take over the login Flyte's Python SDKs left in the keyring.
    Import,
}

impl FlowKind {
    pub fn is_login(&self) -> bool {
        matches!(self, FlowKind::Login { .. } | FlowKind::Import)
    }

    /// Whether it renews a session's token without a human (refresh or client credentials):
    /// a client that a still-valid token can serve need not wait long for it.
    pub fn renews(&self) -> bool {
        matches!(self, FlowKind::Fetch | FlowKind::Refresh)
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
    /// When it started.
    pub started: Instant,
}

/// Everything a flow task needs, cloned out of the actor.
pub(super) struct FlowInput {
    pub ctx: Arc<Ctx>,
    pub profile: Profile,
    pub kind: FlowKind,
    pub refresh_token: Option<Secret>,
    /// Settings already known for this session (from an earlier flow or the store).
    pub effective: Option<Effective>,
    pub browser_env: BrowserEnv,
}

/// Runs the flow `input.kind`.
pub(super) async fn run(input: FlowInput, events: mpsc::UnboundedSender<Event>) -> FlowResult {
    let FlowInput {
        ctx,
        profile,
        kind,
        refresh_token,
        effective,
        browser_env,
    } = input;
    if kind == FlowKind::Restore {
        return Ok(restore(&ctx, &profile).await);
    }
    let http = ctx.http.for_profile(&profile)?;
    // A refresh with known settings skips discovery: the Flyte endpoint may be down while
    // the IdP is up, and the refresh token is only good at the endpoint that issued it.
    let (eff, settings) = match (&kind, effective) {
        (FlowKind::Refresh, Some(eff)) => (eff, None),
        _ => {
            let s = ctx
                .discovery
                .get(&http, &profile.endpoint, profile.host())
                .await?;
            (Effective::resolve(&profile, &s)?, Some(s))
        }
    };
    let host = profile.host().to_owned();
    let no_login = || AgentError::LoginRequired { host: host.clone() };
    let grant = match (&kind, settings.as_ref()) {
        (
            FlowKind::Fetch
            | FlowKind::Login {
                method: AuthMode::ClientSecret,
                ..
            },
            _,
        ) => client_credentials::fetch(&http, &profile, &eff).await?,
        (FlowKind::Refresh, _) => {
            refresh::refresh(
                &http,
                &profile,
                &eff,
                refresh_token.as_ref().ok_or_else(no_login)?,
            )
            .await?
        }
        (
            FlowKind::Login {
                method: AuthMode::DeviceFlow,
                ..
            },
            Some(s),
        ) => device::login(&http, &profile, &eff, s, &events).await?,
        (
            FlowKind::Login {
                method: AuthMode::Pkce,
                ..
            },
            Some(s),
        ) => pkce::login(&http, &profile, &eff, s, &events, &browser_env).await?,
        (FlowKind::Import, _) => {
            let rt = ctx.stores.import_python_sdk(&host).await?.and_then(|t| t.refresh_token).ok_or_else(|| {
                AgentError::Login(format!(
                    "no login of flytekit or flyte-sdk for {host} found in the keyring: run `flyte-auth login`"
                ))
            })?;
            refresh::refresh(&http, &profile, &eff, &rt).await?
        }
        (FlowKind::Login { .. } | FlowKind::Restore, _) => {
            return Err(AgentError::internal("flow without settings"));
        }
    };
    let stored = persist(&ctx, &profile, &eff, &grant, refresh_token).await;
    // Said once, at the first login, when logins will not survive a restart.
    if kind.is_login()
        && !ctx.stores.persistent()
        && let Some(warning) = ctx.stores.warning()
        && !ctx.warned_memory_only.swap(true, Ordering::Relaxed)
    {
        let _ = events.send(Event::Progress {
            message: format!("warning: {warning}"),
        });
    }
    Ok(FlowOk::Tokens {
        grant: Box::new(grant),
        eff,
        stored,
    })
}

/// Writes an interactive session to the store before its tokens are handed out, so a
/// rotated refresh token is never lost to a crash.
async fn persist(
    ctx: &Ctx,
    profile: &Profile,
    eff: &Effective,
    grant: &Grant,
    old_rt: Option<Secret>,
) -> Stored {
    // A refresh response without a new refresh token keeps the old one.
    let Some(rt) = grant.refresh_token.clone().or(old_rt) else {
        return Stored::NotNeeded;
    };
    if !profile.mode.is_interactive() {
        return Stored::NotNeeded;
    }
    let key = profile.session_key();
    let session = StoredSession {
        version: FORMAT_VERSION,
        endpoint: key.endpoint.clone(),
        token_endpoint: eff.token_endpoint.clone(),
        client_id: eff.client_id.clone(),
        scopes: eff.scopes.clone(),
        audience: eff.audience.clone(),
        refresh_token: rt,
        access_token: Some(grant.access_token.clone()),
        access_expires_at_ms: Some(grant.expires_at_ms),
        access_issued_at_ms: Some(grant.issued_at_ms),
        header_key: Some(eff.header_key.clone()),
        subject: subject(grant),
    };
    match ctx.stores.save(&key, &session).await {
        Ok(()) if ctx.stores.persistent() => Stored::Saved,
        Ok(()) => Stored::NotNeeded,
        Err(e) => {
            let msg = format!(
                "could not save the login for {} to the {}: {e}",
                profile.host(),
                ctx.stores.describe()
            );
            tracing::error!(
                "{msg}; the session keeps working from memory but will not survive a restart"
            );
            Stored::Failed(msg)
        }
    }
}

/// Looks for the session's login in the store. A corrupt item is removed and reported;
/// an unavailable store is reported; neither is fatal: the user is asked to log in.
async fn restore(ctx: &Ctx, profile: &Profile) -> FlowOk {
    let key = profile.session_key();
    let host = profile.host();
    match ctx.stores.load(&key).await {
        Ok(Some(s)) => FlowOk::Restored(Box::new(s)),
        Ok(None) => FlowOk::NothingStored { note: None },
        Err(StoreError::Corrupt(why)) => {
            tracing::warn!(%host, "removing an unreadable stored login: {why}");
            if let Err(e) = ctx.stores.delete(&key).await {
                tracing::warn!(%host, error = %e, "cannot remove the unreadable stored login");
            }
            FlowOk::NothingStored {
                note: Some(format!(
                    "the stored login for {host} could not be read ({why}) and was removed: run `flyte-auth login`"
                )),
            }
        }
        Err(e) => {
            tracing::warn!(%host, error = %e, "cannot read the stored login");
            FlowOk::NothingStored {
                note: Some(format!("cannot read the stored login for {host} ({e})")),
            }
        }
    }
}

/// Whether a failed refresh means the refresh token is dead (so a human must log in again)
/// rather than a passing fault.
pub(super) fn refresh_token_rejected(e: &AgentError) -> bool {
    matches!(
        e,
        AgentError::Rejected {
            error: crate::http::OAuthCode::InvalidGrant | crate::http::OAuthCode::InvalidToken,
            ..
        }
    )
}

impl StoredSession {
    /// The settings a stored login was obtained with.
    pub(super) fn effective(&self) -> Effective {
        Effective {
            token_endpoint: self.token_endpoint.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            audience: self.audience.clone(),
            header_key: self
                .header_key
                .clone()
                .unwrap_or_else(|| super::DEFAULT_HEADER_KEY.to_owned()),
        }
    }
}
