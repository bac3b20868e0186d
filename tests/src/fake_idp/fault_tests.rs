//! Tests of the injected faults (Status, InvalidClient, Delay, Refuse, InvalidGrant) and of
//! refresh-token rotation, which InvalidGrant mimics.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::json;

use super::tests::{CC, client, get, post_token};
use super::{FakeIdp, Fault};

#[test]
fn status_and_invalid_client_faults() {
    let idp = FakeIdp::start().expect("start");
    idp.set_fault(Fault::Status(500));
    assert_eq!(
        post_token(&idp, &CC, Some(("ci-client", "ci-secret"))),
        (500, json!({"error": "server_error"}))
    );
    idp.set_fault(Fault::Status(503));
    assert_eq!(
        post_token(&idp, &CC, Some(("ci-client", "ci-secret"))).0,
        503
    );
    idp.set_fault(Fault::InvalidClient);
    let (status, body) = post_token(&idp, &CC, Some(("ci-client", "ci-secret")));
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Client authentication failed"})
    );
    idp.set_fault(Fault::None);
    assert_eq!(
        post_token(&idp, &CC, Some(("ci-client", "ci-secret"))).0,
        200
    );
    assert_eq!(idp.token_requests(), 4);
}

#[test]
fn delay_makes_a_short_timeout_client_time_out_and_drop_does_not_hang() {
    let idp = FakeIdp::start().expect("start");
    idp.set_fault(Fault::Delay(Duration::from_secs(5)));
    let impatient = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = impatient
        .post(format!("{}/token", idp.url()))
        .basic_auth("ci-client", Some("ci-secret"))
        .form(&CC)
        .send()
        .expect_err("should time out");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(idp.token_requests(), 1);
    // Discovery is not delayed while the token request is still sleeping.
    assert_eq!(get(&idp, "/config/v1/flyte_client").status(), 200);
    let before = Instant::now();
    drop(idp);
    assert!(before.elapsed() < Duration::from_secs(2));
}

#[test]
fn delay_then_answers_normally() {
    let idp = FakeIdp::start().expect("start");
    idp.set_fault(Fault::Delay(Duration::from_millis(300)));
    let before = Instant::now();
    assert_eq!(
        post_token(&idp, &CC, Some(("ci-client", "ci-secret"))).0,
        200
    );
    assert!(before.elapsed() >= Duration::from_millis(300));
}

#[test]
fn refuse_closes_new_and_kept_alive_connections() {
    let idp = FakeIdp::start().expect("start");
    let c = client();
    let well_known = format!("{}/.well-known/oauth-authorization-server", idp.url());
    assert_eq!(c.get(&well_known).send().expect("GET").status(), 200);
    idp.set_fault(Fault::Refuse);
    // `c` reuses its kept-alive connection; a fresh client opens a new one.
    assert!(c.get(&well_known).send().is_err());
    assert!(client().get(&well_known).send().is_err());
    assert!(
        client()
            .post(format!("{}/token", idp.url()))
            .form(&CC)
            .send()
            .is_err()
    );
    assert_eq!(idp.token_requests(), 0);
    idp.set_fault(Fault::None);
    assert_eq!(client().get(&well_known).send().expect("GET").status(), 200);
}

#[test]
fn refresh_rotates_and_invalid_grant_fault_applies() {
    let idp = FakeIdp::start().expect("start");
    let (status, first) = post_token(
        &idp,
        &[("grant_type", "authorization_code"), ("code", "any")],
        None,
    );
    assert_eq!(status, 200, "{first}");
    let rt1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, second) = post_token(
        &idp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        None,
    );
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    assert_ne!(rt1, rt2);
    assert_ne!(first["access_token"], second["access_token"]);
    let (status, body) = post_token(
        &idp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        None,
    );
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant"))
    );
    idp.set_fault(Fault::InvalidGrant);
    let (status, body) = post_token(
        &idp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        None,
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "grant revoked"})
    );
    idp.set_fault(Fault::None);
    let (status, third) = post_token(
        &idp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        None,
    );
    assert_eq!(status, 200);
    // Revocation forgets the refresh token.
    let rt3 = third["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let resp = client()
        .post(format!("{}/revoke", idp.url()))
        .form(&[("token", &rt3)])
        .send()
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    let (status, _) = post_token(
        &idp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt3)],
        None,
    );
    assert_eq!(status, 400);
    assert_eq!(
        post_token(&idp, &[("grant_type", "password")], None).1["error"],
        "unsupported_grant_type"
    );
}
