//! Parsing end to end (event webhooks, record events, other shapes, field errors), dedupe
//! keys and the absent delete request (the lookup: `rest_tests.rs`; token checks: `signature_tests.rs`; properties:
//! `proptests.rs`).

use super::*;
use crate::kit::testing::{self, keys, kinds};
use crate::kit::{
    ConnectionOptions, Direction, EventKind, FixedClock, LegRole, RecordingEvent,
    RecordingProgress, RecordingRef, Reply,
};
use serde_json::{Value, json};
use time::macros::datetime;

pub(super) const CONVERSATION: &str = "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
pub(super) const LEG: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const REC: &str = "bbbbbbbb-aaaa-cccc-dddd-0123456789ab";
pub(super) const CLOCK: FixedClock = FixedClock(datetime!(2026-11-23 18:06:00 UTC));

pub(super) fn secrets() -> SecretSet {
    SecretSet::from_pairs([("signature_secret", "vonage-test-signature-secret")])
}

pub(super) fn unsigned(content_type: &str, body: &str) -> InboundRequest {
    testing::post(
        "https://hooks.example.test/webhooks/vonage/conn_sample",
        content_type,
        body,
    )
}

fn run(req: &InboundRequest) -> Result<Parsed, String> {
    testing::run(&Vonage, req, &secrets(), &CLOCK)
}

