//! `Settings`: one layer of auth configuration (a config file or one SDK's env vars), already
//! type-checked, plus the helpers the layers share (path expansion, lists, bools).
//!
//! Every setting is declared once, in the table of the `settings!` macro below: its field,
//! the kind of value, its config-file key and its variable in each SDK. Adding an `admin.*`
//! key is one line there (plus its [`Profile`] field when it goes to the agent).

use std::path::{Path, PathBuf};

use flyte_auth_proto::{Profile, Secret};

use super::auth_type::AuthChoice;
use super::endpoint::Endpoint;
use crate::error::Result;

/// Where one setting comes from: its config-file key, and its variable in each SDK's
/// spelling (`None`: that source cannot set it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    /// The dotted YAML key, e.g. `admin.clientId` (its last part is looked up in the mapping
    /// its first parts name).
    pub file: Option<&'static str>,
    /// flyte-sdk's variable (`FLYTE_ADMIN_*`, `FLYTE_TASK_*`).
    pub sdk: Option<&'static str>,
    /// flytekit's variable (`FLYTE_PLATFORM_*`, `FLYTE_CREDENTIALS_*`).
    pub kit: Option<&'static str>,
}

/// How a source reads a value of each kind the table below names; a reader type-checks the
/// value and names the key (or variable) and the file in its errors.
pub(crate) trait Source {
    /// A trimmed, non-empty string.
    fn string(&self, key: &'static str) -> Result<Option<String>>;
    /// true/false (and the spellings [`parse_bool`] takes).
    fn bool(&self, key: &'static str) -> Result<Option<bool>>;
    /// A path, made absolute (see [`PathBase`]).
    fn path(&self, key: &'static str) -> Result<Option<PathBuf>>;
    /// A list of strings (or a comma list).
    fn list(&self, key: &'static str) -> Result<Option<Vec<String>>>;
    /// A duration in whole seconds (Go syntax, or a number of seconds).
    fn duration(&self, key: &'static str) -> Result<Option<u64>>;
    /// A Flyte endpoint.
    fn endpoint(&self, key: &'static str) -> Result<Option<Endpoint>>;
    /// An authType, in any SDK's spelling.
    fn auth_type(&self, key: &'static str) -> Result<Option<AuthChoice>>;
    /// A secret, taken as it is (not trimmed).
    fn secret(&self, key: &'static str) -> Result<Option<Secret>>;
}

/// Declares every setting once: its field in [`Settings`], the kind of value (a [`Source`]
/// method), and its names in each source. `copy` settings go to the [`Profile`] field of the
/// same name unchanged; `other` settings are combined by `resolve` (precedence, defaults).
macro_rules! settings {
    (
        copy { $( $(#[$cdoc:meta])* $cfield:ident: $cty:ty = $ckind:ident, $cfile:expr, $csdk:expr, $ckit:expr; )* }
        other { $( $(#[$odoc:meta])* $ofield:ident: $oty:ty = $okind:ident, $ofile:expr, $osdk:expr, $okit:expr; )* }
    ) => {
        /// Everything a single source can say about auth; `None` = this source is silent.
        #[derive(Debug, Default, Clone)]
        pub(crate) struct Settings {
            $( $(#[$odoc])* pub $ofield: Option<$oty>, )*
            $( $(#[$cdoc])* pub $cfield: Option<$cty>, )*
        }

        impl Settings {
            /// Field by field: `self` where it says something, else `lower`.
            pub fn or(self, lower: Settings) -> Settings {
                Settings {
                    $( $ofield: self.$ofield.or(lower.$ofield), )*
                    $( $cfield: self.$cfield.or(lower.$cfield), )*
                }
            }

            /// Reads every setting `src` has a name for; `name` picks the name from [`Names`].
            pub fn read(
                src: &impl Source,
                name: impl Fn(&Names) -> Option<&'static str>,
            ) -> Result<Settings> {
                let get = |n: Names| name(&n);
                Ok(Settings {
                    $( $ofield: match get(Names { file: $ofile, sdk: $osdk, kit: $okit }) {
                        Some(key) => src.$okind(key)?,
                        None => None,
                    }, )*
                    $( $cfield: match get(Names { file: $cfile, sdk: $csdk, kit: $ckit }) {
                        Some(key) => src.$ckind(key)?,
                        None => None,
                    }, )*
                })
            }

            /// Sets the profile's fields that take a setting as it is.
            pub fn copy_into(&self, profile: &mut Profile) {
                $( profile.$cfield = self.$cfield.clone(); )*
            }
        }

        /// Every setting's names, for checks over the whole table.
        #[cfg(test)]
        pub(crate) const ALL_NAMES: &[(&str, Names)] = &[
            $( (stringify!($ofield), Names { file: $ofile, sdk: $osdk, kit: $okit }), )*
            $( (stringify!($cfield), Names { file: $cfile, sdk: $csdk, kit: $ckit }), )*
        ];
    };
}

// One line per setting: field: type = kind, file key, flyte-sdk variable, flytekit variable.
// Reading order (and so which of two bad values is reported) is the order below.
settings! {
    copy {
        ca_cert_file: PathBuf = path, Some("admin.caCertFilePath"),
            Some("FLYTE_ADMIN_CACERTFILEPATH"), Some("FLYTE_PLATFORM_CA_CERT_FILE_PATH");
        http_proxy: String = string, Some("admin.httpProxyURL"),
            Some("FLYTE_ADMIN_HTTPPROXYURL"), Some("FLYTE_PLATFORM_HTTP_PROXY_URL");
        audience: String = string, Some("admin.audience"),
            None, Some("FLYTE_CREDENTIALS_AUDIENCE");
        token_url: String = string, Some("admin.tokenUrl"), None, None;
        authorization_header: String = string, Some("admin.authorizationHeader"), None, None;
        pkce_timeout_secs: u64 = duration, Some("admin.pkceConfig.timeout"), None, None;
        device_timeout_secs: u64 = duration, Some("admin.deviceFlowConfig.timeout"), None, None;
        device_poll_interval_secs: u64 = duration, Some("admin.deviceFlowConfig.pollInterval"),
            None, None;
    }
    other {
        endpoint: Endpoint = endpoint, Some("admin.endpoint"),
            Some("FLYTE_ADMIN_ENDPOINT"), Some("FLYTE_PLATFORM_URL");
        auth_type: AuthChoice = auth_type, Some("admin.authType"),
            Some("FLYTE_ADMIN_AUTHTYPE"), Some("FLYTE_CREDENTIALS_AUTH_MODE");
        insecure: bool = bool, Some("admin.insecure"),
            Some("FLYTE_ADMIN_INSECURE"), Some("FLYTE_PLATFORM_INSECURE");
        insecure_skip_verify: bool = bool, Some("admin.insecureSkipVerify"),
            Some("FLYTE_ADMIN_INSECURESKIPVERIFY"), Some("FLYTE_PLATFORM_INSECURE_SKIP_VERIFY");
        client_id: String = string, Some("admin.clientId"),
            Some("FLYTE_ADMIN_CLIENTID"), Some("FLYTE_CREDENTIALS_CLIENT_ID");
        /// Raw secret (only `FLYTE_CREDENTIALS_CLIENT_SECRET` can carry one).
        client_secret: Secret = secret, None, None, Some("FLYTE_CREDENTIALS_CLIENT_SECRET");
        client_secret_env_var: String = string, Some("admin.clientSecretEnvVar"),
            Some("FLYTE_ADMIN_CLIENTSECRETENVVAR"), Some("FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR");
        client_secret_location: PathBuf = path, Some("admin.clientSecretLocation"),
            Some("FLYTE_ADMIN_CLIENTSECRETLOCATION"),
            Some("FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION");
        /// An empty list means "unset" (flytekit: `self._scopes or cfg.scopes`).
        scopes: Vec<String> = list, Some("admin.scopes"),
            Some("FLYTE_ADMIN_SCOPES"), Some("FLYTE_CREDENTIALS_SCOPES");
        /// An API key's org wins over this one.
        org: String = string, Some("task.org"), Some("FLYTE_TASK_ORG"), None;
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
    fn every_setting_has_a_source_and_no_name_is_used_twice() {
        let mut seen = std::collections::HashSet::new();
        for (field, n) in ALL_NAMES {
            let names: Vec<&str> = [n.file, n.sdk, n.kit].into_iter().flatten().collect();
            assert!(!names.is_empty(), "{field} has no source");
            for name in names {
                assert!(seen.insert(name.to_ascii_lowercase()), "{name} used twice");
            }
        }
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
