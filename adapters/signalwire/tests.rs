//! Parsing end to end (LaML through Twilio's parser, RELAY / SWML callbacks), dedupe keys
//! and the REST request (signature vectors: `signature_tests.rs`; properties:
//! `proptests.rs`).

use super::payload::EMPTY_SWML;
use super::*;
use crate::kit::adapter::basic_delete;
use crate::kit::testing::{self, keys, kinds};
use crate::kit::{
    CallProgress, Direction, EventKind, FixedClock, RecordingEvent, RecordingProgress, Reply,
    Secret,
};
use http::Method;
use serde_json::json;
use time::macros::datetime;

pub(super) const URL: &str = "https://hooks.example.test/webhooks/signalwire/conn_sample";
pub(super) const KEY: &str = "PSK_test_signing_key";
pub(super) const PROJECT: &str = "4b7ae78a-d02e-4889-a63b-08b156d5916e";
pub(super) const CALL: &str = "b5d63b2e-f75b-4dc8-b6d4-269b635f96c0";
const REC: &str = "19e436af-5688-4307-b03b-bdb2b42b8142";
pub(super) const CLOCK: FixedClock = FixedClock(datetime!(2026-11-23 18:06:00 UTC));

pub(super) fn secrets() -> SecretSet {
    SecretSet::from_pairs([
        ("signing_key", KEY),
        ("project_id", PROJECT),
        ("api_token", "PT_test_api_token"),
    ])
}

pub(super) fn unsigned(content_type: &str, body: &str) -> InboundRequest {
    testing::post(URL, content_type, body)
}

