//! Tests of [`Stores`] (timeouts, write order, what is never stored) and of [`KeyringStore`]
//! over keyring-core's mock store. The real Secret Service is tested in `agent/tests/keyring.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use flyte_auth_proto::{AuthMode, Profile, Secret, SessionKey};
use keyring_core::{CredentialStore, Entry};

use super::session::tests::sample;
use super::*;

const SHORT: Duration = Duration::from_millis(200);

fn key() -> SessionKey {
    Profile::new("https://flyte.example.com", AuthMode::Pkce).session_key()
}

fn rotated(k: &SessionKey, rt: &str) -> StoredSession {
    StoredSession {
        refresh_token: Secret::new(rt),
        ..sample(k)
    }
}

/// A memory store whose writes wait while the gate is closed, like a keyring showing an
/// unlock prompt.
#[derive(Debug, Default)]
struct Gated {
    inner: MemoryStore,
    closed: Mutex<bool>,
    opened: Condvar,
    writes: AtomicUsize,
}

impl Gated {
    fn set_closed(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }

    fn wait_open(&self) {
        let mut closed = self.closed.lock().unwrap();
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
    }
}

impl Store for Gated {
    fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError> {
        self.inner.load(key)
    }
    fn save(&self, key: &SessionKey, s: &StoredSession) -> Result<(), StoreError> {
        self.wait_open();
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, s)
    }
    fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.wait_open();
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key)
    }
    fn take_all(&self) -> Result<Vec<StoredSession>, StoreError> {
        self.inner.take_all()
    }
    fn describe(&self) -> String {
        "gated".into()
    }
    fn persistent(&self) -> bool {
        true
    }
}

/// Waits until `check` holds (the blocking threads finish on their own time).
async fn eventually(check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached");
}

#[tokio::test]
async fn a_timed_out_write_never_lands_after_a_newer_one() {
    let gated = Arc::new(Gated::default());
    let stores = Stores::new(gated.clone(), None, SHORT);
    let k = key();
    gated.set_closed(true);
    let e = stores.save(&k, &rotated(&k, "rt-1")).await.unwrap_err();
    assert!(matches!(e, StoreError::TimedOut { .. }), "{e:?}");
    assert!(stores.warning().unwrap().contains("could not save"));
    // The agent reads what it meant to store, not what the slow store still has.
    assert_eq!(stores.load(&k).await.unwrap(), Some(rotated(&k, "rt-1")));
    assert!(stores.save(&k, &rotated(&k, "rt-2")).await.is_err());
    assert!(stores.save(&k, &rotated(&k, "rt-3")).await.is_err());
    assert_eq!(stores.load(&k).await.unwrap(), Some(rotated(&k, "rt-3")));
    gated.set_closed(false);
    eventually(|| gated.inner.load(&k).unwrap() == Some(rotated(&k, "rt-3"))).await;
    // rt-1 was already being written; rt-2 was superseded before it started.
    assert_eq!(gated.writes.load(Ordering::SeqCst), 2);
    stores.save(&k, &rotated(&k, "rt-4")).await.unwrap();
    assert_eq!(
        stores.warning(),
        None,
        "a successful save clears the warning"
    );
    assert_eq!(stores.load(&k).await.unwrap(), Some(rotated(&k, "rt-4")));
}

#[tokio::test]
async fn a_delete_after_a_slow_save_wins() {
    let gated = Arc::new(Gated::default());
    let stores = Stores::new(gated.clone(), None, SHORT);
    let k = key();
    gated.set_closed(true);
    assert!(stores.save(&k, &sample(&k)).await.is_err());
    assert!(stores.delete(&k).await.is_err());
    assert_eq!(
        stores.load(&k).await.unwrap(),
        None,
        "logged out is logged out"
    );
    gated.set_closed(false);
    eventually(|| gated.writes.load(Ordering::SeqCst) == 2).await;
    assert_eq!(gated.inner.load(&k).unwrap(), None);
}

#[tokio::test]
async fn api_key_sessions_are_never_stored() {
    let gated = Arc::new(Gated::default());
    let stores = Stores::new(gated.clone(), None, SHORT);
    let mut p = Profile::new("https://flyte.example.com", AuthMode::ClientSecret);
    p.client_id = Some("ci".into());
    let k = p.session_key();
    stores.save(&k, &sample(&k)).await.unwrap();
    assert_eq!(gated.writes.load(Ordering::SeqCst), 0);
    assert_eq!(stores.load(&k).await.unwrap(), None);
}

#[tokio::test]
async fn memory_and_unusable_file_stores() {
    let stores = Stores::open(StoreKind::Memory, SHORT).await;
    assert_eq!((stores.persistent(), stores.warning()), (false, None));
    assert_eq!(stores.describe(), "memory only");
    let k = key();
    stores.save(&k, &sample(&k)).await.unwrap();
    assert_eq!(stores.load(&k).await.unwrap(), Some(sample(&k)));
    assert_eq!(stores.import_python_sdk("h").await.unwrap(), None);

    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let stores = Stores::open(StoreKind::File(not_a_dir), SHORT).await;
    let warning = stores.warning().unwrap();
    assert!(warning.contains("file store cannot be used"), "{warning}");
    assert!(
        warning.contains("will not survive an agent restart"),
        "{warning}"
    );
    assert!(!stores.persistent());

    let dir = tmp.path().join("tokens");
    let stores = Stores::open(StoreKind::File(dir.clone()), SHORT).await;
    assert_eq!(stores.warning(), None);
    assert_eq!(stores.describe(), format!("file {}", dir.display()));
}

