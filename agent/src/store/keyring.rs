//! The OS keyring through keyring-core and one native store per platform: Secret Service
//! (over zbus, pure Rust) on Linux and the BSDs, Keychain on macOS, Credential Manager on
//! Windows. The store object is built and passed explicitly; keyring-core's process-global
//! default store is never set.
//!
//! Every session is one item: service [`SERVICE`], user [`account`], value the
//! [`StoredSession`] JSON. On the Secret Service those are the item attributes `service` and
//! `username` (what keyring-core's store and Python's `keyring` both use), labelled
//! `flyte-auth <account>`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use flyte_auth_proto::SessionKey;
use keyring_core::{CredentialStore, Entry, Error};
use zeroize::Zeroizing;

use super::import::{
    LEGACY_ACCESS_USER, LEGACY_REFRESH_USER, SDK_USER, from_legacy_items, parse_sdk_item,
};
use super::{ImportedTokens, Store, StoreError, StoredSession, account};

/// Service name of every flyte-auth item.
pub const SERVICE: &str = "flyte-auth";

/// User of the item the probe looks up (and never finds).
const PROBE_USER: &str = "probe";

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod platform {
    use super::*;
    pub const NAME: &str = "Secret Service (keyring)";
    /// Item labels show in Seahorse and the like.
    pub const LABELS: bool = true;
    pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(zbus_secret_service_keyring_store::Store::new()?)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;
    pub const NAME: &str = "macOS Keychain";
    pub const LABELS: bool = false;
    pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(apple_native_keyring_store::keychain::Store::new()?)
    }
}

#[cfg(windows)]
mod platform {
    use super::*;
    pub const NAME: &str = "Windows Credential Manager";
    pub const LABELS: bool = false;
    pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(windows_native_keyring_store::Store::new()?)
    }
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    windows
)))]
mod platform {
    use super::*;
    pub const NAME: &str = "keyring";
    pub const LABELS: bool = false;
    pub fn open() -> keyring_core::Result<Arc<CredentialStore>> {
        Err(Error::NotSupportedByStore(
            "flyte-auth has no keyring support on this platform".into(),
        ))
    }
}

/// Sessions in the OS keyring.
pub struct KeyringStore {
    /// `None` after a platform failure: the next call reconnects (the Secret Service may have
    /// been restarted under a long-running agent).
    backend: Mutex<Option<Arc<CredentialStore>>>,
    reopen: fn() -> keyring_core::Result<Arc<CredentialStore>>,
    name: &'static str,
    labels: bool,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("name", &self.name)
            .finish()
    }
}

impl KeyringStore {
    /// Connects to this platform's keyring and checks that it answers (a lookup of an item
    /// that does not exist: it never prompts, unlike a write to a locked keyring). Blocks.
    pub fn open() -> Result<KeyringStore, StoreError> {
        let backend = platform::open().map_err(|e| unavailable(platform::NAME, e))?;
        let store = KeyringStore {
            backend: Mutex::new(Some(backend)),
            reopen: platform::open,
            name: platform::NAME,
            labels: platform::LABELS,
        };
        store.get(SERVICE, PROBE_USER)?;
        Ok(store)
    }

    /// A store over `backend` (keyring-core's mock store, in tests).
    pub fn with_backend(backend: Arc<CredentialStore>, name: &'static str) -> KeyringStore {
        KeyringStore {
            backend: Mutex::new(Some(backend.clone())),
            reopen: || {
                Err(Error::NotSupportedByStore(
                    "no reconnecting in tests".into(),
                ))
            },
            name,
            labels: false,
        }
    }

