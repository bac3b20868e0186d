//! A device login in-process against the fake IdP, on paused time: unapproved, it keeps
//! polling; a client back within the grace period rejoins it, and the login nobody waits for any more is cancelled
//! after its grace period, and not before; the next login is a new flow. Tokio's clock moves
//! only when the test advances it: a blocking task held for the whole test stops it from
//! jumping ahead while the fake IdP (on its own thread) answers over real sockets.
#![cfg(unix)]

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_agent::session::{Registry, Ticket};
use flyte_auth_agent::store::{StoreKind, Stores};
use flyte_auth_agent::{Ctx, Settings};
use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_proto::{AuthMode, Event, Profile, SessionState};

/// Keeps tokio's paused clock from advancing by itself until dropped.
struct HoldClock(Option<std::sync::mpsc::Sender<()>>);

impl HoldClock {
    fn new() -> HoldClock {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = rx.recv();
        });
        HoldClock(Some(tx))
    }
}

impl Drop for HoldClock {
    fn drop(&mut self) {
        self.0.take();
    }
}

/// Waits `d` of real time (tokio's clock is paused).
async fn real_wait(d: Duration) {
    let _ = tokio::task::spawn_blocking(move || std::thread::sleep(d)).await;
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

async fn state(registry: &Registry) -> Option<SessionState> {
    registry.status().await.first().map(|s| s.state)
}

/// Starts a device login and returns its device code once the prompt arrives.
async fn login(registry: &Registry, profile: &Profile) -> (Ticket, String) {
    let mut ticket = registry
        .login(
            Box::new(profile.clone()),
            AuthMode::DeviceFlow,
            false,
            Vec::new(),
        )
        .await;
    let Ticket::Pending { events, .. } = &mut ticket else {
        panic!("answered at once: {ticket:?}");
    };
    let code = loop {
        match events.recv().await {
            Some(Event::DeviceCode { user_code, .. }) => break user_code,
            Some(_) => continue,
            None => panic!("the login ended without a prompt"),
        }
    };
    (ticket, code)
}

#[tokio::test(start_paused = true)]
async fn an_unapproved_device_login_polls_is_rejoined_in_its_grace_and_cancelled_after_it() {
    let idp = FakeIdp::start().expect("fake IdP");
    let _hold = HoldClock::new();
    let settings = Settings {
        store: StoreKind::Memory,
        ..Settings::default()
    };
    let stores = Stores::open(StoreKind::Memory, settings.store_timeout).await;
    let registry = Registry::new(Arc::new(Ctx::new(settings, stores)));
    let mut profile = Profile::new(idp.url(), AuthMode::DeviceFlow);
    profile.insecure = true;

    let (mut ticket, first) = login(&registry, &profile).await;
    assert_eq!(state(&registry).await, Some(SessionState::Authenticating));
    // Unapproved, the login keeps polling (every second here) rather than failing or
    // returning.
    let mut steps = 0;
    while idp.requests("/token") < 3 {
        tokio::time::advance(Duration::from_millis(500)).await;
        real_wait(Duration::from_millis(20)).await;
        steps += 1;
        assert!(steps < 100, "the login stopped polling");
    }
    let Ticket::Pending { reply, .. } = &mut ticket else {
        unreachable!("checked by login()")
    };
    assert!(
        reply.try_recv().is_err(),
        "the login ended before the code was approved"
    );
    assert_eq!(state(&registry).await, Some(SessionState::Authenticating));
    drop(ticket);
    // Back within the grace period (the user pressed ^C and ran it again): the same flow,
    // its prompt replayed.
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    let (ticket, again) = login(&registry, &profile).await;
    assert_eq!(again, first);
    assert_eq!(
        idp.requests("/device"),
        1,
        "rejoined within the grace period"
    );
    drop(ticket);
    // The grace is 3 s; a login whose last client left is checked for every 250 ms.
    let step = Duration::from_millis(100);
    let mut gone_for = Duration::ZERO;
    while gone_for < Duration::from_millis(2900) {
        tokio::time::advance(step).await;
        settle().await;
        gone_for += step;
        assert_eq!(
            state(&registry).await,
            Some(SessionState::Authenticating),
            "cancelled only {gone_for:?} after the last client left"
        );
    }
    while state(&registry).await == Some(SessionState::Authenticating) {
        assert!(
            gone_for < Duration::from_millis(3600),
            "not cancelled {gone_for:?} after the last client left"
        );
        tokio::time::advance(step).await;
        settle().await;
        gone_for += step;
    }
    assert_eq!(state(&registry).await, Some(SessionState::LoginRequired));

    // The next login is a new flow: a second device authorization.
    assert_eq!(idp.requests("/device"), 1);
    let (ticket, _) = login(&registry, &profile).await;
    assert_eq!(idp.requests("/device"), 2);
    // Approved, it ends with a token at the next poll.
    idp.approve_device();
    let Ticket::Pending { mut reply, .. } = ticket else {
        panic!("answered at once")
    };
    let mut polls_left = 60;
    let token = loop {
        tokio::time::advance(Duration::from_secs(1)).await;
        // Real time for the poll's HTTP round trip (tokio's clock does not move meanwhile).
        tokio::select! {
            r = &mut reply => break r.expect("an answer").expect("a token"),
            _ = real_wait(Duration::from_millis(100)) => {}
        }
        polls_left -= 1;
        assert!(polls_left > 0, "the approved login never ended");
    };
    assert!(!token.access_token.expose().is_empty());
    assert_eq!(state(&registry).await, Some(SessionState::Ready));
}
