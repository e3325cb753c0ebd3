//! The conformance kit: what every registered adapter must do, checked over its accepted
//! samples (`webhook-samples/<id>/`) with the fake secrets and the clock of their
//! `provider.toml`. Nothing here names a provider: an adapter is covered as soon as it is in
//! the registry and has samples.
//!
//! The sample harness (`tests/samples.rs`) holds the known answers: each accepted sample
//! verifies and parses to its `.expected.json`, `sign` reproduces its signature, and each
//! `reject-*` sample is refused for its `# expect:` reason. The kit adds [`CHECKS`], run on
//! every accepted sample:
//!
//! - `flipped_body_byte_is_refused`: one body byte flipped (five positions) is refused by
//!   `verify`. An adapter whose proof does not cover the body (HTTP Basic) declares
//!   `ProviderInfo::signs_body: false`, and the kit then checks the opposite, that the
//!   flipped body still verifies, so the declaration stays true;
//! - `each_signature_header_is_required`: each header `sign` sets, removed alone, is
//!   refused, unless it is an alternative proof that verifies on its own (SignalWire's two
//!   spellings of one signature); all of them removed is `missing_header`. A scheme whose
//!   proof is the body itself (Dialpad's signed token) has no such header;
//! - `stale_timestamp_is_refused`: with `timestamp_tolerance_secs: Some(t)`, the clock moved
//!   `2t + 1` s forward gives `stale` (the sample's own time is within `t` of the fixture's
//!   `now`, so that is past the tolerance whatever it is). With `None`, the clock moved a
//!   year forward still verifies: a scheme that checks a time must declare it;
//! - `dedupe_keys_are_stable`: the same delivery verified and parsed twice gives the same
//!   output, dedupe keys included;
//! - `distinct_facts_have_distinct_keys`: across the whole sample set, two events of one call
//!   share a dedupe key only when they report the same fact (the same progress, the same
//!   recording status, the same unmapped value);
//! - `emitted_kinds_are_declared`: every event's kind is in `ProviderInfo::emits`;
//! - `unknown_status_becomes_unmapped`: at least one accepted sample gives an
//!   `EventKind::Unmapped` event, and every such event names a field of
//!   `ProviderInfo::unmapped_fields`. The rule for a sample set is simply: include a webhook
//!   with a status value callgate does not know (name it e.g. `status-unknown.http`); its
//!   `.expected.json` then shows the `unmapped` event, and this check sees it.
//!
//! And [`Suite::exercise`]: no input makes `verify` or `parse` panic. Its tests drive it with
//! proptest, and the fuzz crate (`fuzz/`) with libFuzzer. To reach `parse` with arbitrary
//! input, it takes requests as verified without checking them ([`Verified::unchecked`]):
//! that is why this module exists only in this crate's tests and with the `conformance`
//! feature, which the service never enables.
//!
//! `cargo test -p callgate-adapters conformance` runs the checks for every adapter of
//! [`crate::ADAPTERS`].

use crate::kit::samples::check::{self, Refusal};
use crate::kit::samples::{HttpSample, ProviderFixture};
use crate::kit::{
    Adapter, Clock, EventKind, FixedClock, InboundRequest, Parsed, Verified, VerifyError,
};
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use time::Duration;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

/// One accepted sample, verified and parsed at the fixture's clock.
#[derive(Debug)]
pub struct Accepted {
    /// The file name (`status-ringing.http`).
    pub name: String,
    pub request: InboundRequest,
    pub parsed: Parsed,
}

/// An adapter with its fixture and its accepted samples: what the checks run over.
pub struct Suite {
    pub adapter: &'static dyn Adapter,
    pub fixture: ProviderFixture,
    pub accepted: Vec<Accepted>,
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("adapter", &self.adapter.info().id)
            .field("accepted", &self.accepted.len())
            .finish_non_exhaustive()
    }
}

impl Suite {
    /// Every registered adapter with the samples of `samples_root/<id>/`.
    pub fn load_all(samples_root: &Path) -> Vec<Result<Self, String>> {
        crate::ADAPTERS
            .iter()
            .map(|a| Self::load(*a, &samples_root.join(a.info().id)))
            .collect()
    }

