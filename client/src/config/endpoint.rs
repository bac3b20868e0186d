//! Endpoint normalisation: every spelling Flyte configs use → `https://host[:port]` / `http://…`.
//!
//! Accepted: `dns:///host[:port]` (gRPC target, as `flyte create config` writes), `https://…`,
//! `http://…` (means plain text, like `admin.insecure`), and a bare `host[:port]`. Any path,
//! query or trailing slash is dropped: the agent only needs the origin.

/// A parsed endpoint: the `host[:port]` authority and whether the scheme asked for plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `host` or `host:port` (IPv6 literals keep their brackets).
    pub authority: String,
    /// The endpoint was written as `http://…`.
    pub plain_http: bool,
}

impl Endpoint {
    /// The base URL for the profile: `http` when `insecure`, else `https`.
    pub fn url(&self, insecure: bool) -> String {
        let scheme = if insecure { "http" } else { "https" };
        format!("{scheme}://{}", self.authority)
    }
}

/// Parses an endpoint. The error text never repeats the input, so callers decide whether the
/// value is safe to echo (it is not when it came out of an API key).
pub(crate) fn parse(raw: &str) -> Result<Endpoint, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("the endpoint is empty".into());
    }
    let (rest, plain_http) = if let Some(r) = strip_prefix_ci(s, "dns:///") {
        (r, false)
    } else if let Some(r) = strip_prefix_ci(s, "https://") {
        (r, false)
    } else if let Some(r) = strip_prefix_ci(s, "http://") {
        (r, true)
    } else if let Some((scheme, _)) = s.split_once("://") {
        return Err(if scheme.is_empty() {
            "missing scheme before `://`".into()
        } else {
            format!("unsupported scheme `{scheme}` (use dns:///, https://, http:// or a bare host)")
        });
    } else {
        (s, false)
    };
    // Only the authority matters; a path (`/api`), query or fragment is dropped.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    check_authority(authority)?;
    Ok(Endpoint {
        authority: authority.to_owned(),
        plain_http,
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn check_authority(a: &str) -> Result<(), String> {
    if a.is_empty() {
        return Err("no host in the endpoint".into());
    }
    if a.contains('@') {
        return Err("user info (`user@`) is not allowed in the endpoint".into());
    }
    let (host, port) = if let Some(v6) = a.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or("unterminated `[` in IPv6 host")?;
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err("invalid IPv6 host".into());
        }
        match after {
            "" => (inside, None),
            p => (
                inside,
                Some(p.strip_prefix(':').ok_or("junk after IPv6 host")?),
            ),
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err("no host in the endpoint".into());
    }
    if !a.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err("the host may contain only letters, digits, `.`, `-` and `_`".into());
    }
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0);
        if !ok {
            return Err("the port must be a number from 1 to 65535".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, bool) {
        let e = parse(s).unwrap();
        (e.authority, e.plain_http)
    }

    #[test]
    fn every_form() {
        assert_eq!(
            ok("dns:///flyte.example.com"),
            ("flyte.example.com".into(), false)
        );
        assert_eq!(
            ok("dns:///localhost:30080"),
            ("localhost:30080".into(), false)
        );
        assert_eq!(
            ok("https://h.example.com/"),
            ("h.example.com".into(), false)
        );
        assert_eq!(
            ok("https://h.example.com:8443/api/v1?x=1"),
            ("h.example.com:8443".into(), false)
        );
        assert_eq!(ok("HTTP://127.0.0.1:8089"), ("127.0.0.1:8089".into(), true));
        assert_eq!(
            ok("  flyte.example.com  "),
            ("flyte.example.com".into(), false)
        );
        assert_eq!(ok("localhost:30080"), ("localhost:30080".into(), false));
        assert_eq!(ok("[::1]:8080"), ("[::1]:8080".into(), false));
        assert_eq!(ok("http://[fe80::1]"), ("[fe80::1]".into(), true));
    }

    #[test]
    fn url_uses_insecure() {
        let e = parse("dns:///h:1").unwrap();
        assert_eq!(e.url(false), "https://h:1");
        assert_eq!(e.url(true), "http://h:1");
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "   ",
            "://",
            "://host",
            "https://",
            "dns:///",
            "ftp://h",
            "has space.com",
            "h:",
            "h:0",
            "h:99999",
            "h:port",
            "user@h",
            "[::1",
            "https:///path",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad:?}");
        }
        assert!(
            parse("ftp://h")
                .unwrap_err()
                .contains("unsupported scheme `ftp`")
        );
    }
}
