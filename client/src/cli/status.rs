//! `flyte-auth status [--json]`: what the agent holds, never a token.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use flyte_auth::Client;
use flyte_auth::proto::text::printable;
use flyte_auth::proto::{SessionStatus, StatusReport};

/// Arguments of `flyte-auth status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Prints the agent's status. Does not start an agent: "none running" is an answer.
pub fn run(socket: &Path, args: &StatusArgs) -> flyte_auth::Result<()> {
    let mut client = Client::connect(socket)?;
    let report = client.status()?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| flyte_auth::Error::Unexpected(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", render(&report, now()));
    }
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Human-readable status. Every text field is printed through [`printable`]: endpoints,
/// subjects and errors come from the network by way of the agent.
fn render(r: &StatusReport, now: u64) -> String {
    let mut s = format!(
        "agent: running (pid {}, version {}, up {})\n",
        r.pid,
        printable(&r.agent_version),
        span(r.uptime_secs)
    );
    if let Some(path) = &r.audit_log {
        s.push_str(&format!("audit log: {path}\n"));
    }
    if r.sessions.is_empty() {
        s.push_str("no sessions yet\n");
    }
    for sess in &r.sessions {
        s.push_str(&render_session(sess, now));
    }
    s
}

fn render_session(x: &SessionStatus, now: u64) -> String {
    let mut s = format!("\n{}  ({})\n", printable(&x.endpoint), x.mode);
    s.push_str(&format!("  state:         {}\n", x.state));
    if let Some(sub) = &x.subject {
        s.push_str(&format!("  logged in as:  {}\n", printable(sub)));
    }
    if let Some(id) = &x.client_id {
        s.push_str(&format!("  client id:     {}\n", printable(id)));
    }
    if !x.scopes.is_empty() {
        let scopes = x.scopes.join(" ");
        s.push_str(&format!("  scopes:        {}\n", printable(&scopes)));
    }
    if let Some(aud) = &x.audience {
        s.push_str(&format!("  audience:      {}\n", printable(aud)));
    }
    if let Some(exp) = x.expires_at {
        let when = if exp > now {
            format!("in {}", span(exp - now))
        } else {
            format!("{} ago", span(now - exp))
        };
        s.push_str(&format!("  token expires: {when}\n"));
    }
    if let Some(next) = x.next_refresh_at {
        s.push_str(&format!(
            "  next refresh:  in {}\n",
            span(next.saturating_sub(now))
        ));
    }
    if let Some(storage) = &x.storage {
        s.push_str(&format!("  stored in:     {}\n", printable(storage)));
    }
    if let Some(err) = &x.last_error {
        s.push_str(&format!("  last error:    {}\n", printable(err)));
    }
    s
}

/// `3h 5m`, `4m 10s`, `12s`.
fn span(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flyte_auth::proto::AuthMode;

    #[test]
    fn renders_a_session() {
        let r = StatusReport {
            agent_version: "0.1.0".into(),
            pid: 42,
            uptime_secs: 3700,
            sessions: vec![SessionStatus {
                endpoint: "https://flyte.example.com".into(),
                mode: AuthMode::ClientSecret,
                client_id: Some("ci".into()),
                scopes: vec!["all".into()],
                audience: None,
                state: flyte_auth::proto::SessionState::Backoff,
                subject: Some("ci".into()),
                expires_at: Some(1_000 + 125),
                next_refresh_at: Some(1_000 + 5),
                last_error: Some("flyte.example.com rejected the request: x (\x1b[2Jboo)".into()),
                last_used_at: Some(1_000),
                storage: Some("memory only".into()),
            }],
            audit_log: Some("/s/audit.jsonl".into()),
            next_offset: None,
            total_sessions: Some(1),
        };
        let text = render(&r, 1_000);
        assert!(text.contains("pid 42"), "{text}");
        assert!(text.contains("up 1h 1m"), "{text}");
        assert!(text.contains("token expires: in 2m 5s"), "{text}");
        assert!(
            text.contains("last error:    flyte.example.com rejected the request: x (\\x1b[2Jboo)"),
            "{text}"
        );
        assert!(
            !text.contains('\x1b'),
            "no raw escape reaches the terminal: {text}"
        );
        assert!(text.contains("stored in:     memory only"), "{text}");
        assert!(text.contains("audit log: /s/audit.jsonl"), "{text}");
    }
}
