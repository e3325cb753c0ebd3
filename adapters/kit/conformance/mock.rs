//! A toy provider with switchable flaws, to show that each conformance check catches what it
//! is about. Body: `CALL_ID STATUS` as plain text. Proof: base64 HMAC-SHA256 keyed with the
//! secret `key` over `TIMESTAMP.BODY`, in `x-mock-signature`; the Unix time in
//! `x-mock-timestamp`, within 300 s of the clock.

use crate::kit::samples::{HttpSample, ProviderFixture};
use crate::kit::verify::{self, MacAlgorithm};
use crate::kit::{
    Adapter, CallEvent, CallProgress, Clock, ConfigError, EventKind, EventTag, InboundRequest, Leg,
    Maturity, ParseError, Parsed, Party, ProviderInfo, Reply, SecretSet, Verified, VerifyError,
};
use base64::Engine;
use http::HeaderValue;
use std::sync::atomic::{AtomicU64, Ordering};

const SIGNATURE: &str = "x-mock-signature";
const TIMESTAMP: &str = "x-mock-timestamp";
const TOLERANCE_SECS: i64 = 300;

/// What the toy adapter gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flaw {
    None,
    /// The MAC covers the timestamp only.
    IgnoresBody,
    /// The timestamp is signed but never compared with the clock.
    IgnoresClock,
    /// A request without a signature header is taken on the timestamp's word.
    SignatureOptional,
    /// Every parse gives new dedupe keys.
    UnstableKeys,
    /// Every event of a call has the same dedupe key.
    OneKeyPerCall,
}

#[derive(Debug)]
pub(super) struct Mock {
    info: &'static ProviderInfo,
    flaw: Flaw,
    parses: AtomicU64,
}

pub(super) const SOUND: ProviderInfo = ProviderInfo {
    id: "mock",
    display_name: "Mock",
    maturity: Maturity::Experimental,
    docs_url: "https://example.invalid/",
    webhook_secrets: &["key"],
    api_secrets: &[],
    optional_webhook_secrets: &[],
    default_api_base: None,
    options: &[],
    unmapped_fields: &["status"],
    emits: &[EventTag::Call, EventTag::Unmapped],
    verification: "HMAC-SHA256 of timestamp and body, `X-Mock-Signature`",
    signs_body: true,
    timestamp_tolerance_secs: Some(TOLERANCE_SECS),
    lookups: crate::kit::Lookups::None,
    legs: "—",
    forwarding: "—",
    agent_identity: "—",
    console_field: "the mock provider’s webhook setting",
};

/// A mock that lives as long as the test binary (adapters are `&'static`).
pub(super) fn mock(info: ProviderInfo, flaw: Flaw) -> &'static Mock {
    Box::leak(Box::new(Mock {
        info: Box::leak(Box::new(info)),
        flaw,
        parses: AtomicU64::new(0),
    }))
}

pub(super) fn fixture() -> ProviderFixture {
    ProviderFixture::parse("now = 2026-11-23T18:10:00Z\n[secrets]\nkey = \"mock-key\"\n")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Samples signed by `adapter` at the fixture's clock: one per body.
pub(super) fn samples(adapter: &Mock, bodies: &[&str]) -> Vec<(String, HttpSample)> {
    let fixture = fixture();
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let text = format!("POST https://hooks.example.test/webhooks/mock/c1\n\n{body}");
            let mut sample = HttpSample::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let mut req = sample.to_request().unwrap_or_else(|e| panic!("{e}"));
            adapter
                .sign(&mut req, &fixture.secrets, &fixture.clock())
                .unwrap_or_else(|e| panic!("{e}"));
            for (name, value) in &req.headers {
                let value = value.to_str().unwrap_or_default().to_owned();
                sample.headers.push((name.as_str().to_owned(), value));
            }
            (format!("sample-{i}.http"), sample)
        })
        .collect()
}

impl Mock {
    fn signed<'a>(&self, timestamp: &'a [u8], body: &'a [u8]) -> Vec<&'a [u8]> {
        if self.flaw == Flaw::IgnoresBody {
            vec![timestamp]
        } else {
            vec![timestamp, b".", body]
        }
    }
}

impl Adapter for Mock {
    fn info(&self) -> &'static ProviderInfo {
        self.info
    }

    fn verify<'r>(
        &self,
        req: &'r InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<Verified<'r>, VerifyError> {
        let timestamp = req.require_header(TIMESTAMP)?;
        let signed_at: i64 = std::str::from_utf8(timestamp)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(VerifyError::MalformedHeader(TIMESTAMP))?;
        if self.flaw != Flaw::IgnoresClock {
            verify::check_timestamp(signed_at, clock, TOLERANCE_SECS)?;
        }
        let given = match req.header(SIGNATURE) {
            None if self.flaw == Flaw::SignatureOptional => {
                return verify::shared_secret(req, secrets.accepted("key"), b"mock-key");
            }
            None => return Err(VerifyError::MissingHeader(SIGNATURE)),
            Some(v) => verify::decode_base64_header(v, SIGNATURE, Some(32))?,
        };
        let candidates = [self.signed(timestamp, &req.body)];
        verify::mac_matches(
            req,
            MacAlgorithm::HmacSha256,
            secrets.accepted("key"),
            &candidates,
            &given,
        )
    }

    fn parse(&self, req: &Verified<'_>) -> Result<Parsed, ParseError> {
        let text = std::str::from_utf8(req.body())
            .map_err(|_| ParseError::Malformed("not UTF-8".to_owned()))?;
        let mut words = text.split_whitespace();
        let call = words.next().ok_or(ParseError::MissingField("call"))?;
        let status = words.next().ok_or(ParseError::MissingField("status"))?;
        let kind = match status {
            "ringing" => EventKind::Call {
                progress: CallProgress::Ringing,
            },
            "completed" => EventKind::Call {
                progress: CallProgress::Completed,
            },
            other => EventKind::Unmapped {
                field: "status".to_owned(),
                value: other.to_owned(),
            },
        };
        let n = self.parses.fetch_add(1, Ordering::Relaxed);
        let dedupe_key = match self.flaw {
            Flaw::UnstableKeys => format!("{call}:{status}:{n}"),
            Flaw::OneKeyPerCall => call.to_owned(),
            _ => format!("{call}:{status}"),
        };
        Ok(Parsed {
            events: vec![CallEvent {
                dedupe_key,
                provider_call_id: call.to_owned(),
                occurred_at: None,
                party: Party::default(),
                kind,
                leg: Leg::default(),
            }],
            reply: Reply::NoContent,
        })
    }

    fn sign(
        &self,
        req: &mut InboundRequest,
        secrets: &SecretSet,
        clock: &dyn Clock,
    ) -> Result<(), ConfigError> {
        let key = secrets
            .current("key")
            .ok_or(ConfigError::MissingSecret("key"))?;
        let timestamp = clock.now().unix_timestamp().to_string();
        let mac = verify::mac(
            MacAlgorithm::HmacSha256,
            key.expose().as_bytes(),
            &self.signed(timestamp.as_bytes(), &req.body),
        );
        let signature = base64::engine::general_purpose::STANDARD.encode(mac);
        for (name, value) in [(TIMESTAMP, timestamp), (SIGNATURE, signature)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                req.headers.insert(name, v);
            }
        }
        Ok(())
    }
}
