//! The token store against a real Secret Service (gnome-keyring), checked from outside with
//! `secret-tool`. Run through `bash scripts/test.sh` (or `bash scripts/with-keyring.sh cargo
//! test ...`), which starts a throwaway unlocked gnome-keyring on a private D-Bus session;
//! without one these tests fail and say so.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use flyte_auth_agent::store::{
    FORMAT_VERSION, SERVICE, StoreError, StoreKind, StoredSession, Stores, account,
};
use flyte_auth_proto::{AuthMode, Profile, Secret, SessionKey};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the keyring store, failing the test with instructions when there is no Secret
/// Service: a keyring test that silently passed without a keyring would prove nothing.
async fn keyring() -> Stores {
    let stores = Stores::open(StoreKind::Keyring, TIMEOUT).await;
    if let Some(w) = stores.warning() {
        panic!(
            "no Secret Service reachable ({w}).\nRun the keyring tests with `bash scripts/test.sh` \
             or `bash scripts/with-keyring.sh cargo test -p flyte-auth-agent --test keyring`, \
             which start an isolated gnome-keyring."
        );
    }
    assert_eq!(stores.describe(), "Secret Service (keyring)");
    assert!(stores.persistent());
    stores
}

/// A session key no other test (or earlier run in the same keyring) uses.
fn unique_key() -> SessionKey {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let endpoint = format!("https://kr-{}-{n}.example.com", std::process::id());
    Profile::new(endpoint, AuthMode::Pkce).session_key()
}

fn session(key: &SessionKey, rt: &str) -> StoredSession {
    StoredSession {
        version: FORMAT_VERSION,
        endpoint: key.endpoint.clone(),
        token_endpoint: format!("{}/oauth2/token", key.endpoint),
        client_id: "flytectl".into(),
        scopes: vec!["all".into(), "offline".into()],
        audience: None,
        refresh_token: Secret::new(rt),
        access_token: Some(Secret::new("at-value")),
        access_expires_at_ms: Some(2_000_000_000_000),
        access_issued_at_ms: Some(1_999_999_400_000),
        header_key: Some("flyte-authorization".into()),
        subject: Some("alice".into()),
    }
}

fn secret_tool(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new("secret-tool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run secret-tool (scripts/setup.sh installs it)");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write to secret-tool");
    drop(input);
    child.wait_with_output().expect("secret-tool output")
}

/// Writes an item the way Python's `keyring` does (attributes service, username,
/// application), the way flyte-sdk and flytekit leave their tokens.
fn python_keyring_set(service: &str, user: &str, value: &str) {
    let args = [
        "store",
        "--label=Password for user on service",
        "service",
        service,
        "username",
        user,
        "application",
        "Python keyring library",
    ];
    assert!(secret_tool(&args, Some(value)).status.success());
}

/// Every item with the attributes `service` = flyte-auth and `username` = the key's account,
/// as `secret-tool search` shows them (label and secret; it prints attributes on stderr).
fn items(key: &SessionKey) -> Vec<String> {
    let user = account(key);
    let out = secret_tool(
        &["search", "--all", "service", SERVICE, "username", &user],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split("\n[")
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn round_trip_rotation_and_delete_are_visible_in_the_keyring() {
    let stores = keyring().await;
    let key = unique_key();
    assert_eq!(stores.load(&key).await.unwrap(), None);
    stores.save(&key, &session(&key, "rt-1")).await.unwrap();
    stores.save(&key, &session(&key, "rt-2")).await.unwrap();
    let found = items(&key);
    assert_eq!(found.len(), 1, "rotation replaces the item: {found:?}");
    assert!(found[0].contains(&format!("label = flyte-auth {}", account(&key))));
    assert!(
        found[0].contains(r#""refresh_token":"rt-2""#),
        "{}",
        found[0]
    );
    assert!(found[0].len() < 1500, "items stay small");

    // A fresh store (a restarted agent) reads what the first one wrote.
    let restarted = keyring().await;
    assert_eq!(
        restarted.load(&key).await.unwrap(),
        Some(session(&key, "rt-2"))
    );
    restarted.delete(&key).await.unwrap();
    assert!(items(&key).is_empty(), "logout removes the item");
    let lookup = ["lookup", "service", SERVICE, "username", &account(&key)];
    assert!(!secret_tool(&lookup, None).status.success());
    assert_eq!(restarted.load(&key).await.unwrap(), None);
    restarted.delete(&key).await.unwrap();
}

#[tokio::test]
async fn a_corrupt_item_is_a_clear_error_and_can_be_deleted() {
    let stores = keyring().await;
    let key = unique_key();
    let user = account(&key);
    let store = ["store", "--label=x", "service", SERVICE, "username", &user];
    for garbage in [
        "rt-secret-garbage",
        r#"{"version":7,"refresh_token":"rt-secret-garbage"}"#,
    ] {
        assert!(secret_tool(&store, Some(garbage)).status.success());
        let e = stores.load(&key).await.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
        assert!(msg.contains(&user) && msg.contains("unreadable"), "{msg}");
        assert!(!msg.contains("rt-secret-garbage"), "{msg}");
    }
    stores.delete(&key).await.unwrap();
    assert!(items(&key).is_empty());
}

#[tokio::test]
async fn imports_what_flyte_sdk_and_flytekit_left() {
    let stores = keyring().await;
    let pid = std::process::id();
    let sdk_host = format!("sdk-{pid}.example.com:8443");
    python_keyring_set(
        &sdk_host,
        "tokens",
        r#"{"access_token": "sdk-at", "refresh_token": "sdk-rt"}"#,
    );
    let t = stores.import_python_sdk(&sdk_host).await.unwrap().unwrap();
    assert_eq!(t.access_token, Some(Secret::new("sdk-at")));
    assert_eq!(t.refresh_token, Some(Secret::new("sdk-rt")));

    let kit_host = format!("kit-{pid}.example.com");
    python_keyring_set(&kit_host, "access_token", "kit-at");
    python_keyring_set(&kit_host, "refresh_token", "kit-rt");
    let t = stores.import_python_sdk(&kit_host).await.unwrap().unwrap();
    assert_eq!(t.access_token, Some(Secret::new("kit-at")));
    assert_eq!(t.refresh_token, Some(Secret::new("kit-rt")));

    let none = format!("none-{pid}.example.com");
    assert_eq!(stores.import_python_sdk(&none).await.unwrap(), None);
}
