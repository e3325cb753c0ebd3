//! The call lookup: the request and its application JWT, and the legs read back, against
//! the webhooks saying the same.
//!
//! The answers follow the call records of the Voice API as the official SDKs read them
//! (vonage-python-sdk `voice/src/vonage_voice/models/responses.py` `CallList` / `CallInfo`,
//! and its test data `voice/tests/data/list_calls.json`: `_embedded.calls`, endpoint objects
//! in `from` / `to`, RFC 3339 `start_time` / `end_time`), with values of this conversation.

use super::tests::{CONVERSATION, LEG, event, parsed};
use super::*;
use crate::kit::rsa::RsaKey;
use crate::kit::testing::FRESH;
use crate::kit::{
    CallProgress, ConnectionOptions, Direction, EventKind, Fresh, LegRole, LookupTarget,
};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::sync::LazyLock;
use time::macros::datetime;

const APP: &str = "aaaaaaaa-0000-4000-8000-0123456789ab";
const AGENT_LEG: &str = "cccccccc-bbbb-cccc-dddd-0123456789ab";

/// The call as the service asks about it: the conversation, and its customer's leg.
const TARGET: LookupTarget<'static> = LookupTarget {
    call_id: CONVERSATION,
    leg_id: LEG,
    handle: None,
};

/// One key for the whole file: generating one takes a while.
static PEM: LazyLock<String> = LazyLock::new(|| RsaKey::generate_pem().unwrap());

fn api_secrets() -> SecretSet {
    SecretSet::from_pairs([
        ("signature_secret", "vonage-test-signature-secret"),
        ("application_id", APP),
        ("private_key", PEM.as_str()),
    ])
}

const AT: Fresh = Fresh {
    now: datetime!(2026-11-23 18:20:00 UTC),
    nonce: [0xab; 16],
};

fn lookup(
    secrets: &SecretSet,
    options: &ConnectionOptions,
) -> Result<HttpRequestSpec, ConfigError> {
    Vonage
        .lookup_call(&TARGET, secrets, options, &AT)
        .map(|spec| spec.expect("Vonage looks calls up"))
}

