//! Outages of the fake IdP: connections reset at once, every route answering HTTP 500, or
//! requests that never get an answer; and a log of when every call arrived, so tests can
//! count the calls an agent makes during an outage and look at their spacing.

use std::time::Instant;

use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::net::TcpStream;

use super::FakeIdp;
use super::routes::{Body, Refused, json};
use super::state::{Shared, lock};

/// The kind of outage [`FakeIdp::set_outage`] injects. Unlike [`super::Fault`], it hits
/// every route (discovery too), as when the whole server is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// Every new connection is accepted and reset at once (`SO_LINGER` 0), and requests on
    /// connections kept alive from before are dropped unanswered: the caller sees the server
    /// refuse it. Accepting first lets each attempt be counted, which a closed port could not.
    Refused,
    /// Every request is answered HTTP 500 `{"error":"server_error"}`.
    ServerError,
    /// Every request is read and never answered: the caller waits for its own timeout.
    Stall,
}

/// What the outage hooks keep in the shared state.
#[derive(Debug, Default)]
pub(super) struct OutageState {
    /// The outage in force, if any.
    current: Option<Outage>,
    /// Arrival time of every call: each request, and each connection `Refused` reset.
    calls: Vec<Instant>,
}

impl FakeIdp {
    /// Starts (`Some`) or ends (`None`) an outage. Requests already stalled stay stalled.
    pub fn set_outage(&self, outage: Option<Outage>) {
        lock(&self.state).outage.current = outage;
    }

    /// When each call arrived, in order: every HTTP request on any route, and every
    /// connection reset by [`Outage::Refused`].
    pub fn call_times(&self) -> Vec<Instant> {
        lock(&self.state).outage.calls.clone()
    }
}

/// Accept hook: under [`Outage::Refused`], counts the connection and resets it. Returns
/// whether it did (the caller then drops the stream).
pub(super) fn refuse(state: &Shared, stream: &TcpStream) -> bool {
    let mut s = lock(state);
    if s.outage.current != Some(Outage::Refused) {
        return false;
    }
    s.outage.calls.push(Instant::now());
    // A reset rather than an orderly close, as a server that is not there would answer.
    let _ = stream.set_zero_linger();
    true
}

/// Request hook, run before routing: counts the call, then answers as the outage says.
/// `Ok(None)` means "serve normally"; `Err` makes hyper drop the connection unanswered.
pub(super) async fn intercept(state: &Shared) -> Result<Option<Response<Body>>, Refused> {
    let outage = {
        let mut s = lock(state);
        s.outage.calls.push(Instant::now());
        s.outage.current
    };
    match outage {
        None => Ok(None),
        Some(Outage::Refused) => Err(Refused),
        Some(Outage::ServerError) => Ok(Some(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "server_error"}),
        ))),
        // The connection task is aborted when the fake IdP stops, so this never leaks.
        Some(Outage::Stall) => std::future::pending().await,
    }
}
