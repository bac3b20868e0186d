//! Browser login: authorization code with PKCE (S256) and a loopback redirect, as Flyte's SDKs do it.
//!
//! The listener is bound before the browser is opened, so a busy port is reported at once;
//! the URL goes to every waiting client as an `OpenUrl` event, whether or not a browser
//! could be opened here.

use std::time::Duration;

use flyte_auth_proto::{BrowserEnv, Event, Profile};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl};
use tokio::sync::mpsc::UnboundedSender;

use super::{Grant, browser, loopback, token};
use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::session::Effective;

/// flyteadmin's default redirect URI, used when the server names none.
const DEFAULT_REDIRECT: &str = "http://localhost:53593/callback";
/// `admin.pkceConfig.timeout` default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a browser login for `profile`.
pub async fn login(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
    settings: &ServerSettings,
    events: &UnboundedSender<Event>,
    browser_env: &BrowserEnv,
) -> Result<Grant, AgentError> {
    let host = profile.host();
    let auth_endpoint = settings
        .metadata
        .authorization_endpoint
        .clone()
        .ok_or_else(|| {
            AgentError::Config(format!(
                "{host} advertises no authorization endpoint for browser login"
            ))
        })?;
    let redirect = settings
        .client
        .redirect_uri
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_REDIRECT.to_owned());
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        AgentError::Config(
            flyte_auth_proto::text::printable(&format!("{host}: invalid {what}: {e}")).into_owned(),
        )
    };
    let client = BasicClient::new(ClientId::new(eff.client_id.clone()))
        .set_auth_uri(AuthUrl::new(auth_endpoint).map_err(|e| bad("authorization endpoint", &e))?)
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).map_err(|e| bad("redirect URI", &e))?);

    token::check_endpoint(host, &eff.token_endpoint)?;
    let listener = loopback::bind(&redirect, host).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(eff.oauth_scopes())
        .set_pkce_challenge(challenge);
    if let Some(aud) = &eff.audience {
        req = req.add_extra_param("audience", aud.clone());
    }
    let (url, state) = req.url();
    let opened = browser::open(url.as_str(), browser_env).await;
    tracing::info!(%host, opened, "browser login started");
    let _ = events.send(Event::OpenUrl {
        url: url.to_string(),
        opened,
    });

    let timeout = profile
        .pkce_timeout_secs
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let code = tokio::time::timeout(timeout, listener.wait_for_code(state.secret()))
        .await
        .map_err(|_| {
            AgentError::Login(format!(
                "browser login to {host} timed out after {}s: run `flyte-auth login` again",
                timeout.as_secs()
            ))
        })??;
    let code = zeroize::Zeroizing::new(code);
    let form = [
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("client_id", eff.client_id.as_str()),
        ("code_verifier", verifier.secret().as_str()),
    ];
    token::exchange(http, &eff.token_request(host, "authorization_code", &form)).await
}
