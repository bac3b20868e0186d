//! Tests of the whole-server outages (refused, server error, stall) and the call log.

use std::time::Duration;

use reqwest::blocking::Client;

use super::tests::{client, get};
use super::{FakeIdp, Outage};

const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

#[test]
fn each_outage_hits_every_route_and_every_call_is_logged() {
    let idp = FakeIdp::start().expect("start");
    let kept_alive = client();
    let url = format!("{}{WELL_KNOWN}", idp.url());
    assert_eq!(kept_alive.get(&url).send().expect("GET").status(), 200);

    idp.set_outage(Some(Outage::Refused));
    // A new connection is reset, and so is a request on one kept alive from before.
    assert!(client().get(&url).send().is_err());
    assert!(kept_alive.get(&url).send().is_err());

    idp.set_outage(Some(Outage::ServerError));
    assert_eq!(get(&idp, WELL_KNOWN).status(), 500);
    let token = client()
        .post(format!("{}/token", idp.url()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .expect("token request");
    assert_eq!(token.status(), 500);
    assert_eq!(
        token.text().unwrap_or_default(),
        r#"{"error":"server_error"}"#
    );

    idp.set_outage(Some(Outage::Stall));
    let impatient = Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let err = impatient
        .get(&url)
        .send()
        .expect_err("a stalled IdP never answers");
    assert!(err.is_timeout(), "{err}");

    idp.set_outage(None);
    assert_eq!(get(&idp, WELL_KNOWN).status(), 200);
    // 1 before, 2 refused, 2 server errors, 1 stalled, 1 after.
    let calls = idp.call_times();
    assert_eq!(calls.len(), 7, "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
}
