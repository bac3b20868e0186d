//! Load benchmark: CLIENTS concurrent clients (threads, one connection each) × REQUESTS token
//! requests against one agent and the real node IdP, with a refresh in the middle: every
//! client waits halfway until the first half's tokens have expired. Prints p50/p99 and
//! checks that no request failed and that every distinct token is valid at the IdP (its
//! RS256 signature under the IdP's published keys, its issuer, unexpired when served).
//! Exits non-zero otherwise. Run with `bash scripts/bench.sh`; `tests/e2e/load.rs` runs a
//! small version so this cannot rot.
//!
//! Usage: `flyte-auth-load [CLIENTS=200] [REQUESTS=1000] [TOKEN_TTL_SECS=10]`

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flyte_auth::Client;
use flyte_auth::proto::{AuthMode, Event, Profile};
use flyte_auth_e2e::harness::TestEnv;
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};
use serde_json::Value;

/// What one client thread saw.
#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    tokens: HashSet<String>,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run() -> anyhow::Result<bool> {
    let (clients, requests, ttl) = (arg(1, 200), arg(2, 1000), arg(3, 10));
    let idp = NodeIdp::start(NodeIdpOptions {
        access_ttl: Some(ttl),
        device_interval: Some(1),
        ..Default::default()
    })?;
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_LOG", "info");
    let max = (clients + 16).to_string();
    env.start_agent(&["--store", "memory", "--max-connections", &max])?;

    // One user session, logged in once through the device flow.
    let mut profile = Profile::new(idp.url(), AuthMode::DeviceFlow);
    profile.insecure = true;
    let mut approve_err = None;
    Client::connect(&env.socket)?.login(&profile, None, false, &mut |e| {
        if let Event::DeviceCode { user_code, .. } = e {
            approve_err = idp.approve_device(user_code).err();
        }
    })?;
    if let Some(e) = approve_err {
        return Err(e.context("approving the device code"));
    }
    let refreshes_before = idp.token_requests("refresh_token");

    let half = requests / 2;
    let halfway = Arc::new(Barrier::new(clients as usize + 1));
    let resume = Arc::new(Barrier::new(clients as usize + 1));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (socket, profile) = (env.socket.clone(), profile.clone());
            let (halfway, resume) = (halfway.clone(), resume.clone());
            std::thread::spawn(move || {
                let mut out = Outcome::default();
                let mut conn = Client::connect(&socket);
                for i in 0..requests {
                    if i == half {
                        halfway.wait();
                        resume.wait();
                    }
                    let t = Instant::now();
                    let got = conn.as_mut().map_err(|e| e.to_string()).and_then(|c| {
                        c.get_token(&profile, Duration::from_secs(1), false, &mut |_| {})
                            .map_err(|e| e.to_string())
                    });
                    out.latencies.push(t.elapsed());
                    match got {
                        Ok(tok) if tok.expires_at > now() => {
                            out.tokens.insert(tok.access_token.expose().to_owned());
                        }
                        Ok(tok) => out
                            .errors
                            .push(format!("expired token served ({})", tok.expires_at)),
                        Err(e) => {
                            out.errors.push(e);
                            // A broken connection is replaced, as a real client would.
                            conn = Client::connect(&socket);
                        }
                    }
                }
                out
            })
        })
        .collect();

    // Halfway: wait until every token served so far has expired, so the second half needs
    // a refreshed one.
    halfway.wait();
    let first_half = started.elapsed();
    let latest_exp = Client::connect(&env.socket)?
        .get_token(&profile, Duration::from_secs(1), false, &mut |_| {})?
        .expires_at;
    while now() <= latest_exp {
        std::thread::sleep(Duration::from_millis(200));
    }
    let resumed = Instant::now();
    resume.wait();

    let mut all = Outcome::default();
    for t in threads {
        let o = t
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        all.latencies.extend(o.latencies);
        all.errors.extend(o.errors);
        all.tokens.extend(o.tokens);
    }
    let second_half = resumed.elapsed();
    let refreshes = idp.token_requests("refresh_token") - refreshes_before;

    let keys = jwks(&idp)?;
    let invalid: Vec<String> = all
        .tokens
        .iter()
        .filter_map(|t| verify(t, &keys, &idp.url()).err().map(|e| format!("{e:#}")))
        .collect();

    all.latencies.sort();
    let pct = |p: f64| {
        let v = &all.latencies;
        v.get(((v.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let total = all.latencies.len();
    println!(
        "load: {clients} clients x {requests} requests = {total} get_token calls \
         ({:.1}s first half, {:.1}s second half, refresh waited for in between)",
        first_half.as_secs_f64(),
        second_half.as_secs_f64()
    );
    let busy = (first_half + second_half).as_secs_f64().max(1e-9);
    println!(
        "throughput: {:.0} requests/s; latency (each client has one request in flight): \
         p50={:.3}ms p90={:.3}ms p99={:.3}ms max={:.3}ms",
        total as f64 / busy,
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    println!(
        "errors: {}; distinct tokens: {}, invalid at the IdP: {}; IdP refresh_token calls: {refreshes}",
        all.errors.len(),
        all.tokens.len(),
        invalid.len()
    );
    for e in all.errors.iter().chain(&invalid).take(10) {
        println!("  {e}");
    }
    let ok = all.errors.is_empty() && invalid.is_empty() && refreshes >= 1 && total > 0;
    if refreshes == 0 {
        println!("no refresh happened in the middle");
    }
    Ok(ok)
}

/// The IdP's signing keys, from the `jwks_uri` of its OpenID configuration.
fn jwks(idp: &NodeIdp) -> anyhow::Result<Vec<Value>> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let config: Value = http
        .get(format!("{}/.well-known/openid-configuration", idp.url()))
        .send()?
        .error_for_status()?
        .json()?;
    let uri = config["jwks_uri"].as_str().context("no jwks_uri")?;
    let set: Value = http.get(uri).send()?.error_for_status()?.json()?;
    set["keys"]
        .as_array()
        .cloned()
        .context("no keys in the JWKS")
}

/// Checks an access token as a resource server would: an RS256 signature by one of the
/// IdP's keys, the IdP as issuer, and an expiry in the future of when it was issued.
fn verify(token: &str, keys: &[Value], issuer: &str) -> anyhow::Result<()> {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).context("base64url");
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        bail!("not a JWT: {} parts", parts.len());
    };
    let head: Value = serde_json::from_slice(&b64(header)?)?;
    let claims: Value = serde_json::from_slice(&b64(payload)?)?;
    if head["alg"] != "RS256" {
        bail!("alg {}", head["alg"]);
    }
    let key = keys
        .iter()
        .find(|k| k["kid"] == head["kid"])
        .with_context(|| format!("no IdP key with kid {}", head["kid"]))?;
    let n = b64(key["n"].as_str().context("key without n")?)?;
    let e = b64(key["e"].as_str().context("key without e")?)?;
    let public = ring::signature::RsaPublicKeyComponents { n, e };
    let message = format!("{header}.{payload}");
    public
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message.as_bytes(),
            &b64(signature)?,
        )
        .map_err(|_| anyhow::anyhow!("bad signature"))?;
    if claims["iss"] != issuer {
        bail!("issuer {} (want {issuer})", claims["iss"]);
    }
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    match (iat, exp) {
        (Some(iat), Some(exp)) if exp > iat => Ok(()),
        _ => bail!("bad iat/exp: {iat:?}/{exp:?}"),
    }
}
