//! Properties of framing: every message round-trips through `encode`/`decode`, any bytes at
//! all give a message or a clean error (never a panic), and an oversized length prefix is
//! refused from the prefix alone, before a body buffer exists.

use flyte_auth_proto::frame::{Decoder, PREFIX_LEN, Step, body_len, decode, encode, read_message};
use flyte_auth_proto::{
    AuthMode, ErrorKind, Event, LogoutTarget, MAX_FRAME_LEN, Profile, ProtoError, Request,
    Response, Secret, SessionState, SessionStatus, StatusReport, TokenResponse, WireError,
};
use proptest::prelude::*;

/// Short strings of any characters (control characters, quotes, non-BMP included).
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter)
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn mode() -> impl Strategy<Value = AuthMode> {
    prop_oneof![
        Just(AuthMode::Pkce),
        Just(AuthMode::DeviceFlow),
        Just(AuthMode::ClientSecret)
    ]
}

fn profile() -> impl Strategy<Value = Profile> {
    let urls = (text(), any::<bool>(), any::<bool>(), opt_text(), opt_text());
    let auth = (
        mode(),
        opt_text(),
        opt_text(),
        prop::option::of(prop::collection::vec(text(), 0..4)),
        opt_text(),
        opt_text(),
    );
    let rest = (
        opt_text(),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        opt_text(),
    );
    (urls, auth, rest).prop_map(|(urls, auth, rest)| {
        let (endpoint, insecure, skip_verify, ca, proxy) = urls;
        let (mode, client_id, secret, scopes, audience, token_url) = auth;
        let (header, pkce, device, poll, org) = rest;
        let mut p = Profile::new(endpoint, mode);
        p.insecure = insecure;
        p.insecure_skip_verify = skip_verify;
        p.ca_cert_file = ca.map(Into::into);
        p.http_proxy = proxy;
        p.client_id = client_id;
        p.client_secret = secret.map(Secret::new);
        p.scopes = scopes;
        p.audience = audience;
        p.token_url = token_url;
        p.authorization_header = header;
        p.pkce_timeout_secs = pkce;
        p.device_timeout_secs = device;
        p.device_poll_interval_secs = poll;
        p.org = org;
        p
    })
}

fn browser_env() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), 0..3)
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u32>(), text()).prop_map(|(version, client)| Request::Hello { version, client }),
        (profile(), any::<u64>(), any::<bool>(), browser_env()).prop_map(
            |(p, min_valid_secs, interactive, browser_env)| Request::GetToken {
                profile: Box::new(p),
                min_valid_secs,
                interactive,
                browser_env,
            }
        ),
        (
            profile(),
            prop::option::of(mode()),
            any::<bool>(),
            browser_env()
        )
            .prop_map(|(p, method, import, browser_env)| Request::Login {
                profile: Box::new(p),
                method,
                import,
                browser_env,
            }),
        prop::option::of(profile()).prop_map(|p| Request::Logout {
            target: p.map_or(LogoutTarget::All, |p| LogoutTarget::Session(Box::new(p))),
        }),
        Just(Request::Status),
        Just(Request::Shutdown),
        Just(Request::Unknown),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (text(), any::<bool>()).prop_map(|(url, opened)| Event::OpenUrl { url, opened }),
        (text(), text(), opt_text(), any::<u64>()).prop_map(|(uri, code, complete, at)| {
            Event::DeviceCode {
                verification_uri: uri,
                user_code: code,
                verification_uri_complete: complete,
                expires_at: at,
            }
        }),
        text().prop_map(|message| Event::Progress { message }),
        Just(Event::Unknown),
    ]
}

fn error_kind() -> impl Strategy<Value = ErrorKind> {
    prop::sample::select(ErrorKind::ALL.to_vec())
}

fn session_status() -> impl Strategy<Value = SessionStatus> {
    let who = (
        text(),
        mode(),
        opt_text(),
        prop::collection::vec(text(), 0..3),
    );
    let state = (
        opt_text(),
        prop::sample::select(SessionState::ALL.to_vec()),
        opt_text(),
        opt_text(),
        opt_text(),
    );
    let times = (
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
    );
    (who, state, times).prop_map(|(who, state, times)| SessionStatus {
        endpoint: who.0,
        mode: who.1,
        client_id: who.2,
        scopes: who.3,
        audience: state.0,
        state: state.1,
        subject: state.2,
        last_error: state.3,
        expires_at: times.0,
        next_refresh_at: times.1,
        last_used_at: times.2,
        storage: state.4,
    })
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (any::<u32>(), text(), any::<u32>()).prop_map(|(version, agent_version, pid)| {
            Response::Hello {
                version,
                agent_version,
                pid,
            }
        }),
        (text(), text(), any::<u64>(), text(), opt_text()).prop_map(|(t, ty, at, key, warning)| {
            Response::Token(TokenResponse {
                access_token: Secret::new(t),
                token_type: ty,
                expires_at: at,
                header_key: key,
                warning,
            })
        }),
        (text(), opt_text(), any::<u64>()).prop_map(|(endpoint, subject, expires_at)| {
            Response::LoggedIn {
                endpoint,
                subject,
                expires_at,
            }
        }),
        any::<u32>().prop_map(|sessions| Response::LoggedOut { sessions }),
        event().prop_map(|event| Response::Event { event }),
        (
            text(),
            any::<u32>(),
            any::<u64>(),
            prop::collection::vec(session_status(), 0..3),
            opt_text(),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(
                |(agent_version, pid, uptime_secs, sessions, audit_log, next_offset)| {
                    Response::Status(StatusReport {
                        agent_version,
                        pid,
                        uptime_secs,
                        sessions,
                        audit_log,
                        next_offset,
                        total_sessions: next_offset,
                    })
                }
            ),
        Just(Response::Ok),
        (error_kind(), text()).prop_map(|(kind, m)| Response::Error(WireError::new(kind, m))),
        Just(Response::Unknown),
    ]
}

