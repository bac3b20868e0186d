//! `flyte-auth token`: the token on stdout, nothing else, so SDKs can run us as their
//! `ExternalCommand`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use flyte_auth::{Client, config};

use super::ProfileArgs;
use super::prompt::Prompter;

/// Arguments of `flyte-auth token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Minimum remaining validity of the token, e.g. `60s`, `5m`, `1m30s`
    /// (the config file's duration syntax).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = config::parse_duration)]
    min_valid: Duration,
}

/// Resolves the profile, asks the agent, prints the token. A login starts only when a human
/// can see the prompt (stderr is a terminal) or a browser can be opened; SDKs that capture
/// our output get "login required" at once instead of a hang.
pub fn run(socket: &Path, args: &TokenArgs) -> flyte_auth::Result<()> {
    let profile = config::resolve(&args.profile.overrides())?;
    let mut client = Client::connect_or_start(socket)?;
    let mut prompter = Prompter::new();
    let interactive = prompter.interactive();
    let token = client.get_token(&profile, args.min_valid, interactive, &mut |e| {
        prompter.show(e)
    });
    prompter.done();
    let token = token?;
    if let Some(w) = &token.warning {
        // From the agent, but it may quote the IdP: no control characters or bidi overrides
        // reach the terminal (escaped the same way as every other text from the network).
        eprintln!("warning: {}", flyte_auth::proto::text::printable(w));
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout (the caller went away) is not worth a second error message.
    let _ = writeln!(out, "{}", token.access_token.expose()).and_then(|()| out.flush());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use flyte_auth::config::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn min_valid_takes_what_the_config_takes() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            token: super::TokenArgs,
        }
        let min_valid =
            |v: &str| Cli::try_parse_from(["t", "--min-valid", v]).map(|c| c.token.min_valid);
        assert_eq!(min_valid("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(min_valid("500ms").unwrap(), Duration::from_secs(1));
        let e = min_valid("5x").unwrap_err().to_string();
        assert!(e.contains("unknown unit"), "{e}");
        let default = Cli::try_parse_from(["t"]).unwrap().token.min_valid;
        assert_eq!(default, Duration::from_secs(60));
    }
}
