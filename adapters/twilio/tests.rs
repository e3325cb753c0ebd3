//! Parsing end to end: each webhook kind, mappings through `parse`, field errors (auth and
//! REST: `auth_tests.rs`; properties: `proptests.rs`).

use super::payload::EMPTY_TWIML;
use super::*;
use crate::kit::{
    CallEvent, CallProgress, Direction, EventKind, FixedClock, Leg, LegRole, RecordingEvent,
    RecordingProgress, Reply,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use time::macros::datetime;

pub(super) const URL: &str = "https://hooks.example.test/webhooks/twilio/conn_sample";
pub(super) const TOKEN: &str = "test_auth_token";
pub(super) const CALL: &str = "CA0123456789abcdef0123456789abcdef";
pub(super) const REC: &str = "RE0123456789abcdef0123456789abcdef";
pub(super) const CLOCK: FixedClock = FixedClock(datetime!(2026-11-23 18:06:00 UTC));

pub(super) fn secrets() -> SecretSet {
    SecretSet::from_pairs([
        ("auth_token", TOKEN),
        ("account_sid", "AC0123456789abcdef0123456789abcdef"),
    ])
}

pub(super) fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

fn unsigned(content_type: &str, body: &str) -> InboundRequest {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    InboundRequest {
        method: Method::POST,
        public_url: URL.to_owned(),
        headers,
        body: Bytes::from(body.to_owned()),
    }
}

pub(super) fn signed(fields: &[(&str, &str)]) -> InboundRequest {
    let mut req = unsigned("application/x-www-form-urlencoded", &encode(fields));
    assert_eq!(Twilio.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    req
}

pub(super) fn run(req: &InboundRequest) -> Result<Parsed, String> {
    let verified = Twilio
        .verify(req, &secrets(), &CLOCK)
        .map_err(|e| e.reason().to_owned())?;
    Twilio.parse(&verified).map_err(|e| e.reason().to_owned())
}

pub(super) fn parsed(fields: &[(&str, &str)]) -> Parsed {
    match run(&signed(fields)) {
        Ok(p) => p,
        Err(reason) => panic!("refused: {reason}"),
    }
}

fn kinds(p: &Parsed) -> Vec<EventKind> {
    p.events.iter().map(|e| e.kind.clone()).collect()
}

fn keys(p: &Parsed) -> Vec<&str> {
    p.events.iter().map(|e| e.dedupe_key.as_str()).collect()
}

pub(super) fn status_callback(status: &str, sequence: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", CALL.to_owned()),
        ("CallStatus", status.to_owned()),
        ("CallbackSource", "call-progress-events".to_owned()),
        ("SequenceNumber", sequence.to_owned()),
        ("Timestamp", "Mon, 23 Nov 2026 18:05:01 +0000".to_owned()),
        ("Direction", "outbound-api".to_owned()),
        ("From", "+15005550006".to_owned()),
        ("To", "+14155550100".to_owned()),
    ]
}

pub(super) fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn incoming_call_answers_with_empty_twiml() {
    let p = parsed(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550100"),
        ("To", "+15005550006"),
        ("CallerName", "JANE DOE"),
    ]);
    let expected = CallEvent {
        dedupe_key: format!("{CALL}:voice:ringing"),
        provider_call_id: CALL.to_owned(),
        occurred_at: None,
        party: kit::Party {
            direction: Some(Direction::Inbound),
            from: Some("+14155550100".to_owned()),
            to: Some("+15005550006".to_owned()),
            caller_name: Some("JANE DOE".to_owned()),
            forwarded_from: None,
            routing_reason: None,
        },
        kind: EventKind::Call {
            progress: CallProgress::Ringing,
        },
        leg: Leg::default(),
    };
    assert_eq!(p.events, vec![expected]);
    assert_eq!(
        p.reply,
        Reply::Markup {
            content_type: "text/xml",
            body: EMPTY_TWIML.to_owned()
        }
    );
}

