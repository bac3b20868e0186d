//! The CLI's config handling end to end: `create config` output and config errors.

use flyte_auth_e2e::harness::{TestEnv, stderr};

fn create(env: &TestEnv, args: &[&str]) -> (std::process::Output, String) {
    let path = env.home.join(".flyte/config.yaml");
    let mut all = vec!["create", "config"];
    all.extend_from_slice(args);
    let out = env.flyte_auth(&all);
    (out, std::fs::read_to_string(path).unwrap_or_default())
}

#[test]
fn create_config_writes_the_seed_examples_byte_for_byte() {
    let env = TestEnv::new();
    let (out, text) = create(&env, &["--endpoint", "https://your-endpoint.unionai.cloud"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        text,
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\n"
    );

    let (out, _) = create(&env, &["--endpoint", "x.example.com"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "refuses to overwrite: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--force"));

    let (out, text) = create(
        &env,
        &[
            "--endpoint",
            "http://your-endpoint.unionai.cloud",
            "--auth-type",
            "headless",
            "--force",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        text,
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\n  authType: DeviceFlow\n  insecure: true\n"
    );

    let (out, text) = create(
        &env,
        &[
            "--endpoint",
            "https://your-endpoint.unionai.cloud",
            "--project",
            "flytesnacks",
            "--domain",
            "development",
            "--force",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        text,
        "admin:\n  endpoint: dns:///your-endpoint.unionai.cloud\ntask:\n  project: flytesnacks\n  domain: development\n"
    );
}

#[test]
fn broken_config_is_reported_with_line_and_column() {
    let env = TestEnv::new();
    let path = env.cwd.join("config.yaml");
    std::fs::write(&path, "admin:\n  endpoint: [unclosed\n").expect("write");
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("config.yaml:"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn missing_endpoint_and_bad_api_key_are_config_errors() {
    let mut env = TestEnv::new();
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("create config"), "{}", stderr(&out));

    env.set_env("FLYTE_API_KEY", "bm90LWEta2V5OnNlY3JldC12YWx1ZQ==");
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("FLYTE_API_KEY"), "{err}");
    assert!(!err.contains("secret-value"), "never echo the key: {err}");
}
