//! `Settings`: one layer of auth configuration (a config file or one SDK's env vars), already
//! type-checked, plus the helpers the layers share (path expansion, lists, bools).

use std::path::{Path, PathBuf};

use flyte_auth_proto::Secret;

use super::auth_type::AuthChoice;
use super::endpoint::Endpoint;

/// Everything a single source can say about auth; `None` = this source is silent.
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings {
    pub endpoint: Option<Endpoint>,
    pub insecure: Option<bool>,
    pub insecure_skip_verify: Option<bool>,
    pub ca_cert_file: Option<PathBuf>,
    pub http_proxy: Option<String>,
    pub auth_type: Option<AuthChoice>,
    pub client_id: Option<String>,
    /// Raw secret (only `FLYTE_CREDENTIALS_CLIENT_SECRET` can carry one).
    pub client_secret: Option<Secret>,
    pub client_secret_env_var: Option<String>,
    pub client_secret_location: Option<PathBuf>,
    pub scopes: Option<Vec<String>>,
    pub audience: Option<String>,
    pub token_url: Option<String>,
    pub authorization_header: Option<String>,
    pub pkce_timeout_secs: Option<u64>,
    pub device_timeout_secs: Option<u64>,
    pub device_poll_interval_secs: Option<u64>,
    pub org: Option<String>,
}

impl Settings {
    /// Field by field: `self` where it says something, else `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            endpoint: self.endpoint.or(lower.endpoint),
            insecure: self.insecure.or(lower.insecure),
            insecure_skip_verify: self.insecure_skip_verify.or(lower.insecure_skip_verify),
            ca_cert_file: self.ca_cert_file.or(lower.ca_cert_file),
            http_proxy: self.http_proxy.or(lower.http_proxy),
            auth_type: self.auth_type.or(lower.auth_type),
            client_id: self.client_id.or(lower.client_id),
            client_secret: self.client_secret.or(lower.client_secret),
            client_secret_env_var: self.client_secret_env_var.or(lower.client_secret_env_var),
            client_secret_location: self.client_secret_location.or(lower.client_secret_location),
            scopes: self.scopes.or(lower.scopes),
            audience: self.audience.or(lower.audience),
            token_url: self.token_url.or(lower.token_url),
            authorization_header: self.authorization_header.or(lower.authorization_header),
            pkce_timeout_secs: self.pkce_timeout_secs.or(lower.pkce_timeout_secs),
            device_timeout_secs: self.device_timeout_secs.or(lower.device_timeout_secs),
            device_poll_interval_secs: self
                .device_poll_interval_secs
                .or(lower.device_poll_interval_secs),
            org: self.org.or(lower.org),
        }
    }
}

/// Where relative paths and `~` point: the profile goes to the agent, whose cwd differs, so
/// every path is made absolute against the *client's* cwd (which is what Flyte's own clients,
/// opening files in-process, effectively do).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathBase<'a> {
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
}

impl PathBase<'_> {
    /// Expands a leading `~/` (env values set in files are not shell-expanded) and makes the
    /// path absolute.
    pub fn resolve(&self, raw: &str) -> PathBuf {
        let raw = raw.trim();
        let expanded = match (raw.strip_prefix("~/"), self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(raw),
        };
        self.absolute(&expanded)
    }

    /// Makes `path` absolute against the cwd (no `~` expansion: the shell did that).
    pub fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }
}

/// Parses a bool the way both SDKs' env vars are written: true/false/1/0/yes/no (any case).
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Splits a comma list (`all, offline`), dropping blanks.
pub(crate) fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_and_lists() {
        for t in ["true", "TRUE", "1", "yes", "Yes"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "False", "0", "no", "NO"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(split_list(" all, offline ,,"), vec!["all", "offline"]);
    }

    #[test]
    fn paths_are_absolute() {
        let base = PathBase {
            cwd: Path::new("/work"),
            home: Some(Path::new("/home/u")),
        };
        assert_eq!(base.resolve("~/s"), PathBuf::from("/home/u/s"));
        assert_eq!(base.resolve("s/t"), PathBuf::from("/work/s/t"));
        assert_eq!(base.resolve("/etc/x"), PathBuf::from("/etc/x"));
        let homeless = PathBase {
            cwd: Path::new("/work"),
            home: None,
        };
        assert_eq!(homeless.resolve("~/s"), PathBuf::from("/work/~/s"));
    }
}
