//! Token answers: lifetimes in every shape, and each refusal.

use base64::Engine;
use serde_json::{Value, json};

use super::*;

fn body(extra: Value) -> Vec<u8> {
    let mut v = json!({"access_token": "tok", "token_type": "Bearer"});
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    serde_json::to_vec(&v).unwrap()
}

fn life_of(extra: Value) -> u64 {
    let g = grant("idp", &body(extra), "authorization").unwrap();
    (g.expires_at_ms - g.issued_at_ms) / 1000
}

fn refusal(extra: Value) -> String {
    grant("idp", &body(extra), "authorization")
        .unwrap_err()
        .to_string()
}

fn jwt_expiring_in(secs: u64) -> String {
    let exp = now_ms() / 1000 + secs;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
    format!("h.{payload}.s")
}

#[test]
fn expires_in_as_integer_float_or_string() {
    assert_eq!(life_of(json!({"expires_in": 3600})), 3600);
    assert_eq!(life_of(json!({"expires_in": 3600.0})), 3600);
    assert_eq!(life_of(json!({"expires_in": 3599.9})), 3599);
    assert_eq!(life_of(json!({"expires_in": "3599"})), 3599);
    assert_eq!(life_of(json!({"expires_in": " 60.5 "})), 60);
    assert_eq!(life_of(json!({"expires_in": null})), 300);
}

#[test]
fn absurd_lifetimes_are_capped_and_never_overflow() {
    let day = MAX_LIFETIME.as_secs();
    for v in [
        json!(1u64 << 63),
        json!(u64::MAX),
        json!(1e300),
        json!("1e300"),
    ] {
        assert_eq!(life_of(json!({ "expires_in": v })), day, "{v}");
    }
    // Larger than u64: serde_json reads it as a float.
    let huge = br#"{"access_token":"t","token_type":"Bearer","expires_in":123456789012345678901234567890}"#;
    let g = grant("idp", huge, "authorization").unwrap();
    assert_eq!((g.expires_at_ms - g.issued_at_ms) / 1000, day);
}

#[test]
fn zero_or_negative_means_not_said() {
    for v in [json!(0), json!(-5), json!(-1e9), json!("0")] {
        assert_eq!(life_of(json!({ "expires_in": v })), 300, "{v}");
    }
    // With no usable expires_in, a JWT's exp decides, still capped.
    let token = jwt_expiring_in(1234);
    let g = grant(
        "idp",
        &body(json!({"access_token": token, "expires_in": 0})),
        "a",
    )
    .unwrap();
    let life = (g.expires_at_ms - g.issued_at_ms) / 1000;
    assert!((1232..=1234).contains(&life), "{life}");
    let far = jwt_expiring_in(10 * 365 * 24 * 3600);
    assert_eq!(
        life_of(json!({"access_token": far})),
        MAX_LIFETIME.as_secs()
    );
}

#[test]
fn bad_types_name_the_field() {
    let e = refusal(json!({"expires_in": true}));
    assert!(
        e.starts_with("idp's token response is not valid OAuth2 JSON: expires_in: invalid type: boolean `true`"),
        "{e}"
    );
    let e = refusal(json!({"expires_in": "soon, promise \u{1b}[2J"}));
    assert!(
        e.contains("expires_in: a string that is not a number of seconds"),
        "{e}"
    );
    assert!(!e.contains("soon"), "the IdP's value is not echoed: {e}");
    let e = refusal(json!({"access_token": 42}));
    assert!(
        e.contains("access_token: invalid type: integer `42`"),
        "{e}"
    );
    let e = grant("idp", b"<html>", "a").unwrap_err().to_string();
    assert!(e.contains("is not valid OAuth2 JSON"), "{e}");
}

#[test]
fn unusable_tokens_are_refused() {
    assert_eq!(
        refusal(json!({"access_token": ""})),
        "idp's token response has an empty access token"
    );
    assert!(refusal(json!({"access_token": " \t"})).contains("empty access token"));
    assert_eq!(
        refusal(json!({"token_type": "MAC"})),
        "idp's token response has token_type \"MAC\": flyte-auth can only use Bearer tokens"
    );
    assert!(refusal(json!({"token_type": "DPoP"})).contains("\"DPoP\""));
    assert!(refusal(json!({"access_token": "a\r\nX-Evil: 1"})).contains("HTTP header"));
    // Bearer in any case, or no token_type at all, is fine.
    grant("idp", &body(json!({"token_type": "bearer"})), "a").unwrap();
    grant("idp", br#"{"access_token":"t"}"#, "a").unwrap();
}

#[test]
fn a_token_that_cannot_reach_a_client_is_refused_now() {
    let big = "A".repeat(flyte_auth_proto::MAX_FRAME_LEN);
    let e = refusal(json!({ "access_token": big }));
    assert!(e.contains("too large to hand out (65536 bytes"), "{e}");
    // Just under the limit, less the room kept for an outage warning, still works.
    let fits = "A".repeat(flyte_auth_proto::MAX_FRAME_LEN - 3000);
    grant(
        "idp",
        &body(json!({ "access_token": fits })),
        "authorization",
    )
    .unwrap();
}

#[test]
fn refresh_and_id_tokens_are_kept() {
    let g = grant(
        "idp",
        &body(json!({"refresh_token": "rt", "id_token": "id.tok.en"})),
        "a",
    )
    .unwrap();
    assert_eq!(g.refresh_token.as_ref().map(Secret::expose), Some("rt"));
    assert_eq!(g.id_token.as_ref().map(Secret::expose), Some("id.tok.en"));
    let g = grant("idp", &body(json!({"refresh_token": ""})), "a").unwrap();
    assert!(g.refresh_token.is_none(), "an empty refresh token is none");
}
