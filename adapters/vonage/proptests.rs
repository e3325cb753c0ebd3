//! Property tests: no input makes verify or parse panic, whatever `sign` signs verifies,
//! and one flipped body byte of a signed request is refused.

use super::Vonage;
use super::tests::{CLOCK, CONVERSATION, LEG, event, secrets, unsigned};
use crate::kit::Adapter;
use crate::kit::testing::{json_content_types, with};
use bytes::Bytes;
use proptest::prelude::*;

/// Vonage-shaped JSON with random values in the fields callgate reads, and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::json!([])),
        "[ -~]{0,14}".prop_map(serde_json::Value::from),
    ];
    let field = prop_oneof![
        Just("status"),
        Just("detail"),
        Just("uuid"),
        Just("call_uuid"),
        Just("conversation_uuid"),
        Just("recording_uuid"),
        Just("start_time"),
        Just("end_time"),
        Just("timestamp"),
        Just("direction"),
    ];
    let shaped = proptest::collection::vec((field, value), 0..5).prop_map(|fields| {
        let mut body = event("answered", serde_json::json!({}));
        for (name, value) in fields {
            body[name] = value;
        }
        body.to_string().into_bytes()
    });
    prop_oneof![shaped, proptest::collection::vec(any::<u8>(), 0..200)]
}

/// Authorization values: bearer tokens of random segments, and raw bytes.
fn auth() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "(Bearer|bearer|Basic) [A-Za-z0-9_.=-]{0,80}".prop_map(String::into_bytes),
        "Bearer [A-Za-z0-9_-]{0,30}\\.[A-Za-z0-9_-]{0,30}\\.[A-Za-z0-9_-]{0,43}"
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..80),
    ]
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(
        ct in json_content_types(), body in body(), auth in proptest::option::of(auth()),
    ) {
        let req = with(unsigned(&ct, ""), "authorization", auth, body);
        if let Ok(v) = Vonage.verify(&req, &secrets(), &CLOCK) {
            let _ = Vonage.parse(&v);
        }
    }

    #[test]
    fn signed_requests_always_verify_and_parse_never_panics(ct in json_content_types(), body in body()) {
        let mut req = with(unsigned(&ct, ""), "authorization", None, body);
        prop_assert_eq!(Vonage.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let verified = Vonage.verify(&req, &secrets(), &CLOCK);
        prop_assert!(verified.is_ok(), "{:?}", verified.map(|_| ()));
        if let Ok(v) = verified {
            prop_assert!(v.replay_key().is_some());
            let _ = Vonage.parse(&v);
        }
    }

    #[test]
    fn one_flipped_body_byte_is_refused(
        status in prop_oneof![Just("started"), Just("answered"), Just("completed")],
        index in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let body = event(status, serde_json::json!({"uuid": LEG, "conversation_uuid": CONVERSATION}));
        let mut req = unsigned("application/json", &body.to_string());
        prop_assert_eq!(Vonage.sign(&mut req, &secrets(), &CLOCK), Ok(()));
        let mut bytes = req.body.to_vec();
        let i = index.index(bytes.len());
        bytes[i] ^= 1 << bit;
        req.body = Bytes::from(bytes);
        prop_assert!(Vonage.verify(&req, &secrets(), &CLOCK).is_err());
    }
}

proptest! {
    /// Any leg of any conversation is that leg, in the conversation's call.
    #[test]
    fn any_leg_belongs_to_its_conversation(
        leg in "[A-Za-z0-9-]{1,36}",
        conversation in "CON-[A-Za-z0-9-]{1,36}",
        outbound in any::<bool>(),
    ) {
        let direction = if outbound { "outbound" } else { "inbound" };
        let body = event("answered", serde_json::json!({
            "uuid": leg, "conversation_uuid": conversation, "direction": direction,
        }));
        let p = super::tests::parsed(&body);
        let e = &p.events[0];
        prop_assert_eq!(e.provider_call_id.as_str(), leg.as_str());
        prop_assert_eq!(e.call_id(), conversation.as_str());
        prop_assert_eq!(e.leg.agent_identity.is_some(), outbound);
        prop_assert_eq!(e.leg.role.is_some(), !outbound);
    }
}
