//! Tells the integration suite which store it runs on, so that the tests that need
//! PostgreSQL (two instances on one database, an outage of the server) are reported as
//! ignored, with the reason, on the embedded store, and the tests of the embedded store's
//! files are ignored on PostgreSQL: `cfg(callgate_test_postgres)` is set when
//! `CALLGATE_TEST_POSTGRES` is. A change of the variable rebuilds the package.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(callgate_test_postgres)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CALLGATE_TEST_POSTGRES");
    if std::env::var_os("CALLGATE_TEST_POSTGRES").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=callgate_test_postgres");
    }
}
