//! Property tests: no input makes verify or parse panic, whatever `sign` signs verifies,
//! and one flipped bit of the credentials is refused. (HTTP Basic does not cover the body,
//! so a flipped body byte is not a verification failure here: see README.md.)

use super::Bandwidth;
use super::tests::{CALL, CLOCK, callback, secrets, unsigned};
use crate::kit::Adapter;
use crate::kit::testing::{json_content_types, with};
use http::HeaderValue;
use proptest::prelude::*;

/// Bandwidth-shaped JSON with random values in the fields callgate reads, and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        Just(serde_json::json!(3)),
        Just(serde_json::json!({})),
        "[ -~]{0,14}".prop_map(serde_json::Value::from),
    ];
    let event_type = prop_oneof![
        Just("initiate"),
        Just("answer"),
        Just("disconnect"),
        Just("recordComplete"),
        Just("recordingAvailable"),
        Just("gather"),
    ];
    let field = prop_oneof![
        Just("cause"),
        Just("status"),
        Just("duration"),
        Just("recordingId"),
        Just("callId"),
        Just("eventTime"),
        Just("answerTime"),
        Just("direction"),
    ];
    let shaped = (event_type, proptest::collection::vec((field, value), 0..5)).prop_map(
        |(event_type, fields)| {
            let mut body = callback(event_type, serde_json::json!({}));
            for (name, value) in fields {
                body[name] = value;
            }
            body.to_string().into_bytes()
        },
    );
    prop_oneof![shaped, proptest::collection::vec(any::<u8>(), 0..200)]
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(
        ct in json_content_types(), body in body(),
        auth in proptest::option::of(prop_oneof![
            "Basic [A-Za-z0-9+/=]{0,40}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..60),
        ]),
    ) {
        let req = with(unsigned(&ct, ""), "authorization", auth, body);
        if let Ok(v) = Bandwidth.verify(&req, &secrets(), &CLOCK) {
            let _ = Bandwidth.parse(&v);
        }
    }

    #[test]
    fn signed_requests_always_verify_and_parse_never_panics(ct in json_content_types(), body in body()) {
        let mut req = with(unsigned(&ct, ""), "authorization", None, body);
        prop_assert_eq!(Bandwidth.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let verified = Bandwidth.verify(&req, &secrets(), &CLOCK);
        prop_assert!(verified.is_ok(), "{:?}", verified.map(|_| ()));
        if let Ok(v) = verified {
            let _ = Bandwidth.parse(&v);
        }
    }

    #[test]
    fn one_flipped_credential_bit_is_refused(index in any::<prop::sample::Index>(), bit in 0u8..7) {
        let mut req = unsigned("application/json", &callback("answer", serde_json::json!({"callId": CALL})).to_string());
        prop_assert_eq!(Bandwidth.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let mut value = req.headers["authorization"].as_bytes().to_vec();
        // Flip a bit of the base64 credentials (after `Basic `), staying in ASCII.
        let i = 6 + index.index(value.len() - 6);
        value[i] ^= 1 << bit;
        if let Ok(v) = HeaderValue::from_bytes(&value) {
            req.headers.insert("authorization", v);
            prop_assert!(Bandwidth.verify(&req, &secrets(), &CLOCK).is_err());
        }
    }
}

proptest! {
    /// Any `parentCallId` of a transfer's B leg is its call; the agent is `transferTo`.
    #[test]
    fn any_parent_call_id_of_a_b_leg_is_its_call(
        parent in "c-[a-z0-9-]{1,40}",
        transfer_to in "[!-~]([ -~]{0,28}[!-~])?",
    ) {
        let body = callback("transferAnswer", serde_json::json!({
            "parentCallId": parent, "transferTo": transfer_to, "direction": "outbound",
        }));
        let p = super::tests::parsed(&body);
        let e = &p.events[0];
        prop_assert_eq!(e.provider_call_id.as_str(), CALL);
        let parent_named = parent != CALL;
        prop_assert_eq!(e.call_id(), if parent_named { parent.as_str() } else { CALL });
        let identity = parent_named.then_some(transfer_to.as_str());
        prop_assert_eq!(e.leg.agent_identity.as_deref(), identity);
    }
}
