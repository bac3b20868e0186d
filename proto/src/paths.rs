//! Where the agent's socket lives, resolved the same way by agent and client.
//!
//! Order: `FLYTE_AUTH_SOCK`; else `$XDG_RUNTIME_DIR/flyte-auth/agent.sock`; else
//! `${TMPDIR:-/tmp}/flyte-auth-<uid>/agent.sock` (Linux). macOS uses its per-user `$TMPDIR`.
//! The directory holding the socket must be private to the user: see [`ensure_private_dir`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::ProtoError;

/// Environment variable that overrides the socket path.
pub const SOCK_ENV: &str = "FLYTE_AUTH_SOCK";

/// File name of the socket inside its directory.
pub const SOCKET_NAME: &str = "agent.sock";

/// The socket path for this process's user and environment.
pub fn socket_path() -> Result<PathBuf, ProtoError> {
    socket_path_from(&|k| std::env::var_os(k), current_uid())
}

/// [`socket_path`] with the environment and uid supplied, for tests.
pub fn socket_path_from(
    env: &dyn Fn(&str) -> Option<OsString>,
    uid: u32,
) -> Result<PathBuf, ProtoError> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var(SOCK_ENV) {
        return Ok(p);
    }
    if cfg!(windows) {
        let user = env("USERNAME").map(|u| u.to_string_lossy().into_owned());
        let user = user.unwrap_or_else(|| "default".to_owned());
        return Ok(PathBuf::from(format!(r"\\.\pipe\flyte-auth-{user}")));
    }
    if cfg!(target_os = "macos") {
        // macOS gives every user a private $TMPDIR (/var/folders/...), which is what launchd
        // and Apple's own agents use.
        if let Some(tmp) = var("TMPDIR") {
            return Ok(tmp.join("flyte-auth").join(SOCKET_NAME));
        }
    } else if let Some(run) = var("XDG_RUNTIME_DIR").filter(|p| p.is_absolute()) {
        return Ok(run.join("flyte-auth").join(SOCKET_NAME));
    }
    let tmp = var("TMPDIR").unwrap_or_else(|| PathBuf::from("/tmp"));
    Ok(tmp.join(format!("flyte-auth-{uid}")).join(SOCKET_NAME))
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

/// Creates `dir` with mode 0700 if missing, and checks that an existing one is private (see
/// [`check_private_dir`]).
///
/// We refuse rather than fix permissions on a directory we did not create: it might be shared
/// on purpose, and silently changing it would hide the problem.
pub fn ensure_private_dir(dir: &Path) -> Result<(), ProtoError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match check_private_dir(dir) {
            Err(ProtoError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = dir.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                    // The umask may have removed bits we asked for, never added any; set
                    // exactly.
                    Ok(()) => Ok(std::fs::set_permissions(
                        dir,
                        std::fs::Permissions::from_mode(0o700),
                    )?),
                    // Someone (a concurrent client or agent) created it first: check theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        check_private_dir(dir)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            other => other,
        }
    }
    // No mode bits to check: the directories used here sit in the user's profile, whose ACL
    // already keeps other users out, and the agent's pipe has its own security descriptor.
    #[cfg(not(unix))]
    {
        Ok(std::fs::create_dir_all(dir)?)
    }
}

/// Checks, without creating or changing anything, that `dir` is private to this user: a real
/// directory (not a symbolic link), owned by this user, with no group or other permission
/// bits. The one check both sides make: the agent before it binds its socket there, the
/// client before it talks to whatever listens there. A missing `dir` is `ProtoError::Io` of
/// kind `NotFound`.
///
/// A socket in a directory others can write to could be replaced by theirs; one others can
/// traverse leaks its existence; one in a directory another user owns is theirs to swap.
pub fn check_private_dir(dir: &Path) -> Result<(), ProtoError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let unsafe_dir = |why: String| ProtoError::UnsafeDir {
            path: dir.to_owned(),
            why,
        };
        // `symlink_metadata`: the directory itself, never what a link points to.
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.file_type().is_symlink() {
            return Err(unsafe_dir("it is a symbolic link, not a directory".into()));
        }
        if !meta.is_dir() {
            return Err(unsafe_dir("it is not a directory".into()));
        }
        if meta.uid() != current_uid() {
            return Err(unsafe_dir(format!(
                "it is owned by uid {}, not by you (uid {})",
                meta.uid(),
                current_uid()
            )));
        }
        // With the sticky and set-id bits, so that a shared /tmp-like 1777 shows as such.
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(unsafe_dir(format!(
                "its mode is {mode:03o}; it must be 700 (run `chmod 700 {}`)",
                dir.display()
            )));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(dir)?;
        Ok(())
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
        socket_path_from(&|k| map.get(k).cloned(), 1000).unwrap()
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

    #[cfg(unix)]
    #[test]
    fn private_dir_is_created_0700_and_loose_dirs_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("fa-proto-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("a/b");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("755"), "{err}");
        let file = base.join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(ensure_private_dir(&file).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
    #[cfg(unix)]
    #[test]
    fn check_private_dir_names_what_is_wrong() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("fa-proto-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let why = |p: &Path| match check_private_dir(p) {
            Err(ProtoError::UnsafeDir { why, .. }) => why,
            other => panic!("expected UnsafeDir for {}, got {other:?}", p.display()),
        };

        // Missing: NotFound, so that a starter knows it may create it.
        let missing = base.join("missing");
        assert!(matches!(
            check_private_dir(&missing),
            Err(ProtoError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound
        ));
        assert!(!missing.exists(), "a check creates nothing");

        let good = base.join("good");
        std::fs::create_dir(&good).unwrap();
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o700)).unwrap();
        check_private_dir(&good).unwrap();

        // A link to a good directory is still refused: the link's own directory may be
        // someone else's to repoint.
        let link = base.join("link");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        assert!(why(&link).contains("symbolic link"), "{}", why(&link));

        // A shared, sticky, world-writable directory such as /tmp.
        let shared = base.join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(why(&shared).contains("mode is 1777"), "{}", why(&shared));
        for mode in [0o750, 0o701, 0o710] {
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                why(&shared).contains(&format!("{mode:03o}")),
                "{}",
                why(&shared)
            );
        }

        let file = base.join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(why(&file).contains("not a directory"));

        // Another user's directory, even with mode 700 (needs root to hand it over).
        if current_uid() == 0 {
            let theirs = base.join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            let w = why(&theirs);
            assert!(w.contains("owned by uid 65534, not by you (uid 0)"), "{w}");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
