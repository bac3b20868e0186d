//! How errors and login prompts reach the user: stderr only (stdout is for the token), with a
//! hint of what to do and a documented exit code.

use flyte_auth::Error;
use flyte_auth::proto::ErrorKind;
use flyte_auth::proto::text::printable;

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

/// Prints `e` with a hint on stderr and returns the exit code for it.
pub fn report(e: &Error) -> u8 {
    match e {
        // The agent's messages quote IdP text: print no control character it may carry.
        Error::Agent(w) => eprintln!("flyte-auth: {}", printable(&w.message)),
        _ => eprintln!("flyte-auth: {e}"),
    }
    let (code, hint) = match e.kind() {
        ErrorKind::Config => (
            3,
            Some(
                "check `--config`, your ~/.flyte/config.yaml and FLYTE_* variables, or run `flyte-auth create config --endpoint HOST`",
            ),
        ),
        ErrorKind::LoginRequired => (4, None),
        ErrorKind::IdpUnreachable => (
            5,
            Some(
                "check your network and the endpoint; `flyte-auth status` shows the agent's last error",
            ),
        ),
        ErrorKind::IdpRejected => (
            6,
            Some(
                "check the client id and secret (or FLYTE_API_KEY); for a revoked login run `flyte-auth login`",
            ),
        ),
        ErrorKind::Busy | ErrorKind::PermissionDenied => (7, None),
        ErrorKind::VersionMismatch => (
            1,
            Some("run `flyte-auth agent stop`; the next command starts a matching agent"),
        ),
        ErrorKind::BadRequest | ErrorKind::Internal | ErrorKind::Unknown => (1, None),
    };
    let hint = match e {
        Error::AgentUnavailable { .. } => Some(
            "`flyte-auth agent start` starts the agent; its log is under ~/.local/state/flyte-auth/",
        ),
        _ => hint,
    };
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
    code
}
