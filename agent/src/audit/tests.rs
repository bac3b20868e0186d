//! Audit lines: their fields, that no secret gets into them, and the writer behind them.

use std::time::Duration;

use flyte_auth_proto::{
    AuthMode, ErrorKind, LogoutTarget, Profile, Request, Response, Secret, WireError,
};

use super::*;

fn secret_profile() -> Box<Profile> {
    let mut p = Profile::new(
        "https://user:pw@flyte.example.com/?k=v",
        AuthMode::ClientSecret,
    );
    p.client_id = Some("ci".into());
    p.client_secret = Some(Secret::new("s3cr3t-client-secret"));
    Box::new(p)
}

#[test]
fn subjects_name_the_session_and_nothing_secret() {
    let req = Request::GetToken {
        profile: secret_profile(),
        min_valid_secs: 60,
        interactive: false,
        browser_env: Vec::new(),
    };
    let s = Subject::of(&req);
    assert_eq!(s.request, "get_token");
    assert_eq!(s.endpoint.as_deref(), Some("https://flyte.example.com"));
    assert_eq!(s.mode, Some(AuthMode::ClientSecret));
    let all = Request::Logout {
        target: LogoutTarget::All,
    };
    assert_eq!(
        Subject::of(&all).endpoint,
        None,
        "logout --all names no session"
    );
    let one = Request::Logout {
        target: LogoutTarget::Session(secret_profile()),
    };
    let one = Subject::of(&one);
    assert_eq!(one.endpoint.as_deref(), Some("https://flyte.example.com"));
    assert_eq!(one.request, "logout");
    assert_eq!(Subject::of(&Request::Status).request, "status");
}

#[test]
fn outcomes_are_ok_or_the_error_kind() {
    assert_eq!(outcome(&Response::Ok), "ok");
    let e = Response::Error(WireError::new(ErrorKind::LoginRequired, "x"));
    assert_eq!(outcome(&e), "login_required");
    assert_eq!(kind_name(ErrorKind::Busy), "busy");
}

#[test]
fn off_by_default() {
    let a = Audit::default();
    assert!(!a.enabled() && a.path().is_none());
    // Recording into a disabled log is a no-op, not an error.
    a.record(&Peer::default(), Subject::named("status"), "ok");
}

#[test]
fn records_lines_with_peer_session_and_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state").join("audit.jsonl");
    let audit = Audit::open(path.clone()).expect("open");
    assert_eq!(audit.path(), Some(path.as_path()));
    let peer = Peer {
        uid: Some(1000),
        pid: Some(42),
        exe: Some("/usr/bin/flyte-auth".into()),
    };
    let req = Request::GetToken {
        profile: secret_profile(),
        min_valid_secs: 60,
        interactive: false,
        browser_env: Vec::new(),
    };
    audit.record(&peer, Subject::of(&req), "ok");
    audit.record(&peer, Subject::named("connect"), kind_name(ErrorKind::Busy));
    audit.flush(Duration::from_secs(10));
    let text = std::fs::read_to_string(&path).expect("audit log");
    assert!(!text.contains("s3cr3t") && !text.contains("pw@"), "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["peer"]["uid"], 1000);
    assert_eq!(lines[0]["peer"]["pid"], 42);
    assert_eq!(lines[0]["peer"]["exe"], "/usr/bin/flyte-auth");
    assert_eq!(lines[0]["request"], "get_token");
    assert_eq!(lines[0]["endpoint"], "https://flyte.example.com");
    assert_eq!(lines[0]["mode"], "ClientSecret");
    assert_eq!(lines[0]["outcome"], "ok");
    assert!(lines[0]["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(lines[1]["request"], "connect");
    assert_eq!(lines[1]["outcome"], "busy");
}
