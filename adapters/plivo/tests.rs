use super::signature::{sign, signed_string};
use super::*;
use crate::kit::{FixedClock, Secret};
use http::Method;
use time::OffsetDateTime;

const TOKEN: &str = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4";
const NONCE: &str = "31627761595286130198";
const WITH_QUERY: &str =
    "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml/?a=b&c=d";
const WITHOUT_QUERY: &str = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml";

/// The plivo-go vector's parameters, form-encoded.
fn params() -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("Direction", "outbound"),
            ("From", "19792014278"),
            ("ALegUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("CallStatus", "in-progress"),
            ("BillRate", "0.002"),
            ("ParentAuthID", "MANWVLYTK4ZWU1YTY4QA"),
            (
                "To",
                "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
            ),
            ("ALegRequestUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("CallUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("RequestUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            (
                "SIP-H-To",
                "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
            ),
            ("SessionStart", "2020-04-08 11:34:33.238707"),
            ("Event", "StartApp"),
        ])
        .finish()
}

/// GET sends the parameters in the URL.
fn get_url(base: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", params())
}

#[test]
fn go_sdk_v3_vectors() {
    let body = params();
    assert_eq!(
        sign(TOKEN, &Method::POST, WITH_QUERY, body.as_bytes(), NONCE),
        "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="
    );
    assert_eq!(
        sign(TOKEN, &Method::POST, WITHOUT_QUERY, body.as_bytes(), NONCE),
        "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="
    );
    assert_eq!(
        sign(TOKEN, &Method::GET, &get_url(WITH_QUERY), b"", NONCE),
        "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="
    );
    assert_eq!(
        sign(TOKEN, &Method::GET, &get_url(WITHOUT_QUERY), b"", NONCE),
        "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="
    );
}

#[test]
fn names_sort_in_byte_order() {
    let s = signed_string(&Method::POST, WITHOUT_QUERY, params().as_bytes());
    let sip = s.find("SIP-H-To").unwrap();
    let session = s.find("SessionStart").unwrap();
    assert!(sip < session, "{s}");
}

fn request(sig: &str) -> InboundRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-plivo-signature-v3", sig.parse().unwrap());
    headers.insert("x-plivo-signature-v3-nonce", NONCE.parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    InboundRequest {
        method: Method::POST,
        public_url: WITHOUT_QUERY.into(),
        headers,
        body: bytes::Bytes::from(params()),
    }
}

fn secrets() -> SecretSet {
    SecretSet::new(
        [("auth_token".to_owned(), Secret::new(TOKEN))]
            .into_iter()
            .collect(),
        None,
    )
}

#[test]
fn any_signature_of_the_list_may_match_and_the_nonce_is_single_use() {
    let clock = FixedClock(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
    let list =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0=";
    let req = request(list);
    let v = Plivo.verify(&req, &secrets(), &clock).unwrap();
    let key = v.replay_key().unwrap();
    assert_eq!(key.key, format!("nonce:{NONCE}"));
    assert_eq!(key.keep_until, 1_000 + 86_400);
    let wrong = request("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        Plivo
            .verify(&wrong, &secrets(), &clock)
            .map(|v| v.generation()),
        Err(VerifyError::BadSignature)
    );
}

/// plivo-go's own GET vector (`utils_test.go`, `TestValidateSignatureV3Pass4`,
/// github.com/plivo/plivo-go): an answer URL called with GET, its parameters in the query.
/// It verifies, and its parameters are read from the query (not refused for lacking a form
/// body): the call is in progress and, being the answer request, gets Plivo XML.
#[test]
fn a_get_callback_of_the_go_sdk_vector_is_read_from_its_query() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-plivo-signature-v3",
        "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="
            .parse()
            .unwrap(),
    );
    headers.insert("x-plivo-signature-v3-nonce", NONCE.parse().unwrap());
    let req = InboundRequest {
        method: Method::GET,
        public_url: get_url(WITHOUT_QUERY),
        headers,
        body: bytes::Bytes::new(),
    };
    let clock = FixedClock(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
    let p = crate::kit::testing::run(&Plivo, &req, &secrets(), &clock).unwrap();
    assert_eq!(p.events.len(), 1);
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36");
    assert_eq!(
        e.kind,
        crate::kit::EventKind::Call {
            progress: crate::kit::CallProgress::Answered
        }
    );
    assert_eq!(e.party.from.as_deref(), Some("19792014278"));
    assert!(matches!(p.reply, crate::kit::Reply::Markup { .. }));
}