#[test]
fn status_callbacks_map_every_call_status() {
    let rows = [
        ("queued", CallProgress::Initiated),
        ("initiated", CallProgress::Initiated),
        ("ringing", CallProgress::Ringing),
        ("in-progress", CallProgress::Answered),
        ("completed", CallProgress::Completed),
        ("busy", CallProgress::Busy),
        ("no-answer", CallProgress::NoAnswer),
        ("failed", CallProgress::Failed),
        ("canceled", CallProgress::Canceled),
    ];
    for (raw, progress) in rows {
        let p = parsed(&borrowed(&status_callback(raw, "3")));
        assert_eq!(kinds(&p), vec![EventKind::Call { progress }], "{raw}");
        assert_eq!(keys(&p), vec![format!("{CALL}:call:{raw}:3")]);
        assert_eq!(p.reply, Reply::NoContent);
        let event = &p.events[0];
        assert_eq!(event.occurred_at, Some(datetime!(2026-11-23 18:05:01 UTC)));
        assert_eq!(event.party.direction, Some(Direction::Outbound));
    }
}

#[test]
fn unknown_statuses_are_unmapped_not_errors() {
    let p = parsed(&borrowed(&status_callback("on-hold", "2")));
    let unmapped = EventKind::Unmapped {
        field: "CallStatus".to_owned(),
        value: "on-hold".to_owned(),
    };
    assert_eq!(kinds(&p), vec![unmapped.clone()]);
    let p = parsed(&[("CallSid", CALL), ("CallStatus", "on-hold")]);
    assert_eq!(kinds(&p), vec![unmapped]);
    let p = parsed(&[
        ("CallSid", CALL),
        ("RecordingSid", REC),
        ("RecordingStatus", "paused"),
    ]);
    let unmapped = EventKind::Unmapped {
        field: "RecordingStatus".to_owned(),
        value: "paused".to_owned(),
    };
    assert_eq!(kinds(&p), vec![unmapped]);
    assert_eq!(keys(&p), vec![format!("{CALL}:recording:{REC}:paused")]);
}

#[test]
fn status_callback_event_is_used_when_call_status_is_absent() {
    let p = parsed(&[("CallSid", CALL), ("StatusCallbackEvent", "answered")]);
    assert_eq!(
        kinds(&p),
        vec![EventKind::Call {
            progress: CallProgress::Answered
        }]
    );
    assert_eq!(keys(&p), vec![format!("{CALL}:call:answered:-")]);
    let p = parsed(&[("CallSid", CALL), ("StatusCallbackEvent", "bridged")]);
    let field = "StatusCallbackEvent".to_owned();
    assert_eq!(
        kinds(&p),
        vec![EventKind::Unmapped {
            field,
            value: "bridged".to_owned()
        }]
    );
    let err = run(&signed(&[("CallSid", CALL), ("SequenceNumber", "1")]));
    assert_eq!(err, Err("missing_field".to_owned()));
}

#[test]
fn status_callback_of_a_recorded_call_also_reports_the_recording() {
    let mut fields = status_callback("completed", "4");
    fields.push(("RecordingSid", REC.to_owned()));
    fields.push((
        "RecordingUrl",
        format!("https://api.twilio.com/Recordings/{REC}"),
    ));
    fields.push(("RecordingDuration", "41".to_owned()));
    let p = parsed(&borrowed(&fields));
    let recording = RecordingEvent {
        recording_id: REC.to_owned(),
        status: RecordingProgress::Completed,
        url: Some(format!("https://api.twilio.com/Recordings/{REC}")),
        duration_s: Some(41),
    };
    assert_eq!(
        kinds(&p),
        vec![
            EventKind::Call {
                progress: CallProgress::Completed
            },
            EventKind::Recording(recording)
        ]
    );
    assert_eq!(
        keys(&p),
        vec![
            format!("{CALL}:call:completed:4"),
            format!("{CALL}:recording:{REC}:completed")
        ]
    );
}

