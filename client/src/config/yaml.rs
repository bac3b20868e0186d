//! Reading one Flyte YAML config file into [`Settings`].
//!
//! Only the `admin.*` keys that matter to auth and `task.org` are read; everything else
//! (`image`, `local`, `console`, …) is ignored. Keys match case-insensitively because the Go
//! client (viper) does. Values are type-checked with errors naming the key and the file.

use std::path::Path;

use yaml_serde::{Mapping, Value};

use super::settings::{PathBase, Settings, parse_bool, split_list};
use super::{auth_type, duration, endpoint};
use crate::error::{Error, Result};

/// Reads and parses the config file at `path`.
pub(crate) fn load(path: &Path, base: PathBase<'_>) -> Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path, base)
}

/// Parses config text; `path` is only used in messages.
pub(crate) fn parse(text: &str, path: &Path, base: PathBase<'_>) -> Result<Settings> {
    let root: Value = yaml_serde::from_str(text).map_err(|e| syntax_error(path, &e))?;
    let f = File { path };
    let root = f.section(&root, "", "the top level")?;
    let admin = f.child(root, "admin")?;
    let task = f.child(root, "task")?;
    let pkce = f.child(admin, "pkceConfig")?;
    let device = f.child(admin, "deviceFlowConfig")?;
    let endpoint = f
        .string(admin, "admin.endpoint")?
        .map(|v| {
            endpoint::parse(&v).map_err(|why| f.err(format!("invalid admin.endpoint {v:?}: {why}")))
        })
        .transpose()?;
    let auth_type = f
        .string(admin, "admin.authType")?
        .map(|v| {
            let source = format!("admin.authType in {}", path.display());
            auth_type::parse_or_explain(&v, &source).map_err(Error::Config)
        })
        .transpose()?;
    Ok(Settings {
        endpoint,
        insecure: f.bool(admin, "admin.insecure")?,
        insecure_skip_verify: f.bool(admin, "admin.insecureSkipVerify")?,
        ca_cert_file: f
            .string(admin, "admin.caCertFilePath")?
            .map(|p| base.resolve(&p)),
        http_proxy: f.string(admin, "admin.httpProxyURL")?,
        auth_type,
        client_id: f.string(admin, "admin.clientId")?,
        client_secret: None,
        client_secret_env_var: f.string(admin, "admin.clientSecretEnvVar")?,
        client_secret_location: f
            .string(admin, "admin.clientSecretLocation")?
            .map(|p| base.resolve(&p)),
        scopes: f.list(admin, "admin.scopes")?,
        audience: f.string(admin, "admin.audience")?,
        token_url: f.string(admin, "admin.tokenUrl")?,
        authorization_header: f.string(admin, "admin.authorizationHeader")?,
        pkce_timeout_secs: f.duration(pkce, "admin.pkceConfig.timeout")?,
        device_timeout_secs: f.duration(device, "admin.deviceFlowConfig.timeout")?,
        device_poll_interval_secs: f.duration(device, "admin.deviceFlowConfig.pollInterval")?,
        org: f.string(task, "task.org")?,
    })
}

fn syntax_error(path: &Path, e: &yaml_serde::Error) -> Error {
    let full = e.to_string();
    match e.location() {
        Some(loc) => Error::ConfigSyntax {
            path: path.to_owned(),
            line: loc.line(),
            column: loc.column(),
            // The location is reported separately; drop libyaml's own " at line N column M".
            message: full.split(" at line ").next().unwrap_or(&full).to_owned(),
        },
        None => Error::Config(format!("{}: {full}", path.display())),
    }
}

/// Typed access to one file's values, with messages naming the file.
struct File<'a> {
    path: &'a Path,
}

static EMPTY: std::sync::LazyLock<Mapping> = std::sync::LazyLock::new(Mapping::new);

impl File<'_> {
    fn err(&self, msg: String) -> Error {
        Error::Config(format!("{}: {msg}", self.path.display()))
    }

    fn wrong_type(&self, key: &str, want: &str, found: &Value) -> Error {
        self.err(format!("{key} must be {want}, found {}", describe(found)))
    }

    /// A mapping section; absent or `null` reads as empty.
    fn section<'v>(&self, v: &'v Value, key: &str, what: &str) -> Result<&'v Mapping> {
        match v {
            Value::Mapping(m) => Ok(m),
            Value::Null => Ok(&EMPTY),
            other => {
                Err(self.wrong_type(if key.is_empty() { what } else { key }, "a mapping", other))
            }
        }
    }

    /// The child mapping `name` of `m` (last dotted component of the key is looked up).
    fn child<'v>(&self, m: &'v Mapping, name: &str) -> Result<&'v Mapping> {
        match get(m, name) {
            Some(v) => self.section(v, name, name),
            None => Ok(&EMPTY),
        }
    }

    fn string(&self, m: &Mapping, key: &str) -> Result<Option<String>> {
        match lookup(m, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            // An unquoted id like `clientId: 12345` is a number to YAML but a string to us.
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    fn bool(&self, m: &Mapping, key: &str) -> Result<Option<bool>> {
        match lookup(m, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v @ Value::String(s)) => parse_bool(s)
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "true or false", v)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    fn list(&self, m: &Mapping, key: &str) -> Result<Option<Vec<String>>> {
        match lookup(m, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(split_list(s))),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.wrong_type(key, "a list of strings", other)),
                })
                .filter(|r| !matches!(r, Ok(s) if s.is_empty()))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(key, "a list of strings", other)),
        }
    }

    fn duration(&self, m: &Mapping, key: &str) -> Result<Option<u64>> {
        let want = "a duration like 30s, 2m, 1h30m or a number of seconds";
        match lookup(m, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, want, v)),
            Some(Value::String(s)) => duration::parse_secs(s)
                .map(Some)
                .map_err(|why| self.err(format!("{key}: {why}"))),
            Some(other) => Err(self.wrong_type(key, want, other)),
        }
    }
}

/// Looks up the last component of a dotted key in `m`.
fn lookup<'v>(m: &'v Mapping, dotted: &str) -> Option<&'v Value> {
    get(m, dotted.rsplit('.').next().unwrap_or(dotted))
}

/// Case-insensitive key lookup (viper lower-cases keys, so `insecureskipverify` also works).
fn get<'v>(m: &'v Mapping, name: &str) -> Option<&'v Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
    })
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}
