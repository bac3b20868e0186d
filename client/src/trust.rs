//! Whom the client talks to: before anything is sent on a connection (a hello, and later a
//! client secret, an API key or a profile), the socket's directory must be private to this
//! user and the process listening on it must run as this user or root.
//!
//! Either check alone has a gap: a private directory can still hold a socket another user's
//! process listens on (moved or linked there), and the peer check alone would let a squatter
//! in a shared directory learn that, and when, we connect. Windows has neither a socket
//! directory nor a peer uid: there the pipe server's user SID is checked instead
//! (`trust_windows`).

use std::path::{Path, PathBuf};

use flyte_auth_proto::ProtoError;

use crate::{Error, Result};

/// The directory `socket` lives in (`.` for a bare file name).
fn socket_dir(socket: &Path) -> PathBuf {
    match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Checks the directory of `socket`. `Ok(false)` when it does not exist yet (nobody can be
/// listening there; an agent we start creates it private); an unsafe one is refused with what
/// is wrong and what to do.
pub fn check_socket_dir(socket: &Path) -> Result<bool> {
    if cfg!(not(unix)) {
        return Ok(true);
    }
    let dir = socket_dir(socket);
    match flyte_auth_proto::private_dir::check_private_dir(&dir) {
        Ok(()) => Ok(true),
        Err(ProtoError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(ProtoError::UnsafeDir { path, why }) => Err(Error::Untrusted {
            path,
            why: format!("{why}; {}", what_to_do(&dir)),
        }),
        Err(e) => Err(Error::Untrusted {
            path: dir,
            why: format!("cannot check the socket's directory: {e}"),
        }),
    }
}

/// The way out of an unsafe directory: a default one is ours to remove, one the user chose
/// (`FLYTE_AUTH_SOCK`, `--socket`) is theirs to point elsewhere.
fn what_to_do(dir: &Path) -> String {
    use flyte_auth_proto::paths::{SOCK_ENV, current_uid, socket_path_from};
    let without_override = |k: &str| (k != SOCK_ENV).then(|| std::env::var_os(k)).flatten();
    let default = socket_path_from(&without_override, current_uid());
    if socket_dir(&default) == dir {
        format!("remove it, or set {SOCK_ENV} to a socket in a directory only you can use")
    } else {
        format!("point {SOCK_ENV} (or --socket) at a socket in a directory only you can use")
    }
}

/// Checks that the process at the other end of `stream` runs as this user or as root (who
/// could read our memory anyway, as ssh-agent reasons).
#[cfg(unix)]
pub fn check_peer(stream: &std::os::unix::net::UnixStream, socket: &Path) -> Result<()> {
    let me = flyte_auth_proto::paths::current_uid();
    let theirs = peer_uid(stream).map_err(|e| Error::Untrusted {
        path: socket.to_owned(),
        why: format!("cannot read the credentials of the process listening there: {e}"),
    })?;
    if theirs == me || theirs == 0 {
        return Ok(());
    }
    Err(Error::Untrusted {
        path: socket.to_owned(),
        why: format!(
            "the process listening there runs as uid {theirs}, not as you (uid {me}) or root; \
             nothing was sent to it. Stop it, or set {} to a socket in a directory only you can use",
            flyte_auth_proto::paths::SOCK_ENV
        ),
    })
}

/// The peer's effective uid, as the kernel recorded it when it called `listen`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_uid(stream: &std::os::unix::net::UnixStream) -> std::io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw())
}

/// The peer's effective uid (`getpeereid`, as BSD and macOS provide).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
#[allow(unsafe_code)]
fn peer_uid(stream: &std::os::unix::net::UnixStream) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    let (mut uid, mut gid): (libc::uid_t, libc::gid_t) = (0, 0);
    // SAFETY: the descriptor is a connected Unix socket that `stream` keeps open for the
    // call; `uid` and `gid` are valid places for the results.
    let rc = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(uid)
}

/// Elsewhere there is no peer check here: refuse rather than trust an unknown listener.
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ))
))]
fn peer_uid(_: &std::os::unix::net::UnixStream) -> std::io::Result<u32> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this client cannot read a socket peer's uid on this platform",
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_no_refusal_and_a_loose_one_is() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().expect("tempdir");
        let sock = base.path().join("missing/agent.sock");
        assert!(!check_socket_dir(&sock).expect("missing is fine"));
        let dir = base.path().join("loose");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let err = check_socket_dir(&dir.join("agent.sock")).expect_err("loose");
        assert_eq!(err.category(), crate::Category::PermissionDenied);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("refusing to use {}", dir.display())),
            "{text}"
        );
        assert!(text.contains("1777"), "{text}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(check_socket_dir(&dir.join("agent.sock")).expect("private"));
    }

    #[test]
    fn our_own_listener_passes_the_peer_check() {
        let base = tempfile::tempdir().expect("tempdir");
        let path = base.path().join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let s = std::os::unix::net::UnixStream::connect(&path).expect("connect");
        check_peer(&s, &path).expect("our own uid");
    }
}
