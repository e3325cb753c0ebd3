//! Every registered adapter against every check, the never-panic properties, and the checks
//! themselves against a toy adapter with known flaws.

use super::mock::{Flaw, SOUND, fixture, mock, samples};
use super::{CHECKS, Check, Suite};
use crate::kit::ProviderInfo;
use proptest::prelude::*;
use std::path::Path;
use std::sync::LazyLock;

/// The registered adapters' suites; one that cannot load is a failure of every check.
static SUITES: LazyLock<Vec<Result<Suite, String>>> = LazyLock::new(|| {
    Suite::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../webhook-samples"))
});

/// Runs one check for every registered adapter and reports every failure, by adapter.
fn every_adapter(name: &str, check: Check) {
    assert!(!SUITES.is_empty(), "no adapter is registered");
    let failures: Vec<String> = SUITES
        .iter()
        .filter_map(|suite| match suite {
            Ok(s) => check(s)
                .err()
                .map(|e| format!("{}:\n{e}", s.adapter.info().id)),
            Err(e) => Some(format!("cannot load the samples: {e}")),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "conformance check {name} failed:\n{}",
        failures.join("\n")
    );
}

macro_rules! every_adapter_passes {
    ($($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                every_adapter(stringify!($check), super::$check);
            }
        )*

        #[test]
        fn every_check_runs_for_every_adapter() {
            let named: Vec<&str> = CHECKS.iter().map(|(name, _)| *name).collect();
            assert_eq!(named, [$(stringify!($check)),*]);
        }
    };
}

every_adapter_passes!(
    flipped_body_byte_is_refused,
    each_signature_header_is_required,
    stale_timestamp_is_refused,
    dedupe_keys_are_stable,
    distinct_facts_have_distinct_keys,
    emitted_kinds_are_declared,
    unknown_status_becomes_unmapped,
);

fn data(pick: u8, mode: u8, headers: &[Vec<u8>], body: &[u8]) -> Vec<u8> {
    let mut data = vec![pick, mode];
    for h in headers {
        data.extend_from_slice(h);
        data.push(0);
    }
    data.extend_from_slice(body);
    data
}

proptest! {
    /// Raw bytes, through `verify` and `parse`, of every adapter.
    #[test]
    fn no_bytes_make_an_adapter_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for suite in SUITES.iter().flatten() {
            suite.exercise(&bytes);
        }
    }

    /// Samples with other header values and bodies written over their own.
    #[test]
    fn no_changed_sample_makes_an_adapter_panic(
        pick in any::<u8>(),
        mode in any::<u8>(),
        headers in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..48), 0..5),
        body in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        let data = data(pick, mode, &headers, &body);
        for suite in SUITES.iter().flatten() {
            suite.exercise(&data);
        }
    }
}

const BODIES: [&str; 4] = ["c1 ringing", "c1 completed", "c2 ringing", "c2 on-hold"];

/// The toy adapter's suite, and the names of the checks it fails.
fn failing(info: ProviderInfo, flaw: Flaw, bodies: &[&str]) -> Vec<&'static str> {
    let adapter = mock(info, flaw);
    let suite = Suite::from_samples(adapter, fixture(), samples(adapter, bodies))
        .unwrap_or_else(|e| panic!("{e}"));
    CHECKS
        .iter()
        .filter(|(_, check)| check(&suite).is_err())
        .map(|(name, _)| *name)
        .collect()
}

#[test]
fn a_sound_adapter_passes_every_check() {
    assert_eq!(failing(SOUND, Flaw::None, &BODIES), Vec::<&str>::new());
}

#[test]
fn a_body_the_proof_ignores_is_caught() {
    assert_eq!(
        failing(SOUND, Flaw::IgnoresBody, &BODIES),
        ["flipped_body_byte_is_refused"]
    );
    let unsigned_body = ProviderInfo {
        signs_body: false,
        ..SOUND
    };
    assert_eq!(
        failing(unsigned_body, Flaw::IgnoresBody, &BODIES),
        Vec::<&str>::new()
    );
    // Declaring that the body is not covered when it is: the declaration must be true.
    let unsigned_body = ProviderInfo {
        signs_body: false,
        ..SOUND
    };
    assert_eq!(
        failing(unsigned_body, Flaw::None, &BODIES),
        ["flipped_body_byte_is_refused"]
    );
}

#[test]
fn a_timestamp_never_compared_is_caught() {
    assert_eq!(
        failing(SOUND, Flaw::IgnoresClock, &BODIES),
        ["stale_timestamp_is_refused"]
    );
    let no_tolerance = ProviderInfo {
        timestamp_tolerance_secs: None,
        ..SOUND
    };
    assert_eq!(
        failing(no_tolerance, Flaw::IgnoresClock, &BODIES),
        Vec::<&str>::new()
    );
    let no_tolerance = ProviderInfo {
        timestamp_tolerance_secs: None,
        ..SOUND
    };
    assert_eq!(
        failing(no_tolerance, Flaw::None, &BODIES),
        ["stale_timestamp_is_refused"]
    );
}

#[test]
fn an_optional_signature_is_caught() {
    assert_eq!(
        failing(SOUND, Flaw::SignatureOptional, &BODIES),
        ["each_signature_header_is_required"]
    );
}

#[test]
fn unstable_or_shared_dedupe_keys_are_caught() {
    assert_eq!(
        failing(SOUND, Flaw::UnstableKeys, &BODIES),
        ["dedupe_keys_are_stable"]
    );
    assert_eq!(
        failing(SOUND, Flaw::OneKeyPerCall, &BODIES),
        ["distinct_facts_have_distinct_keys"]
    );
    // One fact reported twice may share its key.
    assert_eq!(
        failing(
            SOUND,
            Flaw::OneKeyPerCall,
            &["c1 ringing", "c1  ringing", "c2 x"]
        ),
        Vec::<&str>::new()
    );
}

#[test]
fn undeclared_kinds_and_a_missing_unknown_status_are_caught() {
    let no_unmapped = ProviderInfo {
        emits: &[crate::kit::EventTag::Call],
        ..SOUND
    };
    assert_eq!(
        failing(no_unmapped, Flaw::None, &BODIES),
        ["emitted_kinds_are_declared"]
    );
    assert_eq!(
        failing(SOUND, Flaw::None, &BODIES[..3]),
        ["unknown_status_becomes_unmapped"]
    );
}

#[test]
fn exercise_takes_any_input() {
    let adapter = mock(SOUND, Flaw::None);
    let suite = Suite::from_samples(adapter, fixture(), samples(adapter, &BODIES))
        .unwrap_or_else(|e| panic!("{e}"));
    for data in [
        &b""[..],
        b"\x00",
        b"\x01\x01",
        b"\xff\xff\x00\x00\x00\x00zzz",
        b"\x02\x03\xff\xfe\x00\n\x00c9 ringing",
    ] {
        suite.exercise(data);
    }
    assert_eq!(
        super::mutated(&suite.accepted[0].request, 0, b"v1\0v2\0new body\0x")
            .body
            .as_ref(),
        b"new body\0x"
    );
    let spliced = super::mutated(&suite.accepted[0].request, 1, b"\x01\0\0XY");
    assert_eq!(spliced.body.as_ref(), b"XY ringing");
    assert!(spliced.headers.get("x-mock-timestamp").is_none());
}
