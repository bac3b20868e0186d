//! Paging `status`: any number of sessions, each page within the frame limit.
//!
//! A page holds as many sessions as fit in [`PAGE_BUDGET`] bytes of JSON; the rest of the
//! frame is left for the report's own fields. A session whose description alone would not
//! fit (a pathological endpoint or error text) is shortened rather than dropped, so paging
//! always makes progress and every session is shown.

use crate::frame::MAX_FRAME_LEN;
use crate::message::SessionStatus;
use crate::text::bounded;

/// Bytes of session JSON per page: the frame limit minus room for the report around them.
pub const PAGE_BUDGET: usize = MAX_FRAME_LEN - 4 * 1024;

/// Longest a text field of a shortened session may be.
const SHORT_FIELD: usize = 512;
/// Most scopes a shortened session keeps.
const SHORT_SCOPES: usize = 16;

/// The sessions of the page that starts at `offset`, and where the next one starts (`None`
/// when this is the last page). `all` must be in a stable order (the agent sorts by
/// endpoint); an `offset` past the end gives an empty last page.
pub fn page(all: &[SessionStatus], offset: usize) -> (Vec<SessionStatus>, Option<u32>) {
    page_within(all, offset, PAGE_BUDGET)
}

fn page_within(
    all: &[SessionStatus],
    offset: usize,
    budget: usize,
) -> (Vec<SessionStatus>, Option<u32>) {
    let mut out = Vec::new();
    let mut used = 0;
    for (i, s) in all.iter().enumerate().skip(offset) {
        let mut s = s.clone();
        let mut len = json_len(&s);
        if len > budget {
            s = shorten(s);
            len = json_len(&s);
        }
        // One more byte for the comma between array elements.
        if !out.is_empty() && used + len + 1 > budget {
            return (out, u32::try_from(i).ok());
        }
        used += len + 1;
        out.push(s);
    }
    (out, None)
}

fn json_len(s: &SessionStatus) -> usize {
    // Serializing plain strings, numbers and options cannot fail; count a failure as "too big".
    serde_json::to_vec(s).map_or(usize::MAX / 2, |v| v.len())
}

/// `s` with every text field cut to [`SHORT_FIELD`] bytes and at most [`SHORT_SCOPES`] scopes.
fn shorten(mut s: SessionStatus) -> SessionStatus {
    let cut = |v: &mut String| *v = bounded(v, SHORT_FIELD);
    cut(&mut s.endpoint);
    for v in [
        &mut s.client_id,
        &mut s.audience,
        &mut s.subject,
        &mut s.last_error,
        &mut s.storage,
    ]
    .into_iter()
    .flatten()
    {
        cut(v);
    }
    let extra = s.scopes.len().saturating_sub(SHORT_SCOPES);
    s.scopes.truncate(SHORT_SCOPES);
    s.scopes.iter_mut().for_each(cut);
    if extra > 0 {
        s.scopes.push(format!("(and {extra} more)"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode;
    use crate::message::{Response, StatusReport};
    use crate::profile::AuthMode;

    fn session(i: usize, error_len: usize) -> SessionStatus {
        SessionStatus {
            endpoint: format!("https://flyte-{i:05}.example.com"),
            mode: AuthMode::ClientSecret,
            client_id: Some("ci".into()),
            scopes: vec!["all".into()],
            audience: None,
            state: crate::SessionState::Failed,
            subject: None,
            expires_at: None,
            next_refresh_at: None,
            last_error: Some("e".repeat(error_len)),
            last_used_at: Some(1),
            storage: Some("not stored".into()),
        }
    }

    /// Pages `all` to the end the way a client does; checks every page fits a frame.
    fn collect(all: &[SessionStatus]) -> (Vec<SessionStatus>, usize) {
        let (mut got, mut pages, mut offset) = (Vec::new(), 0, 0);
        loop {
            let (sessions, next) = page(all, offset);
            let report = Response::Status(StatusReport {
                agent_version: "0.1.0-with-a-long-version-string".into(),
                pid: u32::MAX,
                uptime_secs: u64::MAX,
                sessions,
                next_offset: next,
                total_sessions: Some(u32::MAX),
                audit_log: Some(format!("/{}/audit.jsonl", "d".repeat(1024))),
            });
            encode(&report).expect("every page fits in a frame");
            let Response::Status(r) = report else {
                unreachable!()
            };
            got.extend(r.sessions);
            pages += 1;
            match next {
                Some(n) => {
                    assert!(n as usize > offset, "paging must make progress");
                    offset = n as usize;
                }
                None => return (got, pages),
            }
        }
    }

    #[test]
    fn thousands_of_sessions_page_within_the_frame_limit() {
        let all: Vec<_> = (0..5000).map(|i| session(i, 200)).collect();
        let (got, pages) = collect(&all);
        assert_eq!(got, all, "every session exactly once, in order");
        assert!(pages > 1, "{pages}");
    }

    #[test]
    fn few_sessions_are_one_page() {
        let all: Vec<_> = (0..3).map(|i| session(i, 10)).collect();
        assert_eq!(page(&all, 0), (all.clone(), None));
        assert_eq!(page(&all, 99), (Vec::new(), None));
    }

    #[test]
    fn a_session_too_big_for_a_page_is_shortened_not_dropped() {
        let mut huge = session(1, MAX_FRAME_LEN);
        huge.scopes = (0..100).map(|i| format!("scope-{i}")).collect();
        let all = vec![session(0, 10), huge, session(2, 10)];
        let (got, _) = collect(&all);
        assert_eq!(got.len(), 3);
        let short = &got[1];
        assert!(short.last_error.as_ref().unwrap().len() <= SHORT_FIELD + 4);
        assert_eq!(short.scopes.len(), SHORT_SCOPES + 1);
        assert_eq!(short.scopes.last().unwrap(), "(and 84 more)");
    }
}
