//! `flyte-auth login [--browser|--device]` and `flyte-auth logout [--all]`.

use std::path::Path;

use clap::Args;
use flyte_auth::proto::text::printable;
use flyte_auth::proto::{AuthMode, LogoutTarget};
use flyte_auth::{Client, config};

use super::ProfileArgs;
use super::prompt::Prompter;

/// Arguments of `flyte-auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Log in through a browser on this machine (PKCE).
    #[arg(long, conflicts_with = "device")]
    browser: bool,
    /// Log in with a code entered on any device (device flow; for headless machines).
    #[arg(long)]
    device: bool,
    /// Take over the login that flytekit or flyte-sdk left in the keyring for this endpoint,
    /// instead of logging in again.
    #[arg(long, conflicts_with_all = ["browser", "device"])]
    import: bool,
}

/// Arguments of `flyte-auth logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Forget every session, not just the configured endpoint's.
    #[arg(long)]
    all: bool,
}

/// Logs in, joining a login already running for the same session in another terminal.
pub fn login(socket: &Path, args: &LoginArgs) -> flyte_auth::Result<()> {
    let profile = config::resolve(&args.profile.overrides())?;
    let method = match (args.browser, args.device) {
        (true, _) => Some(AuthMode::Pkce),
        (_, true) => Some(AuthMode::DeviceFlow),
        _ => None,
    };
    let mut client = Client::connect_or_start(socket)?;
    let mut prompter = Prompter::new();
    let result = client.login(&profile, method, args.import, &mut |e| prompter.show(e));
    prompter.done();
    let done = result?;
    match &done.subject {
        Some(who) => eprintln!(
            "Logged in to {} as {}.",
            printable(&done.endpoint),
            printable(who)
        ),
        None => eprintln!("Logged in to {}.", printable(&done.endpoint)),
    }
    Ok(())
}

/// Forgets the configured session (or all of them) in the agent.
pub fn logout(socket: &Path, args: &LogoutArgs) -> flyte_auth::Result<()> {
    // Started if need be: a login kept in the store must be forgotten (and revoked) even
    // when no agent runs right now.
    let mut client = Client::connect_or_start(socket)?;
    let target = if args.all {
        LogoutTarget::All
    } else {
        LogoutTarget::Session(Box::new(config::resolve(&args.profile.overrides())?))
    };
    let n = client.logout(target)?;
    match n {
        0 => eprintln!("Not logged in."),
        1 => eprintln!("Logged out."),
        n => eprintln!("Logged out of {n} sessions."),
    }
    Ok(())
}
