//! The Rust values the golden fixtures must decode to, one per fixture file.

use flyte_auth_proto::{
    AuthMode, ErrorKind, Event, LogoutTarget, Profile, Request, Response, Secret, SessionState,
    SessionStatus, StatusReport, TokenResponse, WireError,
};

fn profile() -> Profile {
    let mut p = Profile::new("https://flyte.example.com", AuthMode::ClientSecret);
    p.insecure = true;
    p.insecure_skip_verify = true;
    p.ca_cert_file = Some("/etc/ssl/ca.pem".into());
    p.http_proxy = Some("http://proxy:3128".into());
    p.client_id = Some("ci".into());
    p.client_secret = Some(Secret::new("s3cret"));
    p.scopes = Some(vec!["all".into(), "offline".into()]);
    p.audience = Some("aud".into());
    p.token_url = Some("https://idp.example.com/token".into());
    p.authorization_header = Some("flyte-authorization".into());
    p.pkce_timeout_secs = Some(120);
    p.device_timeout_secs = Some(600);
    p.device_poll_interval_secs = Some(5);
    p.org = Some("acme".into());
    p
}

pub fn requests() -> Vec<(&'static str, Request)> {
    vec![
        (
            "request_hello",
            Request::Hello {
                version: 1,
                client: "flyte-auth 0.1.0".into(),
            },
        ),
        (
            "request_get_token",
            Request::GetToken {
                profile: Box::new(profile()),
                min_valid_secs: 300,
                interactive: true,
                browser_env: vec![("DISPLAY".into(), ":0".into())],
            },
        ),
        (
            "request_login",
            Request::Login {
                profile: Box::new(Profile::new("https://x.example", AuthMode::Pkce)),
                method: Some(AuthMode::DeviceFlow),
                import: true,
                browser_env: Vec::new(),
            },
        ),
        (
            "request_logout_session",
            Request::Logout {
                target: LogoutTarget::Session(Box::new(Profile::new(
                    "https://x.example",
                    AuthMode::Pkce,
                ))),
            },
        ),
        (
            "request_logout_all",
            Request::Logout {
                target: LogoutTarget::All,
            },
        ),
        ("request_status", Request::Status),
        ("request_status_page", Request::StatusPage { offset: 190 }),
        ("request_shutdown", Request::Shutdown),
        ("request_unknown", Request::Unknown),
    ]
}

/// A session with every field set.
pub fn ready_session() -> SessionStatus {
    SessionStatus {
        endpoint: "https://flyte.example.com".into(),
        mode: AuthMode::Pkce,
        client_id: Some("flytectl".into()),
        scopes: vec!["all".into(), "offline".into()],
        audience: Some("aud".into()),
        state: SessionState::Ready,
        subject: Some("alice".into()),
        expires_at: Some(1_700_003_600),
        next_refresh_at: Some(1_700_003_300),
        last_error: Some("idp unreachable".into()),
        last_used_at: Some(1_700_000_100),
        storage: Some("Secret Service".into()),
    }
}

/// A session with every optional field unset.
fn empty_session() -> SessionStatus {
    SessionStatus {
        endpoint: "https://x.example".into(),
        mode: AuthMode::DeviceFlow,
        client_id: None,
        scopes: Vec::new(),
        audience: None,
        state: SessionState::Empty,
        subject: None,
        expires_at: None,
        next_refresh_at: None,
        last_error: None,
        last_used_at: None,
        storage: None,
    }
}

fn token(warning: Option<&str>) -> TokenResponse {
    TokenResponse {
        access_token: Secret::new("eyJ.tok.sig"),
        token_type: "Bearer".into(),
        expires_at: 1_700_003_600,
        header_key: "authorization".into(),
        warning: warning.map(Into::into),
    }
}

fn events() -> Vec<(&'static str, Event)> {
    vec![
        (
            "response_event_open_url",
            Event::OpenUrl {
                url: "https://idp.example.com/authorize?x=1".into(),
                opened: true,
            },
        ),
        (
            "response_event_device_code",
            Event::DeviceCode {
                verification_uri: "https://idp.example.com/device".into(),
                user_code: "ABCD-EFGH".into(),
                verification_uri_complete: Some(
                    "https://idp.example.com/device?code=ABCD-EFGH".into(),
                ),
                expires_at: 1_700_000_600,
            },
        ),
        (
            "response_event_progress",
            Event::Progress {
                message: "waiting for the browser".into(),
            },
        ),
        ("response_event_unknown", Event::Unknown),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let mut all = vec![
        (
            "response_hello",
            Response::Hello {
                version: 1,
                agent_version: "0.1.0".into(),
                pid: 4242,
            },
        ),
        ("response_token", Response::Token(token(None))),
        (
            "response_token_warning",
            Response::Token(token(Some("valid for only 40 s: the IdP does not answer"))),
        ),
        (
            "response_logged_in",
            Response::LoggedIn {
                endpoint: "https://flyte.example.com".into(),
                subject: Some("alice".into()),
                expires_at: 1_700_003_600,
            },
        ),
        ("response_logged_out", Response::LoggedOut { sessions: 2 }),
        (
            "response_status",
            Response::Status(StatusReport {
                agent_version: "0.1.0".into(),
                pid: 4242,
                uptime_secs: 3600,
                sessions: vec![ready_session(), empty_session()],
                audit_log: Some("/home/alice/.local/state/flyte-auth/audit.jsonl".into()),
                next_offset: Some(2),
                total_sessions: Some(5),
            }),
        ),
        (
            "response_status_last_page",
            Response::Status(StatusReport {
                agent_version: "0.1.0".into(),
                pid: 4242,
                uptime_secs: 3600,
                sessions: Vec::new(),
                audit_log: None,
                next_offset: None,
                total_sessions: None,
            }),
        ),
        ("response_ok", Response::Ok),
        (
            "response_error",
            Response::Error(WireError::new(
                ErrorKind::LoginRequired,
                "log in with `flyte-auth login`",
            )),
        ),
        ("response_unknown", Response::Unknown),
    ];
    all.extend(
        events()
            .into_iter()
            .map(|(name, event)| (name, Response::Event { event })),
    );
    all
}