#[test]
fn recording_status_callbacks() {
    for (raw, status) in [
        ("in-progress", RecordingProgress::InProgress),
        ("completed", RecordingProgress::Completed),
        ("absent", RecordingProgress::Absent),
        ("failed", RecordingProgress::Failed),
    ] {
        let p = parsed(&[
            ("CallSid", CALL),
            ("RecordingSid", REC),
            ("RecordingStatus", raw),
            ("RecordingDuration", "7"),
            ("RecordingUrl", "https://api.twilio.com/r"),
        ]);
        let recording = RecordingEvent {
            recording_id: REC.to_owned(),
            status,
            url: Some("https://api.twilio.com/r".to_owned()),
            duration_s: Some(7),
        };
        assert_eq!(kinds(&p), vec![EventKind::Recording(recording)], "{raw}");
        assert_eq!(keys(&p), vec![format!("{CALL}:recording:{REC}:{raw}")]);
        assert_eq!(p.reply, Reply::NoContent);
    }
    let missing = run(&signed(&[
        ("CallSid", CALL),
        ("RecordingStatus", "completed"),
    ]));
    assert_eq!(missing, Err("missing_field".to_owned()));
}

#[test]
fn numbers_are_checked_and_dates_are_lenient() {
    let bad_sequence = run(&signed(&borrowed(&status_callback("ringing", "two"))));
    assert_eq!(bad_sequence, Err("invalid_field".to_owned()));
    let rec = |d| {
        signed(&[
            ("CallSid", CALL),
            ("RecordingSid", REC),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", d),
        ])
    };
    assert_eq!(
        run(&rec("12s")).map(|_| ()),
        Err("invalid_field".to_owned())
    );
    let in_progress = run(&rec("-1")).map(|p| kinds(&p));
    assert!(
        matches!(&in_progress.as_deref(), Ok([EventKind::Recording(r)]) if r.duration_s.is_none())
    );
    let p = parsed(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("Timestamp", "yesterday"),
    ]);
    assert_eq!(p.events[0].occurred_at, None);
}

/// Telnyx's TeXML callback reference publishes `Timestamp` as `2024-01-15T10:30:00Z`
/// (https://developers.telnyx.com/api-reference/callbacks/texml-call-initiated) and as
/// `2021-04-28 21:51:18.731479Z` (its `<Hangup>` page); both are the event's time, as
/// Twilio's RFC 2822 form is.
#[test]
fn texml_timestamps_in_rfc_3339_forms_are_read() {
    let at = |t| {
        parsed(&[
            ("CallSid", CALL),
            ("CallStatus", "ringing"),
            ("Timestamp", t),
        ])
        .events[0]
            .occurred_at
    };
    assert_eq!(
        at("Mon, 15 Jan 2024 10:30:00 +0000"),
        Some(datetime!(2024-01-15 10:30:00 UTC))
    );
    assert_eq!(
        at("2024-01-15T10:30:00Z"),
        Some(datetime!(2024-01-15 10:30:00 UTC))
    );
    assert_eq!(
        at("2021-04-28 21:51:18.731479Z"),
        Some(datetime!(2021-04-28 21:51:18.731479 UTC))
    );
    for unreadable in [
        "2021-04-28",
        "2021-04-28 ",
        "2021-04-28  21:51:18Z",
        "28/04/2021 21:51",
    ] {
        assert_eq!(at(unreadable), None, "{unreadable:?}");
    }
}

#[test]
fn missing_call_sid_is_refused() {
    assert_eq!(
        run(&signed(&[("CallStatus", "ringing")])),
        Err("missing_field".to_owned())
    );
    assert_eq!(
        run(&signed(&[("CallSid", ""), ("CallStatus", "ringing")])),
        Err("missing_field".to_owned())
    );
}

