//! Parsing end to end (each callback kind, mappings through `parse`, field errors), dedupe
//! keys and the REST request (credentials: `signature.rs`; properties: `proptests.rs`).

use super::payload::EMPTY_BXML;
use super::*;
use crate::kit::adapter::basic_delete;
use crate::kit::testing::{self, keys, kinds};
use crate::kit::{
    CallProgress, Direction, EventKind, FixedClock, RecordingEvent, RecordingProgress, Reply,
    Secret,
};
use serde_json::{Value, json};
use time::macros::datetime;

pub(super) const URL: &str = "https://hooks.example.test/webhooks/bandwidth/conn_sample";
pub(super) const CALL: &str = "c-95ac8d6e-1a31c52e-b38f-4198-93c1-51633ec68f8d";
const REC: &str = "r-115da407-e3d9-4ea7-889f-5f4ad7386a80";
pub(super) const CLOCK: FixedClock = FixedClock(datetime!(2026-11-23 18:06:00 UTC));

pub(super) fn secrets() -> SecretSet {
    SecretSet::from_pairs([
        ("callback_username", "bw-callback-user"),
        ("callback_password", "bw-callback-pass"),
        ("api_username", "bw-api-user"),
        ("api_password", "bw-api-pass"),
        ("account_id", "55555555"),
    ])
}

pub(super) fn unsigned(content_type: &str, body: &str) -> InboundRequest {
    testing::post(URL, content_type, body)
}

fn signed(body: &Value) -> InboundRequest {
    let mut req = unsigned("application/json", &body.to_string());
    assert_eq!(Bandwidth.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    req
}

fn run(req: &InboundRequest) -> Result<Parsed, String> {
    testing::run(&Bandwidth, req, &secrets(), &CLOCK)
}

pub(super) fn parsed(body: &Value) -> Parsed {
    match run(&signed(body)) {
        Ok(p) => p,
        Err(reason) => panic!("refused: {reason}"),
    }
}

fn call(progress: CallProgress) -> EventKind {
    EventKind::Call { progress }
}

fn bxml() -> Reply {
    Reply::Markup {
        content_type: "application/xml",
        body: EMPTY_BXML.to_owned(),
    }
}

/// A callback as in Bandwidth's examples (docs/voice/webhooks/*.mdx).
pub(super) fn callback(event_type: &str, extra: Value) -> Value {
    let body = json!({
        "eventType": event_type,
        "eventTime": "2026-11-23T18:05:55.533Z",
        "accountId": "55555555",
        "applicationId": "7fc9698a-b04a-468b-9e8f-91238c0d0086",
        "from": "+15551112222",
        "to": "+15553334444",
        "direction": "inbound",
        "callId": CALL,
        "callUrl": format!("https://voice.bandwidth.com/api/v2/accounts/55555555/calls/{CALL}"),
        "startTime": "2026-11-23T18:04:22.234Z",
    });
    testing::merged(body, extra)
}

#[test]
fn initiate_is_answered_with_empty_bxml() {
    let p = parsed(&callback("initiate", json!({})));
    assert_eq!(kinds(&p), vec![call(CallProgress::Initiated)]);
    assert_eq!(keys(&p), vec![format!("{CALL}:call:initiate")]);
    assert_eq!(p.reply, bxml());
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, CALL);
    assert_eq!(e.occurred_at, Some(datetime!(2026-11-23 18:04:22.234 UTC)));
    assert_eq!(e.party.direction, Some(Direction::Inbound));
    assert_eq!(e.party.from.as_deref(), Some("+15551112222"));
    assert_eq!(e.party.to.as_deref(), Some("+15553334444"));
    assert_eq!(e.party.caller_name, None);
}

#[test]
fn answer_uses_its_answer_time() {
    let p = parsed(&callback(
        "answer",
        json!({"direction": "outbound", "answerTime": "2026-11-23T18:04:25.432Z", "callerDisplayName": "ACME HVAC"}),
    ));
    assert_eq!(kinds(&p), vec![call(CallProgress::Answered)]);
    assert_eq!(keys(&p), vec![format!("{CALL}:call:answer")]);
    assert_eq!(p.reply, bxml());
    let e = &p.events[0];
    assert_eq!(e.occurred_at, Some(datetime!(2026-11-23 18:04:25.432 UTC)));
    assert_eq!(e.party.direction, Some(Direction::Outbound));
    assert_eq!(e.party.caller_name.as_deref(), Some("ACME HVAC"));
}

