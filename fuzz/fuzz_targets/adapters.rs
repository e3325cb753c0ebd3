//! Every registered adapter's `verify`, and its `parse` as if verified, on requests built from
//! the fuzzer's bytes: the first byte picks the adapter (so one target covers the whole
//! registry), the rest is the input of the conformance kit's `Suite::exercise` (which of the
//! adapter's accepted samples to start from, and how to change its headers and body).

#![no_main]

use callgate_adapters::kit::conformance::Suite;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::LazyLock;

/// Every registered adapter with its samples, loaded once per process.
static SUITES: LazyLock<Vec<Suite>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../webhook-samples");
    Suite::load_all(&root)
        .into_iter()
        .map(|suite| suite.unwrap_or_else(|e| panic!("cannot load the samples: {e}")))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    if let Some(suite) = SUITES.get(usize::from(*pick) % SUITES.len().max(1)) {
        suite.exercise(rest);
    }
});
