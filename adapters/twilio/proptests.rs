//! Property tests: no input makes verify or parse panic, and whatever `sign` signs verifies.

use super::Twilio;
use super::tests::{CLOCK, URL, encode, secrets};
use crate::kit::{Adapter, InboundRequest};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

fn request(method: Method, url: String, ct: String, sig: Vec<u8>, body: Vec<u8>) -> InboundRequest {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(ct.as_bytes()) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_bytes(&sig) {
        headers.insert("x-twilio-signature", v);
    }
    InboundRequest {
        method,
        public_url: url,
        headers,
        body: Bytes::from(body),
    }
}

/// Adds arbitrary extra headers (duplicates of the signature header included).
fn with_headers(mut req: InboundRequest, extra: Vec<(String, Vec<u8>)>) -> InboundRequest {
    for (name, value) in extra {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            req.headers.append(n, v);
        }
    }
    req
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("x-twilio-signature".to_owned()),
        Just("content-type".to_owned()),
        "[a-zA-Z-]{1,12}"
    ];
    proptest::collection::vec((name, proptest::collection::vec(any::<u8>(), 0..30)), 0..4)
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::POST),
        Just(Method::GET),
        Just(Method::PUT),
        Just(Method::HEAD)
    ]
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("application/x-www-form-urlencoded; charset=utf-8".to_owned()),
        Just("application/json".to_owned()),
        Just("text/plain".to_owned()),
        "[ -~]{0,40}",
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(URL.to_owned()),
        "(https?|HTTP)://([a-z]{1,5}(:[a-z]{0,3})?@)?(\\[[0-9:]{0,6}\\]?|[a-z.]{1,10})(:[0-9]{0,6})?(/[ -~]{0,20})?",
        "[ -~]{0,40}",
        ".{0,20}",
    ]
}

/// Form-ish bodies: Twilio names and values, including garbage, percent signs, `+`.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just("CallSid"),
        Just("CallStatus"),
        Just("RecordingStatus"),
        Just("RecordingSid"),
        Just("SequenceNumber"),
        Just("RecordingDuration"),
        Just("StatusCallbackEvent"),
        Just("Timestamp"),
        Just("Direction"),
        Just("CallbackSource"),
        Just("x"),
    ];
    let pair = (name, "[ -~]{0,12}").prop_map(|(n, v)| encode(&[(n, v.as_str())]));
    prop_oneof![
        proptest::collection::vec(pair, 0..8).prop_map(|p| p.join("&").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(
        method in method(), url in url(), ct in content_type(),
        sig in proptest::collection::vec(any::<u8>(), 0..40), body in body(), extra in headers(),
    ) {
        let req = with_headers(request(method, url, ct, sig, body), extra);
        if let Ok(v) = Twilio.verify(&req, &secrets(), &CLOCK) {
            let _ = Twilio.parse(&v);
        }
    }

    #[test]
    fn signed_requests_always_verify_and_parse_never_panics(
        method in method(), url in url(), ct in content_type(), body in body(),
    ) {
        let mut req = request(method, url, ct, Vec::new(), body);
        prop_assert_eq!(Twilio.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let verified = Twilio.verify(&req, &secrets(), &CLOCK);
        prop_assert!(verified.is_ok(), "{:?}", verified.map(|_| ()));
        if let Ok(v) = verified {
            let _ = Twilio.parse(&v);
        }
    }
}

proptest! {
    /// Any parent a child leg names is its call; the leg keeps its own id, and only a leg
    /// `<Dial>` made names an agent, its `To` exactly as sent.
    #[test]
    fn any_parent_call_sid_is_the_legs_call(
        parent in "[A-Za-z0-9:._-]{1,40}",
        to in "[ -~]{1,30}",
        dialed in any::<bool>(),
    ) {
        let direction = if dialed { "outbound-dial" } else { "outbound-api" };
        let p = super::tests::parsed(&[
            ("CallSid", super::tests::CALL),
            ("CallStatus", "ringing"),
            ("ParentCallSid", parent.as_str()),
            ("Direction", direction),
            ("To", to.as_str()),
        ]);
        let event = &p.events[0];
        prop_assert_eq!(event.provider_call_id.as_str(), super::tests::CALL);
        let expected = if parent == super::tests::CALL { None } else { Some(parent.as_str()) };
        prop_assert_eq!(event.leg.parent_call_id.as_deref(), expected);
        let identity = (dialed && expected.is_some()).then_some(to.as_str());
        prop_assert_eq!(event.leg.agent_identity.as_deref(), identity);
    }
}
