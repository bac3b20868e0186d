//! Where the agent's socket lives, resolved the same way by agent and client.
//!
//! Order: `FLYTE_AUTH_SOCK`; else `$XDG_RUNTIME_DIR/flyte-auth/agent.sock`; else
//! `${TMPDIR:-/tmp}/flyte-auth-<uid>/agent.sock` (Linux). macOS uses its per-user `$TMPDIR`.
//! Resolution only: nothing here touches the filesystem. That the directory holding the socket
//! is private to the user is checked by [`crate::private_dir`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the socket path.
pub const SOCK_ENV: &str = "FLYTE_AUTH_SOCK";

/// File name of the socket inside its directory.
pub const SOCKET_NAME: &str = "agent.sock";

/// The socket path for this process's user and environment.
pub fn socket_path() -> PathBuf {
    socket_path_from(&|k| std::env::var_os(k), current_uid())
}

/// [`socket_path`] with the environment and uid supplied, for tests.
pub fn socket_path_from(env: &dyn Fn(&str) -> Option<OsString>, uid: u32) -> PathBuf {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var(SOCK_ENV) {
        return p;
    }
    if cfg!(windows) {
        let user = env("USERNAME").map(|u| u.to_string_lossy().into_owned());
        let user = user.unwrap_or_else(|| "default".to_owned());
        return PathBuf::from(format!(r"\\.\pipe\flyte-auth-{user}"));
    }
    if cfg!(target_os = "macos") {
        // macOS gives every user a private $TMPDIR (/var/folders/...), which is what launchd
        // and Apple's own agents use.
        if let Some(tmp) = var("TMPDIR") {
            return tmp.join("flyte-auth").join(SOCKET_NAME);
        }
    } else if let Some(run) = var("XDG_RUNTIME_DIR").filter(|p| p.is_absolute()) {
        return run.join("flyte-auth").join(SOCKET_NAME);
    }
    let tmp = var("TMPDIR").unwrap_or_else(|| PathBuf::from("/tmp"));
    tmp.join(format!("flyte-auth-{uid}")).join(SOCKET_NAME)
}

/// Path of the lock file an agent holds for as long as it serves `socket`.
pub fn lock_path(socket: &Path) -> PathBuf {
    let mut name = socket.file_name().map(OsString::from).unwrap_or_default();
    name.push(".lock");
    socket.with_file_name(name)
}

/// The real uid of this process (0 where there is no such notion).
pub fn current_uid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> PathBuf {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        socket_path_from(&|k| map.get(k).cloned(), 1000)
    }

    #[test]
    fn override_wins() {
        let p = resolve(&[
            (SOCK_ENV, "/x/s.sock"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ]);
        assert_eq!(p, PathBuf::from("/x/s.sock"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_order() {
        let p = resolve(&[("XDG_RUNTIME_DIR", "/run/user/1000"), ("TMPDIR", "/t")]);
        assert_eq!(p, PathBuf::from("/run/user/1000/flyte-auth/agent.sock"));
        assert_eq!(
            resolve(&[("TMPDIR", "/t")]),
            PathBuf::from("/t/flyte-auth-1000/agent.sock")
        );
        assert_eq!(
            resolve(&[]),
            PathBuf::from("/tmp/flyte-auth-1000/agent.sock")
        );
        // Empty or relative values are ignored, as a shell that exports an empty var expects.
        let p = resolve(&[(SOCK_ENV, ""), ("XDG_RUNTIME_DIR", "rel")]);
        assert_eq!(p, PathBuf::from("/tmp/flyte-auth-1000/agent.sock"));
    }

    #[test]
    fn lock_path_sits_beside_the_socket() {
        assert_eq!(
            lock_path(Path::new("/a/agent.sock")),
            PathBuf::from("/a/agent.sock.lock")
        );
    }
}