#[test]
fn disconnect_maps_every_cause() {
    for (cause, progress) in super::mapping::CAUSE_ROWS {
        let p = parsed(&callback(
            "disconnect",
            json!({"cause": cause, "endTime": "2026-11-23T18:05:54.123Z"}),
        ));
        assert_eq!(kinds(&p), vec![call(progress)], "{cause}");
        assert_eq!(keys(&p), vec![format!("{CALL}:call:disconnect:{cause}")]);
        assert_eq!(p.reply, Reply::NoContent);
        assert_eq!(
            p.events[0].occurred_at,
            Some(datetime!(2026-11-23 18:05:54.123 UTC))
        );
    }
    let p = parsed(&callback("disconnect", json!({"cause": "solar-flare"})));
    assert_eq!(kinds(&p), vec![EventKind::unmapped("cause", "solar-flare")]);
    // Without endTime the (approximate) eventTime is used.
    assert_eq!(
        p.events[0].occurred_at,
        Some(datetime!(2026-11-23 18:05:55.533 UTC))
    );
}

#[test]
fn recordings_are_in_progress_until_available() {
    let fields = json!({
        "recordingId": REC, "channels": 1, "duration": "PT20.056S", "fileFormat": "wav",
        "mediaUrl": format!("https://voice.bandwidth.com/api/v2/accounts/55555555/calls/{CALL}/recordings/{REC}/media"),
    });
    let media = fields["mediaUrl"].as_str().map(str::to_owned);
    let recording = |status| {
        EventKind::Recording(RecordingEvent {
            recording_id: REC.to_owned(),
            status,
            url: media.clone(),
            duration_s: Some(20),
        })
    };
    let p = parsed(&callback("recordComplete", fields.clone()));
    assert_eq!(kinds(&p), vec![recording(RecordingProgress::InProgress)]);
    assert_eq!(
        keys(&p),
        vec![format!("{CALL}:recording:{REC}:recordComplete")]
    );
    assert_eq!(p.reply, bxml());

    for (status, progress) in [
        (Some("complete"), RecordingProgress::Completed),
        (Some("partial"), RecordingProgress::Completed),
        (None, RecordingProgress::Completed),
        (Some("error"), RecordingProgress::Failed),
    ] {
        let mut extra = fields.clone();
        if let Some(s) = status {
            extra["status"] = json!(s);
        }
        let p = parsed(&callback("recordingAvailable", extra));
        assert_eq!(kinds(&p), vec![recording(progress)], "{status:?}");
        assert_eq!(
            keys(&p),
            vec![format!("{CALL}:recording:{REC}:recordingAvailable")]
        );
        assert_eq!(p.reply, Reply::NoContent);
    }
    let mut odd = fields;
    odd["status"] = json!("archived");
    let p = parsed(&callback("recordingAvailable", odd));
    assert_eq!(kinds(&p), vec![EventKind::unmapped("status", "archived")]);
}

#[test]
fn unreadable_durations_and_times_are_unknown_not_errors() {
    let p = parsed(&callback(
        "recordingAvailable",
        json!({"recordingId": REC, "duration": "twenty seconds", "eventTime": "2019-09-13T16:49:40.500"}),
    ));
    assert!(matches!(&kinds(&p)[..], [EventKind::Recording(r)] if r.duration_s.is_none()));
    assert_eq!(p.events[0].occurred_at, None);
}

