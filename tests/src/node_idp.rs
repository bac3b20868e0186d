//! Starts the real node oidc-provider test IdP (tests/idp/server.mjs) for one test.
//!
//! The IdP serves the OAuth endpoints, Flyte's discovery routes (HTTP and Connect) and
//! test-only control routes under `/test/` from one `127.0.0.1` port. It exits when the
//! [`NodeIdp`] is dropped (killed, and its stdin closes).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

/// How long the IdP may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The confidential client allowed to introspect every token.
const INTROSPECTION_CLIENT: (&str, &str) = ("ci-client", "ci-secret");
/// Redirects followed by [`NodeIdp::authorize_headless`] before it gives up.
const MAX_REDIRECTS: usize = 10;

/// Command-line options of the IdP; `None` keeps its default.
#[derive(Debug, Clone, Default)]
pub struct NodeIdpOptions {
    /// Lifetime of access tokens, all grants (`--access-ttl`, default 3600 s).
    pub access_ttl: Option<u64>,
    /// Lifetime of refresh tokens (`--refresh-ttl`, default 86400 s).
    pub refresh_ttl: Option<u64>,
    /// Lifetime of device codes (`--device-ttl`, default 600 s).
    pub device_ttl: Option<u64>,
    /// `interval` to put in device authorization responses (`--device-interval`); by
    /// default oidc-provider sends none and clients must poll every 5 s.
    pub device_interval: Option<u64>,
    /// Make the Connect `AuthMetadataService` routes answer 404 (`--no-connect`).
    pub no_connect: bool,
    /// `redirect_uri` advertised by both client-config routes (`--redirect-uri`).
    pub redirect_uri: Option<String>,
}

impl NodeIdpOptions {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--port".to_owned(), "0".to_owned()];
        let numbers = [
            ("--access-ttl", self.access_ttl),
            ("--refresh-ttl", self.refresh_ttl),
            ("--device-ttl", self.device_ttl),
            ("--device-interval", self.device_interval),
        ];
        for (flag, value) in numbers {
            if let Some(v) = value {
                args.extend([flag.to_owned(), v.to_string()]);
            }
        }
        if self.no_connect {
            args.push("--no-connect".to_owned());
        }
        if let Some(uri) = &self.redirect_uri {
            args.extend(["--redirect-uri".to_owned(), uri.clone()]);
        }
        args
    }
}

/// A running test IdP; killed on drop.
#[derive(Debug)]
pub struct NodeIdp {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
    http: Client,
}

/// Directory of the IdP's node project.
pub fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("idp")
}