/// The token's header, claims, and whether its signature verifies under `pem`'s public key.
fn token_of(spec: &HttpRequestSpec, pem: &str) -> (Value, Value, bool) {
    let auth = spec
        .headers
        .iter()
        .find(|(name, _)| *name == http::header::AUTHORIZATION)
        .map(|(_, v)| v.as_str())
        .expect("an Authorization header");
    let token = auth.strip_prefix("Bearer ").expect("a bearer token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let json = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let public = RsaKey::from_pem(pem).unwrap().public_key_der();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let verifies = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .is_ok();
    (json(parts[0]), json(parts[1]), verifies)
}

#[test]
fn the_lookup_lists_the_conversations_legs_with_a_signed_application_jwt() {
    let spec = lookup(&api_secrets(), &ConnectionOptions::new()).unwrap();
    assert_eq!(spec.method, http::Method::GET);
    assert_eq!(
        spec.url,
        format!("https://api.nexmo.com/v1/calls?conversation_uuid={CONVERSATION}&page_size=100")
    );
    assert!(
        spec.headers
            .contains(&(http::header::ACCEPT, "application/json".to_owned()))
    );
    let (header, claims, verifies) = token_of(&spec, &PEM);
    assert!(
        verifies,
        "the token verifies under the application's public key"
    );
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let iat = AT.now.unix_timestamp();
    assert_eq!(
        claims,
        json!({
            "application_id": APP,
            "iat": iat,
            "exp": iat + 900,
            "jti": "abababab-abab-4bab-abab-abababababab",
        })
    );
    // Under another key it does not verify.
    let (_, _, other) = token_of(&spec, &RsaKey::generate_pem().unwrap());
    assert!(!other);
    // The service's time and nonce make the token: another nonce, another `jti`.
    let again = Vonage
        .lookup_call(
            &TARGET,
            &api_secrets(),
            &ConnectionOptions::new(),
            &Fresh {
                nonce: [0; 16],
                ..AT
            },
        )
        .unwrap()
        .unwrap();
    let (_, claims, _) = token_of(&again, &PEM);
    assert_eq!(claims["jti"], "00000000-0000-4000-8000-000000000000");
}

#[test]
fn the_api_origin_can_be_replaced_and_the_id_cannot_escape_the_query() {
    let options =
        ConnectionOptions::from([("api_base_url".to_owned(), "http://127.0.0.1:9/x".to_owned())]);
    let spec = Vonage
        .lookup_call(
            &LookupTarget::call("CON-1&status=started#x"),
            &api_secrets(),
            &options,
            &FRESH,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        spec.url,
        "http://127.0.0.1:9/v1/calls?conversation_uuid=CON-1%26status%3Dstarted%23x&page_size=100"
    );
}

#[test]
fn a_lookup_needs_the_application_and_a_usable_key_and_never_shows_it() {
    let none = ConnectionOptions::new();
    let webhook_only = super::tests::secrets();
    assert_eq!(
        lookup(&webhook_only, &none),
        Err(ConfigError::MissingSecret("application_id"))
    );
    let no_key = SecretSet::from_pairs([("application_id", APP)]);
    assert_eq!(
        lookup(&no_key, &none),
        Err(ConfigError::MissingSecret("private_key"))
    );
    let bad = SecretSet::from_pairs([("application_id", APP), ("private_key", "MIIEvQIBADANBg")]);
    let err = lookup(&bad, &none).unwrap_err();
    assert_eq!(err, ConfigError::InvalidSecret("private_key"));
    assert!(!err.to_string().contains("MIIE"), "{err}");
    // The connection is refused a key that could never sign, with a reason that does not
    // repeat it.
    let why = Vonage
        .check_secret("private_key", "MIIEvQIBADANBg")
        .unwrap_err();
    assert!(!why.contains("MIIE"), "{why}");
    assert_eq!(Vonage.check_secret("private_key", &PEM), Ok(()));
    assert_eq!(Vonage.check_secret("application_id", "anything"), Ok(()));
    // The request's debug form names its headers, never their values.
    let spec = lookup(&api_secrets(), &none).unwrap();
    assert!(!format!("{spec:?}").contains("Bearer"));
}

#[test]
fn recordings_are_not_listed() {
    assert_eq!(
        Vonage.list_recordings(CONVERSATION, &api_secrets(), &ConnectionOptions::new(), &AT),
        Ok(None)
    );
    assert_eq!(Vonage.info().lookups, crate::kit::Lookups::Call);
}

/// One leg's record.
fn leg(uuid: &str, status: &str, direction: &str, to: Value) -> Value {
    json!({
        "_links": {"self": {"href": format!("/v1/calls/{uuid}")}},
        "uuid": uuid,
        "conversation_uuid": CONVERSATION,
        "status": status,
        "direction": direction,
        "rate": "0.10000000",
        "price": "0.00333333",
        "duration": "2",
        "start_time": "2026-11-23T18:05:00.000Z",
        "end_time": "2026-11-23T18:09:30.000Z",
        "network": "23420",
        "from": {"type": "phone", "number": "442079460000"},
        "to": to,
    })
}

fn page(calls: &[Value]) -> Vec<u8> {
    json!({
        "count": calls.len(),
        "page_size": 100,
        "record_index": 0,
        "_links": {"self": {"href": "/v1/calls?page_size=100&record_index=0"}},
        "_embedded": {"calls": calls},
    })
    .to_string()
    .into_bytes()
}

fn customer(status: &str) -> Value {
    leg(
        LEG,
        status,
        "inbound",
        json!({"type": "phone", "number": "447700900000"}),
    )
}

fn agent(status: &str) -> Value {
    leg(
        AGENT_LEG,
        status,
        "outbound",
        json!({"type": "phone", "number": "447700900111"}),
    )
}

#[test]
fn an_ended_conversation_reads_as_its_legs_webhooks() {
    let events = Vonage
        .looked_up_call(&TARGET, &page(&[customer("completed"), agent("completed")]))
        .unwrap();
    assert_eq!(events.len(), 2);
    let (c, a) = (&events[0], &events[1]);
    assert_eq!(c.dedupe_key, format!("{CONVERSATION}:{LEG}:completed"));
    assert_eq!(
        a.dedupe_key,
        format!("{CONVERSATION}:{AGENT_LEG}:completed")
    );
    for e in &events {
        assert_eq!(
            e.kind,
            EventKind::Call {
                progress: CallProgress::Completed
            }
        );
        assert_eq!(e.call_id(), CONVERSATION);
        assert_eq!(e.occurred_at, Some(datetime!(2026-11-23 18:09:30 UTC)));
    }
    assert_eq!(c.leg.role, Some(LegRole::Customer));
    assert_eq!(c.party.direction, Some(Direction::Inbound));
    assert_eq!(c.party.from.as_deref(), Some("442079460000"));
    assert_eq!(c.party.to.as_deref(), Some("447700900000"));
    assert_eq!(a.leg.role, None);
    assert_eq!(a.leg.agent_identity.as_deref(), Some("447700900111"));

    // The webhook saying the customer leg completed gives the same event, but for its time.
    let hook = parsed(&event("completed", json!({}))).events.remove(0);
    assert_eq!(
        (
            &hook.dedupe_key,
            &hook.provider_call_id,
            &hook.leg,
            &hook.kind
        ),
        (&c.dedupe_key, &c.provider_call_id, &c.leg, &c.kind)
    );
    assert_eq!(
        (hook.party.direction, &hook.party.from, &hook.party.to),
        (c.party.direction, &c.party.from, &c.party.to)
    );
}

#[test]
fn a_conversation_in_progress_does_not_end() {
    let events = Vonage
        .looked_up_call(&TARGET, &page(&[customer("answered"), agent("ringing")]))
        .unwrap();
    let progress: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        progress,
        [
            EventKind::Call {
                progress: CallProgress::Answered
            },
            EventKind::Call {
                progress: CallProgress::Ringing
            }
        ]
    );
    assert_eq!(
        events[0].occurred_at,
        Some(datetime!(2026-11-23 18:05:00 UTC))
    );
    // An answering machine's result comes on an answered leg: it reads as `answered`, the
    // key the `answered` webhook has.
    let machine = Vonage
        .looked_up_call(&TARGET, &page(&[customer("machine")]))
        .unwrap();
    assert_eq!(
        machine[0].dedupe_key,
        format!("{CONVERSATION}:{LEG}:answered")
    );
    assert_eq!(machine[0].kind, events[0].kind);
    // A status callgate does not know is kept, unmapped, and ends nothing.
    let odd = Vonage
        .looked_up_call(&TARGET, &page(&[customer("disconnected")]))
        .unwrap();
    assert_eq!(odd[0].kind, EventKind::unmapped("status", "disconnected"));
}

