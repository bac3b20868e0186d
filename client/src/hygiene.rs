//! What an auto-started agent inherits from the client that starts it: only the variables it
//! needs, and a working directory it never keeps busy.
//!
//! The agent outlives the client by hours and serves every later one; it must not carry the
//! first client's `FLYTE_API_KEY`, client secret variables or other secrets in its
//! environment (readable in `/proc/PID/environ` and core dumps), nor pin the directory the
//! client happened to run in (an unmountable disk, a deleted checkout).

use std::ffi::OsStr;
use std::process::Command;

/// Variables the agent needs, by exact name (compared ignoring case on Windows).
#[cfg(unix)]
const KEEP: &[&str] = &[
    // Home and data directories (`directories`), the executables it runs (a browser opener).
    "HOME",
    "PATH",
    "USER",
    "LOGNAME",
    "TMPDIR",
    // The session bus for the Secret Service keyring; a browser's display.
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "BROWSER",
    // Messages and times as the user reads them.
    "LANG",
    "LANGUAGE",
    "TZ",
    "RUST_LOG",
    "RUST_BACKTRACE",
    // Outbound HTTP goes through the user's proxy, as reqwest reads it from the environment.
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Variables a Windows process needs to run at all (Winsock needs `SystemRoot`), find the
/// user's profile, and reach the network through a proxy.
#[cfg(windows)]
const KEEP: &[&str] = &[
    "SystemRoot",
    "windir",
    "SystemDrive",
    "ComSpec",
    "PATH",
    "PATHEXT",
    "TEMP",
    "TMP",
    "USERNAME",
    "USERDOMAIN",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "ProgramData",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Variables the agent needs, by prefix: its own settings (`FLYTE_AUTH_SOCK`, `_LOG`,
/// `_STORE`, `_BROWSER`), the XDG base directories and runtime dir, the locale.
const KEEP_PREFIXES: &[&str] = &["FLYTE_AUTH_", "XDG_", "LC_"];

/// Whether the agent gets variable `name`.
pub fn keeps(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let same = |a: &str, b: &str| {
        if cfg!(windows) {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    KEEP.iter().any(|k| same(k, name))
        || KEEP_PREFIXES
            .iter()
            .any(|p| name.get(..p.len()).is_some_and(|head| same(head, p)))
}

/// Gives `command` only the variables of this process that the agent needs, and `/` (on
/// Windows the user's profile) as its working directory.
pub fn clean(command: &mut Command) {
    command.env_clear();
    command.envs(std::env::vars_os().filter(|(k, _)| keeps(k)));
    #[cfg(unix)]
    command.current_dir("/");
    #[cfg(windows)]
    {
        if let Some(profile) = std::env::var_os("USERPROFILE") {
            command.current_dir(profile);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_behind_and_what_the_agent_reads_goes_along() {
        for gone in [
            "FLYTE_API_KEY",
            "UNION_API_KEY",
            "FLYTE_CREDENTIALS_CLIENT_SECRET",
            "FLYTE_ADMIN_ENDPOINT",
            "AWS_SECRET_ACCESS_KEY",
            "LISTEN_FDS",
            "NOTIFY_SOCKET",
            "FLYTE_AUTH",
        ] {
            assert!(!keeps(OsStr::new(gone)), "{gone} must not reach the agent");
        }
        for kept in [
            "PATH",
            "FLYTE_AUTH_LOG",
            "FLYTE_AUTH_STORE",
            "FLYTE_AUTH_BROWSER",
            "RUST_LOG",
        ] {
            assert!(keeps(OsStr::new(kept)), "{kept} must reach the agent");
        }
        #[cfg(unix)]
        for kept in [
            "HOME",
            "XDG_RUNTIME_DIR",
            "DBUS_SESSION_BUS_ADDRESS",
            "LC_ALL",
        ] {
            assert!(keeps(OsStr::new(kept)), "{kept} must reach the agent");
        }
    }
}
