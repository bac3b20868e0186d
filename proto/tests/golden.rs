//! Golden wire fixtures: every request, response and event shape as JSON files under
//! `tests/fixtures/`, pinning the wire format of protocol version 1. Each must decode to the
//! Rust value built here and that value must encode to the same JSON, so a renamed field, tag
//! or variant fails here -- which a round trip through the same derive cannot catch. JSON is
//! compared as `serde_json::Value`: key order does not matter. Never regenerate a fixture to
//! make this pass: a changed fixture is a changed protocol (bump `PROTOCOL_VERSION`).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use flyte_auth_proto::frame::{decode, encode};
use flyte_auth_proto::{ErrorKind, Event, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[path = "golden/values.rs"]
mod values;

use values::{ready_session, requests, responses};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The fixtures checked so far, by file stem.
#[derive(Default)]
struct Checked(BTreeSet<&'static str>);

impl Checked {
    /// `name.json` decodes (as a frame body, the way both sides read it) to `expected`, and
    /// `expected` encodes to the same JSON.
    fn check<T>(&mut self, name: &'static str, expected: T)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let path = dir().join(format!("{name}.json"));
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fixture: serde_json::Value = serde_json::from_slice(&text).expect("fixture is JSON");
        let decoded: T = decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, expected, "{name}: decodes to another value");
        let frame = encode(&expected).expect("encodes");
        let encoded: serde_json::Value = serde_json::from_slice(&frame[4..]).expect("JSON");
        assert_eq!(encoded, fixture, "{name}: encodes to other JSON");
        assert!(self.0.insert(name), "{name} checked twice");
    }
}

/// Every variant of [`Request`], so that a new one fails to compile here until it is listed
/// in [`REQUESTS`] and given a fixture.
fn request_variant(r: &Request) -> &'static str {
    match r {
        Request::Hello { .. } => "hello",
        Request::GetToken { .. } => "get_token",
        Request::Login { .. } => "login",
        Request::Logout { .. } => "logout",
        Request::Status => "status",
        Request::StatusPage { .. } => "status_page",
        Request::Shutdown => "shutdown",
        Request::Unknown => "unknown",
    }
}
const REQUESTS: &[&str] = &[
    "hello",
    "get_token",
    "login",
    "logout",
    "status",
    "status_page",
    "shutdown",
    "unknown",
];

/// Every variant of [`Response`]; see [`request_variant`].
fn response_variant(r: &Response) -> &'static str {
    match r {
        Response::Hello { .. } => "hello",
        Response::Token(_) => "token",
        Response::LoggedIn { .. } => "logged_in",
        Response::LoggedOut { .. } => "logged_out",
        Response::Event { .. } => "event",
        Response::Status(_) => "status",
        Response::Ok => "ok",
        Response::Error(_) => "error",
        Response::Unknown => "unknown",
    }
}
const RESPONSES: &[&str] = &[
    "hello",
    "token",
    "logged_in",
    "logged_out",
    "event",
    "status",
    "ok",
    "error",
    "unknown",
];

/// Every variant of [`Event`]; see [`request_variant`].
fn event_variant(e: &Event) -> &'static str {
    match e {
        Event::OpenUrl { .. } => "open_url",
        Event::DeviceCode { .. } => "device_code",
        Event::Progress { .. } => "progress",
        Event::Unknown => "unknown",
    }
}
const EVENTS: &[&str] = &["open_url", "device_code", "progress", "unknown"];

/// Every [`ErrorKind`], in `error_kinds.json`'s order; see [`request_variant`].
fn error_kind_variant(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::BadRequest => "bad_request",
        ErrorKind::VersionMismatch => "version_mismatch",
        ErrorKind::Config => "config",
        ErrorKind::LoginRequired => "login_required",
        ErrorKind::IdpUnreachable => "idp_unreachable",
        ErrorKind::IdpRejected => "idp_rejected",
        ErrorKind::Busy => "busy",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::Internal => "internal",
        ErrorKind::Unknown => "unknown",
    }
}
const ERROR_KINDS: &[ErrorKind] = &ErrorKind::ALL;

#[test]
fn every_fixture_decodes_to_its_value_and_encodes_back_to_its_json() {
    let mut checked = Checked::default();
    let (mut reqs, mut resps, mut evs) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (name, req) in requests() {
        reqs.insert(request_variant(&req));
        checked.check(name, req);
    }
    for (name, resp) in responses() {
        resps.insert(response_variant(&resp));
        if let Response::Event { event } = &resp {
            evs.insert(event_variant(event));
        }
        checked.check(name, resp);
    }
    checked.check("session_status", ready_session());
    let kinds: Vec<&str> = ERROR_KINDS.iter().map(|k| error_kind_variant(*k)).collect();
    assert_eq!(
        kinds.iter().collect::<BTreeSet<_>>().len(),
        ERROR_KINDS.len()
    );
    checked.check("error_kinds", ERROR_KINDS.to_vec());

    assert_eq!(
        reqs,
        REQUESTS.iter().copied().collect(),
        "a request lacks a fixture"
    );
    assert_eq!(
        resps,
        RESPONSES.iter().copied().collect(),
        "a response lacks a fixture"
    );
    assert_eq!(
        evs,
        EVENTS.iter().copied().collect(),
        "an event lacks a fixture"
    );

    // Every file is checked: none is left behind by a rename.
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    let checked: BTreeSet<String> = checked.0.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, checked, "fixtures on disk vs fixtures checked");
}

#[test]
fn the_error_kinds_fixture_spells_each_kind_as_the_wire_does() {
    // `error_kind_variant` is the spelling by hand; the fixture must agree with it.
    let text = std::fs::read(dir().join("error_kinds.json")).expect("fixture");
    let names: Vec<String> = serde_json::from_slice(&text).expect("a list of names");
    let want: Vec<&str> = ERROR_KINDS.iter().map(|k| error_kind_variant(*k)).collect();
    assert_eq!(names, want);
}

#[test]
fn a_logout_of_nothing_is_refused_at_decode() {
    // What the agent used to reject at run time no longer decodes at all.
    let err = decode::<Request>(br#"{"type":"logout","profile":null,"all":false}"#).unwrap_err();
    assert!(
        err.to_string().contains("logout needs a profile or `all`"),
        "{err}"
    );
}
