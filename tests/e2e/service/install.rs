//! `flyte-auth agent install|uninstall|status` with systemd, against a fake `systemctl` that
//! records its arguments (no systemd runs here), and the refusals without a user manager.

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};

use super::{calls, expected_systemd_units, fake_tool, flyte_auth_with_path, systemd_analyze};

const SOCKET: &str = "flyte-auth-agent.socket";
const SERVICE: &str = "flyte-auth-agent.service";

#[test]
fn install_writes_units_and_enables_the_socket_and_uninstall_undoes_it() {
    let env = TestEnv::new();
    let fake = env.dir.path().join("fakebin");
    // `is-active` answers "inactive", as a user manager that never saw the units would.
    fake_tool(
        &fake,
        "systemctl",
        "case \"$*\" in *is-active*) echo inactive;; esac\nexit 0",
    );
    let units = env.home.join(".config/systemd/user");

    let out = flyte_auth_with_path(&env, &fake, false, &["agent", "install"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (socket, service) = expected_systemd_units();
    let written = |name: &str| std::fs::read_to_string(units.join(name)).expect("unit written");
    assert_eq!(written(SOCKET), socket);
    assert_eq!(written(SERVICE), service);
    let log = calls(&fake, "systemctl");
    let at = |c: &str| {
        log.iter()
            .position(|l| l == c)
            .unwrap_or_else(|| panic!("no `{c}` in {log:?}"))
    };
    assert!(at("--user show --property=Version") < at("--user daemon-reload"));
    assert!(at("--user daemon-reload") < at(&format!("--user enable --now {SOCKET}")));
    let said = stderr(&out);
    for what in [
        format!("wrote {}", units.join(SERVICE).display()),
        format!("ran systemctl --user enable --now {SOCKET}"),
        "installed: systemd starts".to_owned(),
    ] {
        assert!(
            said.contains(&what),
            "install does not report `{what}`:\n{said}"
        );
    }

    // What install wrote is what systemd accepts.
    let verify = systemd_analyze(
        &env,
        &[
            "--user",
            "--man=no",
            "verify",
            &units.join(SOCKET).display().to_string(),
            &units.join(SERVICE).display().to_string(),
        ],
    );
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        stderr(&verify)
    );

    // Installing again changes nothing on disk.
    let again = flyte_auth_with_path(&env, &fake, false, &["agent", "install"]);
    assert!(stderr(&again).contains(&format!("unchanged {}", units.join(SOCKET).display())));

    let st = flyte_auth_with_path(&env, &fake, false, &["agent", "status"]);
    assert!(st.status.success(), "{}", stderr(&st));
    let text = stdout(&st);
    assert!(text.contains(&format!("{SOCKET}: installed")), "{text}");
    assert!(text.contains(&format!("{SERVICE}: installed")), "{text}");
    assert!(text.contains("agent: not running"), "{text}");

    let out = flyte_auth_with_path(&env, &fake, false, &["agent", "uninstall"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!units.join(SOCKET).exists() && !units.join(SERVICE).exists());
    let log = calls(&fake, "systemctl");
    let disable = format!("--user disable --now {SOCKET} {SERVICE}");
    let disabled = log
        .iter()
        .position(|l| *l == disable)
        .expect("disable --now");
    assert!(
        log[disabled..].iter().any(|l| l == "--user daemon-reload"),
        "{log:?}"
    );
    assert!(stderr(&out).contains(&format!("removed {}", units.join(SOCKET).display())));
}

#[test]
fn install_refuses_when_no_user_manager_answers() {
    let env = TestEnv::new();
    let fake = env.dir.path().join("fakebin");
    // What `systemctl --user` says on a machine (or container) without a user manager.
    fake_tool(
        &fake,
        "systemctl",
        "echo 'Failed to connect to bus: No such file or directory' >&2\nexit 1",
    );
    let out = flyte_auth_with_path(&env, &fake, false, &["agent", "install"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("cannot reach a systemd user manager"),
        "{said}"
    );
    assert!(said.contains("Failed to connect to bus"), "{said}");
    assert!(
        !env.home.join(".config/systemd").exists(),
        "refused before writing anything"
    );
    assert_eq!(
        calls(&fake, "systemctl"),
        ["--user show --property=Version"]
    );
}

#[test]
fn install_refuses_without_systemctl() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = flyte_auth_with_path(&env, &empty, true, &["agent", "install"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`systemctl` was not found"),
        "{}",
        stderr(&out)
    );
    assert!(!env.home.join(".config/systemd").exists());
    // Status still answers, and says what it could not ask.
    let st = flyte_auth_with_path(&env, &empty, true, &["agent", "status"]);
    assert!(st.status.success(), "{}", stderr(&st));
    assert!(stdout(&st).contains("not installed"), "{}", stdout(&st));
}

#[test]
fn install_takes_over_from_an_auto_started_agent() {
    let mut env = TestEnv::new();
    // The harness socket is the systemd one: $XDG_RUNTIME_DIR/flyte-auth/agent.sock.
    let pid = env.start_agent(&[]).expect("agent");
    let fake = env.dir.path().join("fakebin");
    fake_tool(&fake, "systemctl", "exit 0");
    let out = flyte_auth_with_path(&env, &fake, false, &["agent", "install"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "(pid {pid}) so that the service manager can take over"
        )),
        "{}",
        stderr(&out)
    );
    assert!(
        !env.socket.exists(),
        "the old agent removed its socket before systemd binds"
    );
}
