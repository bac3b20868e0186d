//! The token store: where interactive sessions' refresh tokens survive an agent restart — the
//! OS keyring by default, an opt-in 0600 file, or nowhere (memory only).
//!
//! [`Store`] implementations are blocking and know nothing of tokio; [`Stores`] runs every
//! call on a blocking thread under a timeout (a slow or locked keyring must not stall other
//! sessions) and keeps writes for a session in order even when one times out.

mod file;
mod import;
mod keyring;
mod memory;
mod session;
mod stores;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use flyte_auth_proto::{Secret, SessionKey};

pub use file::FileStore;
pub use keyring::{KeyringStore, SERVICE};
pub use memory::MemoryStore;
pub use session::{FORMAT_VERSION, ITEM_TARGET_BYTES, StoredSession, account};
pub use stores::Stores;

/// How long one store call may take before its caller gives up on it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a store call failed. Messages never contain a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be used (no keyring, locked, access denied, unsafe directory).
    #[error("{0}")]
    Unavailable(String),
    /// What is stored for the session cannot be read as one; the caller should delete it and
    /// ask for a login.
    #[error("{0}")]
    Corrupt(String),
    /// Anything else that went wrong.
    #[error("{0}")]
    Failed(String),
    /// A call to the keyring or the file system failed; `why` quotes its error, kept as the
    /// source.
    #[error("{why}")]
    System {
        /// What failed, ending with the system's error.
        why: String,
        /// The keyring's or the file system's error.
        #[source]
        source: crate::error::Cause,
    },
    /// The call did not finish in time (it may still complete in the background).
    #[error("the {store} did not answer within {}s", after.as_secs_f32())]
    TimedOut {
        /// [`Store::describe`] of the store.
        store: String,
        /// The timeout.
        after: Duration,
    },
}

impl StoreError {
    /// `what` failed with `e`: the message says both, and `e` is kept as the source.
    fn system(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::System {
            why: format!("{what}: {e}"),
            source: std::sync::Arc::new(e),
        }
    }

    /// The same error with `place` (which item or file) in front of a [`StoreError::Corrupt`]
    /// message; other errors unchanged.
    fn at(self, place: &str) -> StoreError {
        match self {
            StoreError::Corrupt(why) => {
                StoreError::Corrupt(format!("{place} is unreadable: {why}"))
            }
            other => other,
        }
    }
}

/// Which store the agent uses (`--store keyring|file|memory`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreKind {
    /// The OS keyring: Secret Service, macOS Keychain or Windows Credential Manager.
    #[default]
    Keyring,
    /// One 0600 JSON file per session in this 0700 directory (explicit opt-in only).
    File(PathBuf),
    /// Nothing survives a restart.
    Memory,
}

impl StoreKind {
    /// Where `--store file` keeps its files: `$XDG_STATE_HOME/flyte-auth/tokens`
    /// (`~/.local/state/flyte-auth/tokens`), or the platform's local data directory where
    /// there is no state directory (macOS, Windows).
    pub fn default_file_dir() -> Result<PathBuf, StoreError> {
        let dirs = directories::ProjectDirs::from("", "", "flyte-auth").ok_or_else(|| {
            StoreError::Unavailable("no home directory for the file store".into())
        })?;
        let base = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Ok(base.join("tokens"))
    }
}

impl FromStr for StoreKind {
    type Err = String;

    /// `keyring`, `file` (in [`StoreKind::default_file_dir`]) or `memory`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keyring" => Ok(StoreKind::Keyring),
            "file" => StoreKind::default_file_dir()
                .map(StoreKind::File)
                .map_err(|e| e.to_string()),
            "memory" => Ok(StoreKind::Memory),
            other => Err(format!(
                "unknown store `{other}`: expected keyring, file or memory"
            )),
        }
    }
}

/// Tokens that Flyte's Python SDKs left in the keyring (`flyte-auth login --import`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedTokens {
    /// Access token, if one was stored.
    pub access_token: Option<Secret>,
    /// Refresh token, if one was stored.
    pub refresh_token: Option<Secret>,
}

/// A place sessions are kept. Methods block (keyring calls, file I/O): call them through
/// [`Stores`], which runs them on a blocking thread with a timeout.
pub trait Store: Send + Sync + fmt::Debug {
    /// The session filed under `key`, or `None` if there is none.
    fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError>;
    /// Files `session` under `key`, replacing what was there.
    fn save(&self, key: &SessionKey, session: &StoredSession) -> Result<(), StoreError>;
    /// Removes what is filed under `key`; nothing there is not an error.
    fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;
    /// Removes every session this store holds and returns the readable ones (unreadable
    /// ones are removed too), so that `logout --all` can revoke their refresh tokens.
    fn take_all(&self) -> Result<Vec<StoredSession>, StoreError>;
    /// Tokens flyte-sdk or flytekit stored for `host` (only the keyring has any).
    fn import_python_sdk(&self, host: &str) -> Result<Option<ImportedTokens>, StoreError> {
        let _ = host;
        Ok(None)
    }
    /// For status and messages: "Secret Service (keyring)", "file /path", "memory only".
    fn describe(&self) -> String;
    /// Whether sessions survive an agent restart.
    fn persistent(&self) -> bool;
}
