//! `flyte-auth`: the command-line client. Parses arguments, runs one subcommand, maps errors
//! to documented exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = cli::output::report(&e);
            ExitCode::from(code)
        }
    }
}
