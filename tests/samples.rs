//! Every `webhook-samples/<provider>/*.http` file is one named test (datatest-stable). The
//! checks live in `callgate_adapters::kit::samples::check`; this file only wires them up.
//!
//! `UPDATE_SAMPLES=1 cargo test -p callgate-adapters --test samples` rewrites the
//! `*.expected.json` files from the current output (review the diff).
//!
//! This target belongs to the `callgate-adapters` package (`harness = false`); the root
//! package does not auto-discover tests.

// A test harness reads its switch from the environment.
#![allow(clippy::disallowed_methods)]

use callgate_adapters::kit::samples::check::{ExpectedMode, run};
use std::path::Path;

fn sample(path: &Path) -> datatest_stable::Result<()> {
    let mode = match std::env::var("UPDATE_SAMPLES").as_deref() {
        Ok("1") => ExpectedMode::Update,
        _ => ExpectedMode::Compare,
    };
    run(path, mode)?;
    Ok(())
}

datatest_stable::harness! {
    { test = sample, root = "../webhook-samples", pattern = r"^.*\.http$" },
}