    /// `dir`'s `provider.toml` and accepted samples (every `.http` file not named
    /// `reject-*`), in name order.
    pub fn load(adapter: &'static dyn Adapter, dir: &Path) -> Result<Self, String> {
        let id = adapter.info().id;
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| format!("{id}: cannot read {}: {e}", path.display()))
        };
        let fixture = String::from_utf8(read(&dir.join("provider.toml"))?)
            .map_err(|_| format!("{id}: provider.toml is not UTF-8"))?;
        let fixture = ProviderFixture::parse(&fixture).map_err(|e| format!("{id}: {e}"))?;
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("{id}: cannot list {}: {e}", dir.display()))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".http") && !n.starts_with("reject-"))
            .collect();
        names.sort();
        let mut samples = Vec::new();
        for name in names {
            let sample =
                HttpSample::parse(&read(&dir.join(&name))?).map_err(|e| format!("{name}: {e}"))?;
            samples.push((name, sample));
        }
        Self::from_samples(adapter, fixture, samples)
    }

    /// A suite from samples in memory: each must verify and parse at the fixture's clock.
    pub fn from_samples(
        adapter: &'static dyn Adapter,
        fixture: ProviderFixture,
        samples: Vec<(String, HttpSample)>,
    ) -> Result<Self, String> {
        let id = adapter.info().id;
        let mut accepted = Vec::new();
        for (name, sample) in samples {
            let request = sample
                .to_request()
                .map_err(|e| format!("{id}/{name}: {e}"))?;
            let parsed = check::process(adapter, &fixture, &request).map_err(|r| {
                format!(
                    "{id}/{name} is refused ({}); the sample tests say why: cargo test -p callgate-adapters --test samples",
                    r.reason()
                )
            })?;
            accepted.push(Accepted {
                name,
                request,
                parsed,
            });
        }
        if accepted.is_empty() {
            return Err(format!("{id}: no accepted sample"));
        }
        Ok(Self {
            adapter,
            fixture,
            accepted,
        })
    }

    fn verify_at(&self, req: &InboundRequest, clock: &dyn Clock) -> Result<(), VerifyError> {
        self.adapter
            .verify(req, &self.fixture.secrets, clock)
            .map(|_| ())
    }

    fn verify(&self, req: &InboundRequest) -> Result<(), VerifyError> {
        self.verify_at(req, &self.fixture.clock())
    }

    /// Runs `check` on every accepted sample; the failures, one line per sample.
    fn each(&self, check: impl Fn(&Accepted) -> Result<(), String>) -> Result<(), String> {
        let failures: Vec<String> = self
            .accepted
            .iter()
            .filter_map(|a| check(a).err().map(|e| format!("{}: {e}", a.name)))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n"))
        }
    }

    /// Runs `verify`, then `parse` as if verified, on a request built from `data` on the
    /// pattern of one accepted sample. Any outcome but a panic is fine.
    ///
    /// `data` is `[sample, mode, rest..]`: `sample` picks the accepted sample; `rest`, split
    /// at its first zero bytes, gives new values for the sample's headers in order (one that
    /// is not a valid header value removes the header), and what remains is the body. An
    /// even `mode` takes that as the whole body; an odd one writes it into the sample's own
    /// body at `mode / 2` 128ths of its length, so that parsing gets past the first bytes.
    pub fn exercise(&self, data: &[u8]) {
        let [pick, mode, rest @ ..] = data else {
            return;
        };
        let Some(base) = self
            .accepted
            .get(usize::from(*pick) % self.accepted.len().max(1))
        else {
            return;
        };
        self.exercise_request(&mutated(&base.request, *mode, rest));
    }

    /// Runs `verify`, then `parse` as if verified, on `req`. Any outcome but a panic is fine.
    pub fn exercise_request(&self, req: &InboundRequest) {
        let _ = self.verify(req);
        let _ = self.adapter.parse(&Verified::unchecked(req));
    }
}

