//! Process hygiene, applied first thing at start: no core dumps, and no other process of the
//! same user may read the agent's memory or environment.
//!
//! The agent holds access tokens, refresh tokens and client secrets in memory. Without this a
//! same-user process can read them from `/proc/PID/mem` (or attach a debugger), and a crash
//! writes them into a core file. Linux: `PR_SET_DUMPABLE` 0 (which also makes `/proc/PID/*`
//! root-owned, so `environ` and `mem` are closed to the user's other processes) and
//! `RLIMIT_CORE` 0. macOS: `PT_DENY_ATTACH` and `RLIMIT_CORE` 0. ssh-agent does the same.

use std::io;

/// One hardening step that failed; the agent runs on without it (and logs a warning).
pub type Failure = (&'static str, io::Error);

/// Applies every hardening step this platform has. Returns the steps that failed, so the
/// caller can log them once logging is set up.
pub fn harden() -> Vec<Failure> {
    let mut failed = Vec::new();
    if let Err(e) = no_core_dumps() {
        failed.push(("disable core dumps (RLIMIT_CORE 0)", e));
    }
    if let Err(e) = deny_inspection() {
        failed.push(("deny memory inspection", e));
    }
    failed
}

/// `RLIMIT_CORE` 0, soft and hard: a crash writes no core file, and nothing in this process
/// can raise the limit again.
#[cfg(unix)]
fn no_core_dumps() -> io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    setrlimit(Resource::Core, zero).map_err(io::Error::from)
}

/// Not dumpable: no core file even under a core-dump handler, no `ptrace` attach and no
/// `/proc/PID/{mem,environ,...}` for processes without `CAP_SYS_PTRACE`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn deny_inspection() -> io::Result<()> {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(io::Error::from)
}

/// `PT_DENY_ATTACH`: debuggers cannot attach (and one already attached is detached).
#[cfg(target_os = "macos")]
#[allow(unsafe_code)]
fn deny_inspection() -> io::Result<()> {
    // SAFETY: PT_DENY_ATTACH takes no address or data and only changes this process's flags.
    let rc = unsafe { libc::ptrace(libc::PT_DENY_ATTACH, 0, std::ptr::null_mut(), 0) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Other Unixes: nothing portable beyond the core limit.
#[cfg(all(
    unix,
    not(any(target_os = "linux", target_os = "android", target_os = "macos"))
))]
fn deny_inspection() -> io::Result<()> {
    Ok(())
}

/// Windows: no core files by default, and other users' processes cannot open ours; nothing
/// to do here.
#[cfg(windows)]
fn no_core_dumps() -> io::Result<()> {
    Ok(())
}

/// See [`no_core_dumps`] for Windows.
#[cfg(windows)]
fn deny_inspection() -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn hardening_leaves_no_core_limit_and_an_undumpable_process() {
        // Changes only this test process, which nothing else inspects.
        assert!(harden().is_empty());
        let core = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
        assert_eq!(
            rustix::process::dumpable_behavior().ok(),
            Some(rustix::process::DumpableBehavior::NotDumpable)
        );
    }
}
