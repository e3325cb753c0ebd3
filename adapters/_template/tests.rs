//! The scheme round-trips and refuses what it must; parsing end to end.
//!
//! FILL IN: the provider's official signature test vectors, if it publishes any, one test
//! per vector (adapters/README.md, "Adding a provider"). The conformance kit already checks,
//! over the samples, that a changed body or a missing header is refused and that no input
//! panics.

use super::*;
use crate::kit::{CallProgress, Direction, EventKind, FixedClock};
use bytes::Bytes;
use http::{HeaderMap, Method};
use time::macros::datetime;

const CLOCK: FixedClock = FixedClock(datetime!(2026-11-23 18:10:00 UTC));
const BODY: &str = r#"{"event_id":"ev-1","call_id":"call-1","status":"ringing","direction":"inbound","from":"+12025550147","to":"+18005550199","occurred_at":"2026-11-23T18:05:03Z"}"#;

fn secrets(value: &str) -> SecretSet {
    SecretSet::from_pairs([(SIGNING_SECRET, value)])
}

fn signed(body: &str) -> InboundRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut req = InboundRequest {
        method: Method::POST,
        public_url: "https://hooks.example.test/webhooks/acme/conn_test".to_owned(),
        headers,
        body: Bytes::from(body.to_owned()),
    };
    assert_eq!(Acme.sign(&mut req, &secrets("test-secret"), &CLOCK), Ok(()));
    req
}

fn run(req: &InboundRequest, secret: &str) -> Result<Parsed, String> {
    let verified = Acme
        .verify(req, &secrets(secret), &CLOCK)
        .map_err(|e| e.reason().to_owned())?;
    Acme.parse(&verified).map_err(|e| e.reason().to_owned())
}

#[test]
fn a_signed_event_verifies_and_parses() {
    let parsed = run(&signed(BODY), "test-secret");
    let Ok(parsed) = parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(parsed.events.len(), 1);
    let event = &parsed.events[0];
    assert_eq!(event.dedupe_key, "call-1:ev-1");
    assert_eq!(event.provider_call_id, "call-1");
    assert_eq!(
        event.kind,
        EventKind::Call {
            progress: CallProgress::Ringing
        }
    );
    assert_eq!(event.party.direction, Some(Direction::Inbound));
    assert_eq!(event.party.to.as_deref(), Some("+18005550199"));
    assert_eq!(event.occurred_at, Some(datetime!(2026-11-23 18:05:03 UTC)));
}

#[test]
fn wrong_missing_or_empty_secrets_are_refused() {
    let req = signed(BODY);
    assert_eq!(run(&req, "other-secret"), Err("bad_signature".to_owned()));
    assert_eq!(run(&req, ""), Err("no_credentials".to_owned()));
    let mut unsigned = req.clone();
    unsigned.headers.remove(SIGNATURE_HEADER);
    assert_eq!(
        run(&unsigned, "test-secret"),
        Err("missing_header".to_owned())
    );
    let mut garbled = req;
    garbled
        .headers
        .insert(SIGNATURE_HEADER, HeaderValue::from_static("not base64"));
    assert_eq!(
        run(&garbled, "test-secret"),
        Err("malformed_header".to_owned())
    );
}

#[test]
fn an_unknown_status_is_unmapped_and_broken_bodies_are_errors() {
    let parsed = run(&signed(&BODY.replace("ringing", "on-hold")), "test-secret");
    assert_eq!(
        parsed.map(|p| p.events[0].kind.clone()),
        Ok(EventKind::Unmapped {
            field: "status".to_owned(),
            value: "on-hold".to_owned()
        })
    );
    assert_eq!(
        run(
            &signed(r#"{"event_id":"ev-1","status":"ringing"}"#),
            "test-secret"
        ),
        Err("missing_field".to_owned())
    );
    assert_eq!(
        run(&signed("[1, 2"), "test-secret"),
        Err("malformed".to_owned())
    );
    let mut form = signed(BODY);
    form.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    assert_eq!(
        run(&form, "test-secret"),
        Err("unsupported_content_type".to_owned())
    );
}