fn mutated(base: &InboundRequest, mode: u8, rest: &[u8]) -> InboundRequest {
    let names: Vec<HeaderName> = base.headers.keys().cloned().collect();
    let mut segments: Vec<&[u8]> = rest.splitn(names.len() + 1, |b| *b == 0).collect();
    let body = segments.pop().unwrap_or_default();
    let mut req = base.clone();
    for (name, value) in names.iter().zip(segments) {
        match HeaderValue::from_bytes(value) {
            Ok(v) => {
                req.headers.insert(name.clone(), v);
            }
            Err(_) => {
                req.headers.remove(name);
            }
        }
    }
    req.body = if mode.is_multiple_of(2) {
        Bytes::copy_from_slice(body)
    } else {
        let mut spliced = base.body.to_vec();
        let at = usize::from(mode / 2) * spliced.len() / 128;
        let end = at.saturating_add(body.len()).min(spliced.len());
        spliced.splice(at..end, body.iter().copied());
        spliced.into()
    };
    req
}

/// A check: `Ok`, or what is wrong, one line per sample.
pub type Check = fn(&Suite) -> Result<(), String>;

/// Every check, by name (the module documentation says what each one holds).
pub const CHECKS: &[(&str, Check)] = &[
    ("flipped_body_byte_is_refused", flipped_body_byte_is_refused),
    (
        "each_signature_header_is_required",
        each_signature_header_is_required,
    ),
    ("stale_timestamp_is_refused", stale_timestamp_is_refused),
    ("dedupe_keys_are_stable", dedupe_keys_are_stable),
    (
        "distinct_facts_have_distinct_keys",
        distinct_facts_have_distinct_keys,
    ),
    ("emitted_kinds_are_declared", emitted_kinds_are_declared),
    (
        "unknown_status_becomes_unmapped",
        unknown_status_becomes_unmapped,
    ),
];

