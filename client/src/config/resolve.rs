//! The resolution itself: read every layer (flags, env, API key, file), then decide the
//! endpoint, the credentials and the rest in the precedence the module docs of
//! [`super`] give.

use std::path::{Path, PathBuf};

use flyte_auth_proto::{AuthMode, Profile, Secret};

use super::api_key::{self, ApiKey};
use super::auth_type::{self, AuthChoice};
use super::endpoint::{self, Endpoint};
use super::settings::{PathBase, Settings};
use super::{Overrides, Resolved, env, file, secret, yaml};
use crate::error::{Error, Result};

/// What every source says, before precedence is applied.
struct Layers {
    flag_auth: Option<AuthChoice>,
    flag_endpoint: Option<Endpoint>,
    env: Settings,
    file: Settings,
    config_file: Option<PathBuf>,
    api_key: Option<ApiKey>,
}

/// Who the profile logs in as.
struct Credentials {
    mode: AuthMode,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    org: Option<String>,
}

/// Resolves `o` against `env` and the files under `base`; `default_secret` is the file a
/// client secret is read from when nothing names one (the Go SDK's default).
pub(super) fn resolve_inner(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    base: PathBase<'_>,
    default_secret: &Path,
) -> Result<Resolved> {
    let layers = read_layers(o, env, base)?;
    let (endpoint, file_insecure_applies) = pick_endpoint(&layers)?;
    let file_insecure = layers.file.insecure.filter(|_| file_insecure_applies);
    let insecure =
        o.insecure || endpoint.plain_http || layers.env.insecure.or(file_insecure).unwrap_or(false);
    let Layers {
        flag_auth,
        env: env_s,
        file: file_s,
        config_file,
        api_key,
        ..
    } = layers;
    let s = env_s.or(file_s);
    let api_key_var = api_key.as_ref().map(|k| k.var.to_owned());
    let c = credentials(flag_auth, api_key, &s, env, default_secret)?;

    let mut profile = Profile::new(endpoint.url(insecure), c.mode);
    s.copy_into(&mut profile);
    profile.insecure = insecure;
    profile.insecure_skip_verify = s.insecure_skip_verify.unwrap_or(false);
    profile.client_id = c.client_id;
    profile.client_secret = c.client_secret;
    // An empty list means "unset" (flytekit: `self._scopes or cfg.scopes`).
    profile.scopes = s.scopes.filter(|v| !v.is_empty());
    profile.org = c.org;
    Ok(Resolved {
        profile,
        config_file,
        api_key_var,
    })
}

/// Parses the flags and reads the env, the config file and the API key.
fn read_layers(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    base: PathBase<'_>,
) -> Result<Layers> {
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
    Ok(Layers {
        flag_auth,
        flag_endpoint,
        env: env_s,
        file: file_s,
        config_file,
        api_key,
    })
}

/// The endpoint (flag or env, else the API key's host, else the file's), and whether the
/// file's `insecure` applies to it: not when the endpoint came from an API key (the file
/// was about another host).
fn pick_endpoint(l: &Layers) -> Result<(Endpoint, bool)> {
    if let Some(e) = l.flag_endpoint.clone().or(l.env.endpoint.clone()) {
        Ok((e, true))
    } else if let Some(k) = &l.api_key {
        Ok((k.endpoint.clone(), false))
    } else if let Some(e) = l.file.endpoint.clone() {
        Ok((e, true))
    } else {
        Err(no_endpoint(l.config_file.as_deref()))
    }
}

/// The mode and the client: an API key's app, else the configured authType and client
/// (ClientSecret when a secret is configured and no authType says otherwise, else Pkce).
fn credentials(
    flag_auth: Option<AuthChoice>,
    api_key: Option<ApiKey>,
    s: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    default_secret: &Path,
) -> Result<Credentials> {
    if let Some(k) = api_key {
        return Ok(Credentials {
            mode: AuthMode::ClientSecret,
            client_id: Some(k.client_id),
            client_secret: Some(k.client_secret),
            org: k.org.or(s.org.clone()),
        });
    }
    let explicit = flag_auth.or(s.auth_type);
    let required = explicit == Some(AuthChoice::Mode(AuthMode::ClientSecret));
    let secret = match explicit {
        Some(AuthChoice::Mode(m)) if m.is_interactive() => None,
        _ => secret::load(s, env, required, default_secret)?,
    };
    let mode = match explicit {
        Some(AuthChoice::Mode(m)) => m,
        _ if secret.is_some() => AuthMode::ClientSecret,
        _ => AuthMode::Pkce,
    };
    if mode == AuthMode::ClientSecret && s.client_id.is_none() {
        return Err(no_client_id(required));
    }
    Ok(Credentials {
        mode,
        client_id: s.client_id.clone(),
        client_secret: secret,
        org: s.org.clone(),
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