#[test]
fn endpoints_of_every_kind_give_their_address() {
    let sip = leg(
        AGENT_LEG,
        "answered",
        "outbound",
        json!({"type": "sip", "uri": "sip:ana@example.test"}),
    );
    let app = leg(
        LEG,
        "answered",
        "outbound",
        json!({"type": "app", "user": "ana"}),
    );
    let text = leg(LEG, "answered", "outbound", json!("447700900222"));
    let identity = |record: Value| {
        Vonage.looked_up_call(&TARGET, &page(&[record])).unwrap()[0]
            .leg
            .agent_identity
            .clone()
    };
    assert_eq!(identity(sip).as_deref(), Some("sip:ana@example.test"));
    assert_eq!(identity(app).as_deref(), Some("ana"));
    assert_eq!(identity(text).as_deref(), Some("447700900222"));
}

#[test]
fn other_conversations_are_left_out_and_no_leg_is_no_call() {
    let mut stranger = customer("completed");
    stranger["conversation_uuid"] = json!("CON-ffffffff-bbbb-cccc-dddd-0123456789ab");
    stranger["uuid"] = json!("ffffffff-bbbb-cccc-dddd-0123456789ab");
    let events = Vonage
        .looked_up_call(&TARGET, &page(&[stranger.clone(), customer("answered")]))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].provider_call_id, LEG);
    assert_eq!(
        Vonage.looked_up_call(&TARGET, &page(&[stranger])),
        Ok(Vec::new())
    );
    let empty =
        br#"{"count":0,"page_size":100,"record_index":0,"_links":{"self":{"href":"/v1/calls"}}}"#;
    assert_eq!(Vonage.looked_up_call(&TARGET, empty), Ok(Vec::new()));
}

#[test]
fn a_listing_that_found_nothing_says_vonage_does_not_know_the_call() {
    let empty =
        br#"{"count":0,"page_size":100,"record_index":0,"_links":{"self":{"href":"/v1/calls"}}}"#;
    let empty_embedded = page(&[]);
    assert!(Vonage.call_unknown(200, empty));
    assert!(Vonage.call_unknown(200, &empty_embedded));
    assert!(Vonage.call_unknown(404, b""));
    // A leg listed, an answer not understood, or a failure: not a call Vonage does not know.
    assert!(!Vonage.call_unknown(200, &page(&[customer("answered")])));
    assert!(!Vonage.call_unknown(200, b"{}"));
    assert!(!Vonage.call_unknown(200, br#"{"count":2}"#));
    assert!(!Vonage.call_unknown(500, empty));
    assert!(!Vonage.call_unknown(401, b""));
}

#[test]
fn answers_not_in_the_documented_shape_are_refused() {
    let mut no_status = customer("completed");
    no_status.as_object_mut().unwrap().remove("status");
    let mut no_uuid = customer("completed");
    no_uuid.as_object_mut().unwrap().remove("uuid");
    for body in [
        b"{}".to_vec(),
        br#"{"count":2}"#.to_vec(),
        b"<html/>".to_vec(),
        br#"{"_embedded":{"calls":{}}}"#.to_vec(),
        page(&[no_status]),
        page(&[no_uuid]),
    ] {
        let read = Vonage.looked_up_call(&TARGET, &body);
        assert!(read.is_err(), "{read:?}");
    }
}
