//! `status` with many sessions: paged by the agent, gathered by the client.

use std::time::Duration;

use flyte_auth::proto::{AuthMode, Profile, Secret};
use flyte_auth_e2e::harness::stderr;

use super::setup;
use crate::common::status;

#[test]
fn status_shows_a_thousand_sessions() {
    const N: usize = 1000;
    let (idp, env, _) = setup();
    let mut client = flyte_auth::Client::connect(&env.socket).expect("connect");
    for i in 0..N {
        // Distinct scopes make distinct sessions of one endpoint (discovered once).
        let mut p = Profile::new(idp.url(), AuthMode::ClientSecret);
        p.insecure = true;
        p.client_id = Some("ci-client".into());
        p.client_secret = Some(Secret::new("ci-secret"));
        p.scopes = Some(vec![format!("scope-{i:04}")]);
        client
            .get_token(&p, Duration::from_secs(60), false, &mut |_| {})
            .expect("token");
    }
    let report = status(&env);
    let sessions = report["sessions"].as_array().cloned().unwrap_or_default();
    eprintln!("figure: status listed {} of {N} sessions", sessions.len());
    assert_eq!(sessions.len(), N);
    let mut scopes: Vec<String> = sessions
        .iter()
        .map(|s| s["scopes"][0].as_str().unwrap_or_default().to_owned())
        .collect();
    scopes.sort();
    scopes.dedup();
    assert_eq!(scopes.len(), N, "each session exactly once");
    assert!(sessions.iter().all(|s| s["state"] == "ready"));
    let out = env.flyte_auth(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("  state:         ready").count(), N);
}
