//! `create config`: exact output bytes, and safe writing.

use std::path::Path;

use crate::config::{CreateConfig, Overrides, default_config_path, render_config, write_config};
use crate::error::Error;

use super::Fixture;

fn cfg(endpoint: &str) -> CreateConfig {
    CreateConfig {
        endpoint: endpoint.to_owned(),
        ..CreateConfig::default()
    }
}

#[test]
fn seed_guide_examples_byte_for_byte() {
    assert_eq!(
        render_config(&cfg("https://your-endpoint.unionai.cloud")).unwrap(),
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\n"
    );
    let headless = CreateConfig {
        auth_type: Some("headless".into()),
        ..cfg("http://your-endpoint.unionai.cloud")
    };
    assert_eq!(
        render_config(&headless).unwrap(),
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\n  authType: DeviceFlow\n  insecure: true\n"
    );
    let task = CreateConfig {
        project: Some("flytesnacks".into()),
        domain: Some("development".into()),
        ..cfg("http://your-endpoint.unionai.cloud")
    };
    assert_eq!(
        render_config(&task).unwrap(),
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\n  insecure: true\n\
         task:\n  project: flytesnacks\n  domain: development\n"
    );
}

#[test]
fn endpoint_and_auth_type_forms() {
    for e in [
        "x.example.com",
        "dns:///x.example.com",
        "https://x.example.com/",
        "HTTPS://x.example.com",
    ] {
        assert_eq!(
            render_config(&cfg(e)).unwrap(),
            "admin:\n  endpoint: dns:///x.example.com\n",
            "{e}"
        );
    }
    assert_eq!(
        render_config(&cfg("dns:///localhost:30080")).unwrap(),
        "admin:\n  endpoint: dns:///localhost:30080\n"
    );
    let with = |a: &str, insecure: bool| CreateConfig {
        auth_type: Some(a.into()),
        insecure,
        ..cfg("h")
    };
    assert_eq!(
        render_config(&with("pkce", false)).unwrap(),
        "admin:\n  endpoint: dns:///h\n"
    );
    assert_eq!(
        render_config(&with("device-flow", true)).unwrap(),
        "admin:\n  endpoint: dns:///h\n  authType: DeviceFlow\n  insecure: true\n"
    );
    assert_eq!(
        render_config(&with("client-secret", false)).unwrap(),
        "admin:\n  endpoint: dns:///h\n  authType: ClientSecret\n"
    );
    assert!(
        render_config(&with("nope", false))
            .unwrap_err()
            .to_string()
            .contains("--auth-type")
    );
    assert!(render_config(&with("ExternalCommand", false)).is_err());
    assert!(
        render_config(&cfg("not a host"))
            .unwrap_err()
            .to_string()
            .contains("--endpoint")
    );
    let empty = CreateConfig {
        project: Some(" ".into()),
        ..cfg("h")
    };
    assert!(
        render_config(&empty)
            .unwrap_err()
            .to_string()
            .contains("--project")
    );
}

#[test]
fn values_needing_quotes_are_quoted_and_read_back() {
    let c = CreateConfig {
        project: Some("true".into()),
        domain: Some("my dev: \"x\"".into()),
        org: Some("0123".into()),
        ..cfg("h")
    };
    let text = render_config(&c).unwrap();
    assert_eq!(
        text,
        "admin:\n  endpoint: dns:///h\ntask:\n  project: \"true\"\n  domain: \"my dev: \\\"x\\\"\"\n  \
         org: \"0123\"\n"
    );
    let v: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    assert_eq!(v["task"]["project"].as_str(), Some("true"));
    assert_eq!(v["task"]["domain"].as_str(), Some("my dev: \"x\""));
    assert_eq!(v["task"]["org"].as_str(), Some("0123"));
    let plain = CreateConfig {
        org: Some("acme-corp_1".into()),
        ..cfg("h")
    };
    assert!(
        render_config(&plain)
            .unwrap()
            .ends_with("  org: acme-corp_1\n")
    );
    for needs_quotes in ["On", "null", "1e3", ".inf", "-x", "a:", "2024-01-01", "x y"] {
        let c = CreateConfig {
            org: Some(needs_quotes.into()),
            ..cfg("h")
        };
        assert!(
            render_config(&c)
                .unwrap()
                .ends_with(&format!("  org: \"{needs_quotes}\"\n")),
            "{needs_quotes}"
        );
    }
}

#[test]
fn write_creates_dirs_refuses_overwrite_and_round_trips() {
    let f = Fixture::new();
    let path = default_config_path(&f.home);
    assert_eq!(path, f.home.join(".flyte/config.yaml"));
    let text = render_config(&CreateConfig {
        auth_type: Some("headless".into()),
        ..cfg("h.example.com")
    })
    .unwrap();
    write_config(&path, &text, false).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    match write_config(&path, "other", false).unwrap_err() {
        Error::Exists { path: p } => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    write_config(&path, "admin:\n  endpoint: dns:///new.example.com\n", true).unwrap();
    let p = f.ok(&Overrides::default());
    assert_eq!(p.endpoint, "https://new.example.com");
    // No temp files left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("config.yaml")]);
    let blocked = f.path("file-not-dir");
    std::fs::write(&blocked, "").unwrap();
    let e = write_config(&blocked.join("config.yaml"), "x", false).unwrap_err();
    assert!(matches!(e, Error::WriteFile { .. }), "{e:?}");
    assert!(!Path::new(&blocked.join("config.yaml")).exists());
}
