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
    assert!(e.leg.is_plain(), "an API call names itself its A leg");
    assert!(matches!(p.reply, crate::kit::Reply::Markup { .. }));
}

const A_LEG: &str = "aaaaaaaa-2c78-4d85-b1a4-6eae7dbafb36";
const B_LEG: &str = "bbbbbbbb-2c78-4d85-b1a4-6eae7dbafb36";

/// A POST callback with these parameters, signed with the test token.
fn parsed(fields: &[(&str, &str)]) -> Parsed {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req =
        crate::kit::testing::post(WITHOUT_QUERY, "application/x-www-form-urlencoded", &body);
    let clock = FixedClock(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
    Plivo.sign(&mut req, &secrets(), &clock).unwrap();
    crate::kit::testing::run(&Plivo, &req, &secrets(), &clock).unwrap()
}

#[test]
fn a_dial_callback_reports_the_b_leg_as_the_agent_leg_of_the_a_legs_call() {
    let p = parsed(&[
        ("CallUUID", A_LEG),
        ("DialAction", "answer"),
        ("DialBLegStatus", "answer"),
        ("DialALegUUID", A_LEG),
        ("DialBLegUUID", B_LEG),
        ("DialBLegFrom", "+15125550100"),
        ("DialBLegTo", "sip:ana@phone.plivo.com"),
    ]);
    let [b] = p.events.as_slice() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(b.provider_call_id, B_LEG);
    assert_eq!(b.call_id(), A_LEG);
    assert_eq!(b.dedupe_key, format!("{B_LEG}:dial:answer"));
    assert_eq!(
        b.kind,
        crate::kit::EventKind::Call {
            progress: crate::kit::CallProgress::Answered
        }
    );
    assert_eq!(b.leg.role, Some(crate::kit::LegRole::Agent));
    assert_eq!(
        b.leg.agent_identity.as_deref(),
        Some("sip:ana@phone.plivo.com")
    );
}

#[test]
fn a_dial_action_reports_the_a_leg_and_the_b_legs_end() {
    let p = parsed(&[
        ("CallUUID", A_LEG),
        ("CallStatus", "in-progress"),
        ("DialStatus", "completed"),
        ("DialALegUUID", A_LEG),
        ("DialBLegUUID", B_LEG),
    ]);
    let ids: Vec<_> = p
        .events
        .iter()
        .map(|e| e.provider_call_id.as_str())
        .collect();
    assert_eq!(ids, [A_LEG, B_LEG]);
    assert!(p.events.iter().all(|e| e.call_id() == A_LEG));
    assert_eq!(
        p.events[1].kind,
        crate::kit::EventKind::Call {
            progress: crate::kit::CallProgress::Completed
        }
    );
    // Nobody answered: an empty B leg, only the A leg's own status.
    let p = parsed(&[
        ("CallUUID", A_LEG),
        ("CallStatus", "in-progress"),
        ("DialStatus", "no-answer"),
        ("DialBLegUUID", ""),
    ]);
    assert_eq!(p.events.len(), 1);
    // An unknown B leg status is kept, unmapped.
    let p = parsed(&[
        ("CallUUID", A_LEG),
        ("DialBLegStatus", "parked"),
        ("DialBLegUUID", B_LEG),
    ]);
    assert_eq!(
        p.events[0].kind,
        crate::kit::EventKind::unmapped("DialBLegStatus", "parked")
    );
}

#[test]
fn a_leg_naming_another_a_leg_is_its_leg_and_forwarding_is_kept() {
    let p = parsed(&[
        ("CallUUID", B_LEG),
        ("ALegUUID", A_LEG),
        ("CallStatus", "ringing"),
        ("Direction", "outbound"),
        ("To", "+15125550123"),
        ("ForwardedFrom", "+15125550100"),
    ]);
    let e = &p.events[0];
    assert_eq!(e.call_id(), A_LEG);
    assert_eq!(e.leg.role, None);
    assert_eq!(e.leg.agent_identity.as_deref(), Some("+15125550123"));
    assert_eq!(e.party.forwarded_from.as_deref(), Some("+15125550100"));
}
