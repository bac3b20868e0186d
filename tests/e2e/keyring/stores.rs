//! Without a keyring, the file store, and unreadable stored logins.

use super::*;

#[test]
fn without_a_keyring_logins_work_from_memory_with_one_clear_warning() {
    // Overrides the test run's bus (set_env comes after the pass-through in command_for).
    let (idp, env) = setup_with(
        NodeIdpOptions::default(),
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        &[],
    );
    let said = device_login(&idp, &env);
    let warnings: Vec<&str> = said.lines().filter(|l| l.starts_with(NO_KEYRING)).collect();
    assert_eq!(
        warnings.len(),
        1,
        "the login must print the warning once; it printed:\n{said}\nwhile status says: {}",
        first_session(&env)["storage"]
    );
    assert!(
        warnings[0].contains("will not survive") && warnings[0].contains("--store file"),
        "the warning says what it means and what to do: {}",
        warnings[0]
    );
    let s = first_session(&env);
    let storage = s["storage"].as_str().unwrap_or_default();
    assert!(
        storage.starts_with("memory only — ") && storage.contains("no keyring available"),
        "{s}"
    );
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(claims(stdout(&out).trim())["sub"], "alice");
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(
            keyring_accounts(idp.port()),
            Vec::<String>::new(),
            "the agent must not have reached the run's keyring"
        );
    }

    // Said once per agent: a second login does not repeat it (status keeps saying it).
    let out = env.flyte_auth(&["logout"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = device_login(&idp, &env);
    assert!(!again.contains(NO_KEYRING), "{again}");
}

/// The file store's directory: `$XDG_STATE_HOME/flyte-auth/tokens` (the harness sets
/// `XDG_STATE_HOME` to `$HOME/.local/state`).
pub(super) fn tokens_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".local/state/flyte-auth/tokens")
}

/// Every entry of `dir`, hidden temp files included.
pub(super) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_file_store_keeps_a_private_file_that_survives_kill_9_and_a_corrupt_one_asks_for_login() {
    let (idp, mut env) = setup_with(NodeIdpOptions::default(), &[], &["--store", "file"]);
    device_login(&idp, &env);
    let t1 = token(&env, &[]);
    let dir = tokens_dir(&env);
    let s = first_session(&env);
    assert_eq!(
        s["storage"].as_str(),
        Some(format!("file {}", dir.display()).as_str()),
        "{s}"
    );
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    let names = entries(&dir);
    let prefix = format!("127.0.0.1_{}_user_default_", idp.port());
    assert!(
        names.len() == 1 && names[0].starts_with(&prefix) && names[0].ends_with(".json"),
        "one session file and no temp files: {names:?}"
    );
    let file = dir.join(&names[0]);
    assert_eq!(mode(&file), 0o600);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
    assert!(
        saved["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(saved["access_token"], t1.as_str());
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(
            keyring_accounts(idp.port()),
            Vec::<String>::new(),
            "--store file keeps the login out of the keyring"
        );
    }

    kill_agent(&env);
    env.start_agent(&["--store", "file"]).expect("agent");
    assert_eq!(token(&env, &[]), t1, "restored from the file");
    assert_eq!(idp.token_requests(REFRESH), 0);
    assert_eq!(device_authorizations(&idp), 1);

    std::fs::write(&file, "garbage").expect("corrupt the file");
    kill_agent(&env);
    env.start_agent(&["--store", "file"]).expect("agent");
    let out = env.flyte_auth(&["token"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(stdout(&out), "");
    assert!(
        err.contains("could not be read")
            && err.contains(&file.display().to_string())
            && err.contains("flyte-auth login"),
        "says which file is unreadable and what to do: {err}"
    );
    assert!(!err.contains("garbage"), "never quotes the content: {err}");
    let s = first_session(&env);
    assert_eq!(s["state"], "login_required", "the agent lives on: {s}");
    assert!(!file.exists(), "the unreadable file is removed");

    // A login replaces it.
    device_login(&idp, &env);
    assert_eq!(entries(&dir).len(), 1);
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
}

#[test]
fn a_corrupt_keyring_item_asks_for_a_login_instead_of_crashing() {
    let (idp, env) = setup(NodeIdpOptions::default());
    device_login(&idp, &env);
    token(&env, &[]);
    let (account, _) = keyring_item(idp.port());
    store_secret(
        &[("service", "flyte-auth"), ("username", &account)],
        "not json",
    );
    assert_eq!(
        keyring_item_raw(idp.port()),
        (account.clone(), "not json".to_owned()),
        "the item itself was overwritten"
    );

    kill_agent(&env);
    let out = env.flyte_auth(&["token"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("could not be read") && err.contains("flyte-auth login"),
        "{err}"
    );
    assert!(!err.contains("not json"), "never quotes the content: {err}");
    let s = first_session(&env);
    assert_eq!(s["state"], "login_required", "the agent lives on: {s}");
    assert_eq!(
        keyring_accounts(idp.port()),
        Vec::<String>::new(),
        "the unreadable item is removed"
    );

    device_login(&idp, &env);
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
    keyring_item(idp.port());
}
