//! The one filesystem part of this crate: creating and checking the private (mode 0700)
//! directories that hold the agent's socket, its store and its audit log.
//!
//! Everything else in proto is sans-IO. This lives here rather than in each binary because
//! it is a security check both sides must make identically -- the agent before it binds its
//! socket or writes a login, the client before it trusts whatever listens on the socket --
//! and two copies of a security check drift apart; one shared copy is the lesser evil.

use std::path::Path;

use crate::ProtoError;
use crate::paths::current_uid;

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
