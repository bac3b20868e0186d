//! `authType` parsing: every spelling flytekit, flyte-sdk and the Go client accept.
//!
//! Matching ignores case and `-`/`_`, so `device_flow`, `device-flow` and `DeviceFlow` are one
//! name. `ExternalCommand` and `Passthrough` are recognised but are not login modes of ours:
//! a config says `ExternalCommand` mostly because the SDK is told to run *us*
//! (`admin.command: [flyte-auth, token]`), so they mean "pick the default" (see
//! [`AuthChoice::External`]).

use flyte_auth_proto::AuthMode;

/// The names listed in error messages (matching ignores case, `-` and `_`).
pub(crate) const ACCEPTED: &str = "Pkce, standard, DeviceFlow, device-flow, headless, \
     ClientSecret, client-secret, basic, client_credentials, ExternalCommand, external_process, \
     Passthrough (case-insensitive)";

/// What an `authType` value asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthChoice {
    /// One of our modes.
    Mode(AuthMode),
    /// `ExternalCommand` / `external_process` / `Passthrough`: resolved like an absent
    /// authType (ClientSecret when a client secret is configured, else Pkce).
    External,
}

/// Parses an authType spelling; `None` if it is not one we know.
pub(crate) fn parse(raw: &str) -> Option<AuthChoice> {
    let key: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some(match key.as_str() {
        "pkce" | "standard" => AuthChoice::Mode(AuthMode::Pkce),
        "deviceflow" | "headless" => AuthChoice::Mode(AuthMode::DeviceFlow),
        "clientsecret" | "basic" | "clientcredentials" => AuthChoice::Mode(AuthMode::ClientSecret),
        "externalcommand" | "externalprocess" | "passthrough" => AuthChoice::External,
        _ => return None,
    })
}

/// Parses, or explains which names are accepted; `source` names the key or env var.
pub(crate) fn parse_or_explain(raw: &str, source: &str) -> Result<AuthChoice, String> {
    parse(raw).ok_or_else(|| {
        format!(
            "unknown authType {:?} in {source}; accepted: {ACCEPTED}",
            raw.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthMode::*;

    #[test]
    fn every_spelling() {
        let cases = [
            ("Pkce", AuthChoice::Mode(Pkce)),
            ("pkce", AuthChoice::Mode(Pkce)),
            ("PKCE", AuthChoice::Mode(Pkce)),
            ("standard", AuthChoice::Mode(Pkce)),
            ("STANDARD", AuthChoice::Mode(Pkce)),
            ("DeviceFlow", AuthChoice::Mode(DeviceFlow)),
            ("device_flow", AuthChoice::Mode(DeviceFlow)),
            ("device-flow", AuthChoice::Mode(DeviceFlow)),
            ("DEVICEFLOW", AuthChoice::Mode(DeviceFlow)),
            ("headless", AuthChoice::Mode(DeviceFlow)),
            ("ClientSecret", AuthChoice::Mode(ClientSecret)),
            ("clientsecret", AuthChoice::Mode(ClientSecret)),
            ("client-secret", AuthChoice::Mode(ClientSecret)),
            ("basic", AuthChoice::Mode(ClientSecret)),
            ("client_credentials", AuthChoice::Mode(ClientSecret)),
            ("client-credentials", AuthChoice::Mode(ClientSecret)),
            ("CLIENT_CREDENTIALS", AuthChoice::Mode(ClientSecret)),
            ("ExternalCommand", AuthChoice::External),
            ("externalcommand", AuthChoice::External),
            ("external_process", AuthChoice::External),
            ("EXTERNAL_PROCESS", AuthChoice::External),
            ("Passthrough", AuthChoice::External),
            (" Pkce ", AuthChoice::Mode(Pkce)),
        ];
        for (s, want) in cases {
            assert_eq!(parse(s), Some(want), "{s}");
        }
    }

    #[test]
    fn unknown_lists_accepted_names() {
        assert_eq!(parse("oauth"), None);
        assert_eq!(parse(""), None);
        let e = parse_or_explain("oauth", "admin.authType in /x/config.yaml").unwrap_err();
        assert!(e.contains("\"oauth\""), "{e}");
        assert!(e.contains("admin.authType in /x/config.yaml"), "{e}");
        for name in [
            "Pkce",
            "DeviceFlow",
            "headless",
            "ClientSecret",
            "client_credentials",
        ] {
            assert!(e.contains(name), "{e}");
        }
    }
}
