//! Which config file to read: flyte-sdk's search order.
//!
//! `--config PATH` → `./config.yaml` → `./.flyte/config.yaml` → `<git root>/.flyte/config.yaml`
//! → `$UCTL_CONFIG` → `$FLYTECTL_CONFIG` → `~/.union/config.yaml` → `~/.flyte/config.yaml`.
//! A path the user named (the flag or either variable) must exist: silently falling through to
//! another file would authenticate against the wrong cluster. flytekit's INI files
//! (`flytekit.config`, `~/.flyte/config`) are not read.

use std::path::{Path, PathBuf};

use super::settings::PathBase;
use crate::error::{Error, Result};

/// Variables naming a config file, in the order they are consulted.
const PATH_VARS: [&str; 2] = ["UCTL_CONFIG", "FLYTECTL_CONFIG"];

/// Finds the config file to use, or `None` when there is none (env or an API key may suffice).
pub(crate) fn find(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    base: PathBase<'_>,
) -> Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        return must_exist(base.absolute(p), "--config").map(Some);
    }
    let cwd = base.cwd;
    for candidate in [
        cwd.join("config.yaml"),
        cwd.join(".flyte").join("config.yaml"),
    ] {
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    if let Some(root) = git_root(cwd) {
        let candidate = root.join(".flyte").join("config.yaml");
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    for var in PATH_VARS {
        if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
            return must_exist(base.resolve(&v), &format!("${var}")).map(Some);
        }
    }
    if let Some(home) = base.home {
        for dir in [".union", ".flyte"] {
            let candidate = home.join(dir).join("config.yaml");
            if candidate.is_file() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}

/// The nearest ancestor of `cwd` (itself included) holding `.git` (a directory, or a file in
/// worktrees and submodules).
fn git_root(cwd: &Path) -> Option<&Path> {
    cwd.ancestors().find(|dir| dir.join(".git").exists())
}

fn must_exist(path: PathBuf, named_by: &str) -> Result<PathBuf> {
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(Error::Config(format!(
            "config file {} (from {named_by}) is not a regular file",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Config(format!(
            "config file {} (from {named_by}) does not exist",
            path.display()
        ))),
        Err(source) => Err(Error::ReadFile { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "admin: {}\n").unwrap();
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// A temp tree with `home/` and `repo/sub/` (the cwd); `repo` is a git checkout.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let repo = t.path().join("repo");
        let cwd = repo.join("sub");
        fs::create_dir_all(&cwd).unwrap();
        fs::create_dir_all(&home).unwrap();
        (t, home, repo, cwd)
    }

    #[test]
    fn search_order() {
        let (_t, home, repo, cwd) = tree();
        let base = PathBase {
            cwd: &cwd,
            home: Some(&home),
        };
        assert_eq!(find(None, &no_env, base).unwrap(), None);

        touch(&home.join(".flyte/config.yaml"));
        assert_eq!(
            find(None, &no_env, base).unwrap(),
            Some(home.join(".flyte/config.yaml"))
        );
        touch(&home.join(".union/config.yaml"));
        assert_eq!(
            find(None, &no_env, base).unwrap(),
            Some(home.join(".union/config.yaml"))
        );

        let named = repo.join("named.yaml");
        touch(&named);
        let env = |k: &str| (k == "FLYTECTL_CONFIG").then(|| named.to_string_lossy().into_owned());
        assert_eq!(find(None, &env, base).unwrap(), Some(named.clone()));
        let uctl = repo.join("uctl.yaml");
        touch(&uctl);
        let env2 = |k: &str| match k {
            "UCTL_CONFIG" => Some(uctl.to_string_lossy().into_owned()),
            _ => env(k),
        };
        assert_eq!(find(None, &env2, base).unwrap(), Some(uctl.clone()));

        // Git root detection needs a `.git` entry.
        touch(&repo.join(".flyte/config.yaml"));
        assert_eq!(find(None, &env2, base).unwrap(), Some(uctl.clone()));
        fs::create_dir(repo.join(".git")).unwrap();
        assert_eq!(
            find(None, &env2, base).unwrap(),
            Some(repo.join(".flyte/config.yaml"))
        );

        touch(&cwd.join(".flyte/config.yaml"));
        assert_eq!(
            find(None, &env2, base).unwrap(),
            Some(cwd.join(".flyte/config.yaml"))
        );
        touch(&cwd.join("config.yaml"));
        assert_eq!(
            find(None, &env2, base).unwrap(),
            Some(cwd.join("config.yaml"))
        );

        // The flag beats everything, and is resolved against the cwd.
        assert_eq!(
            find(Some(Path::new("../named.yaml")), &env2, base).unwrap(),
            Some(cwd.join("../named.yaml"))
        );
    }

    #[test]
    fn named_paths_must_exist() {
        let (_t, home, _repo, cwd) = tree();
        touch(&home.join(".flyte/config.yaml"));
        let base = PathBase {
            cwd: &cwd,
            home: Some(&home),
        };
        let e = find(Some(Path::new("nope.yaml")), &no_env, base)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope.yaml") && e.contains("--config") && e.contains("does not exist"),
            "{e}"
        );
        let env = |k: &str| (k == "UCTL_CONFIG").then(|| "/no/such/file.yaml".to_owned());
        let e = find(None, &env, base).unwrap_err().to_string();
        assert!(
            e.contains("/no/such/file.yaml") && e.contains("$UCTL_CONFIG"),
            "{e}"
        );
        let e = find(Some(&cwd), &no_env, base).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