fn flipped_body_byte_is_refused(suite: &Suite) -> Result<(), String> {
    let signs_body = suite.adapter.info().signs_body;
    suite.each(|sample| {
        let len = sample.request.body.len();
        if len == 0 {
            return Ok(());
        }
        let mut positions = vec![0, len / 4, len / 2, len * 3 / 4, len - 1];
        positions.dedup();
        for i in positions {
            let mut body = sample.request.body.to_vec();
            if let Some(b) = body.get_mut(i) {
                *b ^= 0x01;
            }
            let mut flipped = sample.request.clone();
            flipped.body = body.into();
            match (signs_body, suite.verify(&flipped)) {
                (true, Ok(())) => {
                    return Err(format!("body byte {i} flipped and still verified"));
                }
                (false, Err(e)) => {
                    return Err(format!(
                        "body byte {i} flipped and refused ({}): the proof covers the body, so declare signs_body: true",
                        e.reason()
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    })
}

fn each_signature_header_is_required(suite: &Suite) -> Result<(), String> {
    suite.each(|sample| {
        let names = check::signature_headers(suite.adapter, &suite.fixture, &sample.request)?;
        if names.is_empty() {
            // The proof is the body itself (a signed token): no header to take away; a
            // flipped body byte is refused (`flipped_body_byte_is_refused`).
            return Ok(());
        }
        for name in &names {
            let mut without = sample.request.clone();
            without.headers.remove(name);
            if suite.verify(&without).is_err() {
                continue;
            }
            // Still verified: fine only when the header is an alternative proof (a second
            // spelling of the signature, or another algorithm), one that verifies alone.
            let mut alone = sample.request.clone();
            for other in names.iter().filter(|n| *n != name) {
                alone.headers.remove(other);
            }
            if suite.verify(&alone).is_err() {
                return Err(format!(
                    "verified without {name}, which is no proof on its own either"
                ));
            }
        }
        let mut unsigned = sample.request.clone();
        for name in &names {
            unsigned.headers.remove(name);
        }
        match suite.verify(&unsigned) {
            Err(VerifyError::MissingHeader(_)) => Ok(()),
            other => Err(format!(
                "without {names:?}: expected missing_header, got {other:?}"
            )),
        }
    })
}

fn stale_timestamp_is_refused(suite: &Suite) -> Result<(), String> {
    let now = suite.fixture.now;
    match suite.adapter.info().timestamp_tolerance_secs {
        Some(t) if t > 0 => {
            let ahead = t.saturating_mul(2).saturating_add(1);
            let Some(later) = now.checked_add(Duration::seconds(ahead)) else {
                return Err(format!("timestamp_tolerance_secs {t} is out of range"));
            };
            suite.each(|sample| match suite.verify_at(&sample.request, &FixedClock(later)) {
                Err(VerifyError::Stale { .. }) => Ok(()),
                other => Err(format!(
                    "clock {ahead} s past the fixture's `now` (tolerance {t} s): expected stale, got {other:?}"
                )),
            })
        }
        Some(t) => Err(format!(
            "timestamp_tolerance_secs must be positive, not {t}"
        )),
        None => {
            let later = now + Duration::days(366);
            suite.each(|sample| match suite.verify_at(&sample.request, &FixedClock(later)) {
                Ok(()) => Ok(()),
                Err(e) => Err(format!(
                    "clock a year past the fixture's `now`: refused ({}); a scheme that checks a time must declare timestamp_tolerance_secs",
                    e.reason()
                )),
            })
        }
    }
}

fn dedupe_keys_are_stable(suite: &Suite) -> Result<(), String> {
    let keys =
        |p: &Parsed| -> Vec<String> { p.events.iter().map(|e| e.dedupe_key.clone()).collect() };
    suite.each(|sample| {
        let again = check::process(suite.adapter, &suite.fixture, &sample.request)
            .map_err(|r: Refusal| format!("refused the second time: {r:?}"))?;
        if again == sample.parsed {
            Ok(())
        } else {
            Err(format!(
                "parsed twice, two outputs; dedupe keys {:?} then {:?}",
                keys(&sample.parsed),
                keys(&again)
            ))
        }
    })
}

/// What an event reports, leaving out the details two reports of one fact may differ in
/// (times, party fields, a recording's URL or duration).
fn fact(kind: &EventKind) -> String {
    match kind {
        EventKind::Call { progress } => format!("call {progress:?}"),
        EventKind::Recording(r) => format!("recording {} {:?}", r.recording_id, r.status),
        EventKind::Unmapped { field, value } => format!("unmapped {field}={value:?}"),
    }
}

fn distinct_facts_have_distinct_keys(suite: &Suite) -> Result<(), String> {
    let mut seen: BTreeMap<(&str, &str), (String, &str)> = BTreeMap::new();
    let mut failures = Vec::new();
    for sample in &suite.accepted {
        for event in &sample.parsed.events {
            let key = (event.provider_call_id.as_str(), event.dedupe_key.as_str());
            let this = fact(&event.kind);
            match seen.get(&key) {
                Some((other, first)) if *other != this => failures.push(format!(
                    "{}: call {} key {:?} is both {other} ({first}) and {this}",
                    sample.name, key.0, key.1
                )),
                Some(_) => {}
                None => {
                    seen.insert(key, (this, &sample.name));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn emitted_kinds_are_declared(suite: &Suite) -> Result<(), String> {
    let emits = suite.adapter.info().emits;
    suite.each(|sample| {
        match sample
            .parsed
            .events
            .iter()
            .find(|e| !emits.contains(&e.kind.tag()))
        {
            Some(e) => Err(format!(
                "event {:?} is not in ProviderInfo::emits {emits:?}",
                e.kind.tag()
            )),
            None => Ok(()),
        }
    })
}

fn unknown_status_becomes_unmapped(suite: &Suite) -> Result<(), String> {
    let declared = suite.adapter.info().unmapped_fields;
    let mut unmapped = false;
    for s in &suite.accepted {
        for e in &s.parsed.events {
            if let EventKind::Unmapped { field, .. } = &e.kind {
                unmapped = true;
                if !declared.contains(&field.as_str()) {
                    return Err(format!(
                        "{}: an Unmapped event names field {field:?}, which ProviderInfo::unmapped_fields does not list",
                        s.name
                    ));
                }
            }
        }
    }
    if unmapped {
        Ok(())
    } else {
        Err(
            "no accepted sample gives an Unmapped event: add one whose status is a value callgate does not know (e.g. status-unknown.http); it must parse to EventKind::Unmapped, not fail"
                .to_owned(),
        )
    }
}
