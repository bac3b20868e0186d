//! What a persistent store keeps per session — [`StoredSession`] — its JSON encoding, and the
//! stable name ([`account`]) each session is filed under.

use flyte_auth_proto::{AuthMode, Secret, SessionKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::StoreError;

/// Format version written into every item; an item with another version is not read.
pub const FORMAT_VERSION: u32 = 1;

/// Items above this size drop their access token (it is only a cache: the refresh token gets
/// a new one). Windows Credential Manager refuses blobs above 2560 bytes and macOS's
/// `security` tool shows items truncated past a few KB, so stay well below both.
pub const ITEM_TARGET_BYTES: usize = 2048;

/// Longest item or file we are willing to parse; anything bigger is not ours.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

/// One session as it survives an agent restart: the refresh token and what is needed to use
/// it, plus the current access token so a restart within its lifetime costs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// Lower-cased endpoint the session belongs to (the session key's).
    pub endpoint: String,
    /// Token endpoint the refresh token is redeemed at.
    pub token_endpoint: String,
    /// Client id the refresh token was issued to.
    pub client_id: String,
    /// Scopes requested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Audience requested, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The refresh token.
    pub refresh_token: Secret,
    /// The latest access token, if it fits (see [`ITEM_TARGET_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// When the access token expires, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_expires_at_ms: Option<u64>,
    /// When the access token was issued, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_issued_at_ms: Option<u64>,
    /// Header the token is sent in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_key: Option<String>,
    /// Who is logged in, for status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl StoredSession {
    /// The item's bytes: JSON, without the access token if the whole would exceed
    /// [`ITEM_TARGET_BYTES`]. The buffer is zeroized on drop.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let full = to_json(self)?;
        if full.len() <= ITEM_TARGET_BYTES || self.access_token.is_none() {
            return Ok(full);
        }
        let mut lean = self.clone();
        lean.access_token = None;
        lean.access_expires_at_ms = None;
        lean.access_issued_at_ms = None;
        to_json(&lean)
    }

    /// Parses an item read from a store for `key`. Anything that is not a version-1 session
    /// of this endpoint is [`StoreError::Corrupt`]; the message never quotes the content.
    pub fn decode(bytes: &[u8], key: &SessionKey) -> Result<StoredSession, StoreError> {
        let s = StoredSession::decode_any(bytes)?;
        if s.endpoint != key.endpoint {
            return Err(StoreError::Corrupt(format!(
                "it belongs to {}, not {}",
                s.endpoint, key.endpoint
            )));
        }
        Ok(s)
    }

    /// Parses an item read from a store, whatever session it belongs to (for logout --all).
    pub fn decode_any(bytes: &[u8]) -> Result<StoredSession, StoreError> {
        if bytes.len() > MAX_ITEM_BYTES {
            return Err(StoreError::Corrupt(format!(
                "it is {} bytes long, far more than a session needs",
                bytes.len()
            )));
        }
        // Only the version first: a newer format may not parse as this one at all.
        let version: Versioned = serde_json::from_slice(bytes).map_err(json_problem)?;
        if version.version != FORMAT_VERSION {
            return Err(StoreError::Corrupt(format!(
                "it has format version {}; this flyte-auth reads version {FORMAT_VERSION}",
                version.version
            )));
        }
        let s: StoredSession = serde_json::from_slice(bytes).map_err(json_problem)?;
        if s.refresh_token.expose().is_empty() {
            return Err(StoreError::Corrupt("its refresh token is empty".into()));
        }
        Ok(s)
    }
}

#[derive(Deserialize)]
struct Versioned {
    version: u32,
}

fn to_json(s: &StoredSession) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    serde_json::to_vec(s)
        .map(Zeroizing::new)
        .map_err(|e| StoreError::Failed(format!("cannot encode the session: {}", category(&e))))
}

/// A serde_json error as a message that never quotes the input: its `Display` can (for
/// example `invalid type: string "eyJ…"`), and the input is a token.
pub(crate) fn json_problem(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "{} at line {} column {}",
        category(&e),
        e.line(),
        e.column()
    ))
}

fn category(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "not valid JSON",
        Category::Data => "unexpected content",
        Category::Eof => "truncated JSON",
    }
}

