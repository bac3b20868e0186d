//! Reading the keyring items Flyte's Python SDKs write (`flyte-auth login --import`), so a user
//! who logged in with `flyte`/`pyflyte` need not log in again.
//!
//! The layouts those SDKs write, all under service = the endpoint's host (`host:port`):
//! - flyte-sdk ≥ 2.5.10: one item, username `tokens`, value
//!   `{"access_token": "...", "refresh_token": "..." | null}`;
//! - flytekit and older flyte-sdk: items `access_token` and `refresh_token`, raw token values.
//!
//! Python's `keyring` writes Secret Service items with the attributes `service`, `username`
//! and `application = "Python keyring library"`, and keyring-core's Secret Service store looks
//! items up by exactly `service` + `username`, so it finds them.

use flyte_auth_proto::Secret;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::session::json_problem;
use super::{ImportedTokens, StoreError};

/// flyte-sdk's one item.
pub(super) const SDK_USER: &str = "tokens";
/// flytekit's (and old flyte-sdk's) access-token item.
pub(super) const LEGACY_ACCESS_USER: &str = "access_token";
/// flytekit's (and old flyte-sdk's) refresh-token item.
pub(super) const LEGACY_REFRESH_USER: &str = "refresh_token";

#[derive(Deserialize)]
struct SdkItem {
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    refresh_token: Option<Secret>,
}

/// Parses flyte-sdk's `tokens` item; `None` if it holds no token.
pub(super) fn parse_sdk_item(bytes: &[u8]) -> Result<Option<ImportedTokens>, StoreError> {
    let item: SdkItem = serde_json::from_slice(bytes).map_err(json_problem)?;
    Ok(some_token(ImportedTokens {
        access_token: item.access_token,
        refresh_token: item.refresh_token,
    }))
}

/// The flytekit layout from its two items' values; `None` if neither holds a token.
pub(super) fn from_legacy_items(
    access: Option<Zeroizing<Vec<u8>>>,
    refresh: Option<Zeroizing<Vec<u8>>>,
) -> Result<Option<ImportedTokens>, StoreError> {
    let text = |v: Option<Zeroizing<Vec<u8>>>, what: &str| {
        v.map(|b| {
            std::str::from_utf8(&b)
                .map(|s| Secret::new(s.trim()))
                .map_err(|_| StoreError::Corrupt(format!("the {what} item is not UTF-8 text")))
        })
        .transpose()
    };
    Ok(some_token(ImportedTokens {
        access_token: text(access, LEGACY_ACCESS_USER)?,
        refresh_token: text(refresh, LEGACY_REFRESH_USER)?,
    }))
}

/// Drops empty tokens (flyte-sdk writes `""` for a missing access token); `None` if nothing
/// is left.
fn some_token(mut t: ImportedTokens) -> Option<ImportedTokens> {
    let keep = |s: Option<Secret>| s.filter(|s| !s.expose().is_empty());
    t.access_token = keep(t.access_token);
    t.refresh_token = keep(t.refresh_token);
    (t.access_token.is_some() || t.refresh_token.is_some()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(s.as_bytes().to_vec()))
    }

    #[test]
    fn sdk_item() {
        let t = parse_sdk_item(br#"{"access_token": "at", "refresh_token": "rt"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(t.access_token, Some(Secret::new("at")));
        assert_eq!(t.refresh_token, Some(Secret::new("rt")));
        let t = parse_sdk_item(br#"{"access_token": "", "refresh_token": "rt"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(t.access_token, None);
        let t = parse_sdk_item(br#"{"access_token": "at", "refresh_token": null}"#)
            .unwrap()
            .unwrap();
        assert_eq!(t.refresh_token, None);
        assert_eq!(
            parse_sdk_item(br#"{"access_token": "", "refresh_token": null}"#).unwrap(),
            None
        );
    }

    #[test]
    fn sdk_item_garbage_is_corrupt_without_quoting_it() {
        for bad in [
            &br#"secret-ish"#[..],
            br#"{"refresh_token": ["secret-ish"]}"#,
        ] {
            let e = parse_sdk_item(bad).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
            assert!(!e.to_string().contains("secret-ish"), "{e}");
        }
    }

    #[test]
    fn legacy_items() {
        let t = from_legacy_items(z("at"), z("rt\n")).unwrap().unwrap();
        assert_eq!(t.access_token, Some(Secret::new("at")));
        assert_eq!(t.refresh_token, Some(Secret::new("rt")));
        let t = from_legacy_items(None, z("rt")).unwrap().unwrap();
        assert_eq!(t.access_token, None);
        assert_eq!(from_legacy_items(None, None).unwrap(), None);
        assert_eq!(from_legacy_items(z(""), None).unwrap(), None);
    }
}
