//! Child processes whose prompts a test reads line by line while they run.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flyte_auth_e2e::harness::TestEnv;

use crate::common::WAIT;

/// How a [`Proc`] ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Every prompt line read, joined with newlines.
    pub stderr: String,
}

/// A child process whose prompt stream (stderr, or the pty for [`Proc::pty`]) is read line by
/// line on a thread, so a test can react to a prompt while the process still runs. Killed
/// when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stdout: Option<JoinHandle<String>>,
}

impl Proc {
    /// Spawns `flyte-auth ARGS` in `env`; prompts are read from its stderr.
    pub fn flyte_auth(env: &TestEnv, args: &[&str]) -> Proc {
        let mut cmd = env.command("flyte-auth");
        cmd.args(args);
        Proc::spawn(cmd)
    }

    /// Spawns `cmd` (a `flyte-auth` command); prompts are read from its stderr.
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn flyte-auth");
        let err = child.stderr.take().expect("stderr pipe");
        let out = child.stdout.take().expect("stdout pipe");
        Proc::from_streams(child, err, Some(out))
    }

    /// Runs `flyte-auth ARGS` with a terminal as stdin, stdout and stderr (through
    /// util-linux `script`), so it behaves as at a human's prompt; its stdout is redirected
    /// into `stdout_file` so the token stays apart from the prompts. `None` when `script` is
    /// not installed.
    pub fn pty(env: &TestEnv, args: &[&str], stdout_file: &std::path::Path) -> Option<Proc> {
        let script = ["/usr/bin/script", "/bin/script"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())?;
        let base = env.command("flyte-auth");
        let mut line = format!("exec {}", base.get_program().to_string_lossy());
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        line.push_str(&format!(" > {}", stdout_file.display()));
        let mut cmd = Command::new(script);
        cmd.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.current_dir(&env.cwd)
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn script");
        let out = child.stdout.take().expect("stdout pipe");
        Some(Proc::from_streams(
            child,
            out,
            None::<std::process::ChildStdout>,
        ))
    }

    fn from_streams(
        child: Child,
        prompts: impl Read + Send + 'static,
        stdout: Option<impl Read + Send + 'static>,
    ) -> Proc {
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(prompts).lines() {
                let Ok(line) = line else { break };
                // A terminal gets `\r` line ends and spinner redraws; keep the text only.
                let clean = line.replace("\x1b[2K", "").replace('\r', " ");
                if tx.send(clean).is_err() {
                    break;
                }
            }
        });
        let stdout = stdout.map(|mut s| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                text
            })
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
            stdout,
        }
    }

    /// Waits (at most [`WAIT`]) for a prompt line containing `needle` and returns it; panics
    /// with everything seen so far otherwise.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let end = Instant::now() + WAIT;
        // Lines already seen count too: a test may ask for a line it skipped past.
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line containing {needle:?} ({e:?}); lines so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The line right after the first one containing `needle`.
    pub fn line_after(&mut self, needle: &str) -> String {
        self.wait_for(needle);
        let i = self
            .seen
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_default();
        if self.seen.len() <= i + 1 {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!(
                    "nothing after {needle:?} ({e:?}); lines so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
        self.seen[i + 1].clone()
    }

    /// The user code of a device prompt (`and confirm the code CODE ...`).
    pub fn device_code(&mut self) -> String {
        let line = self.wait_for("and confirm the code ");
        let rest = line
            .split("and confirm the code ")
            .nth(1)
            .unwrap_or_default();
        rest.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The URL of a browser prompt, whether or not the agent could open a browser.
    pub fn browser_url(&mut self) -> String {
        const NOT_OPENED: &str = "Please open the following link in your browser to authenticate: ";
        let line = self.wait_for("http");
        if let Some(url) = line.split(NOT_OPENED).nth(1) {
            return url.trim().to_owned();
        }
        // "Your browser has been opened ..., visit:" puts the URL on the next line.
        let next = self.line_after("visit:");
        next.trim().to_owned()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (at most `limit`) for the process to exit; panics (after killing it) otherwise.
    pub fn finish_within(mut self, limit: Duration) -> Finished {
        let end = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(25)),
                _ => {
                    self.kill();
                    self.drain();
                    panic!(
                        "still running after {limit:?}; lines so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        };
        self.drain();
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Finished {
            code: status.code(),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }

    /// [`Proc::finish_within`] with [`WAIT`].
    pub fn finish(self) -> Finished {
        self.finish_within(WAIT)
    }

    /// Kills the process (as a user closing the terminal would) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Collects the lines still in flight after the process ended.
    fn drain(&mut self) {
        // Bounded: an agent started by the client could hold a copy of the pipe.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}
