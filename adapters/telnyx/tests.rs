use super::signature::{self, sign, signing_key};
use super::*;
use crate::kit::testing::{keys, kinds, post, run};
use crate::kit::{CallProgress, EventKind, FixedClock, RecordingProgress, Reply};
use base64::Engine;
use time::OffsetDateTime;

/// RFC 8032 test 1: the seed, its public key (providers.md 2.1).
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC_KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const TIMESTAMP: i64 = 1_700_000_000;
/// providers.md 2.1's vector: this body at TIMESTAMP under the key above.
const VECTOR_BODY: &str = r#"{"data":{"event_type":"call.initiated","id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0","occurred_at":"2018-02-02T22:25:27.521992Z","payload":{"call_control_id":"v3:abc","direction":"incoming","from":"+35319605860","to":"+13129457420","state":"parked"},"record_type":"event"}}"#;
const VECTOR_SIGNATURE: &str =
    "Cr0rJCLkdi6uSNlT6I3jcWBq62YK//uvropMtaxStl3LQE6Qzq8g46JU9mlhXLoJow9YS7ysBzTL3KD4mtQWAg==";
const URL: &str = "https://hooks.example.test/webhooks/telnyx/c1";

fn seed_b64() -> String {
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&SEED_HEX[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn clock(at: i64) -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(at).unwrap())
}

fn secrets(public_key: &str) -> SecretSet {
    SecretSet::from_pairs([("public_key", public_key)])
}

/// A JSON request signed with the RFC 8032 key at `at`.
fn signed(body: &str, at: i64) -> InboundRequest {
    let mut req = post(URL, "application/json", body);
    let all = SecretSet::from_pairs([("signing_key", seed_b64().as_str())]);
    Telnyx.sign(&mut req, &all, &clock(at)).unwrap();
    req
}

fn event(event_type: &str, payload: serde_json::Value) -> String {
    serde_json::json!({"data": {"record_type": "event", "event_type": event_type,
        "id": format!("ev-{event_type}"), "occurred_at": "2026-11-23T18:00:00.000000Z",
        "payload": payload}})
    .to_string()
}

#[test]
fn the_vector_of_providers_md_signs_and_verifies() {
    let key = signing_key(&seed_b64());
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes()),
        PUBLIC_KEY
    );
    assert_eq!(
        sign(&key, TIMESTAMP, VECTOR_BODY.as_bytes()),
        VECTOR_SIGNATURE
    );
    let mut req = post(URL, "application/json", VECTOR_BODY);
    req.headers
        .insert(signature::TIMESTAMP_HEADER, "1700000000".parse().unwrap());
    req.headers.insert(
        signature::SIGNATURE_HEADER,
        VECTOR_SIGNATURE.parse().unwrap(),
    );
    let parsed = run(&Telnyx, &req, &secrets(PUBLIC_KEY), &clock(TIMESTAMP)).unwrap();
    assert_eq!(
        kinds(&parsed),
        [EventKind::Call {
            progress: CallProgress::Initiated
        }]
    );
    // The call is its leg; without one, the call control id.
    assert_eq!(parsed.events[0].provider_call_id, "v3:abc");
    assert_eq!(parsed.reply, Reply::Empty);
}

#[test]
fn the_public_key_may_be_raw_or_spki_der() {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(PUBLIC_KEY)
        .unwrap();
    let der = [
        &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ][..],
        &raw,
    ]
    .concat();
    let der = base64::engine::general_purpose::STANDARD.encode(der);
    let req = signed(VECTOR_BODY, TIMESTAMP);
    assert!(run(&Telnyx, &req, &secrets(&der), &clock(TIMESTAMP)).is_ok());
    // Neither: no usable key.
    assert_eq!(
        run(&Telnyx, &req, &secrets("bm90IGEga2V5"), &clock(TIMESTAMP)).unwrap_err(),
        "no_credentials"
    );
    // And a connection is refused such a key when it is made.
    for key in [PUBLIC_KEY, der.as_str()] {
        assert_eq!(Telnyx.check_secret("public_key", key), Ok(()), "{key}");
    }
    for key in ["bm90IGEga2V5", "not base64 key", ""] {
        let refused = Telnyx.check_secret("public_key", key).unwrap_err();
        assert!(refused.contains("Ed25519"), "{refused}");
        assert!(
            key.is_empty() || !refused.contains(key),
            "the reason repeats the value"
        );
    }
    assert_eq!(Telnyx.check_secret("api_key", "KEYanything"), Ok(()));
}

