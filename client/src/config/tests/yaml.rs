//! Reading config files: every auth key, wrong types, malformed YAML.

use std::path::PathBuf;

use flyte_auth_proto::AuthMode;

use super::{Fixture, none, write};
use crate::error::Error;

const FULL: &str = r#"
admin:
  endpoint: dns:///flyte.example.com:8443
  insecure: false
  insecureSkipVerify: true
  caCertFilePath: certs/ca.pem
  httpProxyURL: http://proxy.local:3128
  authType: DeviceFlow
  clientId: my-client
  clientSecretLocation: /does/not/matter
  clientSecretEnvVar: NOT_USED
  scopes:
    - all
    - offline
  audience: https://aud.example.com
  tokenUrl: https://idp.example.com/token
  authorizationHeader: flyte-authorization
  pkceConfig:
    timeout: 2m
  deviceFlowConfig:
    timeout: 1h30m
    pollInterval: 500ms
  command: [flyte-auth, token]
  maxRetries: 4
task:
  org: acme
  project: flytesnacks
image:
  builder: local
local:
  persistence: true
"#;

#[test]
fn every_auth_key_is_read_and_unknown_keys_ignored() {
    let f = Fixture::new();
    f.home_config(FULL);
    let p = f.ok(&none());
    assert_eq!(p.endpoint, "https://flyte.example.com:8443");
    assert!(!p.insecure);
    assert!(p.insecure_skip_verify);
    assert_eq!(p.ca_cert_file, Some(f.cwd.join("certs/ca.pem")));
    assert_eq!(p.http_proxy.as_deref(), Some("http://proxy.local:3128"));
    // DeviceFlow is explicit, so the (unreadable) secret location is never touched.
    assert_eq!(p.mode, AuthMode::DeviceFlow);
    assert!(p.client_secret.is_none());
    assert_eq!(p.client_id.as_deref(), Some("my-client"));
    assert_eq!(p.scopes, Some(vec!["all".to_owned(), "offline".to_owned()]));
    assert_eq!(p.audience.as_deref(), Some("https://aud.example.com"));
    assert_eq!(
        p.token_url.as_deref(),
        Some("https://idp.example.com/token")
    );
    assert_eq!(
        p.authorization_header.as_deref(),
        Some("flyte-authorization")
    );
    assert_eq!(p.pkce_timeout_secs, Some(120));
    assert_eq!(p.device_timeout_secs, Some(5400));
    assert_eq!(p.device_poll_interval_secs, Some(1));
    assert_eq!(p.org.as_deref(), Some("acme"));
}

#[test]
fn lenient_shapes() {
    let f = Fixture::new();
    // Integer seconds, lower-cased keys (viper), quoted bools, a comma-string of scopes,
    // an empty task section and an empty scope list.
    f.home_config(
        "admin:\n  endpoint: localhost:30080\n  insecure: \"yes\"\n  deviceflowconfig:\n    \
         pollInterval: 7\n    timeout: \"90\"\n  scopes: all, offline\n  clientId: 12345\ntask:\n",
    );
    let p = f.ok(&none());
    assert_eq!(p.endpoint, "http://localhost:30080");
    assert!(p.insecure);
    assert_eq!(
        (p.device_poll_interval_secs, p.device_timeout_secs),
        (Some(7), Some(90))
    );
    assert_eq!(p.scopes, Some(vec!["all".to_owned(), "offline".to_owned()]));
    assert_eq!(p.client_id.as_deref(), Some("12345"));
    f.home_config("admin:\n  endpoint: h\n  scopes: []\n");
    assert_eq!(f.ok(&none()).scopes, None);
    f.home_config("");
    assert!(f.err(&none()).contains("no Flyte endpoint configured"));
}

#[test]
fn wrong_types_name_key_and_file() {
    let f = Fixture::new();
    let path = f.home.join(".flyte/config.yaml");
    let cases = [
        (
            "admin:\n  endpoint: h\n  insecure: maybe\n",
            "admin.insecure",
            "\"maybe\"",
        ),
        (
            "admin:\n  endpoint: h\n  scopes: 5\n",
            "admin.scopes",
            "a list of strings",
        ),
        (
            "admin:\n  endpoint: h\n  scopes: [a, [b]]\n",
            "admin.scopes",
            "a list of strings",
        ),
        ("admin:\n  endpoint: [h]\n", "admin.endpoint", "a string"),
        (
            "admin:\n  endpoint: h\n  clientId: {a: 1}\n",
            "admin.clientId",
            "a mapping",
        ),
        ("admin: 5\n", "admin", "a mapping"),
        ("- a\n- b\n", "the top level", "a mapping"),
        (
            "admin:\n  endpoint: h\n  pkceConfig:\n    timeout: soon\n",
            "admin.pkceConfig.timeout",
            "duration",
        ),
        (
            "admin:\n  endpoint: h\n  deviceFlowConfig:\n    timeout: -5\n",
            "admin.deviceFlowConfig.timeout",
            "duration",
        ),
        (
            "admin:\n  endpoint: h\n  authType: oauth\n",
            "admin.authType",
            "DeviceFlow",
        ),
        (
            "admin:\n  endpoint: \"bad host\"\n",
            "admin.endpoint",
            "bad host",
        ),
    ];
    for (text, key, want) in cases {
        f.home_config(text);
        let e = f.err(&none());
        assert!(e.contains(key) && e.contains(want), "{text:?}: {e}");
        assert!(e.contains(&path.display().to_string()), "{text:?}: {e}");
    }
}

#[test]
fn malformed_yaml_reports_line_and_column() {
    let f = Fixture::new();
    let path = f.home_config("admin:\n  endpoint: h\n  insecure: [true\n");
    match f.resolve(&none()).unwrap_err() {
        Error::ConfigSyntax {
            path: p,
            line,
            column,
            message,
        } => {
            assert_eq!(p, path);
            assert_eq!(line, 4, "{message}");
            assert!(column >= 1);
            assert!(!message.contains(" at line "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    f.home_config("admin:\n  endpoint: h\n bad: indent\n");
    let e = f.resolve(&none()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ConfigSyntax {
                line: 3,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{}:3:2: ", path.display())),
        "{e}"
    );
}

#[test]
fn unreadable_config_is_read_error() {
    let f = Fixture::new();
    let dir: PathBuf = f.home.join(".flyte/config.yaml");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory at the config path is skipped by the search (not a file)…
    assert!(f.err(&none()).contains("no Flyte endpoint configured"));
    // …and a non-UTF-8 file is a read error naming it.
    write(&f.path("config.yaml"), "admin:\n  endpoint: h\n");
    std::fs::write(f.path("config.yaml"), b"\xff\xfe").unwrap();
    let e = f.err(&none());
    assert!(
        e.contains(&f.path("config.yaml").display().to_string()),
        "{e}"
    );
}
