//! The PKCE redirect listener: binds exactly the redirect URI's host and port, serves until
//! the real callback arrives, and answers the browser with a small page.
//!
//! Unlike Flyte's Python clients, which serve exactly one request (a `/favicon.ico` first
//! hangs them), stray requests get 404 and the wait goes on; `error=` callbacks and a wrong
//! `state` end the login with a clear error instead of a hang.

use std::convert::Infallible;
use std::net::SocketAddr;

use flyte_auth_proto::text::bounded;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::AgentError;

/// Bound listeners for a redirect URI.
#[derive(Debug)]
pub struct Loopback {
    listeners: Vec<TcpListener>,
    path: String,
    /// The Flyte endpoint's host, for messages.
    host: String,
}

/// Binds the redirect URI's host (`localhost` = 127.0.0.1 and, if available, ::1) and port.
pub async fn bind(redirect_uri: &str, endpoint_host: &str) -> Result<Loopback, AgentError> {
    let url = url::Url::parse(redirect_uri).map_err(|e| {
        AgentError::Config(format!(
            "{endpoint_host} advertises an invalid redirect URI {redirect_uri}: {e}"
        ))
    })?;
    let host = url
        .host_str()
        .unwrap_or("localhost")
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match host.as_str() {
        "localhost" => vec![
            ([127, 0, 0, 1], port).into(),
            ([0u16, 0, 0, 0, 0, 0, 0, 1], port).into(),
        ],
        h => match h.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_loopback() => vec![(ip, port).into()],
            _ => {
                return Err(AgentError::Config(format!(
                    "redirect URI {redirect_uri} is not a loopback address; the agent can only \
                     receive browser logins on this machine"
                )));
            }
        },
    };
    // The first address (127.0.0.1 for `localhost`) is required: if another program holds
    // it, the browser would talk to that program. The IPv6 one is a bonus.
    let mut listeners = Vec::new();
    for (i, addr) in addrs.into_iter().enumerate() {
        match TcpListener::bind(addr).await {
            Ok(l) => listeners.push(l),
            Err(e) if i == 0 => {
                return Err(AgentError::Config(format!(
                    "cannot listen on {host}:{port} for the browser login ({e}); port {port} is \
                     needed for the redirect URI {redirect_uri}: stop the program using it and \
                     try again"
                )));
            }
            Err(_) => {}
        }
    }
    let path = url.path().trim_matches('/').to_owned();
    // Messages name the Flyte endpoint the user logs in to, not the loopback host.
    Ok(Loopback {
        listeners,
        path,
        host: endpoint_host.to_owned(),
    })
}

impl Loopback {
    /// Serves until the callback for `state` arrives; returns its authorization code.
    pub async fn wait_for_code(self, state: &str) -> Result<String, AgentError> {
        let (tx, mut rx) = mpsc::channel::<Result<String, AgentError>>(1);
        let mut accepts = tokio::task::JoinSet::new();
        for listener in self.listeners {
            let (tx, path, state, host) = (
                tx.clone(),
                self.path.clone(),
                state.to_owned(),
                self.host.clone(),
            );
            accepts.spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (tx, path, state, host) =
                        (tx.clone(), path.clone(), state.clone(), host.clone());
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let outcome = judge(&req, &path, &state);
                            let (resp, done) = respond(outcome, &host);
                            if let Some(done) = done {
                                let _ = tx.try_send(done);
                            }
                            async move { Ok::<_, Infallible>(resp) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), svc);
                        let _ = conn.await;
                    });
                }
            });
        }
        drop(tx);
        let result = rx
            .recv()
            .await
            .unwrap_or_else(|| Err(AgentError::internal("callback listener stopped")));
        // Dropping the set aborts the accept loops and closes the port; the task that
        // answered the browser finishes writing its page on its own.
        accepts.abort_all();
        result
    }
}

/// What one request to the loopback server means.
enum Outcome {
    /// Not the callback: 404, keep waiting.
    Stray,
    /// The callback with a code and the right state.
    Code(String),
    /// The IdP sent the user back with an error.
    IdpError(String, Option<String>),
    /// The callback is malformed or forged.
    Bad(String),
}

fn judge(req: &Request<Incoming>, path: &str, state: &str) -> Outcome {
    if req.uri().path().trim_matches('/') != path {
        return Outcome::Stray;
    }
    let query = req.uri().query().unwrap_or("");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(err) = get("error") {
        return Outcome::IdpError(err, get("error_description"));
    }
    if get("state").as_deref() != Some(state) {
        return Outcome::Bad(
            "the callback's state does not match this login (possible CSRF); login aborted".into(),
        );
    }
    match get("code") {
        Some(code) if !code.is_empty() => Outcome::Code(code),
        _ => Outcome::Bad("the callback carries no authorization code".into()),
    }
}

type Done = Option<Result<String, AgentError>>;

fn respond(outcome: Outcome, host: &str) -> (Response<Full<Bytes>>, Done) {
    match outcome {
        Outcome::Stray => (page(StatusCode::NOT_FOUND, "Not found", ""), None),
        Outcome::Code(code) => (
            page(
                StatusCode::OK,
                "Logged in",
                "You are logged in to flyte-auth. You can close this window and return to your terminal.",
            ),
            Some(Ok(code)),
        ),
        Outcome::IdpError(error, description) => {
            // The IdP's words, by way of the browser: short and printable.
            let error = bounded(&error, 100);
            let msg = match description.as_deref().map(|d| bounded(d, 500)) {
                Some(d) => format!("the login to {host} failed: {error} ({d})"),
                None => format!("the login to {host} failed: {error}"),
            };
            (
                page(StatusCode::OK, "Login failed", &msg),
                Some(Err(AgentError::Login(msg))),
            )
        }
        Outcome::Bad(why) => {
            let msg = format!("the login to {host} failed: {why}");
            (
                page(StatusCode::BAD_REQUEST, "Login failed", &msg),
                Some(Err(AgentError::Login(msg))),
            )
        }
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response<Full<Bytes>> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>flyte-auth: {t}</title></head>\
         <body style=\"font-family:sans-serif;margin:4em\"><h1>{t}</h1><p>{x}</p></body></html>",
        t = esc(title),
        x = esc(text)
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}
