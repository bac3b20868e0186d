//! How busy the agent is: open client connections and when the last one opened or closed,
//! for the idle watcher of a socket-activated agent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Open client connections and when the last one opened or closed: what the idle watcher
/// (`exit_when_idle` in the Unix server) reads. Cheap to clone; clones share the counts.
#[derive(Debug, Clone)]
pub struct Activity(Arc<ActivityInner>);

#[derive(Debug)]
struct ActivityInner {
    open: AtomicUsize,
    last_change: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity(Arc::new(ActivityInner {
            open: AtomicUsize::new(0),
            last_change: Mutex::new(Instant::now()),
        }))
    }
}

impl Activity {
    /// Connections being served now.
    pub fn open_connections(&self) -> usize {
        self.0.open.load(Ordering::Acquire)
    }

    /// When a connection last opened or closed (or when this was created).
    pub fn last_change(&self) -> Instant {
        *self.0.last_change.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a connection as open until the returned guard is dropped (even by a panic).
    pub fn enter(&self) -> Busy {
        self.0.open.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(self.clone())
    }

    fn touch(&self) {
        *self.0.last_change.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// One open connection, for [`Activity`].
#[derive(Debug)]
pub struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        // Stamp before decrementing, so a watcher that sees zero also sees the new time.
        self.0.touch();
        self.0.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}
