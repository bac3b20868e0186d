//! Config resolution: CLI flags + env + API key + Flyte config file → one [`Profile`].
//!
//! Precedence, highest first (per setting):
//! 1. CLI flags ([`Overrides`]).
//! 2. An API key (`FLYTE_API_KEY`, … see `api_key.rs`): mode ClientSecret, client id, secret,
//!    org, and the endpoint — except that an endpoint flag or endpoint env var
//!    (`FLYTE_ADMIN_ENDPOINT` / `FLYTE_PLATFORM_URL`) still wins over the key's host, which is
//!    how a key is pointed at a local IdP. `--auth-type pkce|device-flow` ignores the key.
//! 3. Env overrides, flyte-sdk's `FLYTE_ADMIN_*` before flytekit's `FLYTE_PLATFORM_*` /
//!    `FLYTE_CREDENTIALS_*` (see `env.rs`).
//! 4. The config file (see `file.rs` for the search order, `yaml.rs` for the keys).
//!
//! Mode: the first authType found in flags/env/file; if none (or `ExternalCommand` /
//! `Passthrough`, which mean "the SDK runs us"), ClientSecret when a client secret is
//! configured (flytekit's `is_client_secret`), else Pkce. Unlike flyte-sdk, `--endpoint`
//! without `--auth-type` keeps the configured authType instead of forcing Pkce.
//! Insecure: `--insecure`, an `http://` endpoint, or `insecure` from env, else from the file —
//! the file's value is ignored when the endpoint came from an API key (it was about another
//! host).

mod api_key;
mod auth_type;
mod create;
mod duration;
mod endpoint;
mod env;
mod file;
mod secret;
mod settings;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use flyte_auth_proto::{AuthMode, Profile};

pub use create::{CreateConfig, default_config_path, render_config, write_config};
pub use duration::parse_duration;

use auth_type::AuthChoice;
use settings::{PathBase, Settings};

use crate::error::{Error, Result};

/// Settings given on the command line; they beat env and config files.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config PATH`: use this file instead of searching (it must exist).
    pub config: Option<PathBuf>,
    /// `--endpoint HOST`: beats env, API key and file.
    pub endpoint: Option<String>,
    /// `--auth-type NAME`: any authType spelling.
    pub auth_type: Option<String>,
    /// `--insecure`: plain-text HTTP.
    pub insecure: bool,
}

/// A resolved profile plus where it came from, for `status` and messages.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The profile to hand to the agent.
    pub profile: Profile,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The environment variable an API key was taken from, if one was used.
    pub api_key_var: Option<String>,
}

/// Resolves the profile from the real environment, cwd and home directory.
pub fn resolve(o: &Overrides) -> Result<Profile> {
    resolve_detailed(o).map(|r| r.profile)
}

/// Like [`resolve`], also reporting which config file and API-key variable were used.
pub fn resolve_detailed(o: &Overrides) -> Result<Resolved> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Config(format!("cannot determine the current directory: {e}")))?;
    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    let env = |k: &str| std::env::var(k).ok();
    resolve_with_source(o, &env, &cwd, home.as_deref())
}