/// The name a session is filed under: `<host>/<user|app>/<client id or "default">/<hash>`,
/// where `<hash>` is 8 hex digits of SHA-256 over everything in the key (endpoint with
/// scheme and path, client id, scopes, audience), so distinct keys get distinct names while
/// the readable part tells a human what the item is. Stable across versions: changing it
/// would orphan every stored login.
pub fn account(key: &SessionKey) -> String {
    let rest = key
        .endpoint
        .split_once("://")
        .map_or(&*key.endpoint, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    let who = match key.mode {
        AuthMode::ClientSecret => "app",
        AuthMode::Pkce | AuthMode::DeviceFlow => "user",
    };
    let client = key.client_id.as_deref().unwrap_or("default");
    format!("{host}/{who}/{client}/{}", key_hash(key))
}

/// 8 hex digits of SHA-256 over the whole key, each part on its own line; `-` marks "not
/// configured", which differs from configured-but-empty.
fn key_hash(key: &SessionKey) -> String {
    let scopes = key.scopes.as_ref().map(|s| s.join(" "));
    let parts = [
        Some(key.endpoint.as_str()),
        Some(key.mode.as_flyte_str()),
        key.client_id.as_deref(),
        scopes.as_deref(),
        key.audience.as_deref(),
    ];
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.map_or_else(|| "-".to_owned(), |p| format!("={p}")));
        h.update(b"\n");
    }
    h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use flyte_auth_proto::Profile;

    use super::*;

    pub(crate) fn sample(key: &SessionKey) -> StoredSession {
        StoredSession {
            version: FORMAT_VERSION,
            endpoint: key.endpoint.clone(),
            token_endpoint: "https://idp.example.com/oauth2/token".into(),
            client_id: "flytectl".into(),
            scopes: vec!["all".into(), "offline".into()],
            audience: None,
            refresh_token: Secret::new("rt-secret-value"),
            access_token: Some(Secret::new("at-secret-value")),
            access_expires_at_ms: Some(1_700_000_600_000),
            access_issued_at_ms: Some(1_700_000_000_000),
            header_key: Some("flyte-authorization".into()),
            subject: Some("alice@example.com".into()),
        }
    }

    fn key() -> SessionKey {
        Profile::new("https://flyte.example.com", AuthMode::Pkce).session_key()
    }

    #[test]
    fn account_is_readable_and_stable() {
        assert_eq!(account(&key()), "flyte.example.com/user/default/64615498");
        let mut p = Profile::new("http://127.0.0.1:8089", AuthMode::ClientSecret);
        p.client_id = Some("ci".into());
        assert!(account(&p.session_key()).starts_with("127.0.0.1:8089/app/ci/"));
    }

    #[test]
    fn account_tells_every_part_of_the_key_apart() {
        let base = Profile::new("https://flyte.example.com", AuthMode::Pkce);
        let variants = [
            Profile::new("http://flyte.example.com", AuthMode::Pkce),
            Profile {
                scopes: Some(vec![]),
                ..base.clone()
            },
            Profile {
                scopes: Some(vec!["all".into()]),
                ..base.clone()
            },
            Profile {
                audience: Some("aud".into()),
                ..base.clone()
            },
        ];
        let a = account(&base.session_key());
        for v in variants {
            assert_ne!(account(&v.session_key()), a, "{v:?}");
        }
    }

    #[test]
    fn round_trip_and_size() {
        let k = key();
        let s = sample(&k);
        let bytes = s.encode().unwrap();
        assert!(bytes.len() < 600, "{} bytes", bytes.len());
        assert_eq!(StoredSession::decode(&bytes, &k).unwrap(), s);
    }

    #[test]
    fn oversized_items_drop_the_access_token_first() {
        let k = key();
        let mut s = sample(&k);
        s.access_token = Some(Secret::new("a".repeat(3000)));
        let bytes = s.encode().unwrap();
        assert!(bytes.len() <= ITEM_TARGET_BYTES);
        let back = StoredSession::decode(&bytes, &k).unwrap();
        assert_eq!(back.refresh_token, s.refresh_token);
        assert!(back.access_token.is_none() && back.access_expires_at_ms.is_none());
    }

    #[test]
    fn corrupt_items_are_errors_that_never_quote_the_content() {
        let k = key();
        let wrong_type = br#"{"version":1,"endpoint":"https://flyte.example.com","token_endpoint":"t","client_id":"c","refresh_token":["rt-secret-value"]}"#;
        let cases: [&[u8]; 5] = [
            b"rt-secret-value",
            b"{\"version\":1,",
            wrong_type,
            br#"{"version":2,"refresh_token":"rt-secret-value"}"#,
            br#"{"version":1,"endpoint":"https://other","token_endpoint":"t","client_id":"c","refresh_token":"rt-secret-value"}"#,
        ];
        for c in cases {
            let e = StoredSession::decode(c, &k).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
            assert!(!e.to_string().contains("rt-secret-value"), "{e}");
        }
    }
}
