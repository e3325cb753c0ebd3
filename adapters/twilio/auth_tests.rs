//! Authentication end to end (rotation, tampering, the signed URL) and the REST credentials.

use super::tests::{
    CALL, CLOCK, REC, TOKEN, borrowed, encode, run, secrets, signed, status_callback,
};
use super::*;
use crate::kit::adapter::basic_delete;
use crate::kit::{Generation, Secret};
use bytes::Bytes;
use std::collections::BTreeMap;

#[test]
fn rotation_accepts_the_previous_token() {
    let req = signed(&[("CallSid", CALL), ("CallStatus", "ringing")]);
    let map = |v: &str| BTreeMap::from([("auth_token".to_owned(), Secret::new(v))]);
    let rotated = SecretSet::new(map("new_token"), Some(map(TOKEN)));
    let generation = Twilio
        .verify(&req, &rotated, &CLOCK)
        .map(|v| v.generation());
    assert_eq!(generation, Ok(Generation::Previous));
    let current = Twilio
        .verify(&req, &secrets(), &CLOCK)
        .map(|v| v.generation());
    assert_eq!(current, Ok(Generation::Current));
    let other = SecretSet::new(map("new_token"), Some(map("older_token")));
    assert_eq!(
        Twilio.verify(&req, &other, &CLOCK).map(|_| ()),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn tampered_body_and_missing_header_are_refused() {
    let req = signed(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("To", "+15005550006"),
    ]);
    let mut tampered = req.clone();
    tampered.body = Bytes::from(encode(&[
        ("CallSid", CALL),
        ("CallStatus", "ringing"),
        ("To", "+15005550007"),
    ]));
    assert_eq!(run(&tampered), Err("bad_signature".to_owned()));
    let mut unsigned = req.clone();
    unsigned.headers.remove("x-twilio-signature");
    let err = Twilio.verify(&unsigned, &secrets(), &CLOCK).map(|_| ());
    assert_eq!(err, Err(VerifyError::MissingHeader("x-twilio-signature")));
    let mut moved = req;
    moved.public_url = "http://127.0.0.1:8080/webhooks/twilio/conn_sample".to_owned();
    assert_eq!(run(&moved), Err("bad_signature".to_owned()));
}

#[test]
fn dedupe_keys_are_stable() {
    let mut fields = status_callback("completed", "4");
    fields.push(("RecordingSid", REC.to_owned()));
    let req = signed(&borrowed(&fields));
    let first = run(&req).map(|p| {
        p.events
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect::<Vec<_>>()
    });
    let second = run(&req).map(|p| {
        p.events
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect::<Vec<_>>()
    });
    assert!(first.is_ok());
    assert_eq!(first, second);
}

#[test]
fn delete_recording_describes_an_authenticated_delete() {
    let rec = RecordingRef {
        provider_call_id: CALL.to_owned(),
        recording_id: REC.to_owned(),
    };
    let spec = Twilio.delete_recording(&rec, &secrets(), &ConnectionOptions::new());
    let url = format!(
        "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/{REC}.json"
    );
    let (user, token) = (
        Secret::new("AC0123456789abcdef0123456789abcdef"),
        Secret::new(TOKEN),
    );
    assert_eq!(spec, Ok(Some(basic_delete(url, &user, &token))));

    let options = ConnectionOptions::from([(
        "api_base_url".to_owned(),
        "http://127.0.0.1:9999/".to_owned(),
    )]);
    let evil = RecordingRef {
        provider_call_id: CALL.to_owned(),
        recording_id: "../../Calls/x?y#".to_owned(),
    };
    let spec = Twilio
        .delete_recording(&evil, &secrets(), &options)
        .map(|s| s.map(|s| s.url));
    let expected = "http://127.0.0.1:9999/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/%2E%2E%2F%2E%2E%2FCalls%2Fx%3Fy%23.json";
    assert_eq!(spec, Ok(Some(expected.to_owned())));

    let no_account = SecretSet::from_pairs([("auth_token", TOKEN)]);
    let err = Twilio.delete_recording(&rec, &no_account, &ConnectionOptions::new());
    assert_eq!(err, Err(ConfigError::MissingSecret("account_sid")));
}
