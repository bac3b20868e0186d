//! The agent a client starts: a clean environment and `/` as its working directory, and, when
//! it will not run, its own reason relayed to the user instead of only a log path.

use std::os::unix::fs::PermissionsExt;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, stderr};

use crate::common::{token, use_api_key};

#[test]
fn an_auto_started_agent_gets_a_clean_environment_and_root_as_cwd() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.set_env("SOME_OTHER_SECRET", "marker-6f1d");
    token(&env, &[]);
    let pid = flyte_auth::Client::connect(&env.socket)
        .expect("agent")
        .agent_pid();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let names: Vec<&str> = vars.iter().filter_map(|v| v.split('=').next()).collect();
    for gone in ["FLYTE_API_KEY", "SOME_OTHER_SECRET", "FLYTE_ADMIN_ENDPOINT"] {
        assert!(
            !names.contains(&gone),
            "{gone} reached the agent: {names:?}"
        );
    }
    assert!(!vars.iter().any(|v| v.contains("marker-6f1d")), "{names:?}");
    // What it needs still reaches it.
    for kept in ["HOME", "PATH", "XDG_STATE_HOME", "FLYTE_AUTH_LOG"] {
        assert!(names.contains(&kept), "{kept} missing: {names:?}");
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd");
    assert_eq!(cwd, std::path::Path::new("/"));
}

#[test]
fn an_agent_that_will_not_start_says_why_through_the_client() {
    let env = TestEnv::new();
    // A private socket directory (the client accepts it) in which the agent cannot take its
    // lock: its lock file's name is taken by a directory.
    let dir = env.socket.parent().expect("socket dir");
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::create_dir(dir.join("agent.sock.lock")).expect("mkdir lock");
    let out = env.flyte_auth(&["agent", "start"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("refused to run"), "{err}");
    assert!(
        err.contains("agent.sock.lock"),
        "the agent's own reason: {err}"
    );
    assert!(err.contains("agent.log"), "and where its log is: {err}");
}
