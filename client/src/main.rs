//! `flyte-auth`: the command-line client. Parses arguments, runs one subcommand, maps errors
//! to documented exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    no_core_dumps();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = cli::output::report(&e);
            ExitCode::from(code)
        }
    }
}

/// The client holds a client secret or API key (and prints a token) for a moment: a crash
/// then must not write them into a core file. One syscall; a failure changes nothing else.
fn no_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        let _ = setrlimit(Resource::Core, zero);
    }
}