/// The body of a frame, after checking its prefix announces exactly that body.
fn body_of(frame: &[u8]) -> &[u8] {
    let prefix: [u8; PREFIX_LEN] = frame[..PREFIX_LEN].try_into().expect("prefix");
    assert_eq!(body_len(prefix).ok(), Some(frame.len() - PREFIX_LEN));
    &frame[PREFIX_LEN..]
}

proptest! {
    // Bounded so the whole file runs in a few seconds on a loaded machine.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_request_round_trips(req in request()) {
        let frame = encode(&req).expect("small requests encode");
        let back: Request = decode(body_of(&frame)).expect("decode");
        prop_assert_eq!(back, req.clone());
        let streamed: Option<Request> = read_message(&mut &frame[..]).expect("read");
        prop_assert_eq!(streamed, Some(req));
    }

    #[test]
    fn every_response_round_trips(resp in response()) {
        let frame = encode(&resp).expect("small responses encode");
        let back: Response = decode(body_of(&frame)).expect("decode");
        prop_assert_eq!(back, resp.clone());
        let streamed: Option<Response> = read_message(&mut &frame[..]).expect("read");
        prop_assert_eq!(streamed, Some(resp));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn the_decoder_yields_the_stream_whatever_the_read_sizes(
        reqs in prop::collection::vec(request(), 1..4),
        chunks in prop::collection::vec(1usize..300, 1..8),
    ) {
        let mut stream = Vec::new();
        for req in &reqs {
            stream.extend_from_slice(&encode(req).expect("encode"));
        }
        let mut decoder = Decoder::<Request>::new();
        let (mut at, mut got, mut reads) = (0, Vec::new(), 0usize);
        loop {
            let buf = decoder.buf();
            let n = buf.len().min(chunks[reads % chunks.len()]).min(stream.len() - at);
            reads += 1;
            buf[..n].copy_from_slice(&stream[at..at + n]);
            at += n;
            match decoder.filled(n).expect("no framing error") {
                Step::Pending => {}
                Step::Message(m) => got.push(m),
                Step::Invalid(e) => prop_assert!(false, "{}", e),
                Step::Closed => break,
            }
        }
        prop_assert_eq!(got, reqs);
        prop_assert_eq!(at, stream.len());
    }
}

proptest! {
    // Cheap cases: many more of them.
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // A panic fails the property; every outcome that returns is acceptable.
        let _ = decode::<Request>(&bytes);
        let _ = decode::<Response>(&bytes);
        let mut r = &bytes[..];
        while let Ok(Some(_)) = read_message::<_, Request>(&mut r) {}
    }

    #[test]
    fn damaged_frames_decode_or_fail_cleanly(
        req in request(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        // Close to valid JSON reaches deeper into the decoder than random bytes do.
        let mut frame = encode(&req).expect("encode").to_vec();
        for (at, byte) in flips {
            let i = at.index(frame.len());
            frame[i] = byte;
        }
        let _ = decode::<Request>(&frame[PREFIX_LEN..]);
        let cut = cut.index(frame.len() + 1);
        let _ = read_message::<_, Request>(&mut &frame[..cut]);
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_any_body_is_read(
        len in (MAX_FRAME_LEN as u32 + 1)..=u32::MAX,
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut data = len.to_be_bytes().to_vec();
        data.extend_from_slice(&tail);
        let mut r = &data[..];
        let err = read_message::<_, Request>(&mut r).expect_err("oversized");
        prop_assert!(
            matches!(err, ProtoError::TooLarge { len: l, max } if l == len as usize && max == MAX_FRAME_LEN),
            "{}", err
        );
        prop_assert_eq!(data.len() - r.len(), PREFIX_LEN, "nothing past the prefix was read");
        prop_assert!(body_len(len.to_be_bytes()).is_err());
    }
}