#[test]
fn forgeries_are_refused_with_their_reason() {
    let good = signed(VECTOR_BODY, TIMESTAMP);
    let s = secrets(PUBLIC_KEY);
    let at = clock(TIMESTAMP);
    let mut tampered = good.clone();
    tampered.body = VECTOR_BODY.replace("+13129457420", "+13129457421").into();
    assert_eq!(
        run(&Telnyx, &tampered, &s, &at).unwrap_err(),
        "bad_signature"
    );
    // The timestamp is signed too.
    let mut moved = good.clone();
    moved
        .headers
        .insert(signature::TIMESTAMP_HEADER, "1700000001".parse().unwrap());
    assert_eq!(run(&Telnyx, &moved, &s, &at).unwrap_err(), "bad_signature");
    let other = SecretSet::from_pairs([(
        "public_key",
        base64::engine::general_purpose::STANDARD
            .encode(signing_key("another").verifying_key().to_bytes())
            .as_str(),
    )]);
    assert_eq!(
        run(&Telnyx, &good, &other, &at).unwrap_err(),
        "bad_signature"
    );
    for header in [signature::SIGNATURE_HEADER, signature::TIMESTAMP_HEADER] {
        let mut missing = good.clone();
        missing.headers.remove(header);
        assert_eq!(
            run(&Telnyx, &missing, &s, &at).unwrap_err(),
            "missing_header"
        );
    }
    let mut short = good.clone();
    short
        .headers
        .insert(signature::SIGNATURE_HEADER, "c2hvcnQ=".parse().unwrap());
    assert_eq!(
        run(&Telnyx, &short, &s, &at).unwrap_err(),
        "malformed_header"
    );
    let mut words = good;
    words
        .headers
        .insert(signature::TIMESTAMP_HEADER, "soon".parse().unwrap());
    assert_eq!(
        run(&Telnyx, &words, &s, &at).unwrap_err(),
        "malformed_header"
    );
}

#[test]
fn the_timestamp_holds_for_300_seconds_either_way() {
    let req = signed(VECTOR_BODY, TIMESTAMP);
    let s = secrets(PUBLIC_KEY);
    for (skew, ok) in [(-300, true), (300, true), (-301, false), (301, false)] {
        let result = run(&Telnyx, &req, &s, &clock(TIMESTAMP + skew));
        assert_eq!(result.is_ok(), ok, "skew {skew}: {result:?}");
        if !ok {
            assert_eq!(result.unwrap_err(), "stale");
        }
    }
}

#[test]
fn rotation_accepts_the_previous_key() {
    use std::collections::BTreeMap;
    let new = base64::engine::general_purpose::STANDARD
        .encode(signing_key("new").verifying_key().to_bytes());
    let both = SecretSet::new(
        BTreeMap::from([("public_key".to_owned(), crate::kit::Secret::new(new))]),
        Some(BTreeMap::from([(
            "public_key".to_owned(),
            crate::kit::Secret::new(PUBLIC_KEY),
        )])),
    );
    let req = signed(VECTOR_BODY, TIMESTAMP);
    let verified = Telnyx.verify(&req, &both, &clock(TIMESTAMP)).unwrap();
    assert_eq!(verified.generation(), crate::kit::Generation::Previous);
}

fn parse(body: &str) -> Result<crate::kit::Parsed, String> {
    run(
        &Telnyx,
        &signed(body, TIMESTAMP),
        &secrets(PUBLIC_KEY),
        &clock(TIMESTAMP),
    )
}

#[test]
fn hangup_causes_map_to_how_the_call_ended() {
    for (cause, progress) in [
        ("normal_clearing", CallProgress::Completed),
        ("time_limit", CallProgress::Completed),
        ("unspecified", CallProgress::Completed),
        ("originator_cancel", CallProgress::Canceled),
        ("user_busy", CallProgress::Busy),
        ("no_answer", CallProgress::NoAnswer),
        ("timeout", CallProgress::NoAnswer),
        ("call_rejected", CallProgress::Failed),
        ("not_found", CallProgress::Failed),
    ] {
        let p = parse(&event(
            "call.hangup",
            serde_json::json!({"call_leg_id": "leg-1", "hangup_cause": cause}),
        ))
        .unwrap();
        assert_eq!(kinds(&p), [EventKind::Call { progress }], "{cause}");
    }
    // An unknown cause still ends the call, and is kept.
    let p = parse(&event(
        "call.hangup",
        serde_json::json!({"call_leg_id": "leg-1", "hangup_cause": "solar_flare"}),
    ))
    .unwrap();
    assert_eq!(
        kinds(&p),
        [
            EventKind::Call {
                progress: CallProgress::Completed
            },
            EventKind::unmapped("hangup_cause", "solar_flare")
        ]
    );
    assert_eq!(keys(&p), ["ev-call.hangup", "ev-call.hangup:hangup_cause"]);
}

