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
mod resolve;
mod secret;
mod settings;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use flyte_auth_proto::Profile;

pub use create::{CreateConfig, default_config_path, render_config, write_config};
pub use duration::parse_duration;

use resolve::resolve_inner;
use settings::PathBase;

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
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Config(format!("cannot determine the current directory: {e}")))?;
    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    let env = |k: &str| std::env::var(k).ok();
    resolve_with(o, &env, &cwd, home.as_deref()).map(|r| r.profile)
}

/// Resolves with an injected environment, cwd and home (for embedding), also reporting
/// which config file and API-key variable were used.
pub fn resolve_with(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Resolved> {
    let default_secret = Path::new(secret::DEFAULT_SECRET_FILE);
    resolve_inner(o, env, PathBase { cwd, home }, default_secret)
}
