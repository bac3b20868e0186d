//! Tests of the device authorization endpoint and device-code polling.

use std::time::Duration;

use serde_json::{Value, json};

use super::tests::{claims, client, post_token};
use super::{FakeIdp, Fault};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn start_device(idp: &FakeIdp) -> Value {
    let resp = client()
        .post(format!("{}/device", idp.url()))
        .form(&[
            ("client_id", "flytectl"),
            ("scope", "all offline"),
            ("audience", "fake-aud"),
        ])
        .send()
        .expect("device authorization");
    assert_eq!(resp.status(), 200);
    resp.json().expect("JSON")
}

fn poll(idp: &FakeIdp, device: &Value) -> (u16, Value) {
    let code = device["device_code"].as_str().expect("device_code");
    post_token(
        idp,
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "flytectl"),
            ("device_code", code),
        ],
        None,
    )
}

fn error_of(reply: (u16, Value)) -> (u16, String) {
    (
        reply.0,
        reply.1["error"].as_str().unwrap_or("<none>").to_owned(),
    )
}

#[test]
fn device_flow_pending_then_approved() {
    let idp = FakeIdp::start().expect("start");
    let url = idp.url();
    let d = start_device(&idp);
    assert_eq!(d["user_code"], "ABCD-EFGH");
    assert_eq!(d["verification_uri"], json!(format!("{url}/activate")));
    assert_eq!(
        d["verification_uri_complete"],
        json!(format!("{url}/activate?user_code=ABCD-EFGH"))
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 1);
    let form = idp.last_device_form().expect("device form");
    assert!(form.contains(&("client_id".into(), "flytectl".into())));
    assert!(form.contains(&("audience".into(), "fake-aud".into())));

    assert_eq!(
        error_of(poll(&idp, &d)),
        (400, "authorization_pending".into())
    );
    assert_eq!(
        error_of(poll(&idp, &d)),
        (400, "authorization_pending".into())
    );
    idp.approve_device();
    let (status, tokens) = poll(&idp, &d);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(claims(&tokens["access_token"])["sub"], "device-user");
    // The device code was spent.
    assert_eq!(error_of(poll(&idp, &d)), (400, "invalid_grant".into()));

    let times = idp.device_poll_times();
    assert_eq!(times.len(), 4);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(idp.token_requests(), 4);
    // The issued refresh token works.
    let rt = tokens["refresh_token"].as_str().expect("refresh token");
    assert_eq!(
        post_token(
            &idp,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            None
        )
        .0,
        200
    );
}

#[test]
fn denied_device_gets_access_denied() {
    let idp = FakeIdp::start().expect("start");
    let d = start_device(&idp);
    assert_eq!(
        error_of(poll(&idp, &d)),
        (400, "authorization_pending".into())
    );
    idp.deny_device();
    assert_eq!(error_of(poll(&idp, &d)), (400, "access_denied".into()));
}

#[test]
fn expired_device_gets_expired_token() {
    let idp = FakeIdp::start().expect("start");
    idp.set_device_expires_in(1);
    let d = start_device(&idp);
    assert_eq!(d["expires_in"], 1);
    assert_eq!(
        error_of(poll(&idp, &d)),
        (400, "authorization_pending".into())
    );
    std::thread::sleep(Duration::from_millis(1100));
    idp.approve_device();
    assert_eq!(error_of(poll(&idp, &d)), (400, "expired_token".into()));
}

#[test]
fn slow_down_then_normal_handling() {
    let idp = FakeIdp::start().expect("start");
    let d = start_device(&idp);
    idp.set_fault(Fault::SlowDown(2));
    assert_eq!(error_of(poll(&idp, &d)), (400, "slow_down".into()));
    assert_eq!(error_of(poll(&idp, &d)), (400, "slow_down".into()));
    assert_eq!(
        error_of(poll(&idp, &d)),
        (400, "authorization_pending".into())
    );
    idp.approve_device();
    assert_eq!(poll(&idp, &d).0, 200);
    // SlowDown leaves other grants alone.
    assert_eq!(
        post_token(
            &idp,
            &[("grant_type", "client_credentials")],
            Some(("ci-client", "ci-secret"))
        )
        .0,
        200
    );
    assert_eq!(idp.device_poll_times().len(), 4);
}

#[test]
fn interval_can_be_omitted_or_set() {
    let idp = FakeIdp::start().expect("start");
    idp.set_device_interval(None);
    let d = start_device(&idp);
    assert!(d.get("interval").is_none(), "{d}");
    assert!(d.get("device_code").is_some());
    idp.set_device_interval(Some(7));
    assert_eq!(start_device(&idp)["interval"], 7);
}

#[test]
fn decision_before_the_device_code_applies_to_the_next_one() {
    let idp = FakeIdp::start().expect("start");
    idp.approve_device();
    let d = start_device(&idp);
    assert_eq!(poll(&idp, &d).0, 200);
    // A new device code replaces the old one; the old code is no longer known.
    let old = start_device(&idp);
    let new = start_device(&idp);
    assert_eq!(error_of(poll(&idp, &old)), (400, "invalid_grant".into()));
    assert_eq!(
        error_of(poll(&idp, &new)),
        (400, "authorization_pending".into())
    );
}
