//! Bad answers of the fake IdP: a route answers with a changed field, an oversized token, a
//! huge streamed body, or any raw status and body, so tests can show that the agent treats
//! what an IdP sends as input. Also the response body type of every route, which can stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::FakeIdp;
use super::state::{Shared, lock};

/// What a route answers instead of its normal answer (see [`FakeIdp::set_answer`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The normal JSON answer with `field` set to `value` (`Value::Null` keeps the key with
    /// a JSON `null`), e.g. `expires_in` = `"3600"`, `token_type` = `"MAC"`.
    Field(&'static str, Value),
    /// The normal JSON answer with an `access_token` of this many bytes.
    HugeToken(usize),
    /// This HTTP status with a body of this many bytes, `{"access_token":"AAAA…"}`,
    /// streamed in chunks with no `Content-Length` (so only a reader that counts can stop it).
    HugeBody(u16, usize),
    /// This HTTP status and this body, as is.
    Raw(u16, String),
}

/// The bad answers in force, by route path.
#[derive(Debug, Default)]
pub(super) struct AnswerState {
    by_path: HashMap<String, Answer>,
}

impl FakeIdp {
    /// From now on `path` (e.g. `/token`, `/device`, `/.well-known/oauth-authorization-server`)
    /// answers `answer`; `None` restores its normal answer.
    pub fn set_answer(&self, path: &str, answer: Option<Answer>) {
        let mut s = lock(&self.state);
        match answer {
            Some(a) => s.answers.by_path.insert(path.to_owned(), a),
            None => s.answers.by_path.remove(path),
        };
    }
}

/// Response hook, run after routing: replaces or rewrites `resp` as the answer set for
/// `path` says, or passes it through.
pub(super) async fn apply(state: &Shared, path: &str, resp: Response<Body>) -> Response<Body> {
    let Some(answer) = lock(state).answers.by_path.get(path).cloned() else {
        return resp;
    };
    match answer {
        Answer::Raw(status, body) => raw(status, Body::from(body)),
        Answer::HugeBody(status, len) => {
            let prefix = Bytes::from_static(br#"{"access_token":""#);
            let suffix = Bytes::from_static(br#"","token_type":"Bearer"}"#);
            let fill = len.saturating_sub(prefix.len() + suffix.len());
            raw(status, Body::Stream(Filler::new(prefix, fill, suffix)))
        }
        Answer::Field(field, value) => rewrite(resp, |v| v[field] = value).await,
        Answer::HugeToken(len) => {
            rewrite(resp, |v| v["access_token"] = "A".repeat(len).into()).await
        }
    }
}

fn raw(status: u16, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// `resp` with its JSON body changed by `edit` (a body that is not a JSON object is
/// replaced by one).
async fn rewrite(resp: Response<Body>, edit: impl FnOnce(&mut Value)) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if !v.is_object() {
        v = Value::Object(Default::default());
    }
    edit(&mut v);
    // The length changed; hyper sets the right one from the new body.
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(v.to_string()))
}

/// The response body of every route: a complete buffer, or a generated stream.
#[derive(Debug)]
pub enum Body {
    /// A complete body (empty once sent).
    Full(Bytes),
    /// A generated body of unknown length.
    Stream(Filler),
}

impl Default for Body {
    fn default() -> Self {
        Body::Full(Bytes::new())
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::Full(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::Full(Bytes::from_static(s.as_bytes()))
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::Full(Bytes::from(v))
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::Full(b)
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = match self.get_mut() {
            Body::Full(b) if b.is_empty() => None,
            Body::Full(b) => Some(std::mem::take(b)),
            Body::Stream(f) => f.next(),
        };
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(b) if b.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.len() as u64),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// Chunk of filler bytes; the same static chunk is sent again and again, so streaming a
/// 200 MB body costs the test process no memory.
static FILL: [u8; 64 * 1024] = [b'A'; 64 * 1024];

/// A generated body: `prefix`, then `fill` bytes of `A`, then `suffix`.
#[derive(Debug)]
pub struct Filler {
    prefix: Option<Bytes>,
    fill: usize,
    suffix: Option<Bytes>,
}

impl Filler {
    fn new(prefix: Bytes, fill: usize, suffix: Bytes) -> Self {
        Filler {
            prefix: Some(prefix),
            fill,
            suffix: Some(suffix),
        }
    }

    fn next(&mut self) -> Option<Bytes> {
        if let Some(p) = self.prefix.take() {
            return Some(p);
        }
        if self.fill > 0 {
            let n = self.fill.min(FILL.len());
            self.fill -= n;
            return Some(Bytes::from_static(&FILL[..n]));
        }
        self.suffix.take()
    }
}
