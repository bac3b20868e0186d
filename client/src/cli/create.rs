//! `flyte-auth create config`: write a Flyte config file as `flyte create config` does.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use flyte_auth::config::{self, CreateConfig};

/// Things `create` can make.
#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// Write a Flyte config file (~/.flyte/config.yaml by default).
    Config(ConfigArgs),
}

/// Arguments of `create config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Flyte/Union endpoint host (`https://`, `dns:///` or bare).
    #[arg(long, value_name = "HOST")]
    endpoint: String,
    /// Default project.
    #[arg(long)]
    project: Option<String>,
    /// Default domain.
    #[arg(long)]
    domain: Option<String>,
    /// Organization.
    #[arg(long)]
    org: Option<String>,
    /// pkce (default), headless / device-flow, or client-secret.
    #[arg(long, value_name = "TYPE")]
    auth_type: Option<String>,
    /// Plain-text HTTP to the endpoint.
    #[arg(long)]
    insecure: bool,
    /// Where to write [default: ~/.flyte/config.yaml]
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Renders and writes the config file.
pub fn run(cmd: &CreateCommand) -> flyte_auth::Result<()> {
    let CreateCommand::Config(a) = cmd;
    let spec = CreateConfig {
        endpoint: a.endpoint.clone(),
        project: a.project.clone(),
        domain: a.domain.clone(),
        org: a.org.clone(),
        auth_type: a.auth_type.clone(),
        insecure: a.insecure,
    };
    let text = config::render_config(&spec)?;
    let path = match &a.output {
        Some(p) => p.clone(),
        None => {
            let home = directories::BaseDirs::new().ok_or_else(|| {
                flyte_auth::Error::Config(
                    "cannot determine your home directory; pass -o PATH".into(),
                )
            })?;
            config::default_config_path(home.home_dir())
        }
    };
    config::write_config(&path, &text, a.force)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
