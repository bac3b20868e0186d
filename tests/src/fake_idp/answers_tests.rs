//! Tests of the bad answers: each is what it says, and a huge body really streams.

use std::io::Read;

use serde_json::{Value, json};

use super::tests::{CC, get, post_token};
use super::{Answer, FakeIdp};

const SECRET: Option<(&str, &str)> = Some(("ci-client", "ci-secret"));

#[test]
fn field_and_huge_token_rewrite_the_normal_answer() {
    let idp = FakeIdp::start().expect("start");
    idp.set_answer("/token", Some(Answer::Field("expires_in", json!("3600"))));
    let (status, body) = post_token(&idp, &CC, SECRET);
    assert_eq!((status, &body["expires_in"]), (200, &json!("3600")));
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    idp.set_answer("/token", Some(Answer::Field("token_type", json!("MAC"))));
    assert_eq!(post_token(&idp, &CC, SECRET).1["token_type"], "MAC");
    idp.set_answer("/token", Some(Answer::HugeToken(70_000)));
    let token = post_token(&idp, &CC, SECRET).1["access_token"].clone();
    assert_eq!(token.as_str().map(str::len), Some(70_000));
    idp.set_answer("/token", None);
    assert_eq!(post_token(&idp, &CC, SECRET).1["token_type"], "Bearer");
    // Discovery documents can be rewritten too.
    let path = "/.well-known/oauth-authorization-server";
    idp.set_answer(path, Some(Answer::Field("token_endpoint", json!(7))));
    let doc: Value = get(&idp, path).json().expect("json");
    assert_eq!(doc["token_endpoint"], 7);
}

#[test]
fn raw_answers_and_a_streamed_huge_body() {
    let idp = FakeIdp::start().expect("start");
    idp.set_answer("/token", Some(Answer::Raw(500, "<h1>oops</h1>".into())));
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/token", idp.url()))
        .form(&CC)
        .send()
        .expect("send");
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.text().expect("text"), "<h1>oops</h1>");

    let len = 5 * 1024 * 1024 + 3;
    idp.set_answer("/token", Some(Answer::HugeBody(200, len)));
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/token", idp.url()))
        .form(&CC)
        .send()
        .expect("send");
    assert_eq!(resp.content_length(), None, "streamed, no Content-Length");
    let mut body = Vec::new();
    resp.take(u64::MAX).read_to_end(&mut body).expect("read");
    assert_eq!(body.len(), len);
    let v: Value = serde_json::from_slice(&body).expect("still JSON");
    assert_eq!(v["token_type"], "Bearer");
}
