//! The `callgate` binary.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: the request path allocates many small, short-lived values from several threads,
/// which glibc's allocator serves markedly slower (README, "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
