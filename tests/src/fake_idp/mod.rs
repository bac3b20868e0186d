//! A fault-injecting fake IdP + Flyte discovery server for e2e tests.
//!
//! One HTTP/1 server on `127.0.0.1:<ephemeral port>` serves Flyte's discovery routes (Flyte 2
//! Connect unary JSON and Flyte 1 HTTP), `/token` (client credentials, refresh, device code,
//! authorization code), `/device`, `/authorize` (redirects straight back with a code) and
//! `/revoke`. Tests drive it from blocking code and inject [`Fault`]s to exercise the agent's
//! error handling.

mod answers;
mod outage;
mod routes;
mod server;
mod state;
mod token;

#[cfg(test)]
mod answers_tests;
#[cfg(test)]
mod device_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod outage_tests;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

pub use answers::Answer;
pub use outage::Outage;
use state::{Decision, Shared, State, lock};

/// Client id accepted for `client_credentials` until [`FakeIdp::set_client`] changes it.
pub const DEFAULT_CLIENT_ID: &str = "ci-client";
/// Client secret accepted for `client_credentials` until [`FakeIdp::set_client`] changes it.
pub const DEFAULT_CLIENT_SECRET: &str = "ci-secret";
/// Public client id advertised by `GetPublicClientConfig`.
pub const PUBLIC_CLIENT_ID: &str = "flytectl";
/// Audience advertised by `GetPublicClientConfig` and put in issued tokens.
pub const AUDIENCE: &str = "fake-aud";
/// Header key advertised as `authorization_metadata_key`.
pub const AUTH_METADATA_KEY: &str = "flyte-authorization";
/// User code of every device authorization.
pub const USER_CODE: &str = "ABCD-EFGH";

/// A fault injected into `/token` (or, for `Refuse`, into every connection).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Behave normally.
    None,
    /// `/token` answers this HTTP status with `{"error":"server_error"}`.
    Status(u16),
    /// `/token` sleeps this long, then answers normally (the agent should time out if long).
    Delay(Duration),
    /// Every connection is closed without an answer, discovery included (the IdP is "down").
    Refuse,
    /// `/token` answers 401 `invalid_client`.
    InvalidClient,
    /// `/token` answers 400 `invalid_grant` ("grant revoked").
    InvalidGrant,
    /// Device-code polls answer `slow_down` this many times, then normal handling resumes.
    SlowDown(u32),
}

/// A running fake IdP. A background thread runs its tokio runtime; dropping the value stops
/// the server, aborting any open connections.
#[derive(Debug)]
pub struct FakeIdp {
    url: String,
    state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeIdp {
    /// Starts a server on `127.0.0.1` with an ephemeral port.
    pub fn start() -> anyhow::Result<FakeIdp> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::new(url.clone())));
        let (shutdown, thread) = server::spawn(listener, state.clone())?;
        Ok(FakeIdp {
            url,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Base URL, `http://127.0.0.1:PORT`: both the Flyte endpoint and the issuer.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Injects `fault` (replacing any earlier one). `SlowDown(n)` restarts its count at `n`.
    pub fn set_fault(&self, fault: Fault) {
        let mut s = lock(&self.state);
        s.slow_down_left = match fault {
            Fault::SlowDown(n) => n,
            _ => 0,
        };
        s.fault = fault;
    }

    /// `expires_in` of access tokens issued from now on (default 3600).
    pub fn set_token_ttl(&self, secs: u64) {
        lock(&self.state).token_ttl = secs;
    }

    /// Issue tokens without `expires_in`, so the agent must fall back to the JWT `exp`.
    pub fn set_omit_expires_in(&self, yes: bool) {
        lock(&self.state).omit_expires_in = yes;
    }

    /// The client credentials `client_credentials` accepts (default `ci-client`/`ci-secret`).
    pub fn set_client(&self, id: &str, secret: &str) {
        let mut s = lock(&self.state);
        s.client_id = id.to_owned();
        s.client_secret = secret.to_owned();
    }

    /// When disabled, the Flyte 2 Connect discovery routes answer 404 (Connect
    /// `unimplemented`), as a Flyte 1 server would, so clients must fall back to HTTP.
    pub fn set_connect_routes(&self, enabled: bool) {
        lock(&self.state).connect_routes = enabled;
    }

    /// Requests that reached `/token` (any grant, failed and faulted ones included; refused
    /// connections never reach it).
    pub fn token_requests(&self) -> u64 {
        lock(&self.state).token_requests
    }

    /// Requests that reached `path` (query excluded), whatever the method or answer.
    pub fn requests(&self, path: &str) -> u64 {
        lock(&self.state).counts.get(path).copied().unwrap_or(0)
    }

    /// Decoded form of the last `/token` request.
    pub fn last_token_form(&self) -> Option<Vec<(String, String)>> {
        lock(&self.state).last_token_form.clone()
    }

    /// `Authorization` header of the last `/token` request (`None` if it had none).
    pub fn last_authorization(&self) -> Option<String> {
        lock(&self.state).last_authorization.clone()
    }

    /// Decoded form of the last `/device` request (tests check client_id/scope/audience).
    pub fn last_device_form(&self) -> Option<Vec<(String, String)>> {
        lock(&self.state).last_device_form.clone()
    }

    /// `interval` of device authorizations issued from now on; `None` omits the field (the
    /// agent must default to 5 s). Default `Some(1)`, to keep tests fast.
    pub fn set_device_interval(&self, secs: Option<u64>) {
        lock(&self.state).device_interval = secs;
    }

    /// `expires_in` of device codes issued from now on (default 600).
    pub fn set_device_expires_in(&self, secs: u64) {
        lock(&self.state).device_expires_in = secs;
    }

    /// Approves the outstanding device code: its next poll returns tokens. With no device
    /// code outstanding, the next one issued starts approved.
    pub fn approve_device(&self) {
        lock(&self.state).decide(Decision::Approved);
    }

    /// Denies the outstanding device code: its next poll returns `access_denied`. With no
    /// device code outstanding, the next one issued starts denied.
    pub fn deny_device(&self) {
        lock(&self.state).decide(Decision::Denied);
    }

    /// Arrival time of each device-code poll of `/token`, in order.
    pub fn device_poll_times(&self) -> Vec<Instant> {
        lock(&self.state).device_polls.clone()
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // An Err means the server already stopped; nothing left to signal.
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread has already been printed; don't panic in drop.
            let _ = thread.join();
        }
    }
}
