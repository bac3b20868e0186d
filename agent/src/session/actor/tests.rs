//! The session actor's transitions, driven directly: each handler is a synchronous function
//! of the actor's state and one event (a request, a flow's end, a timer, a client gone), so
//! these tests call it and look at the state, the answers and the flow it started. Nothing
//! runs: flows the actor starts are queued on a runtime that is never driven, and the end of
//! a flow is handed in by the test. No sleeps; times in the past are set on the state.

use std::sync::{Arc, Weak};
use std::time::Duration;

use flyte_auth_proto::{AuthMode, Profile, Secret};
use tokio::runtime::Runtime;

use super::phase::Phase;
use super::{Actor, LOGIN_GRACE};
use crate::flows::Grant;
use crate::session::runner::{FlowKind, FlowOk, Stored};
use crate::session::{Effective, Reply, SessionHandle, Ticket, now_ms, waiter};
use crate::store::{StoreKind, Stores};
use crate::{AgentError, Ctx, Settings};

const HOUR_MS: u64 = 3_600_000;

/// Where the flows an actor starts are queued (and never run).
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn actor(mode: AuthMode) -> (Actor, SessionHandle) {
    let settings = Settings {
        store: StoreKind::Memory,
        ..Settings::default()
    };
    let stores = Stores::memory(settings.store_timeout);
    let ctx = Arc::new(Ctx::new(settings, stores));
    let mut profile = Profile::new("https://flyte.example.com", mode);
    if mode == AuthMode::ClientSecret {
        profile.client_id = Some("ci".into());
        profile.client_secret = Some(Secret::new("s"));
    }
    let key = profile.session_key();
    let (mut a, h) = Actor::new(ctx, profile, key, 0, Weak::new());
    // Past the first use: the store has been consulted.
    a.tokens.restored = true;
    (a, h)
}

fn eff() -> Effective {
    Effective {
        token_endpoint: "https://idp.example.com/token".into(),
        client_id: "flytectl".into(),
        scopes: vec!["offline".into()],
        audience: None,
        header_key: "authorization".into(),
    }
}

/// A grant issued `age_ms` ago that lives `life_ms` in all.
fn grant(access: &str, refresh: Option<&str>, age_ms: u64, life_ms: u64) -> Grant {
    let issued = now_ms() - age_ms;
    Grant {
        access_token: Secret::new(access),
        token_type: "Bearer".into(),
        issued_at_ms: issued,
        expires_at_ms: issued + life_ms,
        refresh_token: refresh.map(Secret::new),
        id_token: None,
    }
}

fn tokens(g: Grant) -> Result<FlowOk, AgentError> {
    Ok(FlowOk::Tokens {
        grant: Box::new(g),
        eff: eff(),
        stored: Stored::NotNeeded,
    })
}

/// A passing fault: the IdP cannot be reached.
fn unreachable() -> AgentError {
    AgentError::Unreachable {
        host: "idp.example.com".into(),
        why: "connection refused".into(),
        source: None,
    }
}

/// The answer a ticket got, if any yet.
fn answered(t: &mut Ticket) -> Option<Reply> {
    match t {
        Ticket::Ready(r) => Some(r.clone()),
        Ticket::Pending { reply, .. } => reply.try_recv().ok(),
    }
}

fn request(a: &mut Actor, min_valid: Duration, interactive: bool) -> Ticket {
    let (w, t) = waiter(interactive, min_valid);
    a.on_get_token(min_valid, w);
    t
}

/// The running flow ends with `result`, as the actor's loop hands it in.
fn finish(a: &mut Actor, result: Result<FlowOk, AgentError>) {
    let generation = a.phase.flow().map(|r| r.generation).expect("a flow runs");
    a.on_flow_end(generation, result);
}

/// The running flow's kind (the phase holds it, so a running phase and a flow go together).
fn running(a: &Actor) -> Option<FlowKind> {
    a.phase.flow().map(|r| r.kind.clone())
}

mod decide;
mod health;
mod login;
mod phase;
mod renew;
