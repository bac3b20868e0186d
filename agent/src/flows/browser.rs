//! Opening the user's browser on the requesting client's display.
//!
//! The agent may run under systemd or launchd without `DISPLAY`; the client sends its own
//! display variables, and the opener runs with them. `FLYTE_AUTH_BROWSER=none` disables
//! opening (the URL is then shown in the terminal); any other value is a command run with the
//! URL as its argument.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flyte_auth_proto::BrowserEnv;

/// How long an opener may run before we take "still running" as "opened": `xdg-open` and
/// `$BROWSER` may stay in the foreground as long as the browser does.
const OPENER_GRACE: Duration = Duration::from_secs(3);

/// Tries to open `url`; returns whether a browser was (very likely) opened.
pub async fn open(url: &str, env: &BrowserEnv) -> bool {
    let url = url.to_owned();
    let env = env.clone();
    tokio::task::spawn_blocking(move || open_blocking(&url, &env))
        .await
        .unwrap_or(false)
}

fn open_blocking(url: &str, env: &BrowserEnv) -> bool {
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(custom) = var("FLYTE_AUTH_BROWSER") {
        let mut parts = custom.split_whitespace();
        return match parts.next() {
            None | Some("none") => false,
            Some(prog) => {
                let mut cmd = Command::new(prog);
                cmd.args(parts).arg(url);
                launch(cmd, env)
            }
        };
    }
    // Without a display, xdg-open would fall back to a text browser that has no terminal.
    if cfg!(all(unix, not(target_os = "macos")))
        && var("DISPLAY").is_none()
        && var("WAYLAND_DISPLAY").is_none()
    {
        return false;
    }
    open::commands(url).into_iter().any(|cmd| launch(cmd, env))
}

/// Runs an opener detached from our stdio; success, or still running after the grace period.
fn launch(mut cmd: Command, env: &BrowserEnv) -> bool {
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    let end = Instant::now() + OPENER_GRACE;
    while Instant::now() < end {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(_) => return false,
        }
    }
    // Still running: it is showing the page. Reap it later so it does not linger as a zombie.
    std::thread::spawn(move || child.wait());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BrowserEnv {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn none_disables_opening() {
        assert!(!open_blocking(
            "http://x",
            &env(&[("FLYTE_AUTH_BROWSER", "none")])
        ));
    }

    #[test]
    fn custom_command_gets_the_url_and_its_exit_status_counts() {
        assert!(open_blocking(
            "http://x",
            &env(&[("FLYTE_AUTH_BROWSER", "true")])
        ));
        assert!(!open_blocking(
            "http://x",
            &env(&[("FLYTE_AUTH_BROWSER", "false")])
        ));
        assert!(!open_blocking(
            "http://x",
            &env(&[("FLYTE_AUTH_BROWSER", "/nonexistent/browser")])
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn no_display_means_no_browser() {
        assert!(!open_blocking("http://x", &env(&[])));
    }
}
