//! Finding the client secret for client-credentials logins (API keys are handled elsewhere).
//!
//! Order: the raw `FLYTE_CREDENTIALS_CLIENT_SECRET` → the variable named by
//! `clientSecretEnvVar` → the file at `clientSecretLocation` (surrounding whitespace trimmed) →
//! only when authType is explicitly ClientSecret, the Go client's default file
//! `/etc/secrets/client_secret`. An env-var indirection that is unset falls through (as in Go);
//! a configured file that cannot be read is an error naming the path, never the content.

use std::path::Path;

use flyte_auth_proto::Secret;
use zeroize::Zeroizing;

use super::settings::Settings;
use crate::error::{Error, Result};

/// The Go client's default `admin.clientSecretLocation`.
pub(crate) const DEFAULT_SECRET_FILE: &str = "/etc/secrets/client_secret";

/// Loads the secret. With `required` (authType ClientSecret) a missing secret is an error and
/// `default_file` is tried last; otherwise `None` means "no secret configured".
pub(crate) fn load(
    s: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    required: bool,
    default_file: &Path,
) -> Result<Option<Secret>> {
    if let Some(raw) = &s.client_secret {
        return Ok(Some(raw.clone()));
    }
    if let Some(var) = &s.client_secret_env_var {
        // Taken verbatim, like the raw variable: only files get their whitespace trimmed.
        if let Some(v) = env(var).map(Zeroizing::new).filter(|v| !v.is_empty()) {
            return Ok(Some(Secret::new(v.as_str())));
        }
    }
    if let Some(path) = &s.client_secret_location {
        return read_file(path).map(Some);
    }
    if required && default_file.is_file() {
        return read_file(default_file).map(Some);
    }
    if !required {
        return Ok(None);
    }
    let via_var = match &s.client_secret_env_var {
        Some(var) => format!(" (${var}, named by clientSecretEnvVar, is unset or empty)"),
        None => String::new(),
    };
    Err(Error::Config(format!(
        "authType is ClientSecret but no client secret was found{via_var}: set \
         FLYTE_CREDENTIALS_CLIENT_SECRET, admin.clientSecretEnvVar or admin.clientSecretLocation \
         (default {} does not exist), or export FLYTE_API_KEY",
        default_file.display()
    )))
}

fn read_file(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| Error::ReadFile {
            path: path.to_owned(),
            source,
        })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Config(format!(
            "client secret file {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(trimmed))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn precedence_raw_then_env_var_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  from-file\n").unwrap();
        let missing_default = dir.path().join("default");
        let env = |k: &str| (k == "MY_SECRET").then(|| "from-env".to_owned());
        let mut s = Settings {
            client_secret: Some(Secret::new("raw")),
            client_secret_env_var: Some("MY_SECRET".into()),
            client_secret_location: Some(file.clone()),
            ..Settings::default()
        };
        let get = |s: &Settings, env: &dyn Fn(&str) -> Option<String>| {
            load(s, env, false, &missing_default)
                .unwrap()
                .map(|x| x.expose().to_owned())
        };
        assert_eq!(get(&s, &env).as_deref(), Some("raw"));
        s.client_secret = None;
        assert_eq!(get(&s, &env).as_deref(), Some("from-env"));
        assert_eq!(get(&s, &no_env).as_deref(), Some("from-file"));
        s.client_secret_location = None;
        assert_eq!(get(&s, &no_env), None);
    }

    #[test]
    fn unreadable_or_empty_file_names_path_not_content() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            client_secret_location: Some(dir.path().join("nope")),
            ..Settings::default()
        };
        let e = load(&s, &no_env, false, Path::new("/x"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&dir.path().join("nope").display().to_string()),
            "{e}"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let s = Settings {
            client_secret_location: Some(empty),
            ..Settings::default()
        };
        let e = load(&s, &no_env, false, Path::new("/x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is empty"), "{e}");
    }

    #[test]
    fn default_file_only_when_required() {
        let dir = tempfile::tempdir().unwrap();
        let default: PathBuf = dir.path().join("client_secret");
        let s = Settings {
            client_secret_env_var: Some("UNSET_VAR".into()),
            ..Settings::default()
        };
        let e = load(&s, &no_env, true, &default).unwrap_err().to_string();
        assert!(
            e.contains("no client secret") && e.contains("$UNSET_VAR"),
            "{e}"
        );
        assert!(e.contains(&default.display().to_string()), "{e}");
        std::fs::write(&default, "dflt\n").unwrap();
        assert!(load(&s, &no_env, false, &default).unwrap().is_none());
        assert_eq!(
            load(&s, &no_env, true, &default).unwrap().unwrap().expose(),
            "dflt"
        );
    }
}
