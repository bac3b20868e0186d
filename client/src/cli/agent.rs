//! `flyte-auth agent start|stop`.

use std::path::Path;

use clap::Subcommand;
use flyte_auth::Client;

/// Agent management commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Start the agent if it is not running.
    Start,
    /// Stop the running agent (its sessions are forgotten).
    Stop,
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
            Err(flyte_auth::Error::AgentUnavailable { .. }) => {
                eprintln!("no flyte-auth agent is running on {}", socket.display());
            }
            Err(e) => return Err(e),
        },
    }
    Ok(())
}
