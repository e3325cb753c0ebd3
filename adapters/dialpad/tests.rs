use super::*;
use crate::kit::testing::{keys, kinds, post, run};
use crate::kit::{CallProgress, EventKind, FixedClock, RecordingProgress};
use time::OffsetDateTime;

const URL: &str = "https://hooks.example.test/webhooks/dialpad/c1";
const SECRET: &str = "dialpad-test-secret";

fn clock() -> FixedClock {
    FixedClock(OffsetDateTime::UNIX_EPOCH)
}

fn secrets() -> SecretSet {
    SecretSet::from_pairs([("webhook_secret", SECRET)])
}

fn signed(claims: serde_json::Value, secret: &str) -> InboundRequest {
    post(
        URL,
        "application/jwt",
        &jwt::sign_hs256(&claims, secret.as_bytes()),
    )
}

fn call(state: &str) -> serde_json::Value {
    serde_json::json!({"call_id": 5_700_000_000_001_u64, "state": state, "direction": "inbound",
        "external_number": "+15125550123", "internal_number": "+18005550199",
        "date_started": 1_795_457_100_000_u64})
}

#[test]
fn the_body_must_be_a_token_under_the_secret() {
    assert!(
        run(
            &Dialpad,
            &signed(call("ringing"), SECRET),
            &secrets(),
            &clock()
        )
        .is_ok()
    );
    assert_eq!(
        run(
            &Dialpad,
            &signed(call("ringing"), "other"),
            &secrets(),
            &clock()
        )
        .unwrap_err(),
        "bad_signature"
    );
    // A webhook made without a secret sends plain JSON: refused when one is configured.
    let plain = post(URL, "application/json", &call("ringing").to_string());
    assert_eq!(
        run(&Dialpad, &plain, &secrets(), &clock()).unwrap_err(),
        "malformed_header"
    );
    // The algorithm is pinned.
    let none = "eyJhbGciOiJub25lIn0.eyJjYWxsX2lkIjoxfQ.";
    assert_eq!(
        run(
            &Dialpad,
            &post(URL, "application/jwt", none),
            &secrets(),
            &clock()
        )
        .unwrap_err(),
        "malformed_header"
    );
}

#[test]
fn states_map_to_call_progress_and_numbers_follow_the_direction() {
    for (state, progress) in [
        ("calling", CallProgress::Initiated),
        ("ringing", CallProgress::Ringing),
        ("connected", CallProgress::Answered),
        ("hangup", CallProgress::Completed),
        ("missed", CallProgress::NoAnswer),
        ("voicemail", CallProgress::NoAnswer),
    ] {
        let p = run(&Dialpad, &signed(call(state), SECRET), &secrets(), &clock()).unwrap();
        assert_eq!(kinds(&p), [EventKind::Call { progress }], "{state}");
        assert_eq!(keys(&p), [format!("5700000000001:{state}").as_str()]);
    }
    let p = run(
        &Dialpad,
        &signed(call("ringing"), SECRET),
        &secrets(),
        &clock(),
    )
    .unwrap();
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, "5700000000001");
    assert_eq!(e.party.from.as_deref(), Some("+15125550123"));
    assert_eq!(e.party.to.as_deref(), Some("+18005550199"));
    assert_eq!(
        e.occurred_at,
        Some(OffsetDateTime::from_unix_timestamp(1_795_457_100).unwrap())
    );
    let mut outbound = call("ringing");
    outbound["direction"] = "outbound".into();
    let p = run(&Dialpad, &signed(outbound, SECRET), &secrets(), &clock()).unwrap();
    assert_eq!(p.events[0].party.from.as_deref(), Some("+18005550199"));
    let p = run(
        &Dialpad,
        &signed(call("hold"), SECRET),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert!(p.events.is_empty());
    let p = run(
        &Dialpad,
        &signed(call("teleported"), SECRET),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert_eq!(kinds(&p), [EventKind::unmapped("state", "teleported")]);
}

#[test]
fn a_recording_state_carries_the_recording() {
    let mut claims = call("recording");
    claims["recording_url"] = serde_json::json!(["https://dialpad.example/rec/1.mp3"]);
    claims["recording_id"] = "rec-1".into();
    claims["recording_duration"] = 42.into();
    let p = run(&Dialpad, &signed(claims, SECRET), &secrets(), &clock()).unwrap();
    let EventKind::Recording(r) = &p.events[0].kind else {
        panic!("{p:?}")
    };
    assert_eq!(r.recording_id, "rec-1");
    assert_eq!(r.status, RecordingProgress::Completed);
    assert_eq!(r.url.as_deref(), Some("https://dialpad.example/rec/1.mp3"));
    assert_eq!(r.duration_s, Some(42));
    assert!(
        Dialpad
            .delete_recording(
                &RecordingRef {
                    provider_call_id: "5700000000001".into(),
                    recording_id: "rec-1".into()
                },
                &secrets(),
                &ConnectionOptions::new()
            )
            .unwrap()
            .is_none()
    );
}

/// A token that states its own validity window is held to it (RFC 7519 4.1.4, 4.1.5), with
/// Vonage's leeway: the clock here is the Unix epoch.
#[test]
fn a_tokens_exp_and_nbf_are_honoured() {
    let with = |extra: serde_json::Value| {
        let mut c = call("ringing");
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        run(&Dialpad, &signed(c, SECRET), &secrets(), &clock())
    };
    assert!(with(serde_json::json!({"exp": 3600})).is_ok());
    assert!(with(serde_json::json!({"exp": -299})).is_ok());
    assert_eq!(with(serde_json::json!({"exp": -300})).unwrap_err(), "stale");
    assert!(with(serde_json::json!({"nbf": 300})).is_ok());
    assert_eq!(with(serde_json::json!({"nbf": 301})).unwrap_err(), "stale");
}

#[test]
fn a_leg_names_its_master_call_and_the_user_it_rang() {
    let claims = crate::kit::testing::merged(
        call("connected"),
        serde_json::json!({"master_call_id": 5_700_000_000_000_u64,
            "entry_point_call_id": 5_699_000_000_000_u64,
            "target": {"id": 6_100_000_000_001_u64, "type": "user", "name": "Ana"}}),
    );
    let p = run(&Dialpad, &signed(claims, SECRET), &secrets(), &clock()).unwrap();
    let e = &p.events[0];
    assert_eq!(e.provider_call_id, "5700000000001");
    assert_eq!(e.call_id(), "5700000000000", "the master call first");
    assert_eq!(e.leg.role, Some(kit::LegRole::Agent));
    assert_eq!(e.leg.agent_identity.as_deref(), Some("6100000000001"));
    // The entry point when no master is named; a master naming itself names no parent.
    let claims = crate::kit::testing::merged(
        call("connected"),
        serde_json::json!({"master_call_id": 5_700_000_000_001_u64,
            "entry_point_call_id": "5699000000000",
            "target": {"id": 1, "type": "office"}}),
    );
    let p = run(&Dialpad, &signed(claims, SECRET), &secrets(), &clock()).unwrap();
    assert_eq!(p.events[0].call_id(), "5699000000000");
    assert_eq!(p.events[0].leg.role, None, "an office is nobody's phone");
    assert_eq!(p.events[0].leg.agent_identity, None);
    let p = run(
        &Dialpad,
        &signed(call("connected"), SECRET),
        &secrets(),
        &clock(),
    )
    .unwrap();
    assert!(p.events[0].leg.is_plain());
}
