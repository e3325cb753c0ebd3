//! Every `webhook-samples/<provider>/*.http` file is one named test (datatest-stable). The
//! checks live in `callgate_adapters::kit::samples::check`; this file only wires them up.
//!
//! `UPDATE_SAMPLES=1 cargo test -p callgate-adapters --test samples` rewrites the
//! `*.expected.json` files from the current output (review the diff).
//!
//! This target belongs to the `callgate-adapters` package (`harness = false`), whose default
//! feature `sample-harness` the guard below checks. Cargo also auto-discovers `tests/*.rs`
//! for the root `callgate` package, which has no such feature: there this file is an empty
//! test crate instead of a build error (no `datatest-stable` there). The guard can go once the
//! root manifest sets `autotests = false`.
#![allow(unexpected_cfgs)]
#![cfg(feature = "sample-harness")]

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
