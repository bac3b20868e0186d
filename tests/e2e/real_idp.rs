//! Against the real node oidc-provider: API-key tokens, caching, single-flight, refresh.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};

use crate::common::{claims, first_session, now, token, use_api_key};

const CC: &str = "client_credentials";

fn setup(opts: NodeIdpOptions) -> (NodeIdp, TestEnv) {
    let idp = NodeIdp::start(opts).expect("node IdP (run `npm ci` in tests/idp)");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    (idp, env)
}

#[test]
fn api_key_gets_a_token_and_the_second_call_is_served_from_cache() {
    let (idp, env) = setup(NodeIdpOptions::default());
    let t1 = token(&env, &[]);
    let c = claims(&t1);
    assert_eq!(c["sub"], "ci-client", "{c}");
    assert!(c["exp"].as_u64().unwrap_or_default() > now() + 3000, "{c}");
    assert_eq!(idp.token_requests(CC), 1);
    let t2 = token(&env, &[]);
    assert_eq!(t1, t2);
    assert_eq!(
        idp.token_requests(CC),
        1,
        "the IdP must see no second request"
    );
    let s = first_session(&env);
    assert_eq!(s["state"], "ready", "{s}");
    assert_eq!(s["subject"], "ci-client", "{s}");
}

#[test]
fn a_hundred_concurrent_cold_requests_make_one_idp_call() {
    let (idp, mut env) = setup(NodeIdpOptions::default());
    env.start_agent(&[]).expect("agent");
    let children: Vec<_> = (0..100)
        .map(|_| {
            env.command("flyte-auth")
                .arg("token")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut tokens = HashSet::new();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        tokens.insert(stdout(&out));
    }
    assert_eq!(tokens.len(), 1, "every client gets the same token");
    assert_eq!(
        idp.token_requests(CC),
        1,
        "single-flight: exactly one IdP token request"
    );
}

#[test]
fn a_short_lived_token_is_refreshed_before_it_expires() {
    let (idp, env) = setup(NodeIdpOptions {
        access_ttl: Some(10),
        ..Default::default()
    });
    let first = token(&env, &["--min-valid", "1s"]);
    let first_exp = claims(&first)["exp"].as_u64().unwrap_or_default();
    let next = first_session(&env)["next_refresh_at"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(
        next < first_exp,
        "refresh {next} must be scheduled before expiry {first_exp}"
    );
    // Clients keep asking throughout; every answer must be valid when given.
    let end = Instant::now() + Duration::from_secs(13);
    let mut seen = HashSet::new();
    let mut changed_at = None;
    while Instant::now() < end {
        let t = token(&env, &["--min-valid", "1s"]);
        assert!(
            claims(&t)["exp"].as_u64().unwrap_or_default() > now(),
            "expired token served"
        );
        if t != first && changed_at.is_none() {
            changed_at = Some(now());
        }
        seen.insert(t);
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(seen.len() >= 2, "the token was never refreshed");
    let changed_at = changed_at.unwrap_or(u64::MAX);
    assert!(
        changed_at < first_exp,
        "new token at {changed_at}, first expired at {first_exp}"
    );
    // The refresh happened in the background, before the first token ran out.
    assert!(wait_until(Duration::from_secs(1), || idp
        .token_requests(CC)
        >= 2));
    let log = env.agent_log_text();
    assert!(!log.contains(&first), "tokens must never be logged");
}