#[test]
fn event_types_are_mapped_ignored_or_kept_as_unmapped() {
    let leg = serde_json::json!({"call_leg_id": "leg-1"});
    assert!(
        parse(&event("call.bridged", leg.clone()))
            .unwrap()
            .events
            .is_empty()
    );
    assert_eq!(
        kinds(&parse(&event("call.conversation.ended", leg.clone())).unwrap()),
        [EventKind::unmapped("event_type", "call.conversation.ended")]
    );
    assert_eq!(
        kinds(&parse(&event("call.answered", leg)).unwrap()),
        [EventKind::Call {
            progress: CallProgress::Answered
        }]
    );
}

#[test]
fn recordings_carry_their_id_url_and_duration() {
    let p = parse(&event(
        "call.recording.saved",
        serde_json::json!({"call_leg_id": "leg-1", "recording_id": "rec-1",
            "recording_started_at": "2026-11-23T18:00:00Z", "recording_ended_at": "2026-11-23T18:01:05Z",
            "recording_urls": {"mp3": "https://s3.example/rec-1.mp3", "wav": "https://s3.example/rec-1.wav"}}),
    ))
    .unwrap();
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(r.recording_id, "rec-1");
    assert_eq!(r.status, RecordingProgress::Completed);
    assert_eq!(r.url.as_deref(), Some("https://s3.example/rec-1.mp3"));
    assert_eq!(r.duration_s, Some(65));
    // Without its id, a saved recording is known by its call leg (and start, when given);
    // without a call leg either, it could never be found: refused.
    let p = parse(&event(
        "call.recording.saved",
        serde_json::json!({"call_leg_id": "leg-1"}),
    ))
    .unwrap();
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(r.recording_id, "call_leg:leg-1");
    assert_eq!(
        parse(&event(
            "call.recording.saved",
            serde_json::json!({"call_control_id": "v3:abc"})
        ))
        .unwrap_err(),
        "missing_field"
    );
    let p = parse(&event(
        "call.recording.error",
        serde_json::json!({"call_leg_id": "leg-1"}),
    ))
    .unwrap();
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(r.status, RecordingProgress::Failed);
}

#[test]
fn texml_callbacks_are_read_as_twilio_parameters_and_must_be_posts() {
    let body = "AccountSid=acct&CallSid=v3%3Aabc&CallStatus=ringing&CallbackSource=call-progress-events&From=%2B15125550123&To=%2B18005550199&SequenceNumber=0";
    let mut req = post(URL, "application/x-www-form-urlencoded", body);
    let all = SecretSet::from_pairs([("signing_key", seed_b64().as_str())]);
    Telnyx.sign(&mut req, &all, &clock(TIMESTAMP)).unwrap();
    let p = run(&Telnyx, &req, &secrets(PUBLIC_KEY), &clock(TIMESTAMP)).unwrap();
    assert_eq!(
        kinds(&p),
        [EventKind::Call {
            progress: CallProgress::Ringing
        }]
    );
    assert_eq!(p.events[0].provider_call_id, "v3:abc");
    assert_eq!(p.reply, Reply::Empty, "200, as Call Control events get");
    let mut get = req.clone();
    get.method = http::Method::GET;
    assert_eq!(
        run(&Telnyx, &get, &secrets(PUBLIC_KEY), &clock(TIMESTAMP)).unwrap_err(),
        "malformed"
    );
}

#[test]
fn deletion_is_a_bearer_delete_of_the_recording() {
    let s = SecretSet::from_pairs([("public_key", PUBLIC_KEY), ("api_key", "KEYfake")]);
    let rec = RecordingRef {
        provider_call_id: "leg-1".into(),
        recording_id: "rec/1".into(),
    };
    let spec = Telnyx
        .delete_recording(&rec, &s, &ConnectionOptions::new())
        .unwrap()
        .unwrap();
    assert_eq!(spec.method, http::Method::DELETE);
    assert_eq!(spec.url, "https://api.telnyx.com/v2/recordings/rec%2F1");
    assert_eq!(spec.headers[0].1, "Bearer KEYfake");
}

