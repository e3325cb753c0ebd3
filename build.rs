//! Tells the integration suite what it can run on, so that a test that cannot run is
//! reported as ignored, with the reason, never as passed:
//! - `cfg(callgate_test_postgres)`, set when `CALLGATE_TEST_POSTGRES` is: the tests that need
//!   PostgreSQL (two instances on one database, an outage of the server) run; without it they
//!   are ignored, and the tests of the embedded store's files are ignored on PostgreSQL;
//! - `cfg(callgate_sdk)`, set when `CALLGATE_SDK_PYTHON` is (the interpreter of the virtualenv
//!   holding the providers' official SDKs, which `.ci/run` installs): the SDK differential runs.
//!
//! A change of either variable rebuilds the package.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for (var, cfg) in [
        ("CALLGATE_TEST_POSTGRES", "callgate_test_postgres"),
        ("CALLGATE_SDK_PYTHON", "callgate_sdk"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
