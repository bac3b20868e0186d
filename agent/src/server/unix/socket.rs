//! Binding the agent's socket safely: private directory, one agent per socket, stale sockets
//! replaced, mode 0600.
//!
//! "One agent per socket" is decided by an exclusive lock on `agent.sock.lock`, held for the
//! agent's lifetime, not by probing the socket: two agents starting at once would otherwise
//! both see "nobody answers" between the other's `bind` and `listen` and both bind.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use flyte_auth_proto::paths::lock_path;
use flyte_auth_proto::private_dir::ensure_private_dir;

use crate::AgentError;

/// A listening socket the agent bound itself (and so must remove on exit).
#[derive(Debug)]
pub struct OwnedSocket {
    /// The listener.
    pub listener: UnixListener,
    /// Where it is bound.
    pub path: PathBuf,
    /// Held for as long as we serve `path`; released when dropped.
    _lock: File,
    /// Device and inode of the socket file we bound, so we never remove someone else's.
    identity: (u64, u64),
}

impl OwnedSocket {
    /// Removes the socket file. Called once the accept loop has stopped.
    pub fn remove(&self) {
        // If the path now names another file (a service manager took over the socket while
        // we were stopping), it is not ours to remove.
        let same = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if !same {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove socket");
        }
    }
}

/// Binds `path`, creating its private directory.
pub fn bind(path: &Path) -> Result<OwnedSocket, AgentError> {
    let fail = |why: String| AgentError::listen(path.display().to_string(), why);
    let dir = path
        .parent()
        .ok_or_else(|| fail("socket path has no directory".into()))?;
    ensure_private_dir(dir).map_err(|e| fail(e.to_string()))?;

    let lock_file = lock_path(path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_file)
        .map_err(|e| fail(format!("cannot open {}: {e}", lock_file.display())).because(e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(AgentError::AlreadyRunning(path.display().to_string()));
        }
        Err(TryLockError::Error(e)) => return Err(fail(format!("cannot lock: {e}")).because(e)),
    }

    // We hold the lock, so a socket file here belongs to an agent that died without cleaning
    // up -- unless something that does not take our lock answers on it (an older agent).
    if std::fs::symlink_metadata(path).is_ok() {
        if UnixStream::connect(path).is_ok() {
            return Err(AgentError::AlreadyRunning(path.display().to_string()));
        }
        tracing::info!(path = %path.display(), "replacing stale socket");
        std::fs::remove_file(path)
            .map_err(|e| fail(format!("cannot remove stale socket: {e}")).because(e))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| fail(e.to_string()).because(e))?;
    // The directory is already 0700; this keeps the socket itself private too should anyone
    // loosen the directory later.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(format!("cannot chmod socket: {e}")).because(e))?;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| fail(format!("cannot stat socket: {e}")).because(e))?;
    Ok(OwnedSocket {
        listener,
        path: path.to_owned(),
        _lock: lock,
        identity: (meta.dev(), meta.ino()),
    })
}
