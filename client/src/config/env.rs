//! Per-key environment overrides, in both SDKs' spellings.
//!
//! flyte-sdk derives names from YAML keys (`FLYTE_ADMIN_CLIENTID`), flytekit from its INI
//! sections (`FLYTE_CREDENTIALS_CLIENT_ID`). Env beats the config file; when both spellings of
//! one setting are set, **flyte-sdk's `FLYTE_ADMIN_*` / `FLYTE_TASK_*` wins** (it is the current
//! SDK). An empty variable counts as unset. Unlike flyte-sdk (raw strings), values are typed:
//! bools accept true/false/1/0/yes/no in any case, lists are comma-separated.

use std::path::PathBuf;

use flyte_auth_proto::Secret;

use super::auth_type::{self, AuthChoice};
use super::duration;
use super::endpoint::{self, Endpoint};
use super::settings::{PathBase, Settings, Source, parse_bool, split_list};
use crate::error::{Error, Result};

/// Both SDKs' variables, flyte-sdk's spelling first (it wins where both are set).
pub(crate) fn overrides(
    env: &dyn Fn(&str) -> Option<String>,
    base: PathBase<'_>,
) -> Result<Settings> {
    let src = EnvSource { env, base };
    Ok(Settings::read(&src, |n| n.sdk)?.or(Settings::read(&src, |n| n.kit)?))
}

/// The environment as a [`Source`]; an empty variable counts as unset.
struct EnvSource<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    base: PathBase<'a>,
}