/// Resolves with an injected environment, cwd and home (for tests and embedding).
pub fn resolve_with(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Profile> {
    resolve_with_source(o, env, cwd, home).map(|r| r.profile)
}

/// Like [`resolve_with`], also reporting which config file and API-key variable were used.
pub fn resolve_with_source(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Resolved> {
    let default_secret = Path::new(secret::DEFAULT_SECRET_FILE);
    resolve_inner(o, env, PathBase { cwd, home }, default_secret)
}

/// The config file resolution would read (`None`: no file; env or an API key must do).
pub fn find_config_file(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Option<PathBuf>> {
    file::find(o.config.as_deref(), env, PathBase { cwd, home })
}

fn resolve_inner(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    base: PathBase<'_>,
    default_secret: &Path,
) -> Result<Resolved> {
    let flag_auth = o
        .auth_type
        .as_deref()
        .map(|v| auth_type::parse_or_explain(v, "--auth-type").map_err(Error::Config))
        .transpose()?;
    let flag_endpoint = o
        .endpoint
        .as_deref()
        .map(|v| {
            endpoint::parse(v)
                .map_err(|why| Error::Config(format!("invalid --endpoint {:?}: {why}", v.trim())))
        })
        .transpose()?;
    let env_s = env::overrides(env, base)?;
    let config_file = file::find(o.config.as_deref(), env, base)?;
    let file_s = match &config_file {
        Some(p) => yaml::load(p, base)?,
        None => Settings::default(),
    };
    // Asking for an interactive login explicitly means "not as the app in $FLYTE_API_KEY".
    let api_key = match flag_auth {
        Some(AuthChoice::Mode(m)) if m.is_interactive() => None,
        _ => api_key::from_env(env)?,
    };

    let (endpoint, file_insecure_applies) =
        if let Some(e) = flag_endpoint.or(env_s.endpoint.clone()) {
            (e, true)
        } else if let Some(k) = &api_key {
            (k.endpoint.clone(), false)
        } else if let Some(e) = file_s.endpoint.clone() {
            (e, true)
        } else {
            return Err(no_endpoint(config_file.as_deref()));
        };
    let file_insecure = if file_insecure_applies {
        file_s.insecure
    } else {
        None
    };
    let insecure =
        o.insecure || endpoint.plain_http || env_s.insecure.or(file_insecure).unwrap_or(false);

    let s = env_s.or(file_s);
    let api_key_var = api_key.as_ref().map(|k| k.var.to_owned());
    let (mode, client_id, client_secret, org) = match api_key {
        Some(k) => (
            AuthMode::ClientSecret,
            Some(k.client_id),
            Some(k.client_secret),
            k.org.or(s.org.clone()),
        ),
        None => {
            let explicit = flag_auth.or(s.auth_type);
            let required = explicit == Some(AuthChoice::Mode(AuthMode::ClientSecret));
            let secret = match explicit {
                Some(AuthChoice::Mode(m)) if m.is_interactive() => None,
                _ => secret::load(&s, env, required, default_secret)?,
            };
            let mode = match explicit {
                Some(AuthChoice::Mode(m)) => m,
                _ if secret.is_some() => AuthMode::ClientSecret,
                _ => AuthMode::Pkce,
            };
            if mode == AuthMode::ClientSecret && s.client_id.is_none() {
                return Err(no_client_id(required));
            }
            (mode, s.client_id.clone(), secret, s.org.clone())
        }
    };

    let mut profile = Profile::new(endpoint.url(insecure), mode);
    profile.insecure = insecure;
    profile.insecure_skip_verify = s.insecure_skip_verify.unwrap_or(false);
    profile.ca_cert_file = s.ca_cert_file;
    profile.http_proxy = s.http_proxy;
    profile.client_id = client_id;
    profile.client_secret = client_secret;
    // An empty list means "unset" (flytekit: `self._scopes or cfg.scopes`).
    profile.scopes = s.scopes.filter(|v| !v.is_empty());
    profile.audience = s.audience;
    profile.token_url = s.token_url;
    profile.authorization_header = s.authorization_header;
    profile.pkce_timeout_secs = s.pkce_timeout_secs;
    profile.device_timeout_secs = s.device_timeout_secs;
    profile.device_poll_interval_secs = s.device_poll_interval_secs;
    profile.org = org;
    Ok(Resolved {
        profile,
        config_file,
        api_key_var,
    })
}

fn no_endpoint(config_file: Option<&Path>) -> Error {
    let fix = "run `flyte-auth create config --endpoint HOST`, set FLYTE_ADMIN_ENDPOINT, or \
               export FLYTE_API_KEY";
    Error::Config(match config_file {
        None => format!("no Flyte endpoint configured: {fix}"),
        Some(p) => format!(
            "no Flyte endpoint configured ({} has no admin.endpoint): {fix}",
            p.display()
        ),
    })
}

fn no_client_id(explicit: bool) -> Error {
    let why = if explicit {
        "authType ClientSecret"
    } else {
        "a client secret is configured, so authType ClientSecret is used; it"
    };
    Error::Config(format!(
        "{why} needs a client id: set admin.clientId, FLYTE_ADMIN_CLIENTID or \
         FLYTE_CREDENTIALS_CLIENT_ID"
    ))
}
