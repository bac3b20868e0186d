//! How errors and login prompts reach the user: stderr only (stdout is for the token), with a
//! hint of what to do and a documented exit code.

use flyte_auth::proto::text::printable;
use flyte_auth::{Category, Error};

/// Exit codes, as shown in `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success
  1  internal error or unexpected answer
  2  invalid command line
  3  configuration error (config file, API key, endpoint)
  4  login required: run `flyte-auth login`
  5  the endpoint or identity provider could not be reached, failed, or sent an unusable answer
  6  the identity provider rejected the request (bad credentials, revoked grant)
  7  the agent is unavailable, busy, or refused this user";

/// Prints `e` with a hint on stderr and returns the exit code for it. Causes the message
/// does not already say follow it as `caused by:` lines.
pub fn report(e: &Error) -> u8 {
    match e {
        // The agent's messages quote IdP text: print no control character it may carry.
        Error::Agent(w) => eprintln!("flyte-auth: {}", printable(&w.message)),
        _ => eprintln!("flyte-auth: {e}"),
    }
    for cause in flyte_auth::error::causes(e) {
        eprintln!("  caused by: {}", printable(&cause));
    }
    let category = e.category();
    let hint = match category {
        Category::Config => Some(
            "check `--config`, your ~/.flyte/config.yaml and FLYTE_* variables, or run `flyte-auth create config --endpoint HOST`",
        ),
        Category::IdpUnreachable => Some(
            "check your network and the endpoint; `flyte-auth status` shows the agent's last error",
        ),
        Category::IdpRejected => Some(
            "check the client id and secret (or FLYTE_API_KEY); for a revoked login run `flyte-auth login`",
        ),
        Category::VersionMismatch => {
            Some("run `flyte-auth agent stop`; the next command starts a matching agent")
        }
        Category::AgentUnavailable if matches!(e, Error::AgentUnavailable { .. }) => Some(
            "`flyte-auth agent start` starts the agent; its log is under ~/.local/state/flyte-auth/",
        ),
        Category::LoginRequired
        | Category::AgentUnavailable
        | Category::Busy
        | Category::PermissionDenied
        | Category::Internal => None,
    };
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
    category.exit_code()
}
