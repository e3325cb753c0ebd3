//! The official vectors (providers.md 5.2: signalwire-python's reference suite
//! `tests/unit/security/test_webhook_validator.py`, and signalwire-ruby's
//! `spec/signalwire/webhook/validate_request_spec.rb`), one test per case, and the header
//! rules.

use super::*;
use crate::kit::{Generation, Secret};
use bytes::Bytes;
use http::HeaderMap;
use std::collections::BTreeMap;

const PSK: &str = "PSKtest1234567890abcdef";
const VECTOR_A_URL: &str = "https://example.ngrok.io/webhook";
const VECTOR_A_BODY: &str =
    r#"{"event":"call.state","params":{"call_id":"abc-123","state":"answered"}}"#;
const VECTOR_A_SHA1: &str = "c3c08c1fefaf9ee198a100d5906765a6f394bf0f";
/// Vector A's inputs under HMAC-SHA256 (derived in providers.md; the SDK computes it at run
/// time).
const VECTOR_A_SHA256: &str = "2a29f8a92b11df39da80c3b185fd62173d49c294184da585ff951eae4433571c";
const VECTOR_B_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// Vector B's parameters, form-encoded in the SDK test's order.
const VECTOR_B_BODY: &str = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
const VECTOR_B_SIG: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
const VECTOR_C_URL: &str = "https://example.ngrok.io/webhook?bodySHA256=69f3cbfc18e386ef8236cb7008cd5a54b7fed637a8cb3373b5a1591d7f0fd5f4";
const VECTOR_C_BODY: &str = r#"{"event":"call.state"}"#;
const VECTOR_C_SIG: &str = "dfO9ek8mxyFtn2nMz24plPmPfIY=";
const RUBY_KEY: &str = "PSK_7TruNcSNTxp4zNrykMj4EPzF";
const RUBY_URL: &str = "https://81f2-2-45-18-191.ngrok-free.app/";
const RUBY_BODY: &str = r#"{"call":{"call_id":"b5d63b2e-f75b-4dc8-b6d4-269b635f96c0","node_id":"fa3570ae-f8bd-42c2-83f4-9950d906c91b@us-west","segment_id":"b5d63b2e-f75b-4dc8-b6d4-269b635f96c0","call_state":"created","direction":"inbound","type":"phone","from":"+12135877632","to":"+12089806814","from_number":"+12135877632","to_number":"+12089806814","project_id":"4b7ae78a-d02e-4889-a63b-08b156d5916e","space_id":"62615f44-2a34-4235-b38b-76b5a1de6ef8"},"vars":{}}"#;
const RUBY_SIG: &str = "b18500437ebb010220ddd770cbe6fd531ea0ba0d";

fn request(url: &str, content_type: &str, body: &str, headers: &[(&str, &str)]) -> InboundRequest {
    let mut map = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        map.insert(http::header::CONTENT_TYPE, v);
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(n, v);
        }
    }
    InboundRequest {
        method: Method::POST,
        public_url: url.to_owned(),
        headers: map,
        body: Bytes::from(body.to_owned()),
    }
}

fn json(url: &str, body: &str, headers: &[(&str, &str)]) -> InboundRequest {
    request(url, "application/json", body, headers)
}

fn form(url: &str, body: &str, headers: &[(&str, &str)]) -> InboundRequest {
    request(url, "application/x-www-form-urlencoded", body, headers)
}

fn check(req: &InboundRequest, key: &str) -> Result<(), VerifyError> {
    verify(req, &SecretSet::from_pairs([(SIGNING_KEY, key)])).map(|_| ())
}

fn b64_sha1(key: &str, message: &str) -> String {
    crate::kit::twilio_scheme::signature(key, message, b"")
}

#[test]
fn vector_a_hex_sha1_over_url_and_body() {
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, VECTOR_A_SHA1)]);
    assert_eq!(check(&req, PSK), Ok(()));
}

#[test]
fn vector_a_tampered_body_wrong_key_and_wrong_url_fail() {
    let tampered = VECTOR_A_BODY.replace("answered", "ringing");
    let req = json(VECTOR_A_URL, &tampered, &[(HEADER, VECTOR_A_SHA1)]);
    assert_eq!(check(&req, PSK), Err(VerifyError::BadSignature));
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, VECTOR_A_SHA1)]);
    assert_eq!(check(&req, "wrong-key"), Err(VerifyError::BadSignature));
    let req = json(
        "https://example.ngrok.io/different",
        VECTOR_A_BODY,
        &[(HEADER, VECTOR_A_SHA1)],
    );
    assert_eq!(check(&req, PSK), Err(VerifyError::BadSignature));
}

#[test]
fn vector_a_under_sha256_in_its_own_header() {
    let req = json(
        VECTOR_A_URL,
        VECTOR_A_BODY,
        &[(SHA256_HEADER, VECTOR_A_SHA256)],
    );
    assert_eq!(check(&req, PSK), Ok(()));
    let upper = VECTOR_A_SHA256.to_uppercase();
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(SHA256_HEADER, &upper)]);
    assert_eq!(check(&req, PSK), Ok(()), "hex is read in either case");
}

