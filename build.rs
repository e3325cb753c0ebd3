//! Tells the integration suite what it can run on, so that a test that cannot run is
//! reported as ignored, with the reason, never as passed:
//! - `cfg(callgate_test_postgres)`, set when `CALLGATE_TEST_POSTGRES` is: the tests that need
//!   PostgreSQL (two instances on one database, an outage of the server) run; without it they
//!   are ignored, and the tests of the embedded store's files are ignored on PostgreSQL;
//! - `cfg(callgate_sdk)`, set when `CALLGATE_SDK_PYTHON` is (the interpreter of the virtualenv
//!   holding the providers' official SDKs, which `.ci/run` installs): the SDK differential runs;
//! - `cfg(callgate_browser)`, set when `CALLGATE_CHROMEDRIVER` is (the path of Debian's
//!   `chromedriver`, which `.ci/run` installs with `chromium`): the web console's browser tests
//!   run in headless Chromium;
//! - `cfg(callgate_promtool)`, set when `promtool` (Prometheus's checker, Debian package
//!   `prometheus`, which `.ci/run` installs) is on `PATH`: the checks of `/metrics` and of
//!   `deploy/alerts.yml` run;
//! - `cfg(callgate_pg_tools)`, set when `pg_dump` and `pg_restore` (Debian package
//!   `postgresql-client`, which `.ci/run` installs) are on `PATH`: the PostgreSQL restore
//!   drill runs (in the PostgreSQL pass).
//!
//! A change of any of these variables rebuilds the package, and so does one of these programs
//! appearing in (or leaving) a directory of `PATH`.

use std::path::PathBuf;

fn main() {
    on_path("callgate_promtool", &["promtool"]);
    on_path("callgate_pg_tools", &["pg_dump", "pg_restore"]);
    println!("cargo::rerun-if-changed=build.rs");
    for (var, cfg) in [
        ("CALLGATE_TEST_POSTGRES", "callgate_test_postgres"),
        ("CALLGATE_SDK_PYTHON", "callgate_sdk"),
        ("CALLGATE_CHROMEDRIVER", "callgate_browser"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// Sets `cfg` when every one of `programs` is on `PATH`. Cargo runs this again when a file
/// found changes or goes, or, when one was missing, when a directory of `PATH` changes.
fn on_path(cfg: &str, programs: &[&str]) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    println!("cargo::rerun-if-env-changed=PATH");
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let found: Vec<PathBuf> = programs
        .iter()
        .filter_map(|program| dirs.iter().map(|d| d.join(program)).find(|p| p.is_file()))
        .collect();
    for file in &found {
        println!("cargo::rerun-if-changed={}", file.display());
    }
    if found.len() == programs.len() {
        println!("cargo::rustc-cfg={cfg}");
    } else {
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
}