    fn entry(&self, service: &str, user: &str) -> Result<Entry, StoreError> {
        let backend = {
            let mut slot = self.backend.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some(b) => b.clone(),
                None => {
                    let b = (self.reopen)().map_err(|e| unavailable(self.name, e))?;
                    *slot = Some(b.clone());
                    b
                }
            }
        };
        let label = format!("{SERVICE} {user}");
        let entry = if self.labels && service == SERVICE {
            let mods = HashMap::from([("label", label.as_str())]);
            Entry::new_in_store_with_modifiers(&backend, service, user, &mods)
        } else {
            Entry::new_in_store(&backend, service, user)
        };
        entry.map_err(|e| self.failed(e))
    }

    /// The value of item (`service`, `user`), if there is one.
    fn get(&self, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        match self.entry(service, user)?.get_secret() {
            Ok(v) => Ok(Some(Zeroizing::new(v))),
            Err(Error::NoEntry) => Ok(None),
            Err(Error::Ambiguous(items)) => Err(StoreError::Corrupt(format!(
                "{} {} items match service {service} and user {user}",
                items.len(),
                self.name
            ))),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Replaces the item's value. Duplicates (the same service and user in two collections)
    /// are removed first: otherwise no write could ever succeed again.
    fn set(&self, service: &str, user: &str, value: &[u8]) -> Result<(), StoreError> {
        let entry = self.entry(service, user)?;
        match entry.set_secret(value) {
            Err(Error::Ambiguous(items)) => {
                self.remove_all(items)?;
                entry.set_secret(value).map_err(|e| self.failed(e))
            }
            other => other.map_err(|e| self.failed(e)),
        }
    }

    fn remove(&self, service: &str, user: &str) -> Result<(), StoreError> {
        match self.entry(service, user)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(Error::Ambiguous(items)) => self.remove_all(items),
            Err(e) => Err(self.failed(e)),
        }
    }

    fn remove_all(&self, items: Vec<Entry>) -> Result<(), StoreError> {
        for item in items {
            match item.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => {}
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(())
    }

    /// Maps a keyring error to ours, dropping the connection after a platform failure so
    /// the next call reconnects.
    fn failed(&self, e: Error) -> StoreError {
        if matches!(e, Error::PlatformFailure(_)) {
            *self.backend.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        match e {
            Error::NoStorageAccess(why) => StoreError::Unavailable(format!(
                "the {} refused access (is it locked?): {why}",
                self.name
            )),
            // The raw bytes these carry are never shown: they may be a token.
            Error::BadEncoding(_) | Error::BadDataFormat(..) => StoreError::Corrupt(format!(
                "the {} returned data in an unexpected format",
                self.name
            )),
            Error::TooLong(what, limit) => StoreError::Failed(format!(
                "the {} does not take an item this large ({what} is over {limit})",
                self.name
            )),
            e => StoreError::system(self.name, e),
        }
    }
}

fn unavailable(name: &str, e: Error) -> StoreError {
    StoreError::Unavailable(format!("cannot open the {name}: {e}"))
}

impl Store for KeyringStore {
    fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError> {
        let user = account(key);
        let Some(bytes) = self.get(SERVICE, &user)? else {
            return Ok(None);
        };
        StoredSession::decode(&bytes, key)
            .map(Some)
            .map_err(|e| e.at(&format!("the {} item {SERVICE} {user}", self.name)))
    }

    fn save(&self, key: &SessionKey, session: &StoredSession) -> Result<(), StoreError> {
        self.set(SERVICE, &account(key), &session.encode()?)
    }

    fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.remove(SERVICE, &account(key))
    }

    fn import_python_sdk(&self, host: &str) -> Result<Option<ImportedTokens>, StoreError> {
        let place = |user: &str| format!("the {} item {host} {user}", self.name);
        if let Some(item) = self.get(host, SDK_USER)? {
            // An empty `tokens` item falls through to the older layout.
            if let Some(t) = parse_sdk_item(&item).map_err(|e| e.at(&place(SDK_USER)))? {
                return Ok(Some(t));
            }
        }
        let access = self.get(host, LEGACY_ACCESS_USER)?;
        let refresh = self.get(host, LEGACY_REFRESH_USER)?;
        from_legacy_items(access, refresh).map_err(|e| e.at(&place("access_token/refresh_token")))
    }

    fn take_all(&self) -> Result<Vec<StoredSession>, StoreError> {
        // Making an entry (re)connects to the keyring if a platform failure dropped it.
        self.entry(SERVICE, PROBE_USER)?;
        let store = self
            .backend
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(store) = store else {
            return Ok(Vec::new());
        };
        let spec = std::collections::HashMap::from([("service", SERVICE)]);
        let items = Entry::search_in_store(&store, &spec).map_err(|e| self.failed(e))?;
        let mut taken = Vec::new();
        for item in items {
            if let Ok(bytes) = item.get_secret()
                && let Ok(s) = StoredSession::decode_any(&bytes)
            {
                taken.push(s);
            }
            match item.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => {}
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(taken)
    }

    fn describe(&self) -> String {
        self.name.into()
    }

    fn persistent(&self) -> bool {
        true
    }
}