fn signed(body: &Value) -> InboundRequest {
    let mut req = unsigned("application/json", &body.to_string());
    assert_eq!(Vonage.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    req
}

pub(super) fn parsed(body: &Value) -> Parsed {
    match run(&signed(body)) {
        Ok(p) => p,
        Err(reason) => panic!("refused: {reason}"),
    }
}

/// An event webhook as in Vonage's reference.
pub(super) fn event(status: &str, extra: Value) -> Value {
    let body = json!({
        "from": "442079460000",
        "to": "447700900000",
        "uuid": LEG,
        "conversation_uuid": CONVERSATION,
        "status": status,
        "direction": "inbound",
        "timestamp": "2026-11-23T18:05:01.000Z",
    });
    testing::merged(body, extra)
}

#[test]
fn event_webhooks_map_every_status() {
    for (status, detail, progress) in super::mapping::STATUS_ROWS {
        let extra = detail.map_or_else(|| json!({}), |d| json!({"detail": d}));
        let p = parsed(&event(status, extra));
        assert_eq!(kinds(&p), vec![EventKind::Call { progress }], "{status}");
        assert_eq!(keys(&p), vec![format!("{CONVERSATION}:{LEG}:{status}")]);
        assert_eq!(p.reply, Reply::NoContent);
        let e = &p.events[0];
        assert_eq!(e.provider_call_id, LEG);
        assert_eq!(e.call_id(), CONVERSATION);
        assert_eq!(e.leg.session_id.as_deref(), Some(CONVERSATION));
        assert_eq!(e.leg.role, Some(LegRole::Customer));
        assert_eq!(e.leg.agent_identity, None);
        assert_eq!(e.occurred_at, Some(datetime!(2026-11-23 18:05:01 UTC)));
        assert_eq!(e.party.direction, Some(Direction::Inbound));
        // Numbers as Vonage sends them, without `+`: the service normalises them.
        assert_eq!(e.party.from.as_deref(), Some("442079460000"));
        assert_eq!(e.party.to.as_deref(), Some("447700900000"));
        assert_eq!(e.party.caller_name, None);
    }
}

#[test]
fn unknown_statuses_are_unmapped_and_machine_detection_makes_no_event() {
    let p = parsed(&event("disconnected", json!({})));
    let unmapped = |v: &str| EventKind::unmapped("status", v);
    assert_eq!(kinds(&p), vec![unmapped("disconnected")]);
    for status in ["human", "machine"] {
        let mut amd = event(status, json!({"call_uuid": LEG}));
        if let Some(o) = amd.as_object_mut() {
            o.remove("uuid");
        }
        assert_eq!(parsed(&amd).events, vec![], "{status}");
    }
    // A leg named `call_uuid` only is still that leg.
    let mut named = event("answered", json!({"call_uuid": LEG}));
    if let Some(o) = named.as_object_mut() {
        o.remove("uuid");
    }
    let p = parsed(&named);
    assert_eq!(p.events[0].provider_call_id, LEG);
    assert_eq!(keys(&p), vec![format!("{CONVERSATION}:{LEG}:answered")]);
}

#[test]
fn legs_of_one_conversation_are_one_call_with_distinct_keys() {
    let agent_leg = "cccccccc-bbbb-cccc-dddd-0123456789ab";
    let inbound = parsed(&event("answered", json!({})));
    let outbound = parsed(&event(
        "answered",
        json!({"uuid": agent_leg, "direction": "outbound"}),
    ));
    assert_eq!(inbound.events[0].call_id(), outbound.events[0].call_id());
    assert_eq!(inbound.events[0].call_id(), CONVERSATION);
    assert_eq!(outbound.events[0].provider_call_id, agent_leg);
    assert_ne!(keys(&inbound), keys(&outbound));
    // The outbound leg rang its `to`: whose phone it was.
    let leg = &outbound.events[0].leg;
    assert_eq!(leg.role, None);
    assert_eq!(leg.agent_identity.as_deref(), Some("447700900000"));
}

#[test]
fn record_events_are_completed_recordings_of_the_conversation() {
    let body = json!({
        "start_time": "2026-11-23T18:05:10Z",
        "recording_url": format!("https://api.nexmo.com/v1/files/{REC}"),
        "size": 12222,
        "recording_uuid": REC,
        "end_time": "2026-11-23T18:06:51.600Z",
        "conversation_uuid": CONVERSATION,
        "timestamp": "2026-11-23T18:06:52.000Z",
    });
    let p = parsed(&body);
    let recording = RecordingEvent {
        recording_id: REC.to_owned(),
        status: RecordingProgress::Completed,
        url: Some(format!("https://api.nexmo.com/v1/files/{REC}")),
        duration_s: Some(102),
    };
    assert_eq!(kinds(&p), vec![EventKind::Recording(recording)]);
    assert_eq!(keys(&p), vec![format!("{CONVERSATION}:recording:{REC}")]);
    assert_eq!(p.events[0].provider_call_id, CONVERSATION);
    assert_eq!(p.events[0].call_id(), CONVERSATION);
    assert_eq!(p.events[0].leg.session_id.as_deref(), Some(CONVERSATION));
    assert_eq!(p.events[0].leg.role, None);
    assert_eq!(p.events[0].party, kit::Party::default());
    // A record event that names its leg is that leg's, in the same call.
    let mut with_leg = body.clone();
    with_leg["uuid"] = json!(LEG);
    let p = parsed(&with_leg);
    assert_eq!(p.events[0].provider_call_id, LEG);
    assert_eq!(p.events[0].call_id(), CONVERSATION);
    // Unreadable or reversed times give no duration, never an error.
    let mut odd = body.clone();
    odd["end_time"] = json!("soon");
    let p = parsed(&odd);
    assert!(matches!(&kinds(&p)[..], [EventKind::Recording(r)] if r.duration_s.is_none()));
    let mut reversed = body;
    reversed["end_time"] = json!("2026-11-23T18:05:00Z");
    let p = parsed(&reversed);
    assert!(matches!(&kinds(&p)[..], [EventKind::Recording(r)] if r.duration_s.is_none()));
}

#[test]
fn other_shapes_give_no_event() {
    for body in [
        // answer webhook with answer_method POST
        json!({"from": "442079460000", "to": "447700900000", "uuid": LEG, "conversation_uuid": CONVERSATION}),
        // input
        json!({"dtmf": "42", "timed_out": true, "uuid": LEG, "conversation_uuid": CONVERSATION}),
        // transfer
        json!({"conversation_uuid_from": CONVERSATION, "conversation_uuid_to": "CON-2", "uuid": LEG}),
        // error
        json!({"reason": "Syntax error in NCCO.", "conversation_uuid": CONVERSATION}),
    ] {
        let p = parsed(&body);
        assert_eq!(p.events, vec![], "{body}");
        assert_eq!(p.reply, Reply::NoContent);
    }
}

#[test]
fn missing_fields_are_refused() {
    let mut no_conversation = event("answered", json!({}));
    let mut no_leg = event("answered", json!({}));
    if let (Some(a), Some(b)) = (no_conversation.as_object_mut(), no_leg.as_object_mut()) {
        a.remove("conversation_uuid");
        b.remove("uuid");
    }
    for body in [
        no_conversation,
        no_leg,
        json!({"recording_uuid": "", "conversation_uuid": CONVERSATION}),
        json!({"recording_uuid": REC}),
    ] {
        assert_eq!(
            run(&signed(&body)).map(|_| ()),
            Err("missing_field".to_owned()),
            "{body}"
        );
    }
    assert_eq!(
        run(&signed(&json!({"status": 7}))).map(|_| ()),
        Err("malformed".to_owned())
    );
}

#[test]
fn only_json_is_accepted() {
    let mut req = unsigned("application/x-www-form-urlencoded", "status=answered");
    assert_eq!(Vonage.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    assert_eq!(
        run(&req).map(|_| ()),
        Err("unsupported_content_type".to_owned())
    );
}

#[test]
fn the_same_delivery_gives_the_same_keys() {
    let req = signed(&event("completed", json!({"duration": "42"})));
    let first = run(&req).map(|p| p.events);
    assert!(first.is_ok());
    assert_eq!(first, run(&req).map(|p| p.events));
}

#[test]
fn there_is_no_delete_request() {
    let rec = RecordingRef {
        provider_call_id: CONVERSATION.to_owned(),
        recording_id: REC.to_owned(),
    };
    let options =
        ConnectionOptions::from([("api_base_url".to_owned(), "http://127.0.0.1:9".to_owned())]);
    assert_eq!(
        Vonage.delete_recording(&rec, &secrets(), &options),
        Ok(None)
    );
}