/// Telnyx's published TeXML recording callback (sample
/// `published-texml-recording-completed.http`, from
/// <https://developers.telnyx.com/api-reference/callbacks/texml-recording-completed>) is
/// answered 200, not Twilio's 204: Telnyx's TeXML callback reference says "The server must
/// return an HTTP 200, otherwise we will reattempt delivery at the failover webhook URL".
#[test]
fn published_texml_callbacks_are_answered_200() {
    let body =
        crate::kit::testing::sample_body("telnyx", "published-texml-recording-completed.http");
    let mut req = post(URL, "application/x-www-form-urlencoded", &body);
    let all = SecretSet::from_pairs([("signing_key", seed_b64().as_str())]);
    Telnyx.sign(&mut req, &all, &clock(TIMESTAMP)).unwrap();
    let p = run(&Telnyx, &req, &secrets(PUBLIC_KEY), &clock(TIMESTAMP)).unwrap();
    assert_eq!(p.reply, Reply::Empty);
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(r.recording_id, "35094891-3290-4142-b2c2-b2eda57534cf");
    assert_eq!(r.status, RecordingProgress::Completed);
}

/// `call.recording.saved` exactly as Telnyx's OpenAPI spec publishes it (sample
/// `published-call-recording-saved.http`,
/// <https://developers.telnyx.com/api-reference/callbacks/call-recording-saved>) has no
/// `recording_id`: it is accepted, its recording known by its call leg and start.
#[test]
fn the_published_recording_saved_without_its_id_is_accepted() {
    let body = crate::kit::testing::sample_body("telnyx", "published-call-recording-saved.http");
    let p = run(
        &Telnyx,
        &signed(&body, TIMESTAMP),
        &secrets(PUBLIC_KEY),
        &clock(TIMESTAMP),
    )
    .unwrap();
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(
        r.recording_id,
        "call_leg:428c31b6-7af4-4bcb-b7f5-5013ef9657c1@2018-02-02T22:20:27.521992Z"
    );
    assert_eq!(r.url.as_deref(), Some("http://example.com/recording.mp3"));
    assert_eq!(
        p.events[0].provider_call_id,
        "428c31b6-7af4-4bcb-b7f5-5013ef9657c1"
    );
}

/// Such a recording is deleted in two steps: the recordings of its call leg are listed
/// (`GET /v2/recordings?filter[call_leg_id]=`), the one that started when it did is picked
/// (fields of telnyx-python's `RecordingResponseData`), and only then deleted.
#[test]
fn a_recording_without_its_id_is_looked_up_before_its_deletion() {
    let s = SecretSet::from_pairs([("public_key", PUBLIC_KEY), ("api_key", "KEYfake")]);
    let stand_in = RecordingRef {
        provider_call_id: "428c31b6-7af4-4bcb-b7f5-5013ef9657c1".into(),
        recording_id: "call_leg:428c31b6-7af4-4bcb-b7f5-5013ef9657c1@2018-02-02T22:20:27.521992Z"
            .into(),
    };
    let none = ConnectionOptions::new();
    assert_eq!(
        Telnyx.delete_recording(&stand_in, &s, &none),
        Err(ConfigError::UnresolvedRecording),
        "never DELETE a stand-in id"
    );
    let lookup = Telnyx
        .find_recording(&stand_in, &s, &none)
        .unwrap()
        .unwrap();
    assert_eq!(lookup.method, http::Method::GET);
    assert_eq!(
        lookup.url,
        "https://api.telnyx.com/v2/recordings?filter%5Bcall_leg_id%5D=428c31b6-7af4-4bcb-b7f5-5013ef9657c1&page%5Bsize%5D=250"
    );
    assert_eq!(lookup.headers[0].1, "Bearer KEYfake");
    let rec = |id: &str, leg: &str, at: &str| {
        serde_json::json!({"record_type": "recording", "id": id, "call_leg_id": leg,
            "recording_started_at": at, "status": "completed"})
    };
    let leg = "428c31b6-7af4-4bcb-b7f5-5013ef9657c1";
    let page = |data: Vec<serde_json::Value>| {
        serde_json::json!({"data": data, "meta": {"page_number": 1}}).to_string()
    };
    let two = page(vec![
        rec("rec-later", leg, "2018-02-02T22:24:00Z"),
        rec("rec-ours", leg, "2018-02-02T22:20:27.521Z"),
    ]);
    assert_eq!(
        Telnyx.found_recording(&stand_in, two.as_bytes()),
        Ok(Some("rec-ours".to_owned()))
    );
    assert_eq!(
        Telnyx.found_recording(&stand_in, page(vec![]).as_bytes()),
        Ok(None),
        "none listed (the worker retries, as the list may lag)"
    );
    // A listed recording that names no call leg is not the leg's.
    let no_leg = page(vec![
        serde_json::json!({"record_type": "recording", "id": "rec-elsewhere",
        "recording_started_at": "2018-02-02T22:20:27.521Z", "status": "completed"}),
    ]);
    assert_eq!(
        Telnyx.found_recording(&stand_in, no_leg.as_bytes()),
        Ok(None)
    );
    let other_leg = page(vec![rec(
        "rec-other",
        "another-leg",
        "2018-02-02T22:20:27.521Z",
    )]);
    assert_eq!(
        Telnyx.found_recording(&stand_in, other_leg.as_bytes()),
        Ok(None)
    );
    let other_time = page(vec![rec("rec-later", leg, "2018-02-02T22:24:00Z")]);
    assert!(
        Telnyx
            .found_recording(&stand_in, other_time.as_bytes())
            .is_err()
    );
    assert!(Telnyx.found_recording(&stand_in, b"<html>").is_err());
    let without_start = RecordingRef {
        recording_id: format!("call_leg:{leg}"),
        ..stand_in.clone()
    };
    assert!(
        Telnyx
            .found_recording(&without_start, two.as_bytes())
            .is_err(),
        "two recordings and no start to tell them apart"
    );
    // A Telnyx id needs no lookup.
    let own = RecordingRef {
        recording_id: "rec-1".into(),
        ..stand_in
    };
    assert_eq!(Telnyx.find_recording(&own, &s, &none), Ok(None));
}

