//! The signed-webhook checks: the SDK's JWT vector (providers.md 3.1), the claims that bind
//! a token to its request and moment, rotation and replay keys.

use super::*;
use crate::kit::{FixedClock, Generation, ReplayKey, Secret};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::HeaderMap;
use std::collections::BTreeMap;
use time::OffsetDateTime;

const SECRET: &str = "vonage-signature-secret";
const BODY: &str = r#"{"status":"answered","conversation_uuid":"CON-1","uuid":"leg-1"}"#;
const NOW: i64 = 1_795_457_160;

fn clock(at: i64) -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn secrets(value: &str) -> SecretSet {
    SecretSet::from_pairs([(SIGNATURE_SECRET, value)])
}

fn request(authorization: Option<&str>, body: &str) -> InboundRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = authorization.and_then(|a| HeaderValue::from_str(a).ok()) {
        headers.insert(HEADER, v);
    }
    InboundRequest {
        method: http::Method::POST,
        public_url: "https://hooks.example.test/webhooks/vonage/conn_sample".to_owned(),
        headers,
        body: Bytes::from(body.to_owned()),
    }
}

/// A token over `claims` under `key`, as `Authorization`.
fn bearer(claims: &serde_json::Value, key: &str) -> String {
    format!("Bearer {}", jwt::sign_hs256(claims, key.as_bytes()))
}

