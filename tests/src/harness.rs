//! Test environment for e2e tests: an isolated HOME, runtime dir and socket per test, and
//! helpers to run the real `flyte-auth` and `flyte-auth-agent` binaries in it.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// Path of a workspace binary (built by `cargo build --bins` before the tests run).
pub fn bin(name: &str) -> PathBuf {
    // Tests run as target/<profile>/deps/e2e-<hash>, the benchmark as target/<profile>/<bin>;
    // the binaries sit in target/<profile>.
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` before the e2e tests (scripts/test.sh does)",
        path.display()
    );
    path
}

/// One test's private world.
#[derive(Debug)]
pub struct TestEnv {
    /// Keeps the temporary directory alive.
    pub dir: tempfile::TempDir,
    /// `$HOME`.
    pub home: PathBuf,
    /// Working directory for commands (no config file unless a test writes one).
    pub cwd: PathBuf,
    /// `$XDG_RUNTIME_DIR`.
    pub runtime: PathBuf,
    /// The agent socket (`FLYTE_AUTH_SOCK`).
    pub socket: PathBuf,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
    agents: Vec<Child>,
}

impl TestEnv {
    /// A fresh environment.
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("fa")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        let cwd = dir.path().join("work");
        let runtime = dir.path().join("run");
        for d in [&home, &cwd, &runtime] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let socket = runtime.join("flyte-auth").join("agent.sock");
        TestEnv {
            dir,
            home,
            cwd,
            runtime,
            socket,
            env: Vec::new(),
            agents: Vec::new(),
        }
    }

    /// Adds an environment variable to every command run from now on.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// A command for a workspace binary with a clean, isolated environment.
    pub fn command(&self, name: &str) -> Command {
        self.command_for(&bin(name))
    }

    /// A command for any program with this environment's clean, isolated environment.
    pub fn command_for(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env("XDG_STATE_HOME", self.home.join(".local/state"))
            .env("FLYTE_AUTH_SOCK", &self.socket)
            .env("FLYTE_AUTH_LOG", "debug")
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        // The test run's Secret Service (scripts/with-keyring.sh), so agents keep logins in a
        // real keyring; without it they run memory-only.
        if let Some(bus) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
            c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs `flyte-auth ARGS` to completion.
    pub fn flyte_auth(&self, args: &[&str]) -> Output {
        self.command("flyte-auth")
            .args(args)
            .output()
            .expect("run flyte-auth")
    }

    /// Starts `flyte-auth-agent` in the foreground with `args` and waits until it listens.
    pub fn start_agent(&mut self, args: &[&str]) -> anyhow::Result<u32> {
        let mut child = self
            .command("flyte-auth-agent")
            .arg("--ready-stdout")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(self.agent_log()?))
            .spawn()
            .context("spawn agent")?;
        let stdout = child.stdout.take().context("agent stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("READY") {
            let status = child.wait()?;
            bail!(
                "agent did not start ({status}); log:\n{}",
                self.agent_log_text()
            );
        }
        let pid = child.id();
        self.agents.push(child);
        Ok(pid)
    }

    /// Path of the log our foreground agents write to.
    pub fn agent_log_path(&self) -> PathBuf {
        self.dir.path().join("agent.log")
    }

    fn agent_log(&self) -> anyhow::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.agent_log_path())?;
        Ok(f)
    }

    /// Everything agents of this environment logged (foreground and auto-started).
    pub fn agent_log_text(&self) -> String {
        let mut s = std::fs::read_to_string(self.agent_log_path()).unwrap_or_default();
        let auto = self.home.join(".local/state/flyte-auth/agent.log");
        s.push_str(&std::fs::read_to_string(auto).unwrap_or_default());
        s
    }

    /// Stops whatever agent serves this environment's socket.
    pub fn stop_agent(&self) {
        // Through the library, not the binary: this runs in Drop, where a missing binary must
        // not turn into a panic during a panic.
        if let Ok(mut c) = flyte_auth::Client::connect(&self.socket) {
            let _ = c.shutdown();
        }
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop_agent();
        for mut c in self.agents.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Stdout of a finished command as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr of a finished command as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Waits until `f` is true, checking every 50 ms, for at most `limit`.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
