//! The handler decides requests without a socket: these call it directly.

use super::*;

fn handler() -> (Handler, CancellationToken) {
    let settings = crate::Settings::default();
    let stores = crate::store::Stores::memory(settings.store_timeout);
    let ctx = Arc::new(Ctx::new(settings, stores));
    let registry = Arc::new(Registry::new(ctx.clone()));
    let shutdown = CancellationToken::new();
    (Handler::new(ctx, registry, shutdown.clone()), shutdown)
}

async fn done(h: &Handler, req: Request) -> Response {
    match h.handle(req).await {
        Handled::Done(r) => r,
        Handled::Pending(p) => panic!("expected an answer at hand, got {p:?}"),
    }
}

#[tokio::test]
async fn status_reports_this_agent_without_sessions() {
    let (h, _) = handler();
    let Response::Status(report) = done(&h, Request::Status).await else {
        panic!("expected a status report");
    };
    assert_eq!(report.pid, std::process::id());
    assert_eq!(report.agent_version, env!("CARGO_PKG_VERSION"));
    assert!(report.sessions.is_empty());
    assert_eq!(report.next_offset, None);
    assert_eq!(report.total_sessions, Some(0));
    assert_eq!(report.audit_log, None, "the audit log is off by default");
}

#[tokio::test]
async fn shutdown_cancels_the_agent() {
    let (h, shutdown) = handler();
    assert!(matches!(done(&h, Request::Shutdown).await, Response::Ok));
    assert!(shutdown.is_cancelled());
}

#[tokio::test]
async fn a_second_hello_and_unknown_requests_are_bad_requests() {
    let (h, shutdown) = handler();
    let hello = Request::Hello {
        version: flyte_auth_proto::PROTOCOL_VERSION,
        client: "test".into(),
    };
    for req in [hello, Request::Unknown] {
        let Response::Error(e) = done(&h, req).await else {
            panic!("expected an error");
        };
        assert_eq!(e.kind, ErrorKind::BadRequest, "{}", e.message);
    }
    assert!(!shutdown.is_cancelled());
}

#[test]
fn a_timed_out_token_request_says_how_long_it_waited_and_for_whom() {
    let answer = Answer::Token {
        host: "idp.example.com".into(),
    };
    let Response::Error(e) = answer.respond(None, Duration::from_secs(60)) else {
        panic!("expected an error");
    };
    assert_eq!(e.kind, ErrorKind::IdpUnreachable);
    assert_eq!(
        e.message,
        "timed out after 60s waiting for a token from idp.example.com"
    );
    let login = Answer::LoggedIn {
        endpoint: "dns:///x".into(),
    };
    let Response::Error(e) = login.respond(None, LOGIN_TIMEOUT) else {
        panic!("expected an error");
    };
    assert_eq!(e.kind, ErrorKind::LoginRequired);
}

#[test]
fn a_login_answers_with_the_tokens_subject_and_expiry() {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"sub":"u-1","preferred_username":"ada"}"#);
    let token = flyte_auth_proto::TokenResponse {
        access_token: flyte_auth_proto::Secret::new(format!("e30.{payload}.sig")),
        token_type: "Bearer".into(),
        expires_at: 1_700_000_000,
        header_key: "authorization".into(),
        warning: None,
    };
    let login = Answer::LoggedIn {
        endpoint: "dns:///flyte.example.com".into(),
    };
    match login.respond(Some(Ok(token)), LOGIN_TIMEOUT) {
        Response::LoggedIn {
            endpoint,
            subject,
            expires_at,
        } => {
            assert_eq!(endpoint, "dns:///flyte.example.com");
            assert_eq!(subject.as_deref(), Some("ada"));
            assert_eq!(expires_at, 1_700_000_000);
        }
        other => panic!("expected LoggedIn, got {other:?}"),
    }
}