fn claims(iat: i64, body: &str) -> serde_json::Value {
    serde_json::json!({
        "iat": iat, "iss": "Vonage", "jti": "5b4e5d2c-7a1f-4c3b-9e8d-1f2a3b4c5d6e",
        "payload_hash": verify::sha256_hex(body.as_bytes()),
        "api_key": "abcd1234", "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    })
}

fn check(req: &InboundRequest, secret: &str, at: i64) -> Result<Option<ReplayKey>, VerifyError> {
    verify(req, &secrets(secret), &clock(at)).map(|v| v.replay_key().cloned())
}

/// vonage-python-sdk `jwt/tests/test_verify_jwt.py`: the token verifies under its secret
/// (its HS256 step), and under `asdf` it does not. Having no `payload_hash`, it cannot
/// authenticate a webhook body, so Vonage's check goes on to refuse it for that.
#[test]
fn sdk_vector_passes_the_hs256_step_only() {
    let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM";
    let req = request(Some(&format!("Bearer {token}")), "{}");
    assert_eq!(
        check(&req, "qwertyuiopasdfghjklzxcvbnm123456", 1_697_634_680),
        Err(VerifyError::MalformedHeader(HEADER))
    );
    assert_eq!(
        check(&req, "asdf", 1_697_634_680),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn a_signed_webhook_verifies_and_carries_its_token_id() {
    let req = request(Some(&bearer(&claims(NOW, BODY), SECRET)), BODY);
    assert_eq!(
        check(&req, SECRET, NOW),
        Ok(Some(ReplayKey {
            key: "5b4e5d2c-7a1f-4c3b-9e8d-1f2a3b4c5d6e".to_owned(),
            keep_until: NOW + TOLERANCE_SECS
        }))
    );
    // Another secret, or a tampered body, is refused.
    assert_eq!(check(&req, "other", NOW), Err(VerifyError::BadSignature));
    let tampered = request(
        Some(&bearer(&claims(NOW, BODY), SECRET)),
        &BODY.replace("answered", "completed"),
    );
    assert_eq!(
        check(&tampered, SECRET, NOW),
        Err(VerifyError::BodyHashMismatch)
    );
}

#[test]
fn iat_is_bounded_both_ways() {
    let req = request(Some(&bearer(&claims(NOW, BODY), SECRET)), BODY);
    assert!(check(&req, SECRET, NOW + TOLERANCE_SECS).is_ok());
    assert!(check(&req, SECRET, NOW - TOLERANCE_SECS).is_ok());
    assert_eq!(
        check(&req, SECRET, NOW + TOLERANCE_SECS + 1),
        Err(VerifyError::Stale {
            skew_secs: TOLERANCE_SECS + 1
        })
    );
    assert_eq!(
        check(&req, SECRET, NOW - TOLERANCE_SECS - 1),
        Err(VerifyError::Stale {
            skew_secs: -TOLERANCE_SECS - 1
        })
    );
}

/// vonage-jwt's `verify_signature` is PyJWT's `decode`, which refuses an expired token and
/// one not yet valid (github.com/Vonage/vonage-python-sdk, `jwt/src/vonage_jwt/verify_jwt.py`).
/// callgate refuses them too, with `iat`'s leeway: a token whose `iat` is fresh is still
/// refused by its own `exp` or `nbf`.
#[test]
fn exp_and_nbf_are_honoured_with_iats_leeway() {
    let with = |extra: serde_json::Value| {
        let mut c = claims(NOW, BODY);
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        request(Some(&bearer(&c, SECRET)), BODY)
    };
    let t = TOLERANCE_SECS;
    for (extra, ok) in [
        (serde_json::json!({"exp": NOW + 60}), true),
        (serde_json::json!({"exp": NOW - t + 1}), true),
        (serde_json::json!({"exp": NOW - t}), false),
        (serde_json::json!({"exp": NOW - 3600}), false),
        (serde_json::json!({"nbf": NOW + t}), true),
        (serde_json::json!({"nbf": NOW + t + 1}), false),
        (serde_json::json!({"nbf": NOW - 60, "exp": NOW + 60}), true),
    ] {
        let res = check(&with(extra.clone()), SECRET, NOW);
        assert_eq!(res.is_ok(), ok, "{extra}: {res:?}");
        if !ok {
            assert!(matches!(res, Err(VerifyError::Stale { .. })), "{extra}");
        }
    }
    assert_eq!(
        check(&with(serde_json::json!({"exp": "later"})), SECRET, NOW),
        Err(VerifyError::MalformedHeader(HEADER))
    );
}

#[test]
fn the_binding_claims_are_required() {
    for missing in ["iat", "payload_hash"] {
        let mut c = claims(NOW, BODY);
        if let Some(map) = c.as_object_mut() {
            map.remove(missing);
        }
        let req = request(Some(&bearer(&c, SECRET)), BODY);
        assert_eq!(
            check(&req, SECRET, NOW),
            Err(VerifyError::MalformedHeader(HEADER)),
            "{missing}"
        );
    }
    // `iat` as a string is not a time.
    let mut c = claims(NOW, BODY);
    c["iat"] = serde_json::json!(NOW.to_string());
    let req = request(Some(&bearer(&c, SECRET)), BODY);
    assert_eq!(
        check(&req, SECRET, NOW),
        Err(VerifyError::MalformedHeader(HEADER))
    );
    // Without `jti` the request is accepted, with no single-use value.
    let mut c = claims(NOW, BODY);
    if let Some(map) = c.as_object_mut() {
        map.remove("jti");
    }
    let req = request(Some(&bearer(&c, SECRET)), BODY);
    assert_eq!(check(&req, SECRET, NOW), Ok(None));
}

#[test]
fn the_algorithm_cannot_be_chosen_by_the_token() {
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(NOW, BODY).to_string());
    let req = request(Some(&format!("Bearer {head}.{payload}.")), BODY);
    assert_eq!(
        check(&req, SECRET, NOW),
        Err(VerifyError::MalformedHeader(HEADER))
    );
}

#[test]
fn header_problems_are_named() {
    let token = jwt::sign_hs256(&claims(NOW, BODY), SECRET.as_bytes());
    assert_eq!(
        check(&request(None, BODY), SECRET, NOW),
        Err(VerifyError::MissingHeader(HEADER))
    );
    for bad in [
        format!("Basic {token}"),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        token.clone(),
        "Bearer not.a.jwt".to_owned(),
    ] {
        assert_eq!(
            check(&request(Some(&bad), BODY), SECRET, NOW),
            Err(VerifyError::MalformedHeader(HEADER)),
            "{bad}"
        );
    }
    let lower = format!("bearer  {token}");
    assert!(check(&request(Some(&lower), BODY), SECRET, NOW).is_ok());
}

#[test]
fn rotation_accepts_the_previous_secret() {
    let map = |v: &str| BTreeMap::from([(SIGNATURE_SECRET.to_owned(), Secret::new(v))]);
    let rotated = SecretSet::new(map("new-secret"), Some(map(SECRET)));
    let req = request(Some(&bearer(&claims(NOW, BODY), SECRET)), BODY);
    let generation = verify(&req, &rotated, &clock(NOW)).map(|v| v.generation());
    assert_eq!(generation, Ok(Generation::Previous));
}

#[test]
fn missing_or_empty_secret_is_no_credentials() {
    let req = request(Some(&bearer(&claims(NOW, BODY), SECRET)), BODY);
    assert_eq!(
        check(&req, "", NOW),
        Err(VerifyError::NoCredentials(SIGNATURE_SECRET))
    );
    assert_eq!(
        sign(&mut request(None, BODY), &SecretSet::default(), &clock(NOW)),
        Err(ConfigError::MissingSecret(SIGNATURE_SECRET))
    );
}

#[test]
fn sign_is_reproducible_and_verifies() {
    let signed = |body: &str, at: i64| {
        let mut req = request(None, body);
        assert_eq!(sign(&mut req, &secrets(SECRET), &clock(at)), Ok(()));
        req
    };
    let a = signed(BODY, NOW);
    let b = signed(BODY, NOW);
    assert_eq!(a.headers.get(HEADER), b.headers.get(HEADER));
    let replay = check(&a, SECRET, NOW);
    assert!(matches!(&replay, Ok(Some(k)) if k.keep_until == NOW + TOLERANCE_SECS));
    // Another body or another second gives another token id.
    let other_body = check(&signed("{}", NOW), SECRET, NOW);
    let other_time = check(&signed(BODY, NOW + 1), SECRET, NOW);
    assert!(other_body.is_ok() && other_time.is_ok());
    assert_ne!(replay, other_body);
    assert_ne!(replay, other_time);
}
