//! What a session does with a request for a token or with its refresh timer: plain functions
//! of what the actor knows, so that the request path is decided in one place and tested
//! without an actor (`tests/decide.rs`). The actor carries the decision out.

use std::time::Duration;

use flyte_auth_proto::AuthMode;

use crate::session::runner::FlowKind;

/// What decides the answer to a request for a token.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ask {
    /// The current token meets the client's `min_valid`.
    pub(super) satisfied: bool,
    /// A flow runs.
    pub(super) running: bool,
    /// Time left before the next attempt may start, if backing off.
    pub(super) backoff_left: Option<Duration>,
    pub(super) mode: AuthMode,
    pub(super) has_refresh_token: bool,
    /// The store has been consulted for this session's login.
    pub(super) restored: bool,
    /// The client has a terminal (a human can see a prompt).
    pub(super) interactive: bool,
}

/// The answer to a request for a token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decision {
    /// Answer with the current token now.
    Serve,
    /// Wait for the running flow.
    Join,
    /// Answer now with the still-usable token and a warning, or the error and `next_in`.
    Failing { next_in: Duration },
    /// Start this flow and wait for it.
    Start(FlowKind),
    /// Answer "log in" now.
    LoginRequired,
}

/// The decision for a request, given `a`.
pub(super) fn request(a: &Ask) -> Decision {
    if a.satisfied {
        return Decision::Serve;
    }
    if a.running {
        return Decision::Join;
    }
    // After a failure no request starts an attempt before the backoff ends, however many
    // clients ask: each is answered at once, with when the next try is.
    if let Some(next_in) = a.backoff_left {
        return Decision::Failing { next_in };
    }
    let kind = match a.mode {
        AuthMode::ClientSecret => FlowKind::Fetch,
        _ if a.has_refresh_token => FlowKind::Refresh,
        // First use since the agent started: the login may be in the store.
        _ if !a.restored => FlowKind::Restore,
        // A program without a terminal (an SDK running us) may still log in through a
        // browser, as Flyte's own clients do; it cannot show a device code.
        mode if a.interactive || mode == AuthMode::Pkce => FlowKind::Login {
            method: mode,
            started_interactively: a.interactive,
        },
        _ => return Decision::LoginRequired,
    };
    Decision::Start(kind)
}

/// The flow the refresh timer starts, if any. Background work never starts a login (no
/// browser pops up on its own), nor renews a session nobody uses (`idle`).
pub(super) fn timer(idle: bool, mode: AuthMode, has_refresh_token: bool) -> Option<FlowKind> {
    match mode {
        _ if idle => None,
        AuthMode::ClientSecret => Some(FlowKind::Fetch),
        _ if has_refresh_token => Some(FlowKind::Refresh),
        _ => None,
    }
}
