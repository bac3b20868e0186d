//! Resolution without API keys: endpoint forms, modes, env vs file, secrets.

use flyte_auth_proto::AuthMode;

use super::{Fixture, none, write};
use crate::config::Overrides;

fn endpoint_flag(e: &str) -> Overrides {
    Overrides {
        endpoint: Some(e.to_owned()),
        ..Overrides::default()
    }
}

#[test]
fn endpoint_forms_from_file_and_flag() {
    let f = Fixture::new();
    let cases = [
        (
            "dns:///flyte.example.com",
            "https://flyte.example.com",
            false,
        ),
        ("dns:///localhost:30080", "https://localhost:30080", false),
        (
            "https://flyte.example.com/console/",
            "https://flyte.example.com",
            false,
        ),
        ("http://127.0.0.1:8089", "http://127.0.0.1:8089", true),
        (
            "flyte.example.com:443",
            "https://flyte.example.com:443",
            false,
        ),
    ];
    for (raw, url, insecure) in cases {
        f.home_config(&format!("admin:\n  endpoint: {raw}\n"));
        let p = f.ok(&none());
        assert_eq!((p.endpoint.as_str(), p.insecure), (url, insecure), "{raw}");
        let p = f.ok(&endpoint_flag(raw));
        assert_eq!(
            (p.endpoint.as_str(), p.insecure),
            (url, insecure),
            "--endpoint {raw}"
        );
    }
    f.home_config("admin:\n  endpoint: dns:///h\n  insecure: true\n");
    assert_eq!(f.ok(&none()).endpoint, "http://h");
    let e = f.err(&endpoint_flag("://"));
    assert!(e.contains("--endpoint") && e.contains("\"://\""), "{e}");
}

#[test]
fn no_endpoint_anywhere() {
    let f = Fixture::new();
    assert_eq!(
        f.err(&none()),
        "no Flyte endpoint configured: run `flyte-auth create config --endpoint HOST`, set \
         FLYTE_ADMIN_ENDPOINT, or export FLYTE_API_KEY"
    );
    let path = f.home_config("admin:\n  insecure: true\n");
    let e = f.err(&none());
    assert!(
        e.contains("no Flyte endpoint configured") && e.contains(&path.display().to_string()),
        "{e}"
    );
}

#[test]
fn auth_type_spellings_in_file() {
    let f = Fixture::new();
    for (spelling, mode) in [
        ("Pkce", AuthMode::Pkce),
        ("standard", AuthMode::Pkce),
        ("deviceflow", AuthMode::DeviceFlow),
        ("device-flow", AuthMode::DeviceFlow),
        ("headless", AuthMode::DeviceFlow),
        ("ExternalCommand", AuthMode::Pkce),
        ("external_process", AuthMode::Pkce),
        ("Passthrough", AuthMode::Pkce),
    ] {
        f.home_config(&format!("admin:\n  endpoint: h\n  authType: {spelling}\n"));
        assert_eq!(f.ok(&none()).mode, mode, "{spelling}");
    }
    let e = f.err(&Overrides {
        auth_type: Some("magic".into()),
        ..endpoint_flag("h")
    });
    assert!(
        e.contains("--auth-type") && e.contains("Pkce, standard, DeviceFlow"),
        "{e}"
    );
}

#[test]
fn env_beats_file_and_flags_beat_env() {
    let mut f = Fixture::new();
    f.home_config(
        "admin:\n  endpoint: file.example.com\n  authType: Pkce\n  insecureSkipVerify: false\n  \
         scopes: [file]\n  audience: file-aud\ntask:\n  org: file-org\n",
    );
    f.set("FLYTE_PLATFORM_URL", "kit.example.com")
        .set("FLYTE_CREDENTIALS_AUTH_MODE", "headless")
        .set("FLYTE_PLATFORM_INSECURE_SKIP_VERIFY", "true")
        .set("FLYTE_CREDENTIALS_SCOPES", "env1,env2")
        .set("FLYTE_CREDENTIALS_AUDIENCE", "env-aud")
        .set("FLYTE_TASK_ORG", "env-org");
    let p = f.ok(&none());
    assert_eq!(p.endpoint, "https://kit.example.com");
    assert_eq!(p.mode, AuthMode::DeviceFlow);
    assert!(p.insecure_skip_verify);
    assert_eq!(p.scopes, Some(vec!["env1".to_owned(), "env2".to_owned()]));
    assert_eq!(
        (p.audience.as_deref(), p.org.as_deref()),
        (Some("env-aud"), Some("env-org"))
    );
    f.set("FLYTE_ADMIN_ENDPOINT", "sdk.example.com")
        .set("FLYTE_ADMIN_AUTHTYPE", "Pkce");
    let p = f.ok(&none());
    assert_eq!(
        (p.endpoint.as_str(), p.mode),
        ("https://sdk.example.com", AuthMode::Pkce)
    );
    let o = Overrides {
        insecure: true,
        auth_type: Some("device_flow".into()),
        ..endpoint_flag("flag.example.com")
    };
    let p = f.ok(&o);
    assert_eq!(
        (p.endpoint.as_str(), p.mode),
        ("http://flag.example.com", AuthMode::DeviceFlow)
    );
    assert!(p.insecure);
}

