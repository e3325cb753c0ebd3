use super::*;
use crate::kit::testing::{kinds, post, run};
use crate::kit::{CallProgress, Direction, EventKind, FixedClock};
use time::OffsetDateTime;

const URL: &str = "https://hooks.example.test/webhooks/amazon_connect/c1";

fn clock() -> FixedClock {
    FixedClock(OffsetDateTime::UNIX_EPOCH)
}

fn keyed(body: &str, key: &str) -> InboundRequest {
    let mut req = post(URL, "application/json", body);
    req.headers.insert(HEADER, key.parse().unwrap());
    req
}

fn contact(event_type: &str, extra: serde_json::Value) -> String {
    let detail = crate::kit::testing::merged(
        serde_json::json!({"eventType": event_type, "contactId": "c-2",
        "initialContactId": "c-1", "channel": "VOICE", "initiationMethod": "INBOUND",
        "instanceArn": "arn:aws:connect:us-east-1:000000000000:instance/fake"}),
        extra,
    );
    serde_json::json!({"version": "0", "id": format!("ev-{event_type}"),
        "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
        "time": "2026-11-23T18:05:01Z", "detail": detail})
    .to_string()
}

fn secrets() -> SecretSet {
    SecretSet::from_pairs([("api_key", "key-1")])
}

#[test]
fn the_api_key_header_is_compared_with_every_accepted_key() {
    let body = contact("INITIATED", serde_json::json!({}));
    assert!(run(&AmazonConnect, &keyed(&body, "key-1"), &secrets(), &clock()).is_ok());
    assert_eq!(
        run(&AmazonConnect, &keyed(&body, "key-2"), &secrets(), &clock()).unwrap_err(),
        "bad_signature"
    );
    assert_eq!(
        run(
            &AmazonConnect,
            &post(URL, "application/json", &body),
            &secrets(),
            &clock()
        )
        .unwrap_err(),
        "missing_header"
    );
    // The previous key of a rotation still opens.
    use std::collections::BTreeMap;
    let rotated = SecretSet::new(
        BTreeMap::from([("api_key".to_owned(), crate::kit::Secret::new("key-2"))]),
        Some(BTreeMap::from([(
            "api_key".to_owned(),
            crate::kit::Secret::new("key-1"),
        )])),
    );
    assert!(run(&AmazonConnect, &keyed(&body, "key-1"), &rotated, &clock()).is_ok());
}

#[test]
fn contact_events_map_to_call_progress() {
    for (event_type, progress) in [
        ("INITIATED", Some(CallProgress::Initiated)),
        ("CONTACT_DATA_UPDATED", Some(CallProgress::Initiated)),
        ("CONNECTED_TO_SYSTEM", Some(CallProgress::Answered)),
        ("CONNECTED_TO_AGENT", Some(CallProgress::Answered)),
        ("DISCONNECTED", Some(CallProgress::Completed)),
        ("QUEUED", None),
        ("COMPLETED", None),
    ] {
        let p = run(
            &AmazonConnect,
            &keyed(&contact(event_type, serde_json::json!({})), "key-1"),
            &secrets(),
            &clock(),
        )
        .unwrap();
        let expected: Vec<EventKind> = progress
            .map(|progress| EventKind::Call { progress })
            .into_iter()
            .collect();
        assert_eq!(kinds(&p), expected, "{event_type}");
    }
    let p = run(
        &AmazonConnect,
        &keyed(
            &contact("ESCALATED_TO_MARS", serde_json::json!({})),
            "key-1",
        ),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert_eq!(
        kinds(&p),
        [EventKind::unmapped("eventType", "ESCALATED_TO_MARS")]
    );
}

#[test]
fn the_leg_is_the_contact_of_the_initial_contacts_call_and_numbers_come_from_attributes() {
    let body = contact(
        "CONTACT_DATA_UPDATED",
        serde_json::json!({"Attributes": {"callgate_from": "+15125550123", "CALLGATE_TO": "+18005550199"}}),
    );
    let p = run(&AmazonConnect, &keyed(&body, "key-1"), &secrets(), &clock()).unwrap();
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, "c-2");
    assert_eq!(e.leg.parent_call_id.as_deref(), Some("c-1"));
    assert_eq!(e.call_id(), "c-1");
    assert_eq!(e.dedupe_key, "ev-CONTACT_DATA_UPDATED");
    assert_eq!(e.party.from.as_deref(), Some("+15125550123"));
    assert_eq!(e.party.to.as_deref(), Some("+18005550199"));
    assert_eq!(e.party.direction, Some(Direction::Inbound));
}

#[test]
fn other_channels_make_no_events_and_other_detail_types_are_unmapped() {
    let chat = contact("INITIATED", serde_json::json!({"channel": "CHAT"}));
    let p = run(&AmazonConnect, &keyed(&chat, "key-1"), &secrets(), &clock()).unwrap();
    assert!(p.events.is_empty());
    let other = contact("INITIATED", serde_json::json!({}))
        .replace("Amazon Connect Contact Event", "Amazon Connect Agent Event");
    let p = run(
        &AmazonConnect,
        &keyed(&other, "key-1"),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert_eq!(
        kinds(&p),
        [EventKind::unmapped(
            "detail-type",
            "Amazon Connect Agent Event"
        )]
    );
}

#[test]
fn recordings_are_not_deletable_here() {
    let rec = RecordingRef {
        provider_call_id: "c-1".into(),
        recording_id: "r".into(),
    };
    assert!(
        AmazonConnect
            .delete_recording(&rec, &secrets(), &ConnectionOptions::new())
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_transferred_contact_is_a_transfer_leg_and_the_agent_is_named_when_connected() {
    let transferred = contact(
        "CONNECTED_TO_AGENT",
        serde_json::json!({"initialContactId": null, "previousContactId": "c-1",
            "initiationMethod": "TRANSFER",
            "agentInfo": {"agentArn": "arn:aws:connect:us-east-1:0:instance/i/agent/a-1"}}),
    );
    let p = run(
        &AmazonConnect,
        &keyed(&transferred, "key-1"),
        &secrets(),
        &clock(),
    )
    .unwrap();
    let e = &p.events[0];
    assert_eq!((e.provider_call_id.as_str(), e.call_id()), ("c-2", "c-1"));
    assert_eq!(e.leg.role, Some(kit::LegRole::Transfer));
    assert_eq!(
        e.leg.agent_identity.as_deref(),
        Some("arn:aws:connect:us-east-1:0:instance/i/agent/a-1")
    );
    // A user name, where an event carries one, names the agent; only on CONNECTED_TO_AGENT.
    let first = |event_type| {
        contact(
            event_type,
            serde_json::json!({"contactId": "c-1",
                "AgentInfo": {"Username": "ana", "AgentArn": "arn:x"}}),
        )
    };
    let p = run(
        &AmazonConnect,
        &keyed(&first("CONNECTED_TO_AGENT"), "key-1"),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert_eq!(p.events[0].leg.agent_identity.as_deref(), Some("ana"));
    assert_eq!(
        p.events[0].leg.parent_call_id, None,
        "the first contact is the call"
    );
    let p = run(
        &AmazonConnect,
        &keyed(&first("DISCONNECTED"), "key-1"),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert!(p.events[0].leg.is_plain());
}
