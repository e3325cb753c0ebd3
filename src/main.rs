//! The `callgate` binary.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = callgate::cli::Cli::parse();
    match callgate::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