#[test]
fn other_event_types_are_unmapped_or_ignored() {
    let p = parsed(&callback("holdComplete", json!({"digits": "1"})));
    assert_eq!(
        kinds(&p),
        vec![EventKind::unmapped("eventType", "holdComplete")]
    );
    assert_eq!(
        keys(&p),
        vec![format!(
            "{CALL}:event:holdComplete:2026-11-23T18:05:55.533Z"
        )]
    );
    assert_eq!(p.reply, Reply::NoContent);
    let p = parsed(&callback("gather", json!({"digits": "1"})));
    assert_eq!(p.events, vec![], "informational: no event");
    assert_eq!(p.reply, bxml());
    let p = parsed(&json!({"eventType": "conferenceCompleted", "conferenceId": "conf-1"}));
    assert_eq!(p.events, vec![]);
    assert_eq!(p.reply, Reply::NoContent);
}

#[test]
fn missing_fields_are_refused() {
    let mut no_call = callback("answer", json!({}));
    if let Some(o) = no_call.as_object_mut() {
        o.remove("callId");
    }
    let mut no_type = callback("answer", json!({}));
    if let Some(o) = no_type.as_object_mut() {
        o.remove("eventType");
    }
    for body in [
        no_call,
        no_type,
        callback("disconnect", json!({})),
        callback("recordingAvailable", json!({})),
        callback("initiate", json!({"callId": ""})),
    ] {
        assert_eq!(
            run(&signed(&body)).map(|_| ()),
            Err("missing_field".to_owned()),
            "{body}"
        );
    }
    let wrong_type = callback("answer", json!({"callId": 42}));
    assert_eq!(
        run(&signed(&wrong_type)).map(|_| ()),
        Err("malformed".to_owned())
    );
}

