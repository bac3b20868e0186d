//! Mutable state shared between the test thread (knobs, assertions) and the server's handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault};

/// State behind one lock; handlers take what they need and drop the guard before any await.
pub(super) type Shared = Arc<Mutex<State>>;

/// Locks the state, tolerating poison: a panicking test assertion on another thread must not
/// turn every later request into a second, confusing panic.
pub(super) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the "user" decided about a pending device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    Pending,
    Approved,
    Denied,
}

/// The one outstanding device code (a new `/device` request replaces it).
#[derive(Debug)]
pub(super) struct Device {
    pub code: String,
    pub expires_at: Instant,
    pub decision: Decision,
}

/// Everything the fake IdP knows and counts.
#[derive(Debug)]
pub(super) struct State {
    /// Base URL (`http://127.0.0.1:PORT`); issuer and prefix of every advertised endpoint.
    pub url: String,
    pub fault: Fault,
    /// `slow_down` answers still to give; set from `Fault::SlowDown(n)`.
    pub slow_down_left: u32,
    pub token_ttl: u64,
    pub omit_expires_in: bool,
    pub client_id: String,
    pub client_secret: String,
    pub connect_routes: bool,
    pub device_interval: Option<u64>,
    pub device_expires_in: u64,
    pub device: Option<Device>,
    /// A decision made before any device code existed; applied to the next one issued.
    pub preset_decision: Option<Decision>,
    /// Live refresh tokens → the subject they were issued for; rotation removes the old one.
    pub refresh_tokens: HashMap<String, String>,
    pub counts: HashMap<String, u64>,
    pub token_requests: u64,
    pub last_token_form: Option<Vec<(String, String)>>,
    pub last_authorization: Option<String>,
    pub last_device_form: Option<Vec<(String, String)>>,
    pub device_polls: Vec<Instant>,
    /// Whole-server outages and the call log (see `outage.rs`).
    pub outage: super::outage::OutageState,
    /// Bad answers in force (see `answers.rs`).
    pub answers: super::answers::AnswerState,
    /// Source of distinct ids for tokens and codes.
    next_id: u64,
}

impl State {
    pub fn new(url: String) -> Self {
        State {
            url,
            fault: Fault::None,
            slow_down_left: 0,
            token_ttl: 3600,
            omit_expires_in: false,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            connect_routes: true,
            // Short by default so device-flow tests don't wait 5 s per poll.
            device_interval: Some(1),
            device_expires_in: 600,
            device: None,
            preset_decision: None,
            refresh_tokens: HashMap::new(),
            counts: HashMap::new(),
            token_requests: 0,
            last_token_form: None,
            last_authorization: None,
            last_device_form: None,
            device_polls: Vec::new(),
            outage: Default::default(),
            answers: Default::default(),
            next_id: 0,
        }
    }

    /// A fresh id, distinct from every earlier one.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Records the user's decision on the outstanding device code, or on the next one.
    pub fn decide(&mut self, decision: Decision) {
        match self.device.as_mut() {
            Some(d) => d.decision = decision,
            None => self.preset_decision = Some(decision),
        }
    }
}