#[test]
fn vector_b_is_the_twilio_basic_vector_in_either_header() {
    for header in [HEADER, TWILIO_HEADER] {
        let req = form(VECTOR_B_URL, VECTOR_B_BODY, &[(header, VECTOR_B_SIG)]);
        assert_eq!(check(&req, "12345"), Ok(()), "{header}");
    }
}

#[test]
fn vector_c_json_on_the_compatibility_surface() {
    let req = json(VECTOR_C_URL, VECTOR_C_BODY, &[(HEADER, VECTOR_C_SIG)]);
    assert_eq!(check(&req, PSK), Ok(()));
    let other = json(
        VECTOR_C_URL,
        r#"{"event":"DIFFERENT"}"#,
        &[(HEADER, VECTOR_C_SIG)],
    );
    assert_eq!(check(&other, PSK), Err(VerifyError::BodyHashMismatch));
}

#[test]
fn ruby_spec_vector_and_its_negative_cases() {
    let req = json(RUBY_URL, RUBY_BODY, &[(HEADER, RUBY_SIG)]);
    assert_eq!(check(&req, RUBY_KEY), Ok(()));
    assert_eq!(check(&req, "PSK_foo"), Err(VerifyError::BadSignature));
    let moved = json(
        "https://81f2-2-45-18-191.ngrok-free.app/bar?q=hello",
        RUBY_BODY,
        &[(HEADER, RUBY_SIG)],
    );
    assert_eq!(check(&moved, RUBY_KEY), Err(VerifyError::BadSignature));
    let other = json(RUBY_URL, r#"{"foo":"bar"}"#, &[(HEADER, RUBY_SIG)]);
    assert_eq!(check(&other, RUBY_KEY), Err(VerifyError::BadSignature));
    // The spec's fallback to the Twilio scheme, and its wrong signature.
    let fallback = form(VECTOR_B_URL, VECTOR_B_BODY, &[(HEADER, VECTOR_B_SIG)]);
    assert_eq!(check(&fallback, "12345"), Ok(()));
    let wrong = form(VECTOR_B_URL, VECTOR_B_BODY, &[(HEADER, "wrong_one!")]);
    assert_eq!(
        check(&wrong, "12345"),
        Err(VerifyError::MalformedHeader(HEADER))
    );
}

#[test]
fn port_normalization_both_ways() {
    let with_port = "https://example.com:443/webhook";
    let without = "https://example.com/webhook";
    let over_port = b64_sha1("test-key", with_port);
    assert_eq!(over_port, "lCrjup9EGpBE8MRekOjH9elqPwc=");
    let req = form(without, "", &[(HEADER, &over_port)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
    let over_plain = b64_sha1("test-key", without);
    let req = form(with_port, "", &[(HEADER, &over_plain)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
    let over_http_port = b64_sha1("test-key", "http://example.com:80/path");
    let req = form("http://example.com/path", "", &[(HEADER, &over_http_port)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
}

#[test]
fn repeated_keys_in_submission_order_and_twilio_order() {
    let url = "https://example.com/hook";
    let ab = b64_sha1("test-key", &format!("{url}ToaTob"));
    assert_eq!(ab, "x8TMzW4SfG5TI4zuo4PFIS1APNA=");
    let req = form(url, "To=a&To=b", &[(HEADER, &ab)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
    // `To=b&To=a` in submission order signs `TobToa`: the `ToaTob` signature only matches
    // it through Twilio's sorted layout, which SignalWire's Ruby SDK uses.
    let ba_submitted = b64_sha1("test-key", &format!("{url}TobToa"));
    let req = form(url, "To=b&To=a", &[(HEADER, &ba_submitted)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
    let req = form(url, "To=b&To=a", &[(HEADER, &ab)]);
    assert_eq!(check(&req, "test-key"), Ok(()));
    // A signature over another multiset of values never matches.
    let req = form(url, "To=a&To=c", &[(HEADER, &ab)]);
    assert_eq!(check(&req, "test-key"), Err(VerifyError::BadSignature));
}

#[test]
fn a_failing_sha256_header_falls_back_to_the_sha1_header() {
    let wrong = "00".repeat(32);
    let req = json(
        VECTOR_A_URL,
        VECTOR_A_BODY,
        &[(SHA256_HEADER, &wrong), (HEADER, VECTOR_A_SHA1)],
    );
    assert_eq!(check(&req, PSK), Ok(()));
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(SHA256_HEADER, &wrong)]);
    assert_eq!(check(&req, PSK), Err(VerifyError::BadSignature));
    // When every header fails, the first failure is reported.
    let req = json(
        VECTOR_A_URL,
        VECTOR_A_BODY,
        &[(SHA256_HEADER, "xyz"), (HEADER, &"0".repeat(40))],
    );
    assert_eq!(
        check(&req, PSK),
        Err(VerifyError::MalformedHeader(SHA256_HEADER))
    );
}

#[test]
fn header_problems_are_named() {
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[]);
    assert_eq!(check(&req, PSK), Err(VerifyError::MissingHeader(HEADER)));
    for garbage in ["xyz", "!!!!", &"a".repeat(100), "%%notbase64%%", ""] {
        let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, garbage)]);
        assert_eq!(
            check(&req, PSK),
            Err(VerifyError::MalformedHeader(HEADER)),
            "{garbage:?}"
        );
    }
    // 40 characters that are not hex.
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, &"g".repeat(40))]);
    assert_eq!(check(&req, PSK), Err(VerifyError::MalformedHeader(HEADER)));
}

#[test]
fn missing_or_empty_signing_key_is_no_credentials() {
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, VECTOR_A_SHA1)]);
    assert_eq!(
        verify(&req, &SecretSet::from_pairs([("project_id", "p")])).map(|_| ()),
        Err(VerifyError::NoCredentials(SIGNING_KEY))
    );
    assert_eq!(
        check(&req, ""),
        Err(VerifyError::NoCredentials(SIGNING_KEY))
    );
}

