//! Windows: the agent's named pipe, open to this user only.
//!
//! Never run on Windows itself: cross-compiled, and smoke-run under Wine, which enforces
//! neither the DACL nor the first-instance flag below. See the README's Windows notes.
//!
//! A named pipe has no private directory to live in and Windows gives no peer uid, so the
//! access check is the pipe's security descriptor, enforced by the kernel at open time: a
//! protected DACL (nothing inherited) that allows this process's user and LocalSystem (which
//! can read any process's memory anyway, as root can on Unix), and no one else. interprocess
//! also creates every instance with `PIPE_REJECT_REMOTE_CLIENTS` (its `accept_remote` is off),
//! and the first with `FILE_FLAG_FIRST_PIPE_INSTANCE`, so that a pipe of the same name made
//! earlier (another agent, or another user squatting on the name) makes binding fail rather
//! than silently joining it.

use std::path::Path;
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::windows::local_socket::ListenerOptionsExt;
use interprocess::os::windows::named_pipe::{DuplexPipeStream, pipe_mode};
use interprocess::os::windows::security_descriptor::SecurityDescriptor;

use crate::AgentError;

/// Creates the named pipe `path` (`\\.\pipe\NAME`) that only this user and SYSTEM may open.
pub fn bind(path: &Path) -> Result<Listener, AgentError> {
    let fail = |why: String| AgentError::listen(path.display().to_string(), why);
    let name = path.to_fs_name::<GenericFilePath>().map_err(|e| {
        fail(format!(
            "{e}: on Windows the socket must be a named pipe path such as \\\\.\\pipe\\flyte-auth"
        ))
    })?;
    let user = sid::current_user().map_err(|e| fail(format!("cannot read your user SID: {e}")))?;
    let sd = only_for(&user)
        .map_err(|e| fail(format!("cannot build the pipe's security descriptor: {e}")))?;
    match ListenerOptions::new()
        .name(name)
        .security_descriptor(sd)
        .create_tokio()
    {
        Ok(listener) => Ok(listener),
        // What CreateNamedPipe says when the name exists and we asked for the first instance.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(taken(path)),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// A security descriptor whose DACL allows `sid` and LocalSystem full access, and nobody
/// else. `D:P` makes the DACL protected, so that nothing is inherited into it.
fn only_for(sid: &str) -> std::io::Result<SecurityDescriptor> {
    let sddl = format!("D:P(A;;GA;;;{sid})(A;;GA;;;SY)");
    let wide = widestring::U16CString::from_str(&sddl)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    SecurityDescriptor::deserialize(&wide)
}

/// Why the pipe name is taken: another agent of ours answers on it (the client's start race
/// relies on telling this apart), or someone we may not talk to holds it.
fn taken(path: &Path) -> AgentError {
    // Without waiting: a pipe whose instances are all busy answers "timed out" right away.
    let probe = DuplexPipeStream::<pipe_mode::Bytes>::connect_by_path_with_wait_mode(
        path,
        interprocess::ConnectWaitMode::Timeout(Duration::ZERO),
    );
    match probe {
        Ok(_) => AgentError::AlreadyRunning(path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            AgentError::AlreadyRunning(path.display().to_string())
        }
        Err(e) => AgentError::listen(
            path.display().to_string(),
            format!(
                "a pipe of that name exists and does not let you in ({e}): another user's, or \
                 one squatting on the name; pick another name with --socket or FLYTE_AUTH_SOCK"
            ),
        )
        .because(e),
    }
}

/// This process's user SID, the one thing the security descriptor needs that neither
/// interprocess nor std provides.
mod sid {
    use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

    use windows_sys::Win32::Foundation::{HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    /// The user SID of this process's token, as a string (`S-1-5-21-...`).
    ///
    /// The workspace denies `unsafe`; these Win32 calls are the one exception on Windows, kept
    /// to this function: each block's SAFETY comment says what it relies on.
    #[allow(unsafe_code)]
    pub fn current_user() -> std::io::Result<String> {
        let mut raw: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `raw` is a
        // valid place for the token handle.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut raw) } == 0 {
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
