//! Which failures are worth another try, and how long to wait between tries.
//!
//! Two are: an agent at its connection limit answers "busy" (a burst of processes; slots free
//! up within milliseconds), and an agent that dies mid-request (`kill -9`, a crash, an
//! upgrade) resets the connection. Everything else (a refusal, a bad request, a timeout of an
//! agent that is alive but slow) fails at once: retrying it would only double the wait.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use flyte_auth_proto::{ErrorKind, ProtoError};

use crate::Error;

/// How long a client keeps retrying "busy" before it gives up with the agent's message.
pub const BUSY_BUDGET: Duration = Duration::from_secs(10);

/// How many times a hello lost to a vanishing agent is tried again before the caller hears
/// of it (and may start a new agent).
pub const GONE_TRIES: u32 = 3;

/// How many times a request the agent went away on (or was busy for) is sent again.
pub const REQUEST_TRIES: u32 = 4;

/// Jittered exponential backoff within a deadline: waits of about 10, 20, 40 … ms, at most
/// [`Backoff::MAX_STEP`], each drawn uniformly from its upper half so that a burst of clients
/// refused at the same instant does not come back at the same instant.
#[derive(Debug)]
pub struct Backoff {
    step: Duration,
    deadline: Instant,
    random: RandomState,
    tries: u64,
}

impl Backoff {
    /// The first wait's upper bound.
    const FIRST_STEP: Duration = Duration::from_millis(10);
    /// The largest wait's upper bound.
    const MAX_STEP: Duration = Duration::from_millis(500);

    /// A backoff that allows waiting until `budget` from now.
    pub fn new(budget: Duration) -> Backoff {
        Backoff {
            step: Self::FIRST_STEP,
            deadline: Instant::now() + budget,
            random: RandomState::new(),
            tries: 0,
        }
    }

    /// The next wait, or `None` once the deadline has passed (a wait never ends past it).
    pub fn next_wait(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        self.tries += 1;
        // RandomState is seeded per process (and per instance), so this is a fresh draw
        // without a dependency on a random number crate.
        let draw = self.random.hash_one(self.tries) % 1_000;
        let half = self.step / 2;
        let wait = half + half.mul_f64(draw as f64 / 1_000.0);
        self.step = (self.step * 2).min(Self::MAX_STEP);
        Some(wait.min(left))
    }

    /// Sleeps for the next wait; false (without sleeping) once the deadline has passed.
    pub fn wait(&mut self) -> bool {
        match self.next_wait() {
            Some(d) => {
                std::thread::sleep(d);
                true
            }
            None => false,
        }
    }
}

/// Whether `e` is the agent saying it is at its connection limit.
pub fn is_busy(e: &Error) -> bool {
    matches!(e, Error::Agent(w) if w.kind == ErrorKind::Busy)
}

/// Whether `e` means the agent went away before its final answer: it closed, reset or broke
/// the connection. A new agent (or the same one, restarted) can answer the request again.
pub fn is_gone(e: &Error) -> bool {
    matches!(e, Error::AgentGone { .. })
}

/// Whether an I/O error on an open connection means the agent went away.
pub fn io_means_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
    )
}

/// Whether a framing error means the agent went away (as opposed to sending garbage).
pub fn proto_means_gone(e: &ProtoError) -> bool {
    match e {
        ProtoError::Truncated => true,
        ProtoError::Io(io) => io_means_gone(io),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_are_jittered_and_end_at_the_deadline() {
        let mut b = Backoff::new(Duration::from_secs(3600));
        let waits: Vec<Duration> = (0..12).filter_map(|_| b.next_wait()).collect();
        assert_eq!(waits.len(), 12);
        assert!(waits[0] >= Duration::from_millis(5) && waits[0] <= Duration::from_millis(10));
        assert!(waits[3] >= Duration::from_millis(40) && waits[3] <= Duration::from_millis(80));
        assert!(waits.iter().all(|w| *w <= Backoff::MAX_STEP));
        assert!(waits[11] >= Backoff::MAX_STEP / 2);
        // Two clients refused together do not come back together.
        let mut other = Backoff::new(Duration::from_secs(3600));
        let theirs: Vec<Duration> = (0..12).filter_map(|_| other.next_wait()).collect();
        assert_ne!(waits, theirs);

        let mut spent = Backoff::new(Duration::ZERO);
        assert_eq!(spent.next_wait(), None);
        assert!(!spent.wait());
    }

    #[test]
    fn only_busy_and_a_vanished_agent_are_retried() {
        let busy = Error::Agent(flyte_auth_proto::WireError::new(ErrorKind::Busy, "full"));
        assert!(is_busy(&busy));
        let denied = Error::Agent(flyte_auth_proto::WireError::new(
            ErrorKind::PermissionDenied,
            "no",
        ));
        assert!(!is_busy(&denied) && !is_gone(&denied));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(io_means_gone(&reset));
        assert!(proto_means_gone(&ProtoError::Truncated));
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(!proto_means_gone(&ProtoError::Io(timeout)));
        assert!(!proto_means_gone(&ProtoError::Malformed("x".into())));
    }
}
