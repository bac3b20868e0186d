//! systemd user units: `flyte-auth-agent.socket` (socket activation on
//! `$XDG_RUNTIME_DIR/flyte-auth/agent.sock`) and `flyte-auth-agent.service`, driven with
//! `systemctl --user`.

use std::path::{Path, PathBuf};

use super::tool::{self, must};
use super::{Setup, Status, UnitFile, remove_unit, stop_running_agent, utf8, write_unit};
use crate::{Error, Result};

/// The shipped units; install replaces [`AGENT_PLACEHOLDER`] with the real agent path.
const SOCKET_UNIT: &str = include_str!("../../../systemd/flyte-auth-agent.socket");
const SERVICE_UNIT: &str = include_str!("../../../systemd/flyte-auth-agent.service");

/// The agent path written in the shipped service's `ExecStart=`.
pub const AGENT_PLACEHOLDER: &str = "/usr/local/bin/flyte-auth-agent";

const SOCKET: &str = "flyte-auth-agent.socket";
const SERVICE: &str = "flyte-auth-agent.service";

fn unit_dir(setup: &Setup) -> PathBuf {
    setup.config_home.join("systemd/user")
}

/// Both units, rendered for `setup`.
pub fn unit_files(setup: &Setup) -> Result<Vec<UnitFile>> {
    let dir = unit_dir(setup);
    let agent = exec_path(utf8(&setup.agent)?);
    Ok(vec![
        UnitFile {
            path: dir.join(SOCKET),
            contents: SOCKET_UNIT.to_owned(),
        },
        UnitFile {
            path: dir.join(SERVICE),
            contents: SERVICE_UNIT.replace(AGENT_PLACEHOLDER, &agent),
        },
    ])
}

/// `path` as the first word of `ExecStart=`: `%` and `$` escaped, quoted if it has spaces.
fn exec_path(path: &str) -> String {
    let escaped = path.replace('%', "%%").replace('$', "$$");
    if escaped
        .chars()
        .any(|c| c.is_whitespace() || "\"'\\;".contains(c))
    {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// The socket the unit listens on (`%t/flyte-auth/agent.sock`), where `%t` is known.
fn unit_socket(setup: &Setup) -> Option<PathBuf> {
    let run = setup.runtime_dir.as_ref()?;
    Some(
        run.join("flyte-auth")
            .join(flyte_auth_proto::paths::SOCKET_NAME),
    )
}

/// Fails clearly unless `systemctl --user` reaches a running user manager.
fn require_manager() -> Result<()> {
    let ran = tool::run("systemctl", &["--user", "show", "--property=Version"])?;
    if ran.ok {
        return Ok(());
    }
    Err(Error::Service(format!(
        "`systemctl --user` cannot reach a systemd user manager ({}); without one, \
         `flyte-auth` starts the agent on demand instead",
        if ran.stderr.is_empty() {
            "no message"
        } else {
            &ran.stderr
        }
    )))
}

fn is_active(unit: &str) -> bool {
    tool::run("systemctl", &["--user", "is-active", unit])
        .is_ok_and(|r| r.ok && r.stdout.trim() == "active")
}

/// Writes both units, reloads systemd and enables the socket.
pub fn install(setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    require_manager()?;
    let files = unit_files(setup)?;
    let socket = unit_socket(setup);
    // An agent the client auto-started on the unit's path must go first: systemd would bind
    // the path under it, and it would unlink systemd's socket on exit.
    if let Some(sock) = &socket
        && !is_active(SOCKET)
    {
        stop_running_agent(sock, say);
    }
    for f in &files {
        write_unit(f, say)?;
    }
    must("systemctl", &["--user", "daemon-reload"], say)?;
    must("systemctl", &["--user", "enable", "--now", SOCKET], say)?;
    match &socket {
        Some(s) => say(&format!(
            "installed: systemd starts {} on the first request to {}",
            setup.agent.display(),
            s.display()
        )),
        None => say("installed; note: XDG_RUNTIME_DIR is not set in this shell"),
    }
    if socket.as_deref() != Some(setup.socket.as_path()) {
        say(&format!(
            "note: this shell's clients use {}, not the systemd socket \
             ($XDG_RUNTIME_DIR/flyte-auth/agent.sock); unset FLYTE_AUTH_SOCK to use it",
            setup.socket.display()
        ));
    }
    Ok(())
}

/// Stops and disables both units, removes them, reloads systemd.
pub fn uninstall(setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    let files = unit_files(setup)?;
    if !files.iter().any(|f| f.path.exists()) {
        say(&format!(
            "no units are installed in {}",
            unit_dir(setup).display()
        ));
        return Ok(());
    }
    // Without a user manager nothing runs them: removing the files is all there is to do.
    let reachable = require_manager();
    match &reachable {
        Ok(()) => {
            must(
                "systemctl",
                &["--user", "disable", "--now", SOCKET, SERVICE],
                say,
            )?;
        }
        Err(e) => say(&format!("note: {e}; removing the files only")),
    }
    for f in &files {
        remove_unit(&f.path, say)?;
    }
    if reachable.is_ok() {
        must("systemctl", &["--user", "daemon-reload"], say)?;
    }
    Ok(())
}

/// Which units are installed and what `systemctl --user is-active` says.
pub fn status(setup: &Setup) -> Status {
    let mut st = Status::default();
    st.lines
        .push("service manager: systemd (user units)".into());
    for unit in [SOCKET, SERVICE] {
        let path = unit_dir(setup).join(unit);
        st.lines.push(format!("{unit}: {}", installed(&path)));
    }
    match tool::run("systemctl", &["--user", "is-active", SOCKET, SERVICE]) {
        Ok(ran) if !ran.stdout.trim().is_empty() => {
            let states: Vec<&str> = ran.stdout.lines().map(str::trim).collect();
            let state = |i: usize| states.get(i).copied().unwrap_or("unknown");
            st.lines.push(format!(
                "systemctl --user is-active: socket {}, service {}",
                state(0),
                state(1)
            ));
            st.starts_on_demand = state(0) == "active" && state(1) != "active";
        }
        Ok(ran) => st.lines.push(format!("systemctl --user: {}", ran.stderr)),
        Err(e) => st.lines.push(format!("systemctl: {e}")),
    }
    st
}

fn installed(path: &Path) -> String {
    if path.is_file() {
        format!("installed ({})", path.display())
    } else {
        "not installed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_paths_are_escaped() {
        assert_eq!(exec_path("/opt/bin/agent"), "/opt/bin/agent");
        assert_eq!(exec_path("/a%b/$x"), "/a%%b/$$x");
        assert_eq!(exec_path("/My Apps/agent"), "\"/My Apps/agent\"");
        assert_eq!(exec_path("/a\"b c"), "\"/a\\\"b c\"");
    }

    #[test]
    fn the_placeholder_appears_once_in_exec_start() {
        assert_eq!(SERVICE_UNIT.matches(AGENT_PLACEHOLDER).count(), 1);
        assert!(SERVICE_UNIT.contains(&format!("ExecStart={AGENT_PLACEHOLDER} ")));
        assert!(!SOCKET_UNIT.contains(AGENT_PLACEHOLDER));
    }
}
