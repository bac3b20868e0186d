//! The server: where the agent listens and how connections get in. Shared by both platforms:
//! the `Gate` (connection slots, one task per connection, refusals, graceful drain), the
//! slots themselves, log throttling and `Activity`. Per platform, behind `cfg`: `unix`
//! (socket binding, socket activation, peer-uid check, signals) and `windows` (the named pipe
//! and its security descriptor, console events). Either side's [`serve`] is the whole life of
//! the agent process; [`crate::run`] serves an already bound [`Listener`] (what in-process
//! tests use).

mod activity;
mod gate;
mod slots;
mod throttle;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use std::io::Write;

use flyte_auth_proto::contract;

pub(crate) use self::activity::Activity;
pub(crate) use self::gate::Gate;
pub(crate) use self::slots::Slot;
pub(crate) use self::throttle::Throttle;
#[cfg(unix)]
pub use self::unix::{Endpoint, Listener, serve};
#[cfg(unix)]
pub(crate) use self::unix::{accept_loop, exit_when_idle};
#[cfg(windows)]
pub(crate) use self::windows::accept_loop;
#[cfg(windows)]
pub use self::windows::{Endpoint, Listener, serve};

/// Tells the client that started us that we listen: one line on stdout.
fn print_ready() {
    let mut out = std::io::stdout().lock();
    // The starter may already have given up; that is not our failure.
    let _ =
        writeln!(out, "{} {}", contract::READY_LINE, std::process::id()).and_then(|()| out.flush());
}

/// Tells the client that started us (with `--ready-stdout`) why we will not run, in place of
/// the `READY` line: it shows the user this line rather than only the path of our log.
pub fn print_refusal(why: &dyn std::fmt::Display) {
    let line = why.to_string().replace(['\n', '\r'], " ");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}{line}", contract::ERROR_LINE).and_then(|()| out.flush());
}
