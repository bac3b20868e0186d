//! `flyte-auth create config`: render a Flyte config file and write it safely.
//!
//! The output follows `flyte create config` (seed guide): `admin.endpoint: dns:///HOST`,
//! `authType` omitted for PKCE (the default), `insecure` only when true, and a `task:` section
//! only when project/domain/org were given. Exact bytes: two-space indent, sections `admin`
//! then `task`; in `admin`: endpoint, authType, insecure; in `task`: project, domain, org;
//! newline-terminated. Values are plain YAML scalars unless they would read back as something
//! else, in which case they are double-quoted.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flyte_auth_proto::AuthMode;

use super::auth_type::{self, AuthChoice};
use super::endpoint;
use crate::error::{Error, Result};

/// What `create config` was asked to write.
#[derive(Debug, Default, Clone)]
pub struct CreateConfig {
    /// Endpoint in any accepted form (`host`, `dns:///host`, `https://host`, `http://host`).
    pub endpoint: String,
    /// Default project (`task.project`).
    pub project: Option<String>,
    /// Default domain (`task.domain`).
    pub domain: Option<String>,
    /// Union organization (`task.org`).
    pub org: Option<String>,
    /// Login mode: `pkce`, `headless`, `device-flow`, `client-secret` (any authType spelling).
    pub auth_type: Option<String>,
    /// Plain-text HTTP (also implied by an `http://` endpoint).
    pub insecure: bool,
}

/// Renders the config file text.
pub fn render_config(c: &CreateConfig) -> Result<String> {
    let ep = endpoint::parse(&c.endpoint).map_err(|why| {
        Error::Config(format!("invalid --endpoint {:?}: {why}", c.endpoint.trim()))
    })?;
    let mode = match c.auth_type.as_deref() {
        None => AuthMode::Pkce,
        Some(raw) => {
            match auth_type::parse_or_explain(raw, "--auth-type").map_err(Error::Config)? {
                AuthChoice::Mode(m) => m,
                AuthChoice::External => {
                    return Err(Error::Config(format!(
                        "--auth-type {:?} cannot be written by create config; use pkce, headless, \
                     device-flow or client-secret",
                        raw.trim()
                    )));
                }
            }
        }
    };
    let mut out = String::from("admin:\n");
    line(&mut out, "endpoint", &format!("dns:///{}", ep.authority));
    if mode != AuthMode::Pkce {
        line(&mut out, "authType", mode.as_flyte_str());
    }
    if c.insecure || ep.plain_http {
        // A bool, so not through `line`, which would quote it as the string "true".
        out.push_str("  insecure: true\n");
    }
    let task: Vec<(&str, &str)> = [
        ("project", &c.project),
        ("domain", &c.domain),
        ("org", &c.org),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k, v.trim())))
    .collect();
    if let Some((k, _)) = task.iter().find(|(_, v)| v.is_empty()) {
        return Err(Error::Config(format!("--{k} must not be empty")));
    }
    if !task.is_empty() {
        out.push_str("task:\n");
        for (k, v) in task {
            line(&mut out, k, v);
        }
    }
    Ok(out)
}

fn line(out: &mut String, key: &str, value: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "  {key}: {}", scalar(value));
}

/// `value` as a YAML scalar that reads back as exactly this string.
fn scalar(value: &str) -> String {
    // Readers differ (PyYAML is YAML 1.1: `0123` is octal, `on` is a bool), so a value is left
    // plain only if it starts with a letter (no numbers, `.inf`, dates) and is not a YAML 1.1
    // bool/null word; anything else gets quoted.
    const WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain_chars = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ':' | '-' | '_'))
        && !value.ends_with(':')
        && !WORDS.iter().any(|w| value.eq_ignore_ascii_case(w));
    let reads_back = || matches!(yaml_serde::from_str::<yaml_serde::Value>(value), Ok(yaml_serde::Value::String(s)) if s == value);
    if plain_chars && reads_back() {
        return value.to_owned();
    }
    let mut q = String::with_capacity(value.len() + 2);
    q.push('"');
    for c in value.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04x}", u32::from(c));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Where `create config` writes by default: `~/.flyte/config.yaml`.
pub fn default_config_path(home: &Path) -> PathBuf {
    home.join(".flyte").join("config.yaml")
}

/// Writes `contents` to `path`, creating parent directories. Refuses to replace an existing
/// file unless `force` ([`Error::Exists`]). Atomic: a temp file in the same directory is
/// renamed over the target, so readers never see a half-written config.
pub fn write_config(path: &Path, contents: &str, force: bool) -> Result<()> {
    if !force && path.symlink_metadata().is_ok() {
        return Err(Error::Exists {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: dir.to_owned(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = written {
        // Best effort: the temp file may not exist if opening it failed.
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::WriteFile {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}