#[test]
fn endpoint_flag_keeps_file_auth_type_and_env_insecure_false_beats_file() {
    let mut f = Fixture::new();
    f.home_config("admin:\n  endpoint: h\n  authType: DeviceFlow\n  insecure: true\n");
    let p = f.ok(&endpoint_flag("other.example.com"));
    assert_eq!(
        (p.endpoint.as_str(), p.mode),
        ("http://other.example.com", AuthMode::DeviceFlow)
    );
    f.set("FLYTE_ADMIN_INSECURE", "no");
    assert_eq!(f.ok(&none()).endpoint, "https://h");
}

#[test]
fn cwd_config_beats_home_and_source_is_reported() {
    let f = Fixture::new();
    f.home_config("admin:\n  endpoint: home.example.com\n");
    let local = f.path(".flyte/config.yaml");
    write(&local, "admin:\n  endpoint: local.example.com\n");
    let r = f.resolve(&none()).unwrap();
    assert_eq!(r.profile.endpoint, "https://local.example.com");
    assert_eq!(r.config_file, Some(local));
    assert_eq!(r.api_key_var, None);
    let e = f.err(&Overrides {
        config: Some("missing.yaml".into()),
        ..none()
    });
    assert!(
        e.contains(&f.path("missing.yaml").display().to_string()),
        "{e}"
    );
}

#[test]
fn client_secret_sources_force_client_secret_mode() {
    let mut f = Fixture::new();
    let secret_file = f.path("secret.txt");
    write(&secret_file, "\n  file-secret \n");
    f.home_config(&format!(
        "admin:\n  endpoint: h\n  clientId: app\n  clientSecretLocation: {}\n",
        secret_file.display()
    ));
    let p = f.ok(&none());
    assert_eq!(p.mode, AuthMode::ClientSecret);
    assert_eq!(p.client_secret.as_ref().unwrap().expose(), "file-secret");
    f.set("FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR", "APP_SECRET")
        .set("APP_SECRET", "env-secret");
    assert_eq!(f.ok(&none()).client_secret.unwrap().expose(), "env-secret");
    f.set("FLYTE_CREDENTIALS_CLIENT_SECRET", "raw-secret");
    assert_eq!(f.ok(&none()).client_secret.unwrap().expose(), "raw-secret");
    // An explicit interactive mode ignores the secret entirely.
    let p = f.ok(&Overrides {
        auth_type: Some("pkce".into()),
        ..none()
    });
    assert_eq!((p.mode, p.client_secret.is_none()), (AuthMode::Pkce, true));
    // ExternalCommand with a secret around → ClientSecret.
    f.home_config("admin:\n  endpoint: h\n  clientId: app\n  authType: ExternalCommand\n");
    assert_eq!(f.ok(&none()).mode, AuthMode::ClientSecret);
}

#[test]
fn client_secret_errors() {
    let mut f = Fixture::new();
    f.home_config("admin:\n  endpoint: h\n  authType: ClientSecret\n  clientId: app\n");
    let e = f.err(&none());
    assert!(e.contains("no client secret was found"), "{e}");
    // The Go default file is tried last.
    write(&f.home.join("default_client_secret"), "dflt\n");
    assert_eq!(f.ok(&none()).client_secret.unwrap().expose(), "dflt");

    f.home_config("admin:\n  endpoint: h\n  authType: ClientSecret\n");
    let e = f.err(&none());
    assert!(
        e.contains("needs a client id") && e.contains("admin.clientId"),
        "{e}"
    );
    f.set("FLYTE_CREDENTIALS_CLIENT_SECRET", "hunter2");
    f.home_config("admin:\n  endpoint: h\n");
    let e = f.err(&none());
    assert!(
        e.contains("client secret is configured") && !e.contains("hunter2"),
        "{e}"
    );

    let missing = f.path("nope/secret");
    f.env.clear();
    f.home_config(&format!(
        "admin:\n  endpoint: h\n  clientId: a\n  clientSecretLocation: {}\n",
        missing.display()
    ));
    let e = f.err(&none());
    assert!(e.contains(&missing.display().to_string()), "{e}");
}