impl NodeIdp {
    /// Starts `node server.mjs --port 0 ...` and waits for its ready line.
    ///
    /// The node binary is `$NODE` if set, else `node` from `PATH`. The IdP's stderr goes
    /// to a temporary file, see [`NodeIdp::log`].
    pub fn start(opts: NodeIdpOptions) -> anyhow::Result<NodeIdp> {
        let dir = idp_dir();
        if !dir.join("node_modules").join("oidc-provider").is_dir() {
            bail!(
                "{} has no node_modules: run `npm ci` in tests/idp",
                dir.display()
            );
        }
        let log = tempfile::Builder::new()
            .prefix("node-idp")
            .suffix(".log")
            .tempfile()?;
        let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
        let mut child = Command::new(&node)
            .arg("server.mjs")
            .args(opts.args())
            .current_dir(&dir)
            // Kept open by `child`; when we go away the IdP sees EOF and exits.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.reopen()?))
            .spawn()
            .with_context(|| format!("spawn {} server.mjs", node.to_string_lossy()))?;
        let stdout = child.stdout.take().context("IdP stdout")?;
        let port = match read_ready_line(stdout) {
            Ok(port) => port,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let text = std::fs::read_to_string(log.path()).unwrap_or_default();
                return Err(e.context(format!("node IdP did not start; its stderr:\n{text}")));
            }
        };
        let http = Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(NodeIdp {
            child,
            port,
            log,
            http,
        })
    }

    /// The issuer and base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the IdP listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the IdP wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The request counters of `GET /test/stats`.
    pub fn stats(&self) -> anyhow::Result<Value> {
        let resp = self.http.get(self.endpoint("/test/stats")).send()?;
        Ok(check(resp)?.json()?)
    }

    /// Token requests seen so far with `grant_type=grant` (failed ones included); 0 if
    /// the stats cannot be read.
    pub fn token_requests(&self, grant: &str) -> u64 {
        self.stats()
            .ok()
            .and_then(|s| s["token_requests"][grant].as_u64())
            .unwrap_or(0)
    }

    /// Zeroes the request counters.
    pub fn reset_stats(&self) {
        let resp = self.http.post(self.endpoint("/test/reset")).send();
        resp.map_err(anyhow::Error::from)
            .and_then(check)
            .expect("reset node IdP stats");
    }

    /// Approves a pending device code as account `alice`.
    pub fn approve_device(&self, user_code: &str) -> anyhow::Result<()> {
        self.post_test("/test/device/approve", json!({ "user_code": user_code }))
    }

    /// Denies a pending device code; the polling client then gets `access_denied`.
    pub fn deny_device(&self, user_code: &str) -> anyhow::Result<()> {
        self.post_test("/test/device/deny", json!({ "user_code": user_code }))
    }

    /// Revokes every grant of `account` (and their tokens): the next refresh fails with
    /// `invalid_grant`.
    pub fn revoke_grants(&self, account: &str) -> anyhow::Result<()> {
        self.post_test("/test/revoke-grants", json!({ "account": account }))
    }

    /// Whether oidc-provider's introspection endpoint reports `token` active, asked as
    /// `ci-client`. Works for refresh tokens (opaque); oidc-provider refuses to
    /// introspect JWT access tokens.
    pub fn is_token_active(&self, token: &str) -> anyhow::Result<bool> {
        let resp = self
            .http
            .post(self.endpoint("/token/introspection"))
            .basic_auth(INTROSPECTION_CLIENT.0, Some(INTROSPECTION_CLIENT.1))
            .form(&[("token", token)])
            .send()?;
        let body: Value = check(resp)?.json()?;
        body["active"]
            .as_bool()
            .with_context(|| format!("introspection answer without `active`: {body}"))
    }

    /// Plays the browser for an authorization URL: follows redirects (keeping cookies)
    /// through the IdP's headless login until one leaves the IdP, and returns that
    /// location (the client's loopback callback with `code` and `state`, or `error`)
    /// without requesting it.
    pub fn authorize_headless(&self, authorize_url: &str) -> anyhow::Result<url::Url> {
        let mut cookies = CookieJar::default();
        let mut current = url::Url::parse(authorize_url)?;
        for _ in 0..MAX_REDIRECTS {
            let mut req = self.http.get(current.clone());
            if let Some(header) = cookies.header() {
                req = req.header(reqwest::header::COOKIE, header);
            }
            let resp = req.send()?;
            cookies.store(&resp);
            let status = resp.status();
            let Some(location) = resp.headers().get(reqwest::header::LOCATION) else {
                let body = resp.text().unwrap_or_default();
                bail!("{current} answered {status} without a redirect: {body}");
            };
            let next = current.join(location.to_str()?)?;
            if next.origin() != current.origin() {
                return Ok(next);
            }
            current = next;
        }
        bail!("more than {MAX_REDIRECTS} redirects from {authorize_url}")
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    fn post_test(&self, path: &str, body: Value) -> anyhow::Result<()> {
        let resp = self.http.post(self.endpoint(path)).json(&body).send()?;
        check(resp)?;
        Ok(())
    }
}

impl Drop for NodeIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `{"port":N,...}` from the IdP's stdout within [`START_TIMEOUT`], then keeps
/// draining stdout on the same thread so the IdP never blocks on a full pipe.
fn read_ready_line(stdout: impl Read + Send + 'static) -> anyhow::Result<u16> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(first);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(START_TIMEOUT)
        .context("timed out waiting for the IdP's ready line")??;
    let ready: Value = serde_json::from_str(line.trim())
        .with_context(|| format!("IdP ready line is not JSON: {line:?}"))?;
    let port = ready["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .with_context(|| format!("IdP ready line without a port: {line:?}"))?;
    Ok(port)
}

/// Turns a non-2xx answer into an error that carries the body.
fn check(resp: Response) -> anyhow::Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let url = resp.url().clone();
    let body = resp.text().unwrap_or_default();
    bail!("{url} answered {status}: {body}")
}

