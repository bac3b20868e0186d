//! The agent in-process on paused time: timing behaviour (forgetting unused sessions, the
//! backoff after failures and its bound) checked in milliseconds, by advancing tokio's clock
//! instead of sleeping. Endpoints that refuse connections fail at once, so no flow waits on
//! a real clock; the store is the in-memory one.
#![cfg(unix)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use flyte_auth_agent::session::{Registry, Reply};
use flyte_auth_agent::store::{StoreKind, Stores};
use flyte_auth_agent::{Ctx, Settings};
use flyte_auth_proto::{AuthMode, ErrorKind, Profile, Secret, WireError};
use tokio_util::sync::CancellationToken;

/// A registry as `run` builds one, with the in-memory store.
async fn registry(settings: Settings) -> Registry {
    let settings = Settings {
        store: StoreKind::Memory,
        ..settings
    };
    let stores = Stores::open(StoreKind::Memory, settings.store_timeout).await;
    Registry::new(Arc::new(Ctx::new(settings, stores)))
}

async fn ask(registry: &Registry, profile: &Profile) -> Reply {
    let ticket = registry
        .get_token(Box::new(profile.clone()), Duration::ZERO, false, Vec::new())
        .await;
    ticket.reply().await
}

/// Lets the session actors run what is due now (timers that `advance` fired included).
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// A device-flow session asked without a terminal: never gets a token, needs no network.
fn headless_profile() -> Profile {
    Profile::new("https://typo.invalid", AuthMode::DeviceFlow)
}

/// An API-key session at an endpoint nothing listens on: every attempt fails at once.
fn refused_profile() -> Profile {
    let mut p = Profile::new("http://127.0.0.1:1", AuthMode::ClientSecret);
    p.insecure = true;
    p.client_id = Some("ci".into());
    p.client_secret = Some(Secret::new("not-a-real-secret"));
    p
}

/// "…; next try in N s" → N.
fn next_try_secs(e: &WireError) -> u64 {
    let tail = e
        .message
        .rsplit("next try in ")
        .next()
        .unwrap_or_else(|| panic!("no next try in {:?}", e.message));
    tail.trim_end_matches(" s")
        .parse()
        .unwrap_or_else(|_| panic!("no next try in {:?}", e.message))
}

#[tokio::test(start_paused = true)]
async fn a_session_that_never_got_a_token_is_forgotten_after_ten_unused_minutes() {
    let registry = registry(Settings::default()).await;
    let forget_after = Settings::default().forget_failed_session;
    let err = ask(&registry, &headless_profile()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LoginRequired);
    tokio::time::advance(forget_after - Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(registry.status().await.len(), 1, "kept while recently used");
    // A request just before the deadline starts the count again.
    let _ = ask(&registry, &headless_profile()).await;
    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(registry.status().await.len(), 1, "the last request counts");
    tokio::time::advance(forget_after).await;
    settle().await;
    assert!(registry.status().await.is_empty(), "forgotten once unused");
}

#[tokio::test(start_paused = true)]
async fn no_request_starts_an_attempt_during_the_backoff_and_the_backoff_is_capped() {
    let registry = registry(Settings::default()).await;
    let profile = refused_profile();
    let first = ask(&registry, &profile).await.unwrap_err();
    assert_eq!(first.kind, ErrorKind::IdpUnreachable, "{first:?}");
    assert_eq!(next_try_secs(&first), 1, "first retry after 1 s: {first:?}");
    // Asking again during the backoff is answered at once with the same failure.
    let again = ask(&registry, &profile).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::IdpUnreachable);
    assert!(next_try_secs(&again) <= 1, "{again:?}");
    // Each attempt after a backoff fails again: the delay grows, and stays under the cap of
    // a session with nothing valid to serve (12 s, shortened by up to 25 % of jitter).
    let mut delays = Vec::new();
    for _ in 0..10 {
        tokio::time::advance(Duration::from_secs(13)).await;
        settle().await;
        let e = ask(&registry, &profile).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::IdpUnreachable, "{e:?}");
        delays.push(next_try_secs(&e));
    }
    assert!(
        delays.windows(2).all(|w| w[0] <= w[1] || w[1] >= 9),
        "{delays:?}"
    );
    assert!(delays.iter().all(|&d| d <= 12), "{delays:?}");
    assert!(
        delays[delays.len() - 1] >= 9,
        "the cap is reached: {delays:?}"
    );
    let status = registry.status().await;
    assert_eq!(status.len(), 1);
    assert!(status[0].last_error.is_some(), "{status:?}");
}

#[tokio::test(start_paused = true)]
async fn run_serves_clients_in_process_on_a_temp_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The client talks only to a socket in a directory no one else can use.
    let private = dir.path().join("private");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&private)
        .expect("private dir");
    let socket = private.join("agent.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let shutdown = CancellationToken::new();
    let settings = Settings {
        store: StoreKind::Memory,
        ..Settings::default()
    };
    let agent = tokio::spawn(flyte_auth_agent::run(settings, listener, shutdown.clone()));
    // The blocking client runs on the blocking pool (tokio does not move its paused clock
    // while it runs), as a terminal's `flyte-auth` would.
    let path = socket.clone();
    let (before, answer, after) = tokio::task::spawn_blocking(move || client_calls(&path))
        .await
        .expect("client");
    assert!(before.is_empty());
    assert_eq!(answer, Err(flyte_auth::Category::LoginRequired));
    assert_eq!(after, vec![flyte_auth_proto::SessionState::LoginRequired]);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), agent)
        .await
        .expect("the agent stops")
        .expect("agent task");
}

type Calls = (
    Vec<flyte_auth_proto::SessionStatus>,
    Result<(), flyte_auth::Category>,
    Vec<flyte_auth_proto::SessionState>,
);

fn client_calls(socket: &Path) -> Calls {
    let mut client = flyte_auth::Client::connect(socket).expect("connect");
    let before = client.status().expect("status").sessions;
    let answer = client
        .get_token(&headless_profile(), Duration::ZERO, false, &mut |_| {})
        .map(|_| ())
        .map_err(|e| e.category());
    let after = client.status().expect("status").sessions;
    (before, answer, after.into_iter().map(|s| s.state).collect())
}