#[test]
fn non_form_content_type_is_unsupported_after_verification() {
    let mut req = unsigned(
        "application/json",
        r#"{"CallSid":"CA1","CallStatus":"ringing"}"#,
    );
    assert_eq!(Twilio.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    let verified = Twilio.verify(&req, &secrets(), &CLOCK);
    assert!(
        verified.is_ok(),
        "the JSON body carries a valid bodySHA256 signature"
    );
    let parsed = verified.map(|v| Twilio.parse(&v));
    assert!(
        matches!(parsed, Ok(Err(ParseError::UnsupportedContentType(ct))) if ct == "application/json")
    );
}

#[test]
fn get_webhooks_are_read_from_the_query() {
    let mut req = unsigned("", "");
    req.method = Method::GET;
    req.public_url = format!("{URL}?CallSid={CALL}&CallStatus=ringing&To=%2B15005550006");
    assert_eq!(Twilio.sign(&mut req, &secrets(), &CLOCK), Ok(()));
    let p = run(&req);
    assert_eq!(
        p.as_ref().map(keys),
        Ok(vec![format!("{CALL}:voice:ringing").as_str()])
    );
    assert_eq!(
        p.map(|p| p.events[0].party.to.clone()),
        Ok(Some("+15005550006".to_owned()))
    );
}

const PARENT: &str = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A status callback of a child leg `<Dial>` made to `to`, naming its parent call.
fn child_leg(direction: &'static str, to: &'static str) -> Vec<(&'static str, String)> {
    let mut fields = status_callback("in-progress", "2");
    fields.retain(|(k, _)| !matches!(*k, "Direction" | "To"));
    fields.push(("ParentCallSid", PARENT.to_owned()));
    fields.push(("Direction", direction.to_owned()));
    fields.push(("To", to.to_owned()));
    fields
}

#[test]
fn a_dialed_child_leg_is_the_agent_leg_of_its_parent_call() {
    for to in ["client:ana", "sip:ana@pbx.example.com", "+15125550123"] {
        let fields = child_leg("outbound-dial", to);
        let p = parsed(&borrowed(&fields));
        let [event] = p.events.as_slice() else {
            panic!("{:?}", p.events)
        };
        assert_eq!(event.provider_call_id, CALL, "the leg keeps its own id");
        assert_eq!(
            event.leg,
            Leg {
                parent_call_id: Some(PARENT.to_owned()),
                session_id: None,
                role: Some(LegRole::Agent),
                agent_identity: Some(to.to_owned()),
                lookup_handle: None,
            }
        );
        assert_eq!(event.call_id(), PARENT);
    }
}

#[test]
fn another_child_leg_names_its_parent_and_no_agent() {
    let fields = child_leg("outbound-api", "+15125550123");
    let p = parsed(&borrowed(&fields));
    let leg = &p.events[0].leg;
    assert_eq!(leg.parent_call_id.as_deref(), Some(PARENT));
    assert_eq!((leg.role, leg.agent_identity.as_deref()), (None, None));
    assert_eq!(leg.role(), LegRole::Other);
}

#[test]
fn a_call_without_a_parent_is_a_call_of_its_own() {
    let mut fields = status_callback("in-progress", "2");
    fields.push(("ParentCallSid", String::new()));
    fields.retain(|(k, _)| *k != "Direction");
    fields.push(("Direction", "outbound-dial".to_owned()));
    let p = parsed(&borrowed(&fields));
    assert_eq!(p.events[0].leg, Leg::default(), "an empty parent is none");
    assert_eq!(p.events[0].call_id(), CALL);
}

#[test]
fn a_child_legs_recording_carries_its_leg() {
    let p = parsed(&[
        ("CallSid", CALL),
        ("ParentCallSid", PARENT),
        ("RecordingSid", REC),
        ("RecordingStatus", "completed"),
    ]);
    assert_eq!(p.events[0].call_id(), PARENT);
    assert!(matches!(p.events[0].kind, EventKind::Recording(_)));
}

#[test]
fn forwarded_from_is_kept_as_sent() {
    let p = parsed(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("ForwardedFrom", "5125550100"),
    ]);
    assert_eq!(
        p.events[0].party.forwarded_from.as_deref(),
        Some("5125550100")
    );
    assert_eq!(p.events[0].party.routing_reason, None);
    let p = parsed(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("ForwardedFrom", ""),
    ]);
    assert_eq!(p.events[0].party.forwarded_from, None);
}

#[test]
fn an_asynchronous_machine_detection_result_makes_no_event() {
    let p = parsed(&[
        ("CallSid", CALL),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("AnsweredBy", "machine_end_beep"),
        ("MachineDetectionDuration", "4200"),
    ]);
    assert_eq!(p.events, vec![]);
    assert_eq!(p.reply, Reply::NoContent);
    // The Voice URL request of a call with synchronous detection is still the call.
    let p = parsed(&[
        ("CallSid", CALL),
        ("CallStatus", "in-progress"),
        ("AnsweredBy", "human"),
    ]);
    assert_eq!(p.events.len(), 1);
}
