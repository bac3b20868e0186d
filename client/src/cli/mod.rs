//! Command-line definitions and dispatch; one file per subcommand.

mod agent;
mod create;
mod login;
pub mod output;
mod prompt;
mod status;
mod token;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use flyte_auth::config::Overrides;

/// ssh-agent for Flyte/Union tokens: one agent per user owns every login and refresh.
#[derive(Debug, Parser)]
#[command(name = "flyte-auth", version, about, after_help = output::EXIT_CODES_HELP)]
pub struct Cli {
    /// Agent socket [default: $FLYTE_AUTH_SOCK, else $XDG_RUNTIME_DIR/flyte-auth/agent.sock]
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an access token (and nothing else) on stdout.
    Token(token::TokenArgs),
    /// Log in now (browser by default, or as the config says; joins a login in progress).
    Login(login::LoginArgs),
    /// Forget the configured session (or all, with --all) in the agent.
    Logout(login::LogoutArgs),
    /// Show the agent's sessions (never a token).
    Status(status::StatusArgs),
    /// Manage the agent process.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Create files.
    #[command(subcommand)]
    Create(create::CreateCommand),
}

/// Which Flyte config and endpoint to use; shared by commands that talk to an endpoint.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Flyte config file (default: Flyte's search order, ending at ~/.flyte/config.yaml).
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Endpoint, overriding the config file and an API key's host.
    #[arg(long, value_name = "HOST")]
    endpoint: Option<String>,
    /// Auth type: Pkce, DeviceFlow (headless), ClientSecret (any spelling Flyte accepts).
    #[arg(long, value_name = "TYPE")]
    auth_type: Option<String>,
    /// Plain-text HTTP to the endpoint.
    #[arg(long)]
    insecure: bool,
}

impl ProfileArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            endpoint: self.endpoint.clone(),
            auth_type: self.auth_type.clone(),
            insecure: self.insecure,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> flyte_auth::Result<()> {
    let socket = match cli.socket {
        Some(s) => s,
        None => flyte_auth::default_socket(),
    };
    match cli.command {
        Command::Token(a) => token::run(&socket, &a),
        Command::Login(a) => login::login(&socket, &a),
        Command::Logout(a) => login::logout(&socket, &a),
        Command::Status(a) => status::run(&socket, &a),
        Command::Agent(a) => agent::run(&socket, &a),
        Command::Create(c) => create::run(&c),
    }
}
