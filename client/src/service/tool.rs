//! Running the service manager's command-line tool (`systemctl`, `launchctl`) and turning
//! its failures into messages that say what to do.

use std::process::{Command, Output, Stdio};

use crate::{Error, Result};

/// A finished run of the tool.
#[derive(Debug)]
pub struct Ran {
    /// Whether it exited 0.
    pub ok: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr, trimmed.
    pub stderr: String,
}

/// The command line as shown to the user.
pub fn shown(program: &str, args: &[&str]) -> String {
    let mut s = program.to_owned();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Runs `program args`; fails only when it cannot be run at all (not installed).
pub fn run(program: &str, args: &[&str]) -> Result<Ran> {
    let out: Output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Service(format!(
                    "`{program}` was not found on PATH, so this system's service manager is not \
                     available; the agent is still started on demand by `flyte-auth` itself"
                ))
            } else {
                Error::Service(format!("cannot run `{program}`: {e}"))
            }
        })?;
    Ok(Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

/// Runs `program args`, says so, and fails with the tool's own message if it fails.
pub fn must(program: &str, args: &[&str], say: &mut dyn FnMut(&str)) -> Result<Ran> {
    let line = shown(program, args);
    let ran = run(program, args)?;
    if !ran.ok {
        return Err(Error::Service(format!(
            "`{line}` failed: {}",
            if ran.stderr.is_empty() {
                "no message"
            } else {
                &ran.stderr
            }
        )));
    }
    say(&format!("ran {line}"));
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named() {
        let e = run("flyte-auth-no-such-tool", &["x"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`flyte-auth-no-such-tool` was not found"), "{e}");
    }

    #[test]
    fn failures_carry_the_tools_message() {
        let mut said = Vec::new();
        let e = must("sh", &["-c", "echo oops >&2; exit 1"], &mut |s| {
            said.push(s.to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`sh -c echo oops >&2; exit 1` failed: oops"),
            "{e}"
        );
        assert!(said.is_empty());
        let ok = must("sh", &["-c", "echo hi"], &mut |s| said.push(s.to_owned())).unwrap();
        assert_eq!(ok.stdout, "hi\n");
        assert_eq!(said, ["ran sh -c echo hi"]);
    }
}
