//! Running the agent under the user's service manager: systemd user units on Linux, a
//! launchd LaunchAgent on macOS. Renders the shipped unit files with this machine's paths and
//! drives `systemctl --user` / `launchctl`.
//!
//! The unit files are the ones in the repository's `systemd/` and `launchd/` directories,
//! embedded at build time, so what `flyte-auth agent install --print` shows is exactly the
//! shipped file with placeholders replaced. Windows has no service manager support: there
//! the client's auto-start is the only way the agent starts.

mod launchd;
mod systemd;
mod tool;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// A service manager that can run the agent for this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// The systemd user manager (`systemctl --user`), with socket activation.
    Systemd,
    /// launchd's per-user GUI domain (`launchctl … gui/UID`).
    Launchd,
}

impl Manager {
    /// This platform's service manager, if flyte-auth supports one here.
    pub fn native() -> Option<Manager> {
        if cfg!(target_os = "macos") {
            Some(Manager::Launchd)
        } else if cfg!(target_os = "linux") {
            Some(Manager::Systemd)
        } else {
            None
        }
    }

    /// Its name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Launchd => "launchd",
        }
    }
}

/// Everything install needs to know about this machine, resolved once.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The agent executable the units start.
    pub agent: PathBuf,
    /// The user's home directory.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config` (systemd looks for user units under it).
    pub config_home: PathBuf,
    /// `$XDG_RUNTIME_DIR` (`%t` in a systemd unit), if set.
    pub runtime_dir: Option<PathBuf>,
    /// The socket this client talks to.
    pub socket: PathBuf,
}

impl Setup {
    /// Resolves the directories from the environment; `agent` must be an absolute path.
    pub fn from_env(agent: PathBuf, socket: PathBuf) -> Result<Setup> {
        let abs = |k: &str| {
            std::env::var_os(k)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let home = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_owned())
            .ok_or_else(|| Error::Service("cannot find your home directory".into()))?;
        Ok(Setup {
            agent,
            config_home: abs("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config")),
            runtime_dir: abs("XDG_RUNTIME_DIR"),
            home,
            socket,
        })
    }
}

/// A unit file as it will be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// Where it goes.
    pub path: PathBuf,
    /// What it contains.
    pub contents: String,
}

/// The unit files `manager` needs, rendered for `setup`.
pub fn unit_files(manager: Manager, setup: &Setup) -> Result<Vec<UnitFile>> {
    supported()?;
    match manager {
        Manager::Systemd => systemd::unit_files(setup),
        Manager::Launchd => launchd::unit_files(setup),
    }
}

/// Writes the unit files, enables and starts them; `say` hears each step.
pub fn install(manager: Manager, setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    supported()?;
    match manager {
        Manager::Systemd => systemd::install(setup, say),
        Manager::Launchd => launchd::install(setup, say),
    }
}

/// Stops and disables the units and removes their files; `say` hears each step.
pub fn uninstall(manager: Manager, setup: &Setup, say: &mut dyn FnMut(&str)) -> Result<()> {
    supported()?;
    match manager {
        Manager::Systemd => systemd::uninstall(setup, say),
        Manager::Launchd => launchd::uninstall(setup, say),
    }
}

/// What the service manager knows about the agent.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Human-readable lines: files, unit states.
    pub lines: Vec<String>,
    /// The manager holds the socket but no agent runs: connecting would start one, so a
    /// status check should not.
    pub starts_on_demand: bool,
}

/// Whether the units are installed and what the manager says about them.
pub fn status(manager: Manager, setup: &Setup) -> Status {
    match manager {
        Manager::Systemd => systemd::status(setup),
        Manager::Launchd => launchd::status(setup),
    }
}

/// Refuses on Windows, even with an explicit `--manager`: the units would name a Unix socket
/// and nothing there would run them.
fn supported() -> Result<()> {
    if cfg!(windows) {
        return Err(Error::Service(
            "no service manager support on Windows yet; the client starts the agent on demand"
                .into(),
        ));
    }
    Ok(())
}

/// `path` as UTF-8, which unit files need.
fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| Error::Service(format!("{} is not valid UTF-8", path.display())))
}

/// Writes `file`, creating its directory; says whether it was new, changed or unchanged.
fn write_unit(file: &UnitFile, say: &mut dyn FnMut(&str)) -> Result<()> {
    let werr = |source| Error::WriteFile {
        path: file.path.clone(),
        source,
    };
    let old = std::fs::read_to_string(&file.path).ok();
    if old.as_deref() == Some(file.contents.as_str()) {
        say(&format!("unchanged {}", file.path.display()));
        return Ok(());
    }
    if let Some(dir) = file.path.parent() {
        std::fs::create_dir_all(dir).map_err(werr)?;
    }
    std::fs::write(&file.path, &file.contents).map_err(werr)?;
    let verb = if old.is_some() { "updated" } else { "wrote" };
    say(&format!("{verb} {}", file.path.display()));
    Ok(())
}

/// Removes `path` if present; says so.
fn remove_unit(path: &Path, say: &mut dyn FnMut(&str)) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            say(&format!("removed {}", path.display()));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::WriteFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Asks an agent that answers on `socket` to exit, so that the service manager's agent can
/// take the socket over. Its sessions are lost; a later request logs in again.
fn stop_running_agent(socket: &Path, say: &mut dyn FnMut(&str)) {
    let Ok(mut client) = crate::Client::connect(socket) else {
        return;
    };
    let pid = client.agent_pid();
    if let Err(e) = client.shutdown() {
        say(&format!(
            "warning: cannot stop the running agent (pid {pid}): {e}"
        ));
        return;
    }
    // It removes its socket file when it exits; the manager must bind only after that, or
    // the old agent would unlink the manager's socket.
    let deadline = Instant::now() + Duration::from_secs(8);
    while std::fs::symlink_metadata(socket).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    say(&format!(
        "stopped the agent that was running on {} (pid {pid}) so that the service manager can take over",
        socket.display()
    ));
}
