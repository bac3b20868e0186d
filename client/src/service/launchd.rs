//! launchd LaunchAgent (macOS): `~/Library/LaunchAgents/io.github.flyte-auth.agent.plist`,
//! loaded into the user's GUI domain with `launchctl bootstrap gui/UID`.
//!
//! Untested on a Mac (the project's machines run Linux): the e2e tests check the rendered
//! plist with Python's plistlib and drive this code against a fake `launchctl`. The code is
//! plain `std::process`, so it is compiled and type-checked on every platform.

use std::path::PathBuf;

use super::tool::{self, must};
use super::{Setup, Status, UnitFile, remove_unit, stop_running_agent, utf8, write_unit};
use crate::Result;

/// The shipped plist; install replaces the placeholders below with this user's paths.
const PLIST: &str = include_str!("../../../launchd/io.github.flyte-auth.agent.plist");

/// The job's label (reverse DNS of the project's home).
pub const LABEL: &str = "io.github.flyte-auth.agent";
/// Agent path in the shipped plist.
pub const AGENT_PLACEHOLDER: &str = "/usr/local/bin/flyte-auth-agent";
/// Socket path in the shipped plist.
pub const SOCKET_PLACEHOLDER: &str = "/var/folders/USER-TMPDIR/T/flyte-auth/agent.sock";
/// Home directory in the shipped plist (launchd expands neither `~` nor variables).
pub const HOME_PLACEHOLDER: &str = "/Users/USERNAME";

fn plist_path(setup: &Setup) -> PathBuf {
    setup
        .home
        .join("Library/LaunchAgents")
        .join(format!("{LABEL}.plist"))
}

/// The plist, rendered for `setup`.
pub fn unit_files(setup: &Setup) -> Result<Vec<UnitFile>> {
    let contents = PLIST
        .replace(AGENT_PLACEHOLDER, &xml(utf8(&setup.agent)?))
        .replace(SOCKET_PLACEHOLDER, &xml(utf8(&setup.socket)?))
        .replace(HOME_PLACEHOLDER, &xml(utf8(&setup.home)?));
    Ok(vec![UnitFile {
        path: plist_path(setup),
        contents,
    }])
}

/// `s` escaped for an XML text node.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn domain() -> String {
    format!("gui/{}", flyte_auth_proto::paths::current_uid())
}

fn service_target() -> String {
    format!("{}/{LABEL}", domain())
}

/// Fails clearly unless `launchctl` can reach this user's GUI domain (an SSH session without
/// a login at the console has none).
fn require_manager() -> Result<()> {
    let ran = tool::run("launchctl", &["print", &domain()])?;
    if ran.ok {
        return Ok(());
    }
    Err(crate::Error::Service(format!(
        "`launchctl` cannot reach your login session ({}): {}; without it, `flyte-auth` starts \
         the agent on demand instead",
        domain(),
        if ran.stderr.is_empty() {
            "no message"
        } else {
            &ran.stderr
        }
    )))
}

/// Writes the plist and (re)loads it into the GUI domain.
pub fn install(setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    require_manager()?;
    let files = unit_files(setup)?;
    let target = service_target();
    // Unload a previous version first: bootstrap refuses a label that is already loaded.
    if tool::run("launchctl", &["bootout", &target]).is_ok_and(|r| r.ok) {
        say(&format!("ran launchctl bootout {target}"));
    }
    // launchd's agent binds the socket itself; one the client auto-started must go first.
    stop_running_agent(&setup.socket, say);
    for f in &files {
        write_unit(f, say)?;
        let plist = utf8(&f.path)?;
        // A job the user once disabled stays disabled across bootstrap; install means "on".
        must("launchctl", &["enable", &target], say)?;
        must("launchctl", &["bootstrap", &domain(), plist], say)?;
    }
    say(&format!(
        "installed: launchd runs {} while you are logged in (log: {})",
        setup.agent.display(),
        setup
            .home
            .join("Library/Logs/flyte-auth-agent.log")
            .display()
    ));
    Ok(())
}

/// Unloads the job and removes the plist.
pub fn uninstall(setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    let path = plist_path(setup);
    if !path.exists() {
        say(&format!(
            "no LaunchAgent is installed at {}",
            path.display()
        ));
        return Ok(());
    }
    let target = service_target();
    match tool::run("launchctl", &["bootout", &target]) {
        Ok(r) if r.ok => say(&format!("ran launchctl bootout {target}")),
        Ok(r) => say(&format!("note: {target} was not loaded ({})", r.stderr)),
        Err(e) => say(&format!("note: {e}")),
    }
    remove_unit(&path, say)?;
    Ok(())
}

/// Whether the plist is installed and launchd has the job loaded.
pub fn status(setup: &Setup) -> Status {
    let path = plist_path(setup);
    let mut st = Status::default();
    st.lines
        .push("service manager: launchd (LaunchAgent)".into());
    st.lines.push(if path.is_file() {
        format!("{LABEL}: installed ({})", path.display())
    } else {
        format!("{LABEL}: not installed")
    });
    let loaded = tool::run("launchctl", &["print", &service_target()]);
    st.lines.push(match loaded {
        Ok(r) if r.ok => format!("launchctl: {} is loaded", service_target()),
        Ok(_) => format!("launchctl: {} is not loaded", service_target()),
        Err(e) => format!("launchctl: {e}"),
    });
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_placeholder_is_in_the_shipped_plist() {
        assert_eq!(PLIST.matches(AGENT_PLACEHOLDER).count(), 1);
        assert_eq!(PLIST.matches(SOCKET_PLACEHOLDER).count(), 1);
        assert_eq!(PLIST.matches(HOME_PLACEHOLDER).count(), 2);
        assert!(PLIST.contains(&format!("<string>{LABEL}</string>")));
    }

    #[test]
    fn paths_are_xml_escaped() {
        assert_eq!(xml("/a&b/<c>"), "/a&amp;b/&lt;c&gt;");
    }
}