fn signed(content_type: &str, body: &str) -> InboundRequest {
    let mut req = unsigned(content_type, body);
    assert_eq!(SignalWire.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    req
}

fn run(req: &InboundRequest) -> Result<Parsed, String> {
    testing::run(&SignalWire, req, &secrets(), &CLOCK)
}

fn parsed_json(body: &serde_json::Value) -> Parsed {
    match run(&signed("application/json", &body.to_string())) {
        Ok(p) => p,
        Err(reason) => panic!("refused: {reason}"),
    }
}

fn call(progress: CallProgress) -> EventKind {
    EventKind::Call { progress }
}

/// A call-state callback as SignalWire posts it to a `call_state_url`.
pub(super) fn state_callback(state: &str, end_reason: Option<&str>) -> serde_json::Value {
    let mut params = json!({
        "call_id": CALL,
        "node_id": "fa3570ae-f8bd-42c2-83f4-9950d906c91b@us-west",
        "call_state": state,
        "direction": "inbound",
        "device": {"type": "phone", "params": {"from_number": "+12135877632", "to_number": "+12089806814"}},
    });
    if let Some(reason) = end_reason {
        params["end_reason"] = json!(reason);
    }
    json!({
        "event_type": "calling.call.state",
        "event_channel": "signalwire_test",
        "timestamp": 1_795_457_101.25,
        "project_id": PROJECT,
        "space_id": "62615f44-2a34-4235-b38b-76b5a1de6ef8",
        "params": params,
    })
}

#[test]
fn call_states_before_the_end() {
    for (state, progress) in [
        ("created", CallProgress::Initiated),
        ("ringing", CallProgress::Ringing),
        ("answered", CallProgress::Answered),
    ] {
        let p = parsed_json(&state_callback(state, None));
        assert_eq!(kinds(&p), vec![call(progress)], "{state}");
        assert_eq!(keys(&p), vec![format!("{CALL}:state:{state}")]);
        assert_eq!(p.reply, Reply::NoContent);
        let e = &p.events[0];
        assert_eq!(e.provider_call_id, CALL);
        assert_eq!(e.occurred_at, Some(datetime!(2026-11-23 18:05:01.25 UTC)));
        assert_eq!(e.party.direction, Some(Direction::Inbound));
        assert_eq!(e.party.from.as_deref(), Some("+12135877632"));
        assert_eq!(e.party.to.as_deref(), Some("+12089806814"));
    }
}

#[test]
fn ended_is_read_through_its_end_reason() {
    for (reason, progress) in [
        (Some("hangup"), CallProgress::Completed),
        (None, CallProgress::Completed),
        (Some("cancel"), CallProgress::Canceled),
        (Some("busy"), CallProgress::Busy),
        (Some("decline"), CallProgress::Busy),
        (Some("declined"), CallProgress::Busy),
        (Some("noAnswer"), CallProgress::NoAnswer),
        (Some("no_answer"), CallProgress::NoAnswer),
        (Some("error"), CallProgress::Failed),
    ] {
        let p = parsed_json(&state_callback("ended", reason));
        assert_eq!(kinds(&p), vec![call(progress)], "{reason:?}");
        assert_eq!(keys(&p), vec![format!("{CALL}:state:ended")]);
    }
    let p = parsed_json(&state_callback("ended", Some("teleported")));
    assert_eq!(
        kinds(&p),
        vec![EventKind::unmapped("end_reason", "teleported")]
    );
}

/// SignalWire's published SWML `connect` status callback, ended with each `end_reason` the
/// same page lists (<https://signalwire.com/docs/swml/reference/connect#statuscallbacks>:
/// `hangup, busy, no_answer, cancel, declined, error`): every one ends the call. The body is
/// the sample `published-swml-connect-call-state.http`, only its state and reason changed.
#[test]
fn published_swml_connect_end_reasons_end_the_call() {
    let published = testing::sample_body("signalwire", "published-swml-connect-call-state.http");
    for (reason, progress) in [
        ("hangup", CallProgress::Completed),
        ("busy", CallProgress::Busy),
        ("no_answer", CallProgress::NoAnswer),
        ("cancel", CallProgress::Canceled),
        ("declined", CallProgress::Busy),
        ("error", CallProgress::Failed),
    ] {
        let body = published
            .replace(r#""call_state": "answered""#, r#""call_state": "ended""#)
            .replace(
                r#""end_reason": null"#,
                &format!(r#""end_reason": "{reason}""#),
            );
        assert_ne!(body, published);
        let p = match run(&signed("application/json", &body)) {
            Ok(p) => p,
            Err(refused) => panic!("{reason}: refused: {refused}"),
        };
        assert_eq!(kinds(&p), vec![call(progress)], "{reason}");
        assert_eq!(
            keys(&p),
            vec!["xxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx:state:ended"]
        );
    }
}

#[test]
fn ending_gives_no_event_and_unknown_states_are_unmapped() {
    let p = parsed_json(&state_callback("ending", None));
    assert_eq!(p.events, vec![]);
    assert_eq!(p.reply, Reply::NoContent);
    let p = parsed_json(&state_callback("parked", None));
    assert_eq!(kinds(&p), vec![EventKind::unmapped("call_state", "parked")]);
    assert_eq!(keys(&p), vec![format!("{CALL}:state:parked")]);
}

#[test]
fn other_event_types_are_unmapped_when_about_a_call() {
    let body = json!({
        "event_type": "calling.call.record",
        "timestamp": 1_795_457_101.5,
        "params": {"call_id": CALL, "control_id": "c1", "state": "finished"},
    });
    let p = parsed_json(&body);
    assert_eq!(
        kinds(&p),
        vec![EventKind::unmapped("event_type", "calling.call.record")]
    );
    assert_eq!(
        keys(&p),
        vec![format!("{CALL}:event:calling.call.record:1795457101.5")]
    );
    let p = parsed_json(&json!({"event_type": "signalwire.authorization.state", "params": {}}));
    assert_eq!(p.events, vec![]);
}

#[test]
fn swml_request_is_answered_with_an_empty_document() {
    // The body of signalwire-ruby's spec vector.
    let body = json!({"call": {
        "call_id": CALL, "call_state": "created", "direction": "inbound", "type": "phone",
        "from": "+12135877632", "to": "+12089806814",
        "from_number": "+12135877632", "to_number": "+12089806814",
        "project_id": PROJECT,
    }, "vars": {}});
    let p = parsed_json(&body);
    assert_eq!(kinds(&p), vec![call(CallProgress::Initiated)]);
    assert_eq!(keys(&p), vec![format!("{CALL}:swml:created")]);
    assert_eq!(p.events[0].party.to.as_deref(), Some("+12089806814"));
    assert_eq!(p.events[0].occurred_at, None);
    assert_eq!(
        p.reply,
        Reply::Markup {
            content_type: "application/json",
            body: EMPTY_SWML.to_owned()
        }
    );
    let doc: serde_json::Value = serde_json::from_str(EMPTY_SWML).unwrap_or_default();
    assert_eq!(doc["sections"]["main"], json!([]));
}

#[test]
fn sip_devices_report_their_addresses() {
    let mut body = state_callback("ringing", None);
    body["params"]["device"] = json!({"type": "sip", "params": {"from": "sip:alice@example.com", "to": "sip:+12089806814@example.com"}});
    let p = parsed_json(&body);
    assert_eq!(
        p.events[0].party.from.as_deref(),
        Some("sip:alice@example.com")
    );
}

#[test]
fn missing_fields_are_refused() {
    let mut no_call_id = state_callback("answered", None);
    if let Some(params) = no_call_id["params"].as_object_mut() {
        params.remove("call_id");
    }
    let mut no_state = state_callback("answered", None);
    no_state["params"]["call_state"] = json!("");
    for body in [
        no_call_id,
        no_state,
        json!({"event_type": "calling.call.state"}),
        json!({"event": "call.state", "params": {"call_id": CALL, "state": "answered"}}),
        json!({"call": {"call_state": "created"}}),
    ] {
        let result = run(&signed("application/json", &body.to_string()));
        assert_eq!(
            result.map(|_| ()),
            Err("missing_field".to_owned()),
            "{body}"
        );
    }
    let wrong_type = json!({"event_type": "calling.call.state", "params": {"call_id": 7}});
    assert_eq!(
        run(&signed("application/json", &wrong_type.to_string())).map(|_| ()),
        Err("malformed".to_owned())
    );
    assert_eq!(
        run(&signed("application/json", "not json")).map(|_| ()),
        Err("malformed".to_owned())
    );
}

#[test]
fn other_content_types_are_unsupported() {
    let result = run(&signed("text/plain", "CallSid=x"));
    assert_eq!(
        result.map(|_| ()),
        Err("unsupported_content_type".to_owned())
    );
}

#[test]
fn laml_webhooks_are_read_as_twilio_webhooks() {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("AccountSid", PROJECT),
            ("CallSid", CALL),
            ("CallStatus", "completed"),
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", "3"),
            ("Direction", "inbound"),
            ("From", "+12135877632"),
            ("To", "+12089806814"),
            ("RecordingSid", REC),
            (
                "RecordingUrl",
                "https://example.signalwire.com/api/laml/r.wav",
            ),
            ("RecordingDuration", "12"),
        ])
        .finish();
    let p = run(&signed("application/x-www-form-urlencoded", &body));
    let Ok(p) = p else { panic!("{p:?}") };
    let recording = RecordingEvent {
        recording_id: REC.to_owned(),
        status: RecordingProgress::Completed,
        url: Some("https://example.signalwire.com/api/laml/r.wav".to_owned()),
        duration_s: Some(12),
    };
    assert_eq!(
        kinds(&p),
        vec![
            call(CallProgress::Completed),
            EventKind::Recording(recording)
        ]
    );
    assert_eq!(
        keys(&p),
        vec![
            format!("{CALL}:call:completed:3"),
            format!("{CALL}:recording:{REC}:completed")
        ]
    );
    // An incoming-call webhook gets the (LaML = TwiML) empty document.
    let body = format!("CallSid={CALL}&CallStatus=ringing&To=%2B12089806814");
    let p = run(&signed("application/x-www-form-urlencoded", &body));
    assert!(matches!(
        p,
        Ok(Parsed {
            reply: Reply::Markup {
                content_type: "text/xml",
                ..
            },
            ..
        })
    ));
}

#[test]
fn laml_get_webhooks_are_read_from_the_query() {
    let mut req = unsigned("", "");
    req.method = Method::GET;
    req.public_url = format!("{URL}?CallSid={CALL}&CallStatus=ringing");
    assert_eq!(SignalWire.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    let p = run(&req);
    assert_eq!(
        p.as_ref().map(keys),
        Ok(vec![format!("{CALL}:voice:ringing").as_str()])
    );
}

#[test]
fn the_same_delivery_gives_the_same_keys_and_distinct_states_distinct_keys() {
    let req = signed(
        "application/json",
        &state_callback("answered", None).to_string(),
    );
    let first = run(&req).map(|p| keys(&p).iter().map(|k| k.to_string()).collect::<Vec<_>>());
    let second = run(&req).map(|p| keys(&p).iter().map(|k| k.to_string()).collect::<Vec<_>>());
    assert!(first.is_ok());
    assert_eq!(first, second);
    let ended = parsed_json(&state_callback("ended", Some("hangup")));
    assert_ne!(first.ok(), Some(vec![ended.events[0].dedupe_key.clone()]));
}

#[test]
fn delete_recording_uses_the_space_and_the_project_credentials() {
    let rec = RecordingRef {
        provider_call_id: CALL.to_owned(),
        recording_id: REC.to_owned(),
    };
    let space = ConnectionOptions::from([(
        "space_url".to_owned(),
        "https://example.signalwire.com/some/path".to_owned(),
    )]);
    let spec = SignalWire.delete_recording(&rec, &secrets(), &space);
    let url = format!(
        "https://example.signalwire.com/api/laml/2010-04-01/Accounts/{PROJECT}/Recordings/{REC}.json"
    );
    let (user, token) = (Secret::new(PROJECT), Secret::new("PT_test_api_token"));
    assert_eq!(spec, Ok(Some(basic_delete(url, &user, &token))));

    // api_base_url replaces only the origin.
    let mut mock = space.clone();
    mock.insert(
        "api_base_url".to_owned(),
        "http://127.0.0.1:9999/".to_owned(),
    );
    let evil = RecordingRef {
        provider_call_id: CALL.to_owned(),
        recording_id: "../x?y".to_owned(),
    };
    let url = SignalWire
        .delete_recording(&evil, &secrets(), &mock)
        .map(|s| s.map(|s| s.url));
    assert_eq!(
        url,
        Ok(Some(format!(
            "http://127.0.0.1:9999/api/laml/2010-04-01/Accounts/{PROJECT}/Recordings/%2E%2E%2Fx%3Fy.json"
        )))
    );

    let none = ConnectionOptions::new();
    assert_eq!(
        SignalWire.delete_recording(&rec, &secrets(), &none),
        Err(ConfigError::MissingOption("space_url"))
    );
    let no_token = SecretSet::from_pairs([("signing_key", KEY), ("project_id", PROJECT)]);
    assert_eq!(
        SignalWire.delete_recording(&rec, &no_token, &space),
        Err(ConfigError::MissingSecret("api_token"))
    );
}

#[test]
fn informational_event_types_make_no_event() {
    for event_type in [
        "calling.call.play",
        "calling.call.collect",
        "calling.call.detect",
        "calling.call.send_digits",
        "calling.call.tap",
        "calling.call.connect",
    ] {
        let body = json!({
            "event_type": event_type,
            "timestamp": 1_795_457_101.5,
            "params": {"call_id": CALL, "control_id": "c1", "detect": {"type": "machine"}},
        });
        assert_eq!(parsed_json(&body).events, vec![], "{event_type}");
    }
}

#[test]
fn a_relay_call_created_by_another_is_a_leg_of_its_parent() {
    let parent = "11111111-2222-4333-8444-555555555555";
    let body = |direction: &str| {
        json!({
            "event_type": "calling.call.state",
            "timestamp": 1_795_457_101.5,
            "params": {"call_id": CALL, "call_state": "answered", "direction": direction,
                "parent": {"device_type": "phone", "node_id": "n1", "call_id": parent},
                "device": {"type": "sip", "params": {"from": "sip:pbx@example.com", "to": "sip:ana@pbx.example.com"}}},
        })
    };
    let p = parsed_json(&body("outbound"));
    let event = &p.events[0];
    assert_eq!(event.provider_call_id, CALL);
    assert_eq!(event.call_id(), parent);
    assert_eq!(event.leg.role, None);
    assert_eq!(
        event.leg.agent_identity.as_deref(),
        Some("sip:ana@pbx.example.com")
    );
    let p = parsed_json(&body("inbound"));
    assert_eq!(p.events[0].leg.agent_identity, None);
    assert_eq!(p.events[0].call_id(), parent);
    let mut plain = body("outbound");
    if let Some(params) = plain["params"].as_object_mut() {
        params.remove("parent");
    }
    let p = parsed_json(&plain);
    assert!(p.events[0].leg.is_plain(), "{:?}", p.events[0].leg);
}
