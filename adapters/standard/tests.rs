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
