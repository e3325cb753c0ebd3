//! Property tests: no input makes verify or parse panic, whatever `sign` signs verifies,
//! and one flipped body byte of a signed request is refused.

use super::SignalWire;
use super::tests::{CALL, CLOCK, URL, secrets, state_callback, unsigned};
use crate::kit::{Adapter, InboundRequest};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

fn request(
    method: Method,
    url: String,
    ct: String,
    sigs: Vec<(usize, Vec<u8>)>,
    body: Vec<u8>,
) -> InboundRequest {
    const HEADERS: [&str; 3] = [
        "x-signalwire-signature",
        "x-signalwire-sha256-signature",
        "x-twilio-signature",
    ];
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(ct.as_bytes()) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    for (which, value) in sigs {
        if let Ok(v) = HeaderValue::from_bytes(&value) {
            headers.append(HEADERS[which % HEADERS.len()], v);
        }
    }
    InboundRequest {
        method,
        public_url: url,
        headers,
        body: Bytes::from(body),
    }
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::POST), Just(Method::GET), Just(Method::HEAD)]
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/json".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        "[ -~]{0,30}",
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(URL.to_owned()),
        "(https?)://[a-z.]{1,10}(:[0-9]{0,5})?(/[ -~]{0,20})?",
        ".{0,20}",
    ]
}

/// JSON-ish bodies (RELAY envelopes with random values), forms, and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        Just(serde_json::json!(7)),
        Just(serde_json::json!([])),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
    ];
    let envelope = (
        prop_oneof![Just("calling.call.state".to_owned()), "[a-z.]{0,15}"],
        prop_oneof![
            Just("ended".to_owned()),
            Just("answered".to_owned()),
            Just("ending".to_owned()),
            "[a-zA-Z]{0,8}"
        ],
        value.clone(),
        value,
    )
        .prop_map(|(event_type, state, reason, ts)| {
            serde_json::json!({
                "event_type": event_type, "timestamp": ts,
                "params": {"call_id": CALL, "call_state": state, "end_reason": reason,
                           "device": {"params": {"from_number": "+12135877632"}}},
            })
            .to_string()
            .into_bytes()
        });
    prop_oneof![
        envelope,
        "(CallSid|CallStatus|RecordingStatus|RecordingSid|x)=[ -~]{0,10}(&[A-Za-z]{1,8}=[ -~]{0,8}){0,4}"
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(
        method in method(), url in url(), ct in content_type(), body in body(),
        sigs in proptest::collection::vec((0usize..3, proptest::collection::vec(any::<u8>(), 0..70)), 0..4),
    ) {
        let req = request(method, url, ct, sigs, body);
        if let Ok(v) = SignalWire.verify(&req, &secrets(), &CLOCK) {
            let _ = SignalWire.parse(&v);
        }
    }

    #[test]
    fn signed_requests_always_verify_and_parse_never_panics(
        method in method(), url in url(), ct in content_type(), body in body(),
    ) {
        let mut req = request(method, url, ct, Vec::new(), body);
        prop_assert_eq!(SignalWire.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let verified = SignalWire.verify(&req, &secrets(), &CLOCK);
        prop_assert!(verified.is_ok(), "{:?}", verified.map(|_| ()));
        if let Ok(v) = verified {
            let _ = SignalWire.parse(&v);
        }
    }

    #[test]
    fn one_flipped_body_byte_is_refused(
        state in prop_oneof![Just("created"), Just("answered"), Just("ended")],
        index in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let mut req = unsigned("application/json", &state_callback(state, Some("hangup")).to_string());
        prop_assert_eq!(SignalWire.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let mut body = req.body.to_vec();
        let i = index.index(body.len());
        body[i] ^= 1 << bit;
        req.body = Bytes::from(body);
        prop_assert!(SignalWire.verify(&req, &secrets(), &CLOCK).is_err());
    }
}
