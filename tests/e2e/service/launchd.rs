//! The launchd LaunchAgent: the shipped plist parses with Python's plistlib and carries the
//! expected keys; install renders it with this user's paths and drives a fake `launchctl`.
//! (No Mac here: `--manager launchd` runs the macOS code path on Linux.)

use std::process::{Command, Stdio};

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};
use serde_json::Value;

use super::{
    AGENT_PLACEHOLDER, agent_bin, calls, fake_tool, flyte_auth_with_path, repo_root, shipped,
};

const LABEL: &str = "io.github.flyte-auth.agent";
const PLIST: &str = "launchd/io.github.flyte-auth.agent.plist";

/// Parses plist text with Python's plistlib, returned as JSON.
fn plistlib(text: &str) -> Value {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write plist");
    let out = child.wait_with_output().expect("python3");
    assert!(out.status.success(), "plistlib: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn shipped_plist_parses_and_has_the_expected_keys() {
    let p = plistlib(&shipped(PLIST));
    assert_eq!(p["Label"], LABEL);
    assert_eq!(p["ProgramArguments"][0], AGENT_PLACEHOLDER);
    assert_eq!(p["ProgramArguments"][1], "--socket");
    assert_eq!(p["RunAtLoad"], true);
    assert_eq!(p["KeepAlive"]["SuccessfulExit"], false);
    for key in ["StandardOutPath", "StandardErrorPath"] {
        let path = p[key].as_str().expect(key);
        assert!(path.contains("/Library/Logs/"), "{key} = {path}");
    }
    assert!(repo_root().join(PLIST).is_file());
}

#[test]
fn install_print_renders_this_users_paths() {
    let env = TestEnv::new();
    let out = env.flyte_auth(&["agent", "install", "--print", "--manager", "launchd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let home = env.home.display().to_string();
    let expected = shipped(PLIST)
        .replace(AGENT_PLACEHOLDER, &agent_bin())
        .replace(
            "/var/folders/USER-TMPDIR/T/flyte-auth/agent.sock",
            &env.socket.display().to_string(),
        )
        .replace("/Users/USERNAME", &home);
    assert_eq!(stdout(&out), expected);
    let p = plistlib(&stdout(&out));
    let args = p["ProgramArguments"].as_array().expect("array");
    assert_eq!(args[0], agent_bin());
    assert_eq!(args[2], env.socket.display().to_string());
    assert_eq!(
        p["StandardErrorPath"],
        format!("{home}/Library/Logs/flyte-auth-agent.log")
    );
    let plist = env.home.join(format!("Library/LaunchAgents/{LABEL}.plist"));
    assert!(
        stderr(&out).contains(&plist.display().to_string()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn install_bootstraps_into_the_gui_domain_and_uninstall_boots_out() {
    let env = TestEnv::new();
    let fake = env.dir.path().join("fakebin");
    fake_tool(&fake, "launchctl", "exit 0");
    let uid = flyte_auth_proto::paths::current_uid();
    let plist = env.home.join(format!("Library/LaunchAgents/{LABEL}.plist"));

    let out = flyte_auth_with_path(
        &env,
        &fake,
        false,
        &["agent", "install", "--manager", "launchd"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&plist).expect("plist written");
    assert_eq!(plistlib(&text)["ProgramArguments"][0], agent_bin());
    let log = calls(&fake, "launchctl");
    let bootstrap = format!("bootstrap gui/{uid} {}", plist.display());
    assert!(log.contains(&format!("print gui/{uid}")), "{log:?}");
    assert!(
        log.contains(&format!("enable gui/{uid}/{LABEL}")),
        "{log:?}"
    );
    assert_eq!(log.last(), Some(&bootstrap), "{log:?}");
    assert!(
        stderr(&out).contains(&format!("ran launchctl {bootstrap}")),
        "{}",
        stderr(&out)
    );

    let out = flyte_auth_with_path(
        &env,
        &fake,
        false,
        &["agent", "uninstall", "--manager", "launchd"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!plist.exists());
    let log = calls(&fake, "launchctl");
    assert_eq!(
        log.last(),
        Some(&format!("bootout gui/{uid}/{LABEL}")),
        "{log:?}"
    );
}
