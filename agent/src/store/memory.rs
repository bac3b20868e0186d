//! The memory-only store: sessions outlive an idle session actor but not the agent. Used when
//! asked (`--store memory`) and when no keyring is available.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use flyte_auth_proto::SessionKey;

use super::{Store, StoreError, StoredSession, account};

/// Sessions in a map, by [`account`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, StoredSession>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, StoredSession>> {
        // A panic while holding the lock cannot leave the map half-updated (each operation
        // is a single insert or remove), so a poisoned lock is still good.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError> {
        Ok(self.map().get(&account(key)).cloned())
    }

    fn save(&self, key: &SessionKey, session: &StoredSession) -> Result<(), StoreError> {
        self.map().insert(account(key), session.clone());
        Ok(())
    }

    fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.map().remove(&account(key));
        Ok(())
    }

    fn take_all(&self) -> Result<Vec<StoredSession>, StoreError> {
        Ok(self.map().drain().map(|(_, s)| s).collect())
    }

    fn describe(&self) -> String {
        "memory only".into()
    }

    fn persistent(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use flyte_auth_proto::{AuthMode, Profile};

    use super::*;
    use crate::store::session::tests::sample;

    #[test]
    fn round_trip_and_delete() {
        let store = MemoryStore::new();
        let key = Profile::new("https://h", AuthMode::Pkce).session_key();
        let other = Profile::new("https://other", AuthMode::Pkce).session_key();
        assert_eq!(store.load(&key).unwrap(), None);
        store.save(&key, &sample(&key)).unwrap();
        assert_eq!(store.load(&key).unwrap(), Some(sample(&key)));
        assert_eq!(store.load(&other).unwrap(), None);
        store.delete(&key).unwrap();
        store.delete(&key).unwrap();
        assert_eq!(store.load(&key).unwrap(), None);
        assert!(!store.persistent());
        assert_eq!(store.describe(), "memory only");
    }
}
