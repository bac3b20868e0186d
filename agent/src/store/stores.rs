//! [`Stores`]: the agent's async face of its [`Store`]: blocking calls on the blocking pool
//! under a timeout, at most a few at once, and writes per session applied in the order they
//! were asked for even when an earlier one timed out and still runs.
//!
//! Order matters because refresh tokens rotate: if a write of an old token that timed out
//! landed after the write of its successor, the next agent would start from a token the IdP
//! has already revoked (and, with reuse detection, revoke the whole grant).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use flyte_auth_proto::SessionKey;
use tokio::sync::Semaphore;

use super::{
    FileStore, ImportedTokens, KeyringStore, MemoryStore, Store, StoreError, StoreKind,
    StoredSession, account,
};

/// At most this many store calls run at once: a hung keyring then ties up this many blocking
/// threads, not one per request.
const MAX_IN_FLIGHT: usize = 4;

/// The agent's token store, ready for async callers.
#[derive(Debug)]
pub struct Stores {
    store: Arc<dyn Store>,
    /// Why the store is not what was asked for (no keyring: memory only).
    open_warning: Option<String>,
    timeout: Duration,
    permits: Arc<Semaphore>,
    writes: Arc<Writes>,
}

/// Writes asked for but not yet known to be done, by account.
#[derive(Debug, Default)]
struct Writes {
    /// The latest write per account: its number and what it writes (`None`: a delete). An
    /// entry stays after a failed write, so this agent keeps reading what it meant to store.
    pending: Mutex<HashMap<String, (u64, Option<StoredSession>)>>,
    /// Held while a write runs: writes never overlap, so none can overtake another.
    running: Mutex<()>,
    next: AtomicU64,
    /// The latest failed save, for status; cleared by the next successful one.
    save_failure: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a single map or slot update: a panic cannot leave the
    // data half-changed, so a poisoned lock is still good.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Stores {
    /// Opens the store `kind` names, checking it works (on a blocking thread, within
    /// `timeout`). A keyring or file store that cannot be used falls back to memory with a
    /// [`Stores::warning`] saying so and how to fix it; another persistent store is never
    /// chosen silently.
    pub async fn open(kind: StoreKind, timeout: Duration) -> Stores {
        let hint = match kind {
            StoreKind::File(_) => "fix that or run the agent with --store keyring",
            _ if cfg!(any(target_os = "macos", windows)) => {
                "check the OS keyring or run the agent with --store file"
            }
            _ => "start a Secret Service (e.g. gnome-keyring) or run the agent with --store file",
        };
        let what = match kind {
            StoreKind::File(_) => "the file store cannot be used",
            _ => "no keyring available",
        };
        let opened: Result<Arc<dyn Store>, StoreError> = match kind {
            StoreKind::Memory => return Stores::memory(timeout),
            StoreKind::File(dir) => FileStore::open(dir).map(|s| Arc::new(s) as _),
            StoreKind::Keyring => {
                let job = tokio::task::spawn_blocking(KeyringStore::open);
                match tokio::time::timeout(timeout, job).await {
                    Ok(Ok(r)) => r.map(|s| Arc::new(s) as _),
                    Ok(Err(_)) => Err(StoreError::Failed("the keyring check crashed".into())),
                    Err(_) => Err(StoreError::Unavailable(format!(
                        "the keyring did not answer within {}s",
                        timeout.as_secs_f32()
                    ))),
                }
            }
        };
        match opened {
            Ok(store) => {
                tracing::info!(store = %store.describe(), "token store ready");
                Stores::new(store, None, timeout)
            }
            Err(e) => {
                let warning =
                    format!("{what} ({e}): logins will not survive an agent restart; {hint}");
                tracing::warn!("{warning}");
                Stores::new(Arc::new(MemoryStore::new()), Some(warning), timeout)
            }
        }
    }

    /// A memory-only store, as asked for (no warning).
    pub fn memory(timeout: Duration) -> Stores {
        Stores::new(Arc::new(MemoryStore::new()), None, timeout)
    }

    /// `store` as is, with calls limited to `timeout` (tests and custom stores).
    pub fn new(store: Arc<dyn Store>, warning: Option<String>, timeout: Duration) -> Stores {
        Stores {
            store,
            open_warning: warning,
            timeout,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            writes: Arc::default(),
        }
    }

