use super::signature::{self, key_of, sign};
use super::*;
use crate::kit::{FixedClock, Generation, Secret};
use time::OffsetDateTime;

fn request(id: &str, ts: &str, sig: &str, body: &str) -> InboundRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", id.parse().unwrap());
    headers.insert("webhook-timestamp", ts.parse().unwrap());
    headers.insert("webhook-signature", sig.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    InboundRequest {
        method: http::Method::POST,
        public_url: "https://hooks.example.test/webhooks/standard/c1".into(),
        headers,
        body: bytes::Bytes::from(body.to_owned()),
    }
}

fn at(ts: i64) -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(ts).unwrap())
}

fn map(value: &str) -> std::collections::BTreeMap<String, Secret> {
    [("secret".to_owned(), Secret::new(value))]
        .into_iter()
        .collect()
}

fn secrets(value: &str) -> SecretSet {
    SecretSet::new(map(value), None)
}

/// The Rust library's vector (providers.md 9).
#[test]
fn rust_library_vector() {
    let key = key_of("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let body = r#"{"email":"test@example.com","username":"test_user"}"#;
    assert_eq!(
        sign(
            &key,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            body.as_bytes()
        ),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
    let s = secrets("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    let ok = request(
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        "1649367553",
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        body,
    );
    assert!(Standard.verify(&ok, &s, &at(1_649_367_553)).is_ok());
    let bad = request(
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        "1649367553",
        "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=",
        body,
    );
    assert_eq!(
        Standard
            .verify(&bad, &s, &at(1_649_367_553))
            .map(|v| v.generation()),
        Err(VerifyError::BadSignature)
    );
}

/// The Python library's vector, and its multi-signature header: wrong `v1`, another
/// version, then the right one.
#[test]
fn python_library_vector_and_signature_lists() {
    let s = secrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let body = r#"{"test": 2432232314}"#;
    let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let list = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,anything {good}");
    for sig in [good.to_owned(), list] {
        let req = request("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", &sig, body);
        assert!(
            Standard.verify(&req, &s, &at(1_614_265_330)).is_ok(),
            "{sig}"
        );
    }
}

#[test]
fn timestamps_are_bounded_both_ways_and_headers_required() {
    let s = secrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let body = r#"{"test": 2432232314}"#;
    let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let req = request("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", sig, body);
    for now in [1_614_265_330 + 301, 1_614_265_330 - 301] {
        assert!(matches!(
            Standard.verify(&req, &s, &at(now)).map(|v| v.generation()),
            Err(VerifyError::Stale { .. })
        ));
    }
    for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut r = req.clone();
        r.headers.remove(header);
        assert_eq!(
            Standard
                .verify(&r, &s, &at(1_614_265_330))
                .map(|v| v.generation()),
            Err(VerifyError::MissingHeader(match header {
                "webhook-id" => signature::ID_HEADER,
                "webhook-timestamp" => signature::TIMESTAMP_HEADER,
                _ => signature::SIGNATURE_HEADER,
            }))
        );
    }
}

#[test]
fn the_previous_secret_is_accepted_during_rotation() {
    let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = r#"{"type":"call.ringing","call_id":"c1"}"#;
    let sig = sign(&key, "msg_1", 1_000, body.as_bytes());
    let s = SecretSet::new(
        map("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
        Some(map("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
    );
    let req = request("msg_1", "1000", &sig, body);
    assert_eq!(
        Standard
            .verify(&req, &s, &at(1_000))
            .map(|v| v.generation()),
        Ok(Generation::Previous)
    );
}

/// `body` signed under the Python vector's secret, parsed; a refusal is its reason.
fn parse_signed(body: &serde_json::Value) -> Result<Parsed, String> {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = body.to_string();
    let sig = sign(&key_of(secret).unwrap(), "msg_1", 1_000, body.as_bytes());
    let req = request("msg_1", "1000", &sig, &body);
    crate::kit::testing::run(&Standard, &req, &secrets(secret), &at(1_000))
}

#[test]
fn the_leg_and_forwarding_fields_are_read() {
    let p = parse_signed(
        &serde_json::json!({"type": "call.answered", "call_id": "leg-2",
        "parent_call_id": "c1", "agent_identity": "client:ana",
        "forwarded_from": "+15125550100", "routing_reason": "after_hours"}),
    )
    .unwrap();
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, "leg-2");
    assert_eq!(e.call_id(), "c1");
    assert_eq!(e.leg.role, Some(kit::LegRole::Agent));
    assert_eq!(e.leg.agent_identity.as_deref(), Some("client:ana"));
    assert_eq!(e.party.forwarded_from.as_deref(), Some("+15125550100"));
    assert_eq!(e.party.routing_reason, Some(kit::RoutingReason::AfterHours));
    // A leg without an agent is another leg of the call; none of the fields: a call.
    let p = parse_signed(
        &serde_json::json!({"type": "call.answered", "call_id": "leg-3",
        "parent_call_id": "c1", "routing_reason": null}),
    )
    .unwrap();
    assert_eq!(p.events[0].leg.role(), kit::LegRole::Other);
    assert_eq!(p.events[0].party.routing_reason, None);
    let p = parse_signed(&serde_json::json!({"type": "call.ringing", "call_id": "c1",
        "parent_call_id": "", "forwarded_from": ""}))
    .unwrap();
    assert!(p.events[0].leg.is_plain());
    assert_eq!(p.events[0].party.forwarded_from, None);
}

#[test]
fn every_routing_reason_and_no_other() {
    for (raw, reason) in [
        ("overflow", kit::RoutingReason::Overflow),
        ("after_hours", kit::RoutingReason::AfterHours),
        ("queue_timeout", kit::RoutingReason::QueueTimeout),
    ] {
        let p = parse_signed(
            &serde_json::json!({"type": "call.ringing", "call_id": "c1", "routing_reason": raw}),
        )
        .unwrap();
        assert_eq!(p.events[0].party.routing_reason, Some(reason));
    }
    for raw in ["Overflow", "after-hours", "busy", " overflow"] {
        let refused = parse_signed(
            &serde_json::json!({"type": "call.ringing", "call_id": "c1", "routing_reason": raw}),
        );
        assert_eq!(
            refused.map(|_| ()),
            Err("invalid_field".to_owned()),
            "{raw}"
        );
    }
}
