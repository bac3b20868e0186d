//! OAuth2 client credentials (API keys and app secrets): the secret is sent as HTTP Basic to the token endpoint.
//!
//! HTTP Basic with the form-url-encoded secret, `scope` and `audience` as Flyte's clients send
//! them (see [`super::token`]).

use flyte_auth_proto::Profile;

use super::{Grant, token};
use crate::AgentError;
use crate::session::Effective;

/// Runs the client-credentials grant for `profile`.
pub async fn fetch(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
) -> Result<Grant, AgentError> {
    let host = profile.host();
    let secret = profile.client_secret.as_ref().ok_or_else(|| {
        AgentError::Config(format!(
            "no client secret for {host} (client id {})",
            eff.client_id
        ))
    })?;
    let scope = eff.scope_param();
    let mut form = vec![("scope", scope.as_str())];
    if let Some(aud) = &eff.audience {
        form.push(("audience", aud.as_str()));
    }
    let mut req = eff.token_request(host, "client_credentials", &form);
    req.basic = Some((&eff.client_id, secret));
    token::exchange(http, &req).await
}
