//! Union API keys (`FLYTE_API_KEY` and friends): base64 of `endpoint:client_id:secret:org`.
//!
//! Variables are checked in this order and the first non-empty one wins (a malformed key is an
//! error, not a reason to try the next): `FLYTE_API_KEY` (flyte-sdk), then Union v1's
//! `UNION_API_KEY`, `UNION_SERVERLESS_API_KEY`, `UNIONAI_SERVERLESS_API_KEY`, then the in-cluster
//! `_UNION_EAGER_API_KEY`, `EAGER_API_KEY`. Errors never contain the key or any decoded field
//! except the field count.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flyte_auth_proto::Secret;
use zeroize::Zeroizing;

use super::endpoint::{self, Endpoint};
use crate::error::{Error, Result};

/// The API-key variables, in the order they are consulted.
pub(crate) const API_KEY_VARS: [&str; 6] = [
    "FLYTE_API_KEY",
    "UNION_API_KEY",
    "UNION_SERVERLESS_API_KEY",
    "UNIONAI_SERVERLESS_API_KEY",
    "_UNION_EAGER_API_KEY",
    "EAGER_API_KEY",
];

/// A decoded API key.
#[derive(Debug, Clone)]
pub(crate) struct ApiKey {
    /// The variable it came from, for messages.
    pub var: &'static str,
    pub endpoint: Endpoint,
    pub client_id: String,
    pub client_secret: Secret,
    /// `None` when the key says `None` or nothing (BYOC / self-managed).
    pub org: Option<String>,
}

/// Finds and decodes the first non-empty API-key variable, if any.
pub(crate) fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<ApiKey>> {
    for var in API_KEY_VARS {
        let Some(value) = env(var).map(Zeroizing::new) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let mut key = decode(&value).map_err(|why| Error::ApiKey {
            var: var.to_owned(),
            why,
        })?;
        key.var = var;
        return Ok(Some(key));
    }
    Ok(None)
}

/// Standard base64 that tolerates missing `=` padding (keys get truncated by copy-paste).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a key; the error is a reason that never quotes the key.
pub(crate) fn decode(key: &str) -> Result<ApiKey, String> {
    // Whitespace anywhere (a trailing newline, `base64` line wrapping) is not part of the key.
    let compact: Zeroizing<String> =
        Zeroizing::new(key.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let bytes = Zeroizing::new(
        LENIENT_STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| "not valid base64".to_string())?,
    );
    let text =
        std::str::from_utf8(&bytes).map_err(|_| "decoded key is not UTF-8 text".to_string())?;
    let text = text.trim();
    // A scheme on the endpoint would add a `:` and shift every field, so take it off first.
    let (scheme, rest) = ["dns:///", "https://", "http://"]
        .iter()
        .find_map(|p| text.strip_prefix(p).map(|r| (*p, r)))
        .unwrap_or(("", text));
    let parts: Vec<&str> = rest.splitn(4, ':').collect();
    let [host, client_id, secret, org] = parts[..] else {
        return Err(format!(
            "expected endpoint:client_id:client_secret:org (4 fields), found {}",
            parts.len()
        ));
    };
    if host.trim().is_empty() {
        return Err("empty endpoint".into());
    }
    let endpoint = endpoint::parse(&format!("{scheme}{host}"))
        .map_err(|why| format!("bad endpoint field: {why}"))?;
    if client_id.trim().is_empty() {
        return Err("empty client id".into());
    }
    if secret.is_empty() {
        return Err("empty client secret".into());
    }
    let org = match org.trim() {
        "" | "None" => None,
        o => Some(o.to_owned()),
    };
    Ok(ApiKey {
        var: "",
        endpoint,
        client_id: client_id.trim().to_owned(),
        client_secret: Secret::new(secret),
        org,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn enc(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn valid_key() {
        let k = decode(&enc("acme.unionai.cloud:my-app:s3cr3t/+=:acme")).unwrap();
        assert_eq!(k.endpoint.authority, "acme.unionai.cloud");
        assert!(!k.endpoint.plain_http);
        assert_eq!(k.client_id, "my-app");
        assert_eq!(k.client_secret.expose(), "s3cr3t/+=");
        assert_eq!(k.org.as_deref(), Some("acme"));
        assert!(!format!("{k:?}").contains("s3cr3t"));
    }

    #[test]
    fn padding_whitespace_and_prefixes_tolerated() {
        let padded = enc("h.example.com:id:sec:None1");
        assert!(padded.ends_with('='));
        let k = decode(&format!("  {}\n", padded.trim_end_matches('='))).unwrap();
        assert_eq!(k.org.as_deref(), Some("None1"));
        let k = decode(&enc("dns:///h.example.com:id:sec:None")).unwrap();
        assert_eq!(
            (k.endpoint.authority.as_str(), k.org),
            ("h.example.com", None)
        );
        let k = decode(&enc("https://h.example.com:id:sec:")).unwrap();
        assert_eq!(
            (k.endpoint.authority.as_str(), k.org),
            ("h.example.com", None)
        );
    }

    #[test]
    fn org_may_contain_colons() {
        let k = decode(&enc("h:id:sec:org:with:colons")).unwrap();
        assert_eq!(k.org.as_deref(), Some("org:with:colons"));
        assert_eq!(k.client_secret.expose(), "sec");
    }

    #[test]
    fn bad_keys_explain_without_echoing() {
        let secret = "TOPSECRETVALUE";
        let cases = [
            (enc(&format!("h:id:{secret}")), "(4 fields), found 3"),
            (format!("{secret}!!"), "not valid base64"),
            (enc(&format!("h::{secret}:o")), "empty client id"),
            (enc("h:id::o"), "empty client secret"),
            (enc(&format!(":id:{secret}:o")), "empty endpoint"),
            (
                enc(&format!("bad host:id:{secret}:o")),
                "bad endpoint field",
            ),
            (STANDARD.encode([0xff, 0xfe, b':', b'a']), "not UTF-8"),
        ];
        for (key, want) in cases {
            let why = decode(&key).unwrap_err();
            assert!(why.contains(want), "{why}");
            assert!(!why.contains(secret) && !why.contains(&key), "{why}");
        }
    }

    #[test]
    fn first_non_empty_var_wins() {
        let key = enc("h.example.com:id:sec:o");
        let env = |k: &str| match k {
            "FLYTE_API_KEY" => Some("  ".to_owned()),
            "UNION_SERVERLESS_API_KEY" => Some(key.clone()),
            "EAGER_API_KEY" => Some("garbage".to_owned()),
            _ => None,
        };
        let k = from_env(&env).unwrap().unwrap();
        assert_eq!(k.var, "UNION_SERVERLESS_API_KEY");
        let none = from_env(&|_: &str| None).unwrap();
        assert!(none.is_none());
        let bad = |k: &str| (k == "UNION_API_KEY").then(|| "Zm9v".to_owned());
        let e = from_env(&bad).unwrap_err().to_string();
        assert!(e.contains("$UNION_API_KEY") && e.contains("found 1"), "{e}");
    }
}