#[test]
fn store_kind_parses() {
    assert_eq!("keyring".parse::<StoreKind>(), Ok(StoreKind::Keyring));
    assert_eq!("memory".parse::<StoreKind>(), Ok(StoreKind::Memory));
    match "file".parse::<StoreKind>() {
        Ok(StoreKind::File(dir)) => assert!(dir.ends_with("flyte-auth/tokens"), "{dir:?}"),
        other => panic!("{other:?}"),
    }
    assert!(
        "vault"
            .parse::<StoreKind>()
            .unwrap_err()
            .contains("keyring, file or memory")
    );
}

fn mock() -> (Arc<CredentialStore>, KeyringStore) {
    let backend: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
    (
        backend.clone(),
        KeyringStore::with_backend(backend, "mock keyring"),
    )
}

fn put(backend: &Arc<CredentialStore>, service: &str, user: &str, value: &str) {
    let entry = Entry::new_in_store(backend, service, user).unwrap();
    entry.set_secret(value.as_bytes()).unwrap();
}

#[test]
fn keyring_round_trip_and_corrupt_item() {
    let (backend, store) = mock();
    let k = key();
    assert_eq!(store.load(&k).unwrap(), None);
    store.save(&k, &sample(&k)).unwrap();
    assert_eq!(store.load(&k).unwrap(), Some(sample(&k)));
    store.delete(&k).unwrap();
    store.delete(&k).unwrap();
    assert_eq!(store.load(&k).unwrap(), None);

    put(&backend, SERVICE, &account(&k), "rt-secret-value");
    let e = store.load(&k).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains(&account(&k)) && msg.contains("not valid JSON"),
        "{msg}"
    );
    assert!(!msg.contains("rt-secret-value"), "{msg}");
    store.delete(&k).unwrap();
    assert_eq!(store.load(&k).unwrap(), None);
}

#[test]
fn keyring_imports_what_the_python_sdks_wrote() {
    let (backend, store) = mock();
    assert_eq!(store.import_python_sdk("flyte.example.com").unwrap(), None);
    put(&backend, "old.example.com", "access_token", "at-old");
    put(&backend, "old.example.com", "refresh_token", "rt-old");
    let t = store.import_python_sdk("old.example.com").unwrap().unwrap();
    assert_eq!(t.access_token, Some(Secret::new("at-old")));
    assert_eq!(t.refresh_token, Some(Secret::new("rt-old")));
    let sdk = r#"{"access_token": "at-new", "refresh_token": "rt-new"}"#;
    put(&backend, "flyte.example.com:8443", "tokens", sdk);
    let t = store
        .import_python_sdk("flyte.example.com:8443")
        .unwrap()
        .unwrap();
    assert_eq!(t.refresh_token, Some(Secret::new("rt-new")));
    put(&backend, "bad.example.com", "tokens", "{");
    let e = store.import_python_sdk("bad.example.com").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
}

#[test]
fn take_all_empties_every_store_and_returns_what_it_could_read() {
    let other = Profile::new("https://other.example.com", AuthMode::Pkce).session_key();
    let (backend, keyring) = mock();
    let tmp = tempfile::tempdir().unwrap();
    let file = FileStore::open(tmp.path().join("tokens")).unwrap();
    let memory = MemoryStore::new();
    for store in [&keyring as &dyn Store, &file, &memory] {
        store.save(&key(), &sample(&key())).unwrap();
        store.save(&other, &sample(&other)).unwrap();
        let mut taken: Vec<String> = store
            .take_all()
            .unwrap()
            .into_iter()
            .map(|s| s.endpoint)
            .collect();
        taken.sort();
        assert_eq!(
            taken,
            vec![key().endpoint, other.endpoint.clone()],
            "{}",
            store.describe()
        );
        assert_eq!(store.load(&key()).unwrap(), None, "{}", store.describe());
        assert!(store.take_all().unwrap().is_empty(), "{}", store.describe());
    }
    // An unreadable item is removed too, and never returned.
    put(&backend, SERVICE, "junk/user/default/00000000", "not json");
    assert!(keyring.take_all().unwrap().is_empty());
    assert!(keyring.take_all().unwrap().is_empty());
    // Python SDK items under other services are not ours to remove.
    put(
        &backend,
        "flyte.example.com",
        "tokens",
        r#"{"refresh_token":"rt"}"#,
    );
    keyring.take_all().unwrap();
    assert!(
        keyring
            .import_python_sdk("flyte.example.com")
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_system_error_is_quoted_and_kept_as_the_source() {
    use std::error::Error as _;
    let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
    let e = StoreError::system("cannot write /t/x.json", io);
    assert_eq!(e.to_string(), "cannot write /t/x.json: denied");
    let copy = e.clone();
    assert_eq!(
        copy.source().map(|s| s.to_string()).as_deref(),
        Some("denied")
    );
    let agent = crate::AgentError::from(e);
    assert_eq!(
        crate::error::chain(&agent),
        "token store: cannot write /t/x.json: denied"
    );
}