fn parsed(body: &str) -> Parsed {
    run(
        &Telnyx,
        &signed(body, TIMESTAMP),
        &secrets(PUBLIC_KEY),
        &clock(TIMESTAMP),
    )
    .unwrap()
}

#[test]
fn every_leg_is_keyed_by_its_own_id_and_belongs_to_its_session() {
    let leg = |direction: &str, leg_id: &str, to: &str| {
        event(
            "call.answered",
            serde_json::json!({"call_control_id": "v3:x", "call_leg_id": leg_id,
                "call_session_id": "session-1", "direction": direction,
                "from": "+15125550123", "to": to}),
        )
    };
    let customer = parsed(&leg("incoming", "leg-a", "+18005550199"));
    let agent = parsed(&leg("outgoing", "leg-b", "sip:ana@pbx.example.com"));
    let (c, a) = (&customer.events[0], &agent.events[0]);
    assert_eq!(
        (c.provider_call_id.as_str(), a.provider_call_id.as_str()),
        ("leg-a", "leg-b")
    );
    assert_eq!((c.call_id(), a.call_id()), ("session-1", "session-1"));
    assert_eq!(c.leg.role, Some(kit::LegRole::Customer));
    assert_eq!(c.leg.agent_identity, None);
    assert_eq!(a.leg.role, None);
    assert_eq!(
        a.leg.agent_identity.as_deref(),
        Some("sip:ana@pbx.example.com")
    );
    assert_eq!(a.leg.parent_call_id, None);
}

#[test]
fn a_recording_belongs_to_its_session() {
    let body = event(
        "call.recording.saved",
        serde_json::json!({"call_leg_id": "leg-b", "call_session_id": "session-1",
            "recording_id": "rec-1", "recording_urls": {"mp3": "https://x.test/a.mp3"}}),
    );
    let p = parsed(&body);
    assert_eq!(p.events[0].provider_call_id, "leg-b");
    assert_eq!(p.events[0].call_id(), "session-1");
    assert_eq!(p.events[0].leg.role, None);
}

#[test]
fn cost_and_machine_detection_events_make_no_event() {
    for event_type in [
        "call.cost",
        "call.machine.detection.ended",
        "call.machine.greeting.ended",
        "call.machine.premium.detection.ended",
        "call.machine.premium.greeting.ended",
    ] {
        let body = event(
            event_type,
            serde_json::json!({"call_leg_id": "leg-b", "call_session_id": "session-1",
                "total_cost": "0.0120", "result": "machine"}),
        );
        assert_eq!(parsed(&body).events, vec![], "{event_type}");
    }
}