#[test]
fn rotation_accepts_the_previous_signing_key() {
    let map = |v: &str| BTreeMap::from([(SIGNING_KEY.to_owned(), Secret::new(v))]);
    let rotated = SecretSet::new(map("PSK_new"), Some(map(PSK)));
    let req = json(VECTOR_A_URL, VECTOR_A_BODY, &[(HEADER, VECTOR_A_SHA1)]);
    assert_eq!(
        verify(&req, &rotated).map(|v| v.generation()),
        Ok(Generation::Previous)
    );
    let laml = form(
        VECTOR_B_URL,
        VECTOR_B_BODY,
        &[(TWILIO_HEADER, VECTOR_B_SIG)],
    );
    let rotated = SecretSet::new(map("PSK_new"), Some(map("12345")));
    assert_eq!(
        verify(&laml, &rotated).map(|v| v.generation()),
        Ok(Generation::Previous)
    );
}

#[test]
fn sign_reproduces_the_vectors() {
    let secrets = SecretSet::from_pairs([(SIGNING_KEY, PSK)]);
    let mut req = json(VECTOR_A_URL, VECTOR_A_BODY, &[]);
    assert_eq!(sign(&mut req, &secrets), Ok(()));
    assert_eq!(req.header(HEADER), Some(VECTOR_A_SHA1.as_bytes()));
    assert_eq!(req.header(SHA256_HEADER), Some(VECTOR_A_SHA256.as_bytes()));
    assert_eq!(req.header(TWILIO_HEADER), None);

    let secrets = SecretSet::from_pairs([(SIGNING_KEY, "12345")]);
    let mut req = form(VECTOR_B_URL, VECTOR_B_BODY, &[]);
    assert_eq!(sign(&mut req, &secrets), Ok(()));
    assert_eq!(req.header(HEADER), Some(VECTOR_B_SIG.as_bytes()));
    assert_eq!(req.header(TWILIO_HEADER), Some(VECTOR_B_SIG.as_bytes()));
    assert_eq!(req.header(SHA256_HEADER), None);

    assert_eq!(
        sign(&mut req, &SecretSet::default()),
        Err(ConfigError::MissingSecret(SIGNING_KEY))
    );
}

/// A JSON callback to a URL ending in `?`: signalwire-python 2.1.1's `RequestValidator`
/// reads the URL as twilio-python does (`urlparse(url).geturl()`, the bare `?` dropped), so
/// it accepts the hex HMAC-SHA1 over the URL without the `?` (and fails on the one over the
/// `?`). Both vectors are that SDK's `build_signature` under `PSK_test_signing_key`; callgate
/// agrees, and `sign` signs what the SDK accepts.
#[test]
fn a_json_callback_url_ending_in_a_question_mark_is_read_as_the_sdk_reads_it() {
    const KEY: &str = "PSK_test_signing_key";
    const URL: &str = "https://hooks.example.test/webhooks/signalwire/conn_sample?";
    const BODY: &str = r#"{"event_type":"calling.call.state","params":{"call_id":"b5d63b2e-f75b-4dc8-b6d4-269b635f96c0","call_state":"ended","end_reason":"no_answer"}}"#;
    const OVER_NORMALIZED: &str = "8728badb77a70153c46a8b729747afa9577ae875";
    const OVER_RAW: &str = "41f01cce7a57a2a575dc9c6878549289007a8196";
    assert_eq!(
        check(&json(URL, BODY, &[(HEADER, OVER_NORMALIZED)]), KEY),
        Ok(())
    );
    assert_eq!(
        check(&json(URL, BODY, &[(HEADER, OVER_RAW)]), KEY),
        Err(VerifyError::BadSignature)
    );
    let mut req = json(URL, BODY, &[]);
    sign(&mut req, &SecretSet::from_pairs([(SIGNING_KEY, KEY)])).unwrap();
    assert_eq!(req.headers[HEADER], OVER_NORMALIZED);
}
