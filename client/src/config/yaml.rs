//! Reading one Flyte YAML config file into [`Settings`].
//!
//! Only the `admin.*` keys that matter to auth and `task.org` are read; everything else
//! (`image`, `local`, `console`, …) is ignored. Keys match case-insensitively because the Go
//! client (viper) does. Values are type-checked with errors naming the key and the file.

use std::path::{Path, PathBuf};

use flyte_auth_proto::Secret;
use yaml_serde::{Mapping, Value};

use super::auth_type::{self, AuthChoice};
use super::duration;
use super::endpoint::{self, Endpoint};
use super::settings::{PathBase, Settings, Source, parse_bool, split_list};
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
    Settings::read(&FileSource { f, root, base }, |n| n.file)
}

/// One parsed file as a [`Source`]: a dotted key is looked up in the mapping its first parts
/// name (`admin.pkceConfig.timeout`: `timeout` in `admin` → `pkceConfig`).
struct FileSource<'a> {
    f: File<'a>,
    root: &'a Mapping,
    base: PathBase<'a>,
}

impl FileSource<'_> {
    fn section(&self, key: &str) -> Result<&Mapping> {
        let parent = key.rsplit_once('.').map_or("", |(p, _)| p);
        let mut m = self.root;
        for name in parent.split('.').filter(|n| !n.is_empty()) {
            m = self.f.child(m, name)?;
        }
        Ok(m)
    }
}

impl Source for FileSource<'_> {
    fn string(&self, key: &'static str) -> Result<Option<String>> {
        self.f.string(self.section(key)?, key)
    }

    fn bool(&self, key: &'static str) -> Result<Option<bool>> {
        self.f.bool(self.section(key)?, key)
    }

    fn path(&self, key: &'static str) -> Result<Option<PathBuf>> {
        Ok(self.string(key)?.map(|p| self.base.resolve(&p)))
    }

    fn list(&self, key: &'static str) -> Result<Option<Vec<String>>> {
        self.f.list(self.section(key)?, key)
    }

    fn duration(&self, key: &'static str) -> Result<Option<u64>> {
        self.f.duration(self.section(key)?, key)
    }

    fn endpoint(&self, key: &'static str) -> Result<Option<Endpoint>> {
        self.string(key)?
            .map(|v| {
                endpoint::parse(&v).map_err(|why| self.f.err(format!("invalid {key} {v:?}: {why}")))
            })
            .transpose()
    }

    fn auth_type(&self, key: &'static str) -> Result<Option<AuthChoice>> {
        self.string(key)?
            .map(|v| {
                let source = format!("{key} in {}", self.f.path.display());
                auth_type::parse_or_explain(&v, &source).map_err(Error::Config)
            })
            .transpose()
    }

    fn secret(&self, key: &'static str) -> Result<Option<Secret>> {
        Ok(self.string(key)?.map(Secret::new))
    }
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