    /// What status and the first login should tell the user, once: that logins will not
    /// survive a restart (no keyring), or that the latest save failed.
    pub fn warning(&self) -> Option<String> {
        self.open_warning
            .clone()
            .or_else(|| lock(&self.writes.save_failure).clone())
    }

    /// For status: "Secret Service (keyring)", "file /path", "memory only".
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Whether sessions survive an agent restart.
    pub fn persistent(&self) -> bool {
        self.store.persistent()
    }

    /// The session stored for `key`. API-key and client-secret sessions are never stored:
    /// always `None`. A write this agent asked for and that has not completed is returned
    /// as written.
    pub async fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError> {
        if !key.mode.is_interactive() {
            return Ok(None);
        }
        if let Some((_, pending)) = lock(&self.writes.pending).get(&account(key)) {
            return Ok(pending.clone());
        }
        let key = key.clone();
        self.call(move |s| s.load(&key)).await
    }

    /// Stores `session` for `key`, replacing what was there; a no-op for API-key and
    /// client-secret sessions (their secret stays where the user put it).
    pub async fn save(&self, key: &SessionKey, session: &StoredSession) -> Result<(), StoreError> {
        if !key.mode.is_interactive() {
            return Ok(());
        }
        let result = self.write(key, Some(session.clone())).await;
        *lock(&self.writes.save_failure) = result.as_ref().err().map(|e| {
            format!(
                "could not save the login to the {} ({e}): it will not survive an agent restart",
                self.describe()
            )
        });
        result
    }

    /// Removes what is stored for `key`.
    pub async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.write(key, None).await
    }

    /// Removes every stored session and returns the readable ones (for `logout --all`).
    pub async fn take_all(&self) -> Result<Vec<StoredSession>, StoreError> {
        self.call(|s| s.take_all()).await
    }

    /// Tokens flyte-sdk or flytekit left in the keyring for `host` (`host[:port]`); `None`
    /// if there are none or the store is not the keyring.
    pub async fn import_python_sdk(
        &self,
        host: &str,
    ) -> Result<Option<ImportedTokens>, StoreError> {
        let host = host.to_owned();
        self.call(move |s| s.import_python_sdk(&host)).await
    }

    async fn write(
        &self,
        key: &SessionKey,
        state: Option<StoredSession>,
    ) -> Result<(), StoreError> {
        let account = account(key);
        let seq = self.writes.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.writes.pending).insert(account.clone(), (seq, state.clone()));
        let (writes, key) = (self.writes.clone(), key.clone());
        self.call(move |store| {
            let _running = lock(&writes.running);
            let latest = |p: &HashMap<_, (u64, _)>| p.get(&account).is_some_and(|e| e.0 == seq);
            if !latest(&lock(&writes.pending)) {
                // A later write for this session is queued behind us: it carries newer state.
                return Ok(());
            }
            match &state {
                Some(s) => store.save(&key, s),
                None => store.delete(&key),
            }?;
            let mut pending = lock(&writes.pending);
            if latest(&pending) {
                pending.remove(&account);
            }
            Ok(())
        })
        .await
    }

    /// Runs `f` on the blocking pool and waits for it at most the timeout (waiting for a free
    /// slot included). The call itself is not cancelled by the timeout: it runs to the end in
    /// the background, so a write that timed out still lands, in order.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (store, permits) = (self.store.clone(), self.permits.clone());
        let work = tokio::spawn(async move {
            let permit = permits
                .acquire_owned()
                .await
                .map_err(|_| StoreError::Failed("the token store is closed".into()))?;
            let job = tokio::task::spawn_blocking(move || {
                // The slot is held until the call really returns, even after a timeout.
                let _permit = permit;
                f(&*store)
            });
            job.await
                .map_err(|_| StoreError::Failed("a token store call crashed".into()))?
        });
        let crashed = |_| StoreError::Failed("a token store call crashed".into());
        match tokio::time::timeout(self.timeout, work).await {
            Ok(done) => done.map_err(crashed)?,
            Err(_) => Err(StoreError::TimedOut {
                store: self.describe(),
                after: self.timeout,
            }),
        }
    }
}