/// Just enough of a cookie jar for one host: the latest value per name, paths ignored.
#[derive(Debug, Default)]
struct CookieJar(Vec<(String, String)>);

impl CookieJar {
    fn store(&mut self, resp: &Response) {
        for header in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            self.0.retain(|(n, _)| n != name);
            // oidc-provider clears a cookie by setting it empty (and expired).
            if !value.is_empty() {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        Some(pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    const SCOPE: &str = "openid offline_access all";
    // RFC 7636 Appendix B: a verifier and its S256 challenge.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn start(opts: NodeIdpOptions) -> NodeIdp {
        NodeIdp::start(opts).expect("start node IdP (run `npm ci` in tests/idp)")
    }

    fn http() -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// POSTs a form, optionally with basic auth; returns status and JSON body.
    fn post_form(
        idp: &NodeIdp,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = http().post(idp.endpoint(path)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap())
    }

    fn connect(idp: &NodeIdp, method: &str) -> (u16, Value) {
        let resp = http()
            .post(idp.endpoint(&format!("/flyteidl2.auth.AuthMetadataService/{method}")))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }

    fn get_json(idp: &NodeIdp, path: &str) -> Value {
        let resp = http().get(idp.endpoint(path)).send().unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().unwrap()
    }

    fn claims(jwt: &str) -> Value {
        let payload = jwt.split('.').nth(1).expect("a JWT");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn assert_jwt_for(token: &Value, sub: &str, ttl: u64) {
        let at = token["access_token"].as_str().expect("access_token");
        let c = claims(at);
        assert_eq!(c["sub"], sub, "{c}");
        let (iat, exp) = (c["iat"].as_u64().unwrap(), c["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, ttl, "{c}");
        assert_eq!(token["expires_in"], ttl, "{token}");
    }

    fn refresh(idp: &NodeIdp, refresh_token: &str) -> (u16, Value) {
        post_form(
            idp,
            "/token",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "flytectl"),
                ("refresh_token", refresh_token),
                ("scope", SCOPE),
                ("audience", ""),
            ],
        )
    }

    /// Device authorization as the Flyte SDKs send it; returns (device_code, user_code).
    fn device_authorization(idp: &NodeIdp) -> (String, String) {
        let (status, body) = post_form(
            idp,
            "/device/auth",
            None,
            &[
                ("client_id", "flytectl"),
                ("scope", SCOPE),
                ("audience", ""),
            ],
        );
        assert_eq!(status, 200, "{body}");
        let field = |k: &str| body[k].as_str().unwrap().to_owned();
        (field("device_code"), field("user_code"))
    }

    fn poll(idp: &NodeIdp, device_code: &str) -> (u16, Value) {
        post_form(
            idp,
            "/token",
            None,
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", "flytectl"),
                ("device_code", device_code),
                ("scope", SCOPE),
            ],
        )
    }

    /// A full device flow for `alice`: the token response.
    fn device_login(idp: &NodeIdp) -> Value {
        let (device_code, user_code) = device_authorization(idp);
        let (status, pending) = poll(idp, &device_code);
        assert_eq!(
            (status, &pending["error"]),
            (400, &json!("authorization_pending"))
        );
        idp.approve_device(&user_code).unwrap();
        let (status, tokens) = poll(idp, &device_code);
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    #[test]
    fn discovery_routes_answer_in_both_casings() {
        let idp = start(NodeIdpOptions::default());
        let url = idp.url();
        let meta = get_json(&idp, "/.well-known/oauth-authorization-server");
        assert_eq!(meta["issuer"], url);
        assert_eq!(meta["token_endpoint"], format!("{url}/token"));
        assert_eq!(
            meta["device_authorization_endpoint"],
            format!("{url}/device/auth")
        );
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        let client = get_json(&idp, "/config/v1/flyte_client");
        assert_eq!(client["client_id"], "flytectl");
        assert_eq!(client["redirect_uri"], "http://localhost:53593/callback");
        assert_eq!(client["authorization_metadata_key"], "flyte-authorization");
        assert_eq!(client["scopes"], json!(["openid", "offline_access", "all"]));
        assert_eq!(client["audience"], "");

        let (status, meta) = connect(&idp, "GetOAuth2Metadata");
        assert_eq!(status, 200);
        assert_eq!(meta["tokenEndpoint"], format!("{url}/token"));
        assert_eq!(
            meta["deviceAuthorizationEndpoint"],
            format!("{url}/device/auth")
        );
        assert_eq!(meta["authorizationEndpoint"], format!("{url}/auth"));
        let (status, client) = connect(&idp, "GetPublicClientConfig");
        assert_eq!(status, 200);
        assert_eq!(client["clientId"], "flytectl");
        assert_eq!(client["redirectUri"], "http://localhost:53593/callback");
        assert_eq!(client["authorizationMetadataKey"], "flyte-authorization");
        assert_eq!(idp.stats().unwrap()["discovery_requests"], 4);
    }

    #[test]
    fn no_connect_hides_the_connect_routes_and_redirect_uri_is_configurable() {
        let idp = start(NodeIdpOptions {
            no_connect: true,
            redirect_uri: Some("http://localhost:40123/callback".into()),
            ..Default::default()
        });
        assert_eq!(connect(&idp, "GetOAuth2Metadata").0, 404);
        assert_eq!(connect(&idp, "GetPublicClientConfig").0, 404);
        let client = get_json(&idp, "/config/v1/flyte_client");
        assert_eq!(client["redirect_uri"], "http://localhost:40123/callback");
    }

    #[test]
    fn client_credentials_give_a_jwt_and_are_counted() {
        let idp = start(NodeIdpOptions {
            access_ttl: Some(120),
            ..Default::default()
        });
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
            ("audience", ""),
        ];
        let (status, token) = post_form(&idp, "/token", Some(("ci-client", "ci-secret")), &form);
        assert_eq!(status, 200, "{token}");
        assert_jwt_for(&token, "ci-client", 120);
        assert!(token.get("refresh_token").is_none(), "{token}");
        let (status, token) =
            post_form(&idp, "/token", Some(("ci-client-2", "ci-secret-2")), &form);
        assert_eq!(status, 200, "{token}");
        assert_jwt_for(&token, "ci-client-2", 120);

        let (status, err) = post_form(&idp, "/token", Some(("ci-client", "wrong")), &form);
        assert_eq!((status, &err["error"]), (401, &json!("invalid_client")));
        assert_eq!(idp.token_requests("client_credentials"), 3);
        idp.reset_stats();
        assert_eq!(idp.token_requests("client_credentials"), 0);
    }

    #[test]
    fn device_flow_approve_then_refresh_rotates() {
        let idp = start(NodeIdpOptions {
            device_interval: Some(1),
            ..Default::default()
        });
        let (status, body) = post_form(
            &idp,
            "/device/auth",
            None,
            &[("client_id", "flytectl"), ("scope", SCOPE)],
        );
        assert_eq!((status, &body["interval"]), (200, &json!(1)), "{body}");

        let tokens = device_login(&idp);
        assert_jwt_for(&tokens, "alice", 3600);
        let rt1 = tokens["refresh_token"].as_str().expect("refresh_token");
        assert!(idp.is_token_active(rt1).unwrap());

        let (status, refreshed) = refresh(&idp, rt1);
        assert_eq!(status, 200, "{refreshed}");
        assert_jwt_for(&refreshed, "alice", 3600);
        let rt2 = refreshed["refresh_token"].as_str().unwrap();
        assert_ne!(rt1, rt2, "refresh tokens rotate");
        assert!(!idp.is_token_active(rt1).unwrap());

        // Reusing the rotated token fails and revokes the whole grant.
        let (status, err) = refresh(&idp, rt1);
        assert_eq!((status, &err["error"]), (400, &json!("invalid_grant")));
        assert!(!idp.is_token_active(rt2).unwrap());
        let stats = idp.stats().unwrap();
        assert_eq!(stats["token_requests"][DEVICE_GRANT], 2, "{stats}");
        assert_eq!(stats["token_requests"]["refresh_token"], 2, "{stats}");
        assert_eq!(stats["device_authorizations"], 2, "{stats}");
    }

    #[test]
    fn device_flow_deny_gives_access_denied() {
        let idp = start(NodeIdpOptions::default());
        let (device_code, user_code) = device_authorization(&idp);
        idp.deny_device(&user_code).unwrap();
        let (status, err) = poll(&idp, &device_code);
        assert_eq!((status, &err["error"]), (400, &json!("access_denied")));
        let unknown = idp.approve_device("BCDF-GHJK").unwrap_err();
        assert!(unknown.to_string().contains("404"), "{unknown:#}");
    }

    #[test]
    fn device_codes_expire_after_device_ttl() {
        let idp = start(NodeIdpOptions {
            device_ttl: Some(1),
            ..Default::default()
        });
        let (device_code, user_code) = device_authorization(&idp);
        std::thread::sleep(Duration::from_millis(2100));
        let (status, err) = poll(&idp, &device_code);
        assert_eq!((status, &err["error"]), (400, &json!("expired_token")));
        assert!(idp.approve_device(&user_code).is_err());
    }

    #[test]
    fn revoked_grants_make_the_next_refresh_fail() {
        let idp = start(NodeIdpOptions::default());
        let tokens = device_login(&idp);
        let rt = tokens["refresh_token"].as_str().unwrap();
        idp.revoke_grants("alice").unwrap();
        assert!(!idp.is_token_active(rt).unwrap());
        let (status, err) = refresh(&idp, rt);
        assert_eq!((status, &err["error"]), (400, &json!("invalid_grant")));
    }

    #[test]
    fn pkce_works_on_any_loopback_port() {
        let idp = start(NodeIdpOptions::default());
        for redirect in [
            "http://127.0.0.1:45678/callback",
            "http://localhost:45679/callback",
        ] {
            let mut authorize = url::Url::parse(&idp.endpoint("/auth")).unwrap();
            authorize
                .query_pairs_mut()
                .append_pair("client_id", "flytectl")
                .append_pair("response_type", "code")
                .append_pair("scope", SCOPE)
                .append_pair("redirect_uri", redirect)
                .append_pair("state", "st4te")
                .append_pair("code_challenge", CHALLENGE)
                .append_pair("code_challenge_method", "S256");
            let callback = idp.authorize_headless(authorize.as_str()).unwrap();
            assert!(callback.as_str().starts_with(redirect), "{callback}");
            let query: std::collections::HashMap<_, _> = callback.query_pairs().collect();
            assert_eq!(query.get("state").map(|s| s.as_ref()), Some("st4te"));
            let code = query.get("code").expect("code in callback").to_string();

            let (status, tokens) = post_form(
                &idp,
                "/token",
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "flytectl"),
                    ("code", &code),
                    ("code_verifier", VERIFIER),
                    ("redirect_uri", redirect),
                ],
            );
            assert_eq!(status, 200, "{tokens}");
            assert_jwt_for(&tokens, "alice", 3600);
            let rt = tokens["refresh_token"].as_str().expect("refresh_token");
            // The refresh token carries offline_access, so refreshing with the full scope works.
            let (status, refreshed) = refresh(&idp, rt);
            assert_eq!(status, 200, "{refreshed}");
        }
        assert_eq!(idp.token_requests("authorization_code"), 2);
    }

    #[test]
    fn pkce_is_required_and_login_hint_picks_the_account() {
        let idp = start(NodeIdpOptions::default());
        let base = idp.endpoint("/auth");
        let common = "client_id=flytectl&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A1234%2Fcallback&state=s";
        let no_pkce = idp.authorize_headless(&format!("{base}?{common}")).unwrap();
        let error = no_pkce.query_pairs().find(|(k, _)| k == "error");
        assert_eq!(
            error.map(|(_, v)| v.into_owned()).as_deref(),
            Some("invalid_request")
        );

        let url = format!(
            "{base}?{common}&login_hint=bob&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let callback = idp.authorize_headless(&url).unwrap();
        let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1;
        let (status, tokens) = post_form(
            &idp,
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "flytectl"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", "http://127.0.0.1:1234/callback"),
            ],
        );
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            claims(tokens["access_token"].as_str().unwrap())["sub"],
            "bob"
        );
    }
}
