//! Tests of the whole resolution (flags + env + API key + file → `Profile`), with a temp home,
//! a temp cwd and a fake environment — never the real ones.

mod create;
mod resolve;
mod resolve_key;
mod yaml;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::{Overrides, Resolved, resolve_inner};
use crate::config::settings::PathBase;
use crate::error::Result;

/// A sandbox: `root/home` (the home dir), `root/work` (the cwd), and an env map.
struct Fixture {
    _dir: tempfile::TempDir,
    home: PathBuf,
    cwd: PathBuf,
    env: HashMap<String, String>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("work");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&cwd).unwrap();
        Fixture {
            _dir: dir,
            home,
            cwd,
            env: HashMap::new(),
        }
    }

    fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.insert(k.to_owned(), v.to_owned());
        self
    }

    /// Writes `~/.flyte/config.yaml`.
    fn home_config(&self, text: &str) -> PathBuf {
        let p = self.home.join(".flyte/config.yaml");
        write(&p, text);
        p
    }

    /// A path inside the sandbox (for secret files, named configs, …).
    fn path(&self, rel: &str) -> PathBuf {
        self.cwd.join(rel)
    }

    fn resolve(&self, o: &Overrides) -> Result<Resolved> {
        let env = |k: &str| self.env.get(k).cloned();
        // The Go default secret file is redirected into the sandbox.
        let default_secret = self.home.join("default_client_secret");
        resolve_inner(
            o,
            &env,
            PathBase {
                cwd: &self.cwd,
                home: Some(&self.home),
            },
            &default_secret,
        )
    }

    fn ok(&self, o: &Overrides) -> flyte_auth_proto::Profile {
        self.resolve(o).unwrap().profile
    }

    fn err(&self, o: &Overrides) -> String {
        self.resolve(o).unwrap_err().to_string()
    }
}

fn write(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn none() -> Overrides {
    Overrides::default()
}

fn api_key(plain: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(plain)
}