#[test]
fn only_json_is_accepted() {
    let mut req = unsigned("application/x-www-form-urlencoded", "eventType=answer");
    assert_eq!(Bandwidth.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    assert_eq!(
        run(&req).map(|_| ()),
        Err("unsupported_content_type".to_owned())
    );
}

#[test]
fn the_same_callback_gives_the_same_keys() {
    let req = signed(&callback("disconnect", json!({"cause": "hangup"})));
    let first = run(&req).map(|p| p.events);
    assert!(first.is_ok());
    assert_eq!(first, run(&req).map(|p| p.events));
}

#[test]
fn delete_recording_describes_an_authenticated_delete() {
    let rec = RecordingRef {
        provider_call_id: CALL.to_owned(),
        recording_id: REC.to_owned(),
    };
    let spec = Bandwidth.delete_recording(&rec, &secrets(), &ConnectionOptions::new());
    let url = format!(
        "https://voice.bandwidth.com/api/v2/accounts/55555555/calls/{CALL}/recordings/{REC}"
    );
    let (user, password) = (Secret::new("bw-api-user"), Secret::new("bw-api-pass"));
    assert_eq!(spec, Ok(Some(basic_delete(url, &user, &password))));

    let options = ConnectionOptions::from([(
        "api_base_url".to_owned(),
        "http://127.0.0.1:9999".to_owned(),
    )]);
    let evil = RecordingRef {
        provider_call_id: "../accounts".to_owned(),
        recording_id: "r-1/media".to_owned(),
    };
    let url = Bandwidth
        .delete_recording(&evil, &secrets(), &options)
        .map(|s| s.map(|s| s.url));
    assert_eq!(
        url,
        Ok(Some(
            "http://127.0.0.1:9999/api/v2/accounts/55555555/calls/%2E%2E%2Faccounts/recordings/r-1%2Fmedia"
                .to_owned()
        ))
    );
    // The account id may be an option instead of a secret.
    let without_account = SecretSet::from_pairs([("api_username", "u"), ("api_password", "p")]);
    let as_option = ConnectionOptions::from([("account_id".to_owned(), "77".to_owned())]);
    let url = Bandwidth
        .delete_recording(&rec, &without_account, &as_option)
        .map(|s| s.map(|s| s.url));
    assert_eq!(
        url,
        Ok(Some(format!(
            "https://voice.bandwidth.com/api/v2/accounts/77/calls/{CALL}/recordings/{REC}"
        )))
    );
    for missing in ["account_id", "api_username", "api_password"] {
        let pairs: Vec<(&str, &str)> = [
            ("account_id", "55555555"),
            ("api_username", "u"),
            ("api_password", "p"),
        ]
        .into_iter()
        .filter(|(k, _)| *k != missing)
        .collect();
        let partial = SecretSet::from_pairs(pairs);
        let result = Bandwidth.delete_recording(&rec, &partial, &ConnectionOptions::new());
        assert!(
            matches!(result, Err(ConfigError::MissingSecret(name)) if name == missing),
            "{missing}: {result:?}"
        );
    }
}

const A_LEG: &str = "c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f";

#[test]
fn a_transfers_b_leg_is_the_agent_leg_of_the_a_legs_call() {
    let transfer = |event_type: &str, extra: Value| {
        let base = json!({"direction": "outbound", "parentCallId": A_LEG,
            "transferTo": "+15556667777", "transferCallerId": "+15551112222",
            "answerTime": "2026-11-23T18:05:00Z", "endTime": "2026-11-23T18:06:00Z"});
        parsed(&callback(event_type, testing::merged(base, extra)))
    };
    let answered = transfer("transferAnswer", json!({}));
    let ended = transfer("transferDisconnect", json!({"cause": "hangup"}));
    assert_eq!(kinds(&answered), vec![call(CallProgress::Answered)]);
    assert_eq!(kinds(&ended), vec![call(CallProgress::Completed)]);
    assert_eq!(
        keys(&ended),
        vec![format!("{CALL}:call:transferDisconnect:hangup")]
    );
    for p in [&answered, &ended] {
        let e = &p.events[0];
        assert_eq!(e.provider_call_id, CALL, "the B leg keeps its own id");
        assert_eq!(e.call_id(), A_LEG);
        assert_eq!(e.leg.role, Some(kit::LegRole::Agent));
        // `to` is the A leg's number; the agent is `transferTo`.
        assert_eq!(e.leg.agent_identity.as_deref(), Some("+15556667777"));
        assert_eq!(e.party.to.as_deref(), Some("+15553334444"));
    }
    assert_eq!(answered.reply, bxml());
    assert_eq!(
        ended.events[0].occurred_at,
        Some(datetime!(2026-11-23 18:06:00 UTC))
    );
    let busy = transfer("transferDisconnect", json!({"cause": "busy"}));
    assert_eq!(kinds(&busy), vec![call(CallProgress::Busy)]);
}

#[test]
fn a_recording_of_a_b_leg_belongs_to_the_a_legs_call() {
    let p = parsed(&callback(
        "recordingAvailable",
        json!({"recordingId": REC, "parentCallId": A_LEG, "transferTo": "+15556667777"}),
    ));
    let e = &p.events[0];
    assert_eq!(e.call_id(), A_LEG);
    assert_eq!((e.leg.role, e.leg.agent_identity.as_deref()), (None, None));
    // A parent naming the call itself names no other call.
    let p = parsed(&callback("answer", json!({"parentCallId": CALL})));
    assert!(p.events[0].leg.is_plain());
}

#[test]
fn machine_detection_and_transfer_complete_make_no_event() {
    for (event_type, extra) in [
        (
            "machineDetectionComplete",
            json!({"machineDetectionResult": {"value": "answering-machine"}}),
        ),
        ("transferComplete", json!({"cause": "hangup"})),
    ] {
        let p = parsed(&callback(event_type, extra));
        assert_eq!(p.events, vec![], "{event_type}");
    }
}

#[test]
fn a_diversion_names_the_number_and_the_reason_it_was_forwarded() {
    let forwarded = |reason: &str| {
        let p = parsed(&callback(
            "initiate",
            json!({"diversion": {"origTo": "+15125550100", "reason": reason}}),
        ));
        let party = p.events[0].party.clone();
        (party.forwarded_from, party.routing_reason)
    };
    let from = Some("+15125550100".to_owned());
    assert_eq!(
        forwarded("no-answer"),
        (from.clone(), Some(kit::RoutingReason::Overflow))
    );
    assert_eq!(
        forwarded("time-of-day"),
        (from.clone(), Some(kit::RoutingReason::AfterHours))
    );
    assert_eq!(forwarded("unconditional"), (from, None));
    let p = parsed(&callback("initiate", json!({})));
    assert_eq!(p.events[0].party.forwarded_from, None);
}
