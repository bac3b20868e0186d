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
mod tests;
