//! In-process tests of the registry: forgetting sessions that never obtained a token races
//! with no request.

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::{AuthMode, ErrorKind, Profile};

use super::{Registry, Reply};
use crate::store::{StoreKind, Stores};
use crate::{Ctx, Settings};

/// A registry whose sessions are forgotten as soon as they are unused.
async fn registry() -> Arc<Registry> {
    let settings = Settings {
        forget_failed_session: Duration::ZERO,
        store: StoreKind::Memory,
        ..Settings::default()
    };
    let stores = Stores::open(StoreKind::Memory, settings.store_timeout).await;
    Arc::new(Registry::new(Arc::new(Ctx::new(settings, stores))))
}

async fn ask(registry: &Registry, profile: &Profile) -> Reply {
    let ticket = registry
        .get_token(Box::new(profile.clone()), Duration::ZERO, false, Vec::new())
        .await;
    ticket.reply().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgetting_never_loses_a_request_that_is_arriving() {
    let registry = registry().await;
    // A device-flow session asked non-interactively never gets a token and needs no network:
    // the store has nothing, so the answer is "login required" every time.
    let mut profile = Profile::new("https://typo.invalid", AuthMode::DeviceFlow);
    profile.insecure = true;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (registry, profile) = (registry.clone(), profile.clone());
        tasks.push(tokio::spawn(async move {
            let mut kinds = Vec::new();
            for i in 0..300 {
                kinds.push(
                    ask(&registry, &profile)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.kind),
                );
                if i % 7 == 0 {
                    // Idle moments, so that the session is forgotten between requests.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            kinds
        }));
    }
    for t in tasks {
        for kind in t.await.expect("task") {
            assert_eq!(kind, Err(ErrorKind::LoginRequired));
        }
    }
    // Unused now, the session goes away.
    let gone = async {
        while !registry.status().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("the unused session is forgotten");
}

#[tokio::test]
async fn a_forgotten_session_is_replaced_on_the_next_request() {
    // The next request after a session was forgotten starts a new one, which answers as the
    // old one would have.
    let registry = registry().await;
    let profile = Profile::new("https://typo.invalid", AuthMode::DeviceFlow);
    assert_eq!(
        ask(&registry, &profile)
            .await
            .map(|_| ())
            .map_err(|e| e.kind),
        Err(ErrorKind::LoginRequired)
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(registry.status().await.is_empty());
    assert_eq!(
        ask(&registry, &profile)
            .await
            .map(|_| ())
            .map_err(|e| e.kind),
        Err(ErrorKind::LoginRequired)
    );
}
