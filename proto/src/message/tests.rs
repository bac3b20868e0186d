//! Round trips and forward compatibility of every message.

use super::*;
use crate::frame::{decode, encode};

fn round_trip<T>(msg: T)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let frame = encode(&msg).unwrap();
    let back: T = decode(&frame[crate::frame::PREFIX_LEN..]).unwrap();
    assert_eq!(back, msg);
}

fn profile() -> Profile {
    let mut p = Profile::new("https://flyte.example.com", AuthMode::ClientSecret);
    p.client_id = Some("ci".into());
    p.client_secret = Some(Secret::new("s3cret"));
    p.scopes = Some(vec!["all".into()]);
    p.audience = Some("aud".into());
    p
}

#[test]
fn every_request_round_trips() {
    round_trip(Request::Hello {
        version: 1,
        client: "flyte-auth 0.1".into(),
    });
    round_trip(Request::GetToken {
        profile: Box::new(profile()),
        min_valid_secs: 5,
        interactive: true,
        browser_env: vec![("DISPLAY".into(), ":0".into())],
    });
    round_trip(Request::Login {
        profile: Box::new(profile()),
        method: Some(AuthMode::DeviceFlow),
        import: false,
        browser_env: Vec::new(),
    });
    round_trip(Request::Logout {
        target: LogoutTarget::Session(Box::new(profile())),
    });
    round_trip(Request::Logout {
        target: LogoutTarget::All,
    });
    round_trip(Request::Status);
    round_trip(Request::StatusPage { offset: 190 });
    round_trip(Request::Shutdown);
    round_trip(Request::Unknown);
}

#[test]
fn every_response_round_trips() {
    round_trip(Response::Hello {
        version: 1,
        agent_version: "0.1.0".into(),
        pid: 7,
    });
    round_trip(Response::Token(TokenResponse {
        access_token: Secret::new("tok"),
        token_type: "Bearer".into(),
        expires_at: 1_700_000_000,
        header_key: "authorization".into(),
        warning: None,
    }));
    round_trip(Response::Token(TokenResponse {
        access_token: Secret::new("tok"),
        token_type: "Bearer".into(),
        expires_at: 1_700_000_000,
        header_key: "authorization".into(),
        warning: Some("valid for only 5 s more".into()),
    }));
    for event in [
        Event::OpenUrl {
            url: "https://idp/auth".into(),
            opened: false,
        },
        Event::DeviceCode {
            verification_uri: "https://idp/device".into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri_complete: None,
            expires_at: 1,
        },
        Event::Progress {
            message: "waiting".into(),
        },
    ] {
        round_trip(Response::Event { event });
    }
    round_trip(Response::Status(StatusReport {
        agent_version: "0.1.0".into(),
        pid: 1,
        uptime_secs: 2,
        sessions: vec![SessionStatus {
            endpoint: "https://x".into(),
            mode: AuthMode::Pkce,
            client_id: Some("flytectl".into()),
            scopes: vec!["all".into()],
            audience: None,
            state: crate::SessionState::Ready,
            subject: Some("alice".into()),
            expires_at: Some(3),
            next_refresh_at: Some(2),
            last_error: None,
            last_used_at: Some(1),
            storage: Some("Secret Service".into()),
        }],
        audit_log: Some("/home/a/.local/state/flyte-auth/audit.jsonl".into()),
        next_offset: Some(1),
        total_sessions: Some(2),
    }));
    round_trip(Response::Ok);
    round_trip(Response::LoggedIn {
        endpoint: "https://x".into(),
        subject: Some("alice".into()),
        expires_at: 9,
    });
    round_trip(Response::LoggedOut { sessions: 2 });
    round_trip(Response::Error(WireError::new(
        ErrorKind::LoginRequired,
        "log in",
    )));
}

#[test]
fn unknown_types_decode_to_unknown_and_extra_fields_are_ignored() {
    assert_eq!(
        decode::<Request>(br#"{"type":"teleport","x":1}"#).unwrap(),
        Request::Unknown
    );
    assert_eq!(
        decode::<Response>(br#"{"type":"later"}"#).unwrap(),
        Response::Unknown
    );
    let r: Request = decode(br#"{"type":"status","future_field":true}"#).unwrap();
    assert_eq!(r, Request::Status);
    let r: Request = decode(br#"{"type":"status_page"}"#).unwrap();
    assert_eq!(r, Request::StatusPage { offset: 0 });
    let e: WireError = decode(br#"{"kind":"new_kind","message":"m"}"#).unwrap();
    assert_eq!(e.kind, ErrorKind::Unknown);
}

#[test]
fn get_token_defaults_min_valid() {
    let json = serde_json::json!({"type": "get_token", "profile": profile()});
    let r: Request = serde_json::from_value(json).unwrap();
    assert!(matches!(
        r,
        Request::GetToken {
            min_valid_secs: 60,
            interactive: false,
            ..
        }
    ));
}

#[test]
fn a_missing_type_tag_is_malformed() {
    assert!(decode::<Request>(br#"{"version":1}"#).is_err());
    assert!(decode::<Request>(br#"[]"#).is_err());
}

#[test]
fn status_reports_of_older_agents_are_one_page() {
    let r: StatusReport =
        decode(br#"{"agent_version":"0.1.0","pid":1,"uptime_secs":2,"sessions":[]}"#).unwrap();
    assert_eq!((r.next_offset, r.total_sessions), (None, None));
    // The last page says nothing about a next one, so an older client reads it as before.
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("next_offset"), "{text}");
}

#[test]
fn logout_keeps_its_wire_fields_and_refuses_a_logout_of_nothing() {
    let all: Request = decode(br#"{"type":"logout","profile":null,"all":true}"#).unwrap();
    assert_eq!(
        all,
        Request::Logout {
            target: LogoutTarget::All
        }
    );
    // `all` wins over a profile, as the agent always read it.
    let json = serde_json::json!({"type": "logout", "profile": profile(), "all": true});
    let r: Request = serde_json::from_value(json).unwrap();
    assert_eq!(
        r,
        Request::Logout {
            target: LogoutTarget::All
        }
    );
    let json = serde_json::json!({"type": "logout", "profile": profile()});
    let r: Request = serde_json::from_value(json).unwrap();
    let session = LogoutTarget::Session(Box::new(profile()));
    assert_eq!(r, Request::Logout { target: session });
    // Fields a newer client may add are ignored here as everywhere.
    let r: Request = decode(br#"{"type":"logout","all":true,"later":1}"#).unwrap();
    assert_eq!(
        r,
        Request::Logout {
            target: LogoutTarget::All
        }
    );
    for nothing in [
        &br#"{"type":"logout"}"#[..],
        br#"{"type":"logout","all":false}"#,
    ] {
        let err = decode::<Request>(nothing).unwrap_err().to_string();
        assert!(err.contains("logout needs a profile or `all`"), "{err}");
    }
}
