//! Resolution with an API key in the environment.

use flyte_auth_proto::AuthMode;

use super::{Fixture, api_key, none};
use crate::config::Overrides;
use crate::error::Error;

const SECRET: &str = "SuperSecretValue";

fn keyed(org: &str) -> Fixture {
    let mut f = Fixture::new();
    f.set(
        "FLYTE_API_KEY",
        &api_key(&format!("key.unionai.cloud:ci-app:{SECRET}:{org}")),
    );
    f
}

#[test]
fn key_alone_is_enough() {
    let f = keyed("acme");
    let r = f.resolve(&none()).unwrap();
    let p = &r.profile;
    assert_eq!(p.endpoint, "https://key.unionai.cloud");
    assert_eq!(p.mode, AuthMode::ClientSecret);
    assert_eq!(p.client_id.as_deref(), Some("ci-app"));
    assert_eq!(p.client_secret.as_ref().unwrap().expose(), SECRET);
    assert_eq!(p.org.as_deref(), Some("acme"));
    assert_eq!(r.api_key_var.as_deref(), Some("FLYTE_API_KEY"));
    assert!(!format!("{r:?}").contains(SECRET));
}

#[test]
fn key_beats_file_endpoint_mode_and_insecure() {
    let f = keyed("None");
    f.home_config(
        "admin:\n  endpoint: file.example.com\n  authType: DeviceFlow\n  insecure: true\n  \
         clientId: file-id\ntask:\n  org: file-org\n",
    );
    let p = f.ok(&none());
    assert_eq!(p.endpoint, "https://key.unionai.cloud");
    assert_eq!(
        (p.mode, p.client_id.as_deref()),
        (AuthMode::ClientSecret, Some("ci-app"))
    );
    // Org "None" in the key means none, so the configured org applies.
    assert_eq!(p.org.as_deref(), Some("file-org"));
}

#[test]
fn endpoint_flag_or_env_beats_key_host_and_insecure_makes_http() {
    let mut f = keyed("o");
    let o = Overrides {
        endpoint: Some("127.0.0.1:8089".into()),
        insecure: true,
        ..none()
    };
    let p = f.ok(&o);
    assert_eq!(p.endpoint, "http://127.0.0.1:8089");
    assert!(p.insecure);
    assert_eq!(
        (p.mode, p.client_id.as_deref()),
        (AuthMode::ClientSecret, Some("ci-app"))
    );
    f.set("FLYTE_PLATFORM_URL", "kit.example.com");
    assert_eq!(f.ok(&none()).endpoint, "https://kit.example.com");
    f.set("FLYTE_ADMIN_ENDPOINT", "http://sdk.example.com:9000");
    assert_eq!(f.ok(&none()).endpoint, "http://sdk.example.com:9000");
    assert_eq!(
        f.ok(&Overrides {
            insecure: true,
            ..none()
        })
        .endpoint,
        "http://sdk.example.com:9000"
    );
}

#[test]
fn key_wins_over_other_client_credentials_but_not_interactive_flag() {
    let mut f = keyed("o");
    f.set("FLYTE_CREDENTIALS_CLIENT_ID", "env-id")
        .set("FLYTE_CREDENTIALS_CLIENT_SECRET", "env-sec");
    f.set("FLYTE_ADMIN_AUTHTYPE", "Pkce");
    let p = f.ok(&none());
    assert_eq!(
        (p.mode, p.client_id.as_deref()),
        (AuthMode::ClientSecret, Some("ci-app"))
    );
    assert_eq!(p.client_secret.unwrap().expose(), SECRET);
    // `--auth-type device-flow` means "log me in", not "as the app in $FLYTE_API_KEY".
    f.home_config("admin:\n  endpoint: file.example.com\n");
    let r = f
        .resolve(&Overrides {
            auth_type: Some("device-flow".into()),
            ..none()
        })
        .unwrap();
    assert_eq!(
        (r.profile.mode, r.profile.endpoint.as_str()),
        (AuthMode::DeviceFlow, "https://file.example.com")
    );
    assert!(r.profile.client_secret.is_none() && r.api_key_var.is_none());
}

#[test]
fn bad_key_is_an_error_that_hides_the_key() {
    for plain in [
        format!("h:id:{SECRET}"),
        format!("h::{SECRET}:o"),
        "h:id::o".to_owned(),
    ] {
        let mut f = Fixture::new();
        let key = api_key(&plain);
        f.set("UNION_API_KEY", &key);
        match f.resolve(&none()).unwrap_err() {
            e @ Error::ApiKey { .. } => {
                let msg = e.to_string();
                assert!(msg.contains("$UNION_API_KEY"), "{msg}");
                assert!(!msg.contains(SECRET) && !msg.contains(&key), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
    let mut f = Fixture::new();
    f.set("FLYTE_API_KEY", "not base64 at all!");
    assert!(f.err(&none()).contains("not valid base64"));
}
