//! Windows: who serves the agent's named pipe. A pipe has no private directory, and another
//! local user can create `\\.\pipe\flyte-auth-<USERNAME>` before our agent does; so before
//! anything is sent the client asks for the server's process (`GetNamedPipeServerProcessId`,
//! through interprocess), reads that process's user SID from its token, and requires it to
//! be ours or LocalSystem's.
//!
//! Never compiled here (no Windows target on the machines this was written on) nor run:
//! mirrors the agent's `pipe::sid`, which is compile-checked for Windows.

use std::path::Path;

use interprocess::local_socket::Stream;
use interprocess::local_socket::prelude::*;

use crate::{Error, Result};

/// LocalSystem, which can read any process's memory anyway (as root can on Unix).
const LOCAL_SYSTEM: &str = "S-1-5-18";

/// Checks that the process serving the pipe `stream` is connected to runs as this user or
/// as LocalSystem.
pub fn check_pipe_server(stream: &Stream, path: &Path) -> Result<()> {
    let untrusted = |why: String| Error::Untrusted {
        path: path.to_owned(),
        why,
    };
    let pid = stream
        .peer_creds()
        .ok()
        .and_then(|c| c.pid())
        .ok_or_else(|| untrusted("cannot tell which process serves this pipe".into()))?;
    let me = sid::of_current_process()
        .map_err(|e| untrusted(format!("cannot read your user SID: {e}")))?;
    let theirs = sid::of_process(pid).map_err(|e| {
        untrusted(format!(
            "cannot tell who runs the process serving it (pid {pid}): {e}; nothing was sent to it"
        ))
    })?;
    if theirs == me || theirs == LOCAL_SYSTEM {
        return Ok(());
    }
    Err(untrusted(format!(
        "the process serving it (pid {pid}) runs as {theirs}, not as you ({me}); nothing was \
         sent to it. Stop it, or set {} to another pipe name",
        flyte_auth_proto::paths::SOCK_ENV
    )))
}

/// User SIDs of process tokens, as strings (`S-1-5-21-...`).
mod sid {
    use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

    use windows_sys::Win32::Foundation::{HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
    };

    /// This process's user SID.
    #[allow(unsafe_code)]
    pub fn of_current_process() -> std::io::Result<String> {
        // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing.
        let process = unsafe { GetCurrentProcess() };
        of_process_handle(process)
    }

    /// The user SID of process `pid`.
    #[allow(unsafe_code)]
    pub fn of_process(pid: u32) -> std::io::Result<String> {
        // SAFETY: plain call; a null result is an error, anything else a handle we own.
        let raw = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
        if raw.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is an open process handle that we alone own; closed when dropped.
        let process = unsafe { OwnedHandle::from_raw_handle(raw) };
        of_process_handle(process.as_raw_handle())
    }

    /// The user SID of the token of `process` (kept open by the caller).
    ///
    /// The workspace denies `unsafe`; these Win32 calls are the exception, each with a SAFETY
    /// comment, as in the agent's `pipe::sid::current_user`.
    #[allow(unsafe_code)]
    fn of_process_handle(process: HANDLE) -> std::io::Result<String> {
        let mut raw: HANDLE = std::ptr::null_mut();
        // SAFETY: `process` is a valid process handle for the call; `raw` is a valid place
        // for the token handle.
        if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut raw) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the call succeeded, so `raw` is an open handle that we alone own; it is
        // closed when `token` drops, on every path below.
        let token = unsafe { OwnedHandle::from_raw_handle(raw) };

        // First ask for the size (this call fails with ERROR_INSUFFICIENT_BUFFER), then fill.
        let mut len = 0u32;
        // SAFETY: a null buffer of length 0 is allowed; `len` is a valid out-pointer.
        unsafe {
            GetTokenInformation(
                token.as_raw_handle(),
                TokenUser,
                std::ptr::null_mut(),
                0,
                &mut len,
            )
        };
        if len == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // u64s, so that the TOKEN_USER at its start (which holds a pointer) is aligned.
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        // SAFETY: `buf` is writable for at least `len` bytes.
        let ok = unsafe {
            GetTokenInformation(
                token.as_raw_handle(),
                TokenUser,
                buf.as_mut_ptr().cast(),
                len,
                &mut len,
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: on success the buffer starts with an initialised, aligned TOKEN_USER whose
        // SID pointer points into `buf`, which outlives every use below.
        let sid = unsafe { &*buf.as_ptr().cast::<TOKEN_USER>() }.User.Sid;

        let mut wide: *mut u16 = std::ptr::null_mut();
        // SAFETY: `sid` is a valid SID (above); `wide` is a valid out-pointer.
        if unsafe { ConvertSidToStringSidW(sid, &mut wide) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: on success `wide` is a NUL-terminated UTF-16 string that the system
        // allocated with LocalAlloc: read up to the NUL, copy, then free it exactly once.
        let text = unsafe {
            let mut n = 0;
            while *wide.add(n) != 0 {
                n += 1;
            }
            let text = String::from_utf16_lossy(std::slice::from_raw_parts(wide, n));
            LocalFree(wide.cast());
            text
        };
        drop(token);
        Ok(text)
    }
}
