//! The checks every sample gets (the harness in `tests/samples.rs` only calls [`run`]).
//!
//! Accepted samples: verify + parse equals `X.expected.json`, and `sign` reproduces the
//! sample's own signature headers. Reject samples: refused with exactly the `# expect:`
//! reason. A sample still carrying the scaffold's `FILL IN` lines fails first, with those
//! lines. The properties every adapter must have beyond these known answers (a flipped body
//! byte refused, each signature header required, stable and distinct dedupe keys, declared
//! event kinds, ...) are the conformance kit's (`kit::conformance`), run over the same
//! samples.

use super::{ProviderFixture, SampleCase, SampleError, SampleKind};
use crate::kit::scaffold::FILL_IN;
use crate::kit::{Adapter, InboundRequest, ParseError, Parsed, VerifyError};
use http::HeaderName;
use std::path::Path;

/// What to do with `X.expected.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedMode {
    /// Compare; when the file is missing or differs, write `X.expected.json.new` and fail.
    Compare,
    /// Write the current output to `X.expected.json` (review the diff before committing).
    Update,
}

/// A sample did not pass.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SampleFailure {
    pub path: String,
    pub message: String,
}

/// Test harnesses print errors with `Debug`: show the readable message, newlines included.
impl std::fmt::Debug for SampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Loads the sample at `path` and runs every check that applies to it.
pub fn run(path: &Path, mode: ExpectedMode) -> Result<(), SampleFailure> {
    let fail = |message: String| SampleFailure {
        path: path.display().to_string(),
        message,
    };
    scaffold_lines_are_gone(path).map_err(fail)?;
    let case = SampleCase::load(path).map_err(|SampleError(m)| fail(m))?;
    match case.kind().map_err(|SampleError(m)| fail(m))? {
        SampleKind::Accepted => accepted(&case, mode).map_err(fail),
        SampleKind::Reject { expect } => rejected(&case, &expect).map_err(fail),
    }
}

/// A skeleton sample from the scaffold says what to fill in, before anything else is checked.
fn scaffold_lines_are_gone(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let sample = super::HttpSample::parse(&bytes).map_err(|SampleError(m)| m)?;
    let todo: Vec<&str> = sample
        .comments
        .iter()
        .filter(|c| c.contains(FILL_IN))
        .map(String::as_str)
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this is still the scaffold's skeleton sample; to do (adapters/README.md, \"Adding a provider\"):\n  {}",
        todo.join("\n  ")
    ))
}

/// Why a request was refused, by whichever step refused it.
#[derive(Debug)]
pub(crate) enum Refusal {
    Verify(VerifyError),
    Parse(ParseError),
}

impl Refusal {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.reason(),
            Self::Parse(e) => e.reason(),
        }
    }
}

/// Verify then parse, as the service does, at the fixture's clock.
pub(crate) fn process(
    adapter: &dyn Adapter,
    fixture: &ProviderFixture,
    req: &InboundRequest,
) -> Result<Parsed, Refusal> {
    let verified = adapter
        .verify(req, &fixture.secrets, &fixture.clock())
        .map_err(Refusal::Verify)?;
    adapter.parse(&verified).map_err(Refusal::Parse)
}

fn request(case: &SampleCase) -> Result<InboundRequest, String> {
    case.sample.to_request().map_err(|SampleError(m)| m)
}

fn rejected(case: &SampleCase, expect: &str) -> Result<(), String> {
    match process(case.adapter, &case.fixture, &request(case)?) {
        Err(refusal) if refusal.reason() == expect => Ok(()),
        Err(refusal) => Err(format!(
            "refused with {} ({refusal:?}), expected {expect}",
            refusal.reason()
        )),
        Ok(parsed) => Err(format!("accepted, expected {expect}: {parsed:?}")),
    }
}

fn accepted(case: &SampleCase, mode: ExpectedMode) -> Result<(), String> {
    let req = request(case)?;
    let parsed = process(case.adapter, &case.fixture, &req).map_err(|r| {
        format!(
            "refused with {}: {r:?}{}",
            r.reason(),
            resign_hint(case, &req)
        )
    })?;
    compare_expected(case, &parsed, mode)?;
    let names = signature_headers(case.adapter, &case.fixture, &req)?;
    sign_reproduces_the_sample(case, &req, &names)
}

