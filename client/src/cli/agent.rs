//! `flyte-auth agent start|stop|install|uninstall|status`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use flyte_auth::service::{self, Manager, Setup};
use flyte_auth::{Client, Error};

/// Agent management commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Start the agent if it is not running.
    Start,
    /// Stop the running agent (its sessions are forgotten).
    Stop,
    /// Have the service manager start the agent (systemd socket on Linux, launchd on macOS).
    Install(InstallArgs),
    /// Remove what `install` set up.
    Uninstall(ManagerArgs),
    /// Show whether the agent is installed as a service and whether it runs.
    Status(ManagerArgs),
}

/// Which service manager to use.
#[derive(Debug, Args)]
pub struct ManagerArgs {
    /// Service manager [default: systemd on Linux, launchd on macOS].
    #[arg(long, value_enum, value_name = "NAME")]
    manager: Option<ManagerName>,
}

/// Arguments of `flyte-auth agent install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    manager: ManagerArgs,
    /// Print the unit files on stdout (their paths on stderr) instead of installing them.
    #[arg(long)]
    print: bool,
    /// The agent executable the units run [default: next to this program, else on PATH].
    #[arg(long, value_name = "PATH")]
    agent: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ManagerName {
    Systemd,
    Launchd,
}

/// Runs an agent command.
pub fn run(socket: &Path, cmd: &AgentCommand) -> flyte_auth::Result<()> {
    match cmd {
        AgentCommand::Start => {
            let client = Client::connect_or_start(socket)?;
            eprintln!(
                "flyte-auth agent running (pid {}) on {}",
                client.agent_pid(),
                socket.display()
            );
        }
        AgentCommand::Stop => match Client::connect(socket) {
            Ok(mut client) => {
                let pid = client.agent_pid();
                client.shutdown()?;
                eprintln!("stopped flyte-auth agent (pid {pid})");
            }
            Err(Error::AgentUnavailable { .. }) => {
                eprintln!("no flyte-auth agent is running on {}", socket.display());
            }
            Err(e) => return Err(e),
        },
        AgentCommand::Install(a) => install(socket, a)?,
        AgentCommand::Uninstall(a) => {
            let setup = setup(socket, None)?;
            service::uninstall(manager(a)?, &setup, &mut |s| eprintln!("{s}"))?;
        }
        AgentCommand::Status(a) => status(socket, a)?,
    }
    Ok(())
}

fn install(socket: &Path, args: &InstallArgs) -> flyte_auth::Result<()> {
    let manager = manager(&args.manager)?;
    let setup = setup(socket, Some(agent_path(args.agent.as_deref())?))?;
    if args.print {
        for f in service::unit_files(manager, &setup)? {
            eprintln!("# {}", f.path.display());
            print!("{}", f.contents);
        }
        return Ok(());
    }
    service::install(manager, &setup, &mut |s| eprintln!("{s}"))
}

fn status(socket: &Path, args: &ManagerArgs) -> flyte_auth::Result<()> {
    let mut on_demand = false;
    if let Ok(manager) = manager(args) {
        let st = service::status(manager, &setup(socket, None)?);
        for line in &st.lines {
            println!("{line}");
        }
        on_demand = st.starts_on_demand;
    }
    // Connecting to a socket the service manager holds would start the agent: say so instead.
    if on_demand {
        println!(
            "agent: not running; starts on the first request to {}",
            socket.display()
        );
        return Ok(());
    }
    match Client::connect(socket).and_then(|mut c| c.status()) {
        Ok(r) => println!(
            "agent: running (pid {}, version {}) on {}",
            r.pid,
            r.agent_version,
            socket.display()
        ),
        Err(Error::AgentUnavailable { .. }) => {
            println!("agent: not running on {}", socket.display());
        }
        Err(e) => println!("agent: {e}"),
    }
    Ok(())
}

fn manager(args: &ManagerArgs) -> flyte_auth::Result<Manager> {
    match args.manager {
        Some(ManagerName::Systemd) => Ok(Manager::Systemd),
        Some(ManagerName::Launchd) => Ok(Manager::Launchd),
        None => Manager::native().ok_or_else(|| {
            Error::Service(format!(
                "flyte-auth has no service manager support on {}; `flyte-auth` starts the \
                 agent on demand instead",
                std::env::consts::OS
            ))
        }),
    }
}

fn setup(socket: &Path, agent: Option<PathBuf>) -> flyte_auth::Result<Setup> {
    // Uninstall and status never render an ExecStart=, so any agent path will do there.
    let agent = agent.unwrap_or_else(|| PathBuf::from(flyte_auth::spawn::AGENT_BIN));
    Setup::from_env(agent, socket.to_owned())
}

/// The agent to install: as given, else the one auto-start would run; always absolute, since
/// service managers do not search PATH.
fn agent_path(given: Option<&Path>) -> flyte_auth::Result<PathBuf> {
    let found = match given {
        Some(p) => p.to_owned(),
        None => flyte_auth::spawn::find_agent().ok_or_else(|| {
            Error::Service(format!(
                "`{}` was found neither next to this program nor on PATH; pass --agent PATH",
                flyte_auth::spawn::AGENT_BIN
            ))
        })?,
    };
    let abs = std::path::absolute(&found)
        .map_err(|e| Error::Service(format!("{}: {e}", found.display())))?;
    if !abs.is_file() {
        return Err(Error::Service(format!(
            "{} is not an executable file",
            abs.display()
        )));
    }
    Ok(abs)
}
