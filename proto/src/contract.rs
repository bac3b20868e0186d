//! Values the agent and its clients must agree on, defined once: how a started agent says it
//! is ready (or why it will not run), its "already running" exit code, and the agent's
//! deadlines together with the client's waits, which are derived from them.
//!
//! The client waits a margin longer than the agent's deadline on purpose: the agent's answer
//! at its deadline ("timed out after 60s …") says more than the client giving up first.

use std::time::Duration;

/// Exit code of an agent that did not start because another agent already serves its
/// socket: a starter tells "someone else won the race" from a failure by it.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

/// The agent's flag (without the leading `--`) that makes it print [`READY_LINE`] on stdout
/// once it listens, or [`ERROR_LINE`] and the reason when it will not run.
pub const READY_STDOUT_FLAG: &str = "ready-stdout";

/// First word of the readiness line (`READY <pid>`).
pub const READY_LINE: &str = "READY";

/// Prefix of the line a started agent prints in place of [`READY_LINE`] when it will not run
/// (`ERROR <reason>`, on one line).
pub const ERROR_LINE: &str = "ERROR ";

const HELLO_SECS: u64 = 5;
const REQUEST_SECS: u64 = 60;
const LOGIN_SECS: u64 = 30 * 60;

/// The agent's default for how soon after connecting a client must say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(HELLO_SECS);

/// The agent's default for how long a request that needs no human may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(REQUEST_SECS);

/// Longest the agent lets any request wait, logins included (their own timeouts are
/// shorter).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(LOGIN_SECS);

/// How long a client waits for an answer the agent has at hand (hello, status): the hello
/// deadline plus 5 s.
pub const CLIENT_QUICK_WAIT: Duration = Duration::from_secs(HELLO_SECS + 5);

/// How long a client waits for the answer to a request that needs no human: the agent's
/// request timeout plus 30 s.
pub const CLIENT_REQUEST_WAIT: Duration = Duration::from_secs(REQUEST_SECS + 30);

/// How long a client waits for an answer that may need a human: the agent's login cap plus
/// one minute.
pub const CLIENT_LOGIN_WAIT: Duration = Duration::from_secs(LOGIN_SECS + 60);

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's waits outlast the agent's deadlines, and keep today's values.
    #[test]
    fn client_waits_outlast_agent_deadlines() {
        assert!(CLIENT_QUICK_WAIT > HELLO_TIMEOUT);
        assert!(CLIENT_REQUEST_WAIT > REQUEST_TIMEOUT);
        assert!(CLIENT_LOGIN_WAIT > LOGIN_TIMEOUT);
        assert_eq!(CLIENT_QUICK_WAIT, Duration::from_secs(10));
        assert_eq!(CLIENT_REQUEST_WAIT, Duration::from_secs(90));
        assert_eq!(CLIENT_LOGIN_WAIT, Duration::from_secs(31 * 60));
    }
}