/// For a sample whose signature no longer matches: what `sign` would set instead.
fn resign_hint(case: &SampleCase, req: &InboundRequest) -> String {
    let mut resigned = req.clone();
    if case
        .adapter
        .sign(&mut resigned, &case.fixture.signing, &case.fixture.clock())
        .is_err()
    {
        return String::new();
    }
    let mut hint = String::new();
    if resigned.public_url != req.public_url {
        hint.push_str(&format!("\n  sign would request {}", resigned.public_url));
    }
    for (name, value) in &resigned.headers {
        if req.headers.get(name) != Some(value) {
            hint.push_str(&format!(
                "\n  sign with provider.toml's secrets gives {name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    hint
}

fn compare_expected(case: &SampleCase, parsed: &Parsed, mode: ExpectedMode) -> Result<(), String> {
    let actual =
        serde_json::to_value(parsed).map_err(|e| format!("cannot serialize the output: {e}"))?;
    let pretty = serde_json::to_string_pretty(&actual).map_err(|e| e.to_string())? + "\n";
    let expected_path = case.expected_path();
    let new_path = case.path.with_extension("expected.json.new");
    let write = |path: &Path| {
        std::fs::write(path, &pretty).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if mode == ExpectedMode::Update {
        let _ = std::fs::remove_file(&new_path);
        return write(&expected_path);
    }
    let Ok(text) = std::fs::read_to_string(&expected_path) else {
        write(&new_path)?;
        return Err(format!(
            "no {}: wrote the current output to {}; review it and rename it (or run with UPDATE_SAMPLES=1)",
            expected_path.display(),
            new_path.display()
        ));
    };
    let expected: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", expected_path.display()))?;
    if expected == actual {
        let _ = std::fs::remove_file(&new_path);
        return Ok(());
    }
    write(&new_path)?;
    Err(format!(
        "output differs from {}; the current output is in {} (diff them; UPDATE_SAMPLES=1 accepts it):\n{pretty}",
        expected_path.display(),
        new_path.display()
    ))
}

/// The headers `sign` sets: each header of the sample that `sign` puts back once removed.
/// None for a scheme whose proof is the body itself (a signed token, Dialpad): `sign`
/// rewrites the body, and gives back the sample's body exactly.
pub(crate) fn signature_headers(
    adapter: &dyn Adapter,
    fixture: &ProviderFixture,
    req: &InboundRequest,
) -> Result<Vec<HeaderName>, String> {
    let clock = fixture.clock();
    let mut found = Vec::new();
    for name in req.headers.keys() {
        let mut probe = req.clone();
        probe.headers.remove(name);
        adapter
            .sign(&mut probe, &fixture.signing, &clock)
            .map_err(|e| format!("sign failed: {e}"))?;
        if probe.headers.contains_key(name) {
            found.push(name.clone());
        }
    }
    if found.is_empty() {
        let mut probe = req.clone();
        adapter
            .sign(&mut probe, &fixture.signing, &clock)
            .map_err(|e| format!("sign failed: {e}"))?;
        if probe.body == req.body && !req.body.is_empty() {
            return Ok(found);
        }
        return Err("the sample carries none of the headers `sign` sets".to_owned());
    }
    Ok(found)
}

fn sign_reproduces_the_sample(
    case: &SampleCase,
    req: &InboundRequest,
    names: &[HeaderName],
) -> Result<(), String> {
    let mut resigned = req.clone();
    case.adapter
        .sign(&mut resigned, &case.fixture.signing, &case.fixture.clock())
        .map_err(|e| format!("sign failed: {e}"))?;
    if resigned.public_url != req.public_url {
        return Err(format!("sign changed the URL to {:?}", resigned.public_url));
    }
    if resigned.body != req.body {
        return Err("sign gives another body (re-sign the sample)".to_owned());
    }
    for name in names {
        let (ours, theirs) = (resigned.headers.get(name), req.headers.get(name));
        if ours != theirs {
            return Err(format!(
                "sign gives {name}: {ours:?}, the sample has {theirs:?} (re-sign the sample)"
            ));
        }
    }
    Ok(())
}