impl Source for EnvSource<'_> {
    fn string(&self, var: &'static str) -> Result<Option<String>> {
        Ok((self.env)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    }

    fn bool(&self, var: &'static str) -> Result<Option<bool>> {
        self.string(var)?
            .map(|v| {
                parse_bool(&v).ok_or_else(|| {
                    Error::Config(format!(
                        "${var} must be true or false (or 1/0, yes/no), found {v:?}"
                    ))
                })
            })
            .transpose()
    }

    fn path(&self, var: &'static str) -> Result<Option<PathBuf>> {
        Ok(self.string(var)?.map(|p| self.base.resolve(&p)))
    }

    fn list(&self, var: &'static str) -> Result<Option<Vec<String>>> {
        Ok(self.string(var)?.map(|v| split_list(&v)))
    }

    fn duration(&self, var: &'static str) -> Result<Option<u64>> {
        self.string(var)?
            .map(|v| {
                duration::parse_secs(&v)
                    .map_err(|why| Error::Config(format!("${var}: {why}, found {v:?}")))
            })
            .transpose()
    }

    fn endpoint(&self, var: &'static str) -> Result<Option<Endpoint>> {
        self.string(var)?
            .map(|v| {
                endpoint::parse(&v).map_err(|why| {
                    Error::Config(format!("invalid endpoint {v:?} in ${var}: {why}"))
                })
            })
            .transpose()
    }

    fn auth_type(&self, var: &'static str) -> Result<Option<AuthChoice>> {
        self.string(var)?
            .map(|v| auth_type::parse_or_explain(&v, &format!("${var}")).map_err(Error::Config))
            .transpose()
    }

    /// Taken as it is: a secret is not trimmed.
    fn secret(&self, var: &'static str) -> Result<Option<Secret>> {
        Ok((self.env)(var).filter(|v| !v.is_empty()).map(Secret::new))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::auth_type::AuthChoice;
    use flyte_auth_proto::AuthMode;

    fn run(vars: &[(&str, &str)]) -> Result<Settings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let base = PathBase {
            cwd: Path::new("/cwd"),
            home: Some(Path::new("/h")),
        };
        overrides(&|k: &str| map.get(k).cloned(), base)
    }

    #[test]
    fn flytekit_spellings() {
        let s = run(&[
            ("FLYTE_PLATFORM_URL", "dns:///kit.example.com"),
            ("FLYTE_PLATFORM_INSECURE", "YES"),
            ("FLYTE_PLATFORM_INSECURE_SKIP_VERIFY", "1"),
            ("FLYTE_PLATFORM_CA_CERT_FILE_PATH", "ca.pem"),
            ("FLYTE_PLATFORM_HTTP_PROXY_URL", "http://proxy:3128"),
            ("FLYTE_CREDENTIALS_AUTH_MODE", "basic"),
            ("FLYTE_CREDENTIALS_CLIENT_ID", "kit-id"),
            ("FLYTE_CREDENTIALS_CLIENT_SECRET", " raw "),
            ("FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION", "~/sec"),
            ("FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR", "MY_SECRET"),
            ("FLYTE_CREDENTIALS_SCOPES", "all, offline"),
            ("FLYTE_CREDENTIALS_AUDIENCE", "aud"),
        ])
        .unwrap();
        assert_eq!(s.endpoint.unwrap().authority, "kit.example.com");
        assert_eq!(
            (s.insecure, s.insecure_skip_verify),
            (Some(true), Some(true))
        );
        assert_eq!(s.ca_cert_file, Some(PathBuf::from("/cwd/ca.pem")));
        assert_eq!(s.http_proxy.as_deref(), Some("http://proxy:3128"));
        assert_eq!(s.auth_type, Some(AuthChoice::Mode(AuthMode::ClientSecret)));
        assert_eq!(s.client_id.as_deref(), Some("kit-id"));
        assert_eq!(s.client_secret.unwrap().expose(), " raw ");
        assert_eq!(s.client_secret_location, Some(PathBuf::from("/h/sec")));
        assert_eq!(s.client_secret_env_var.as_deref(), Some("MY_SECRET"));
        assert_eq!(s.scopes, Some(vec!["all".to_owned(), "offline".to_owned()]));
        assert_eq!(s.audience.as_deref(), Some("aud"));
    }

    #[test]
    fn flyte_sdk_spelling_wins_over_flytekit() {
        let s = run(&[
            ("FLYTE_ADMIN_ENDPOINT", "sdk.example.com"),
            ("FLYTE_PLATFORM_URL", "kit.example.com"),
            ("FLYTE_ADMIN_INSECURE", "false"),
            ("FLYTE_PLATFORM_INSECURE", "true"),
            ("FLYTE_ADMIN_INSECURESKIPVERIFY", "true"),
            ("FLYTE_ADMIN_CACERTFILEPATH", "/sdk.pem"),
            ("FLYTE_ADMIN_HTTPPROXYURL", "http://sdk-proxy"),
            ("FLYTE_ADMIN_AUTHTYPE", "DeviceFlow"),
            ("FLYTE_CREDENTIALS_AUTH_MODE", "Pkce"),
            ("FLYTE_ADMIN_CLIENTID", "sdk-id"),
            ("FLYTE_CREDENTIALS_CLIENT_ID", "kit-id"),
            ("FLYTE_ADMIN_CLIENTSECRETLOCATION", "/sdk-secret"),
            ("FLYTE_ADMIN_CLIENTSECRETENVVAR", "SDK_VAR"),
            ("FLYTE_ADMIN_SCOPES", "a,b"),
            ("FLYTE_CREDENTIALS_SCOPES", "c"),
            ("FLYTE_TASK_ORG", "acme"),
        ])
        .unwrap();
        assert_eq!(s.endpoint.unwrap().authority, "sdk.example.com");
        assert_eq!(
            (s.insecure, s.insecure_skip_verify),
            (Some(false), Some(true))
        );
        assert_eq!(s.ca_cert_file, Some(PathBuf::from("/sdk.pem")));
        assert_eq!(s.http_proxy.as_deref(), Some("http://sdk-proxy"));
        assert_eq!(s.auth_type, Some(AuthChoice::Mode(AuthMode::DeviceFlow)));
        assert_eq!(s.client_id.as_deref(), Some("sdk-id"));
        assert_eq!(s.client_secret_location, Some(PathBuf::from("/sdk-secret")));
        assert_eq!(s.client_secret_env_var.as_deref(), Some("SDK_VAR"));
        assert_eq!(s.scopes, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(s.org.as_deref(), Some("acme"));
    }

    #[test]
    fn empty_is_unset_and_bad_values_name_the_var() {
        let s = run(&[
            ("FLYTE_ADMIN_ENDPOINT", ""),
            ("FLYTE_PLATFORM_URL", "kit.example.com"),
        ])
        .unwrap();
        assert_eq!(s.endpoint.unwrap().authority, "kit.example.com");
        let e = run(&[("FLYTE_PLATFORM_INSECURE", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("$FLYTE_PLATFORM_INSECURE") && e.contains("maybe"),
            "{e}"
        );
        let e = run(&[("FLYTE_ADMIN_AUTHTYPE", "oauth")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("$FLYTE_ADMIN_AUTHTYPE") && e.contains("DeviceFlow"),
            "{e}"
        );
        let e = run(&[("FLYTE_ADMIN_ENDPOINT", "a b")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("$FLYTE_ADMIN_ENDPOINT"), "{e}");
    }
}
