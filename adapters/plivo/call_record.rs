//! "Retrieve a call", `GET {origin}/v1/Account/{auth_id}/Call/{call_uuid}/` (README.md,
//! "Looking calls up"): the call detail record Plivo keeps of a call that ended, read back
//! into the event a lost hangup callback would have given.
//!
//! The record (the Call object of the API reference; plivo-node `RetrieveCallResponse`):
//! `call_uuid`, `call_direction`, `from_number`, `to_number`, `parent_call_uuid`,
//! `initiation_time`, `answer_time` (null when nobody answered), `end_time`,
//! `hangup_cause_code`, `hangup_cause_name`, and on some answers `call_state`. Times are
//! `yyyy-MM-dd HH:mm:ss` followed by the account's UTC offset (`2022-06-28 19:39:15+05:30`).

use super::{mapping, payload};
use crate::kit::adapter::{encode_path_segment, given};
use crate::kit::{CallEvent, EventKind, Party, dates};
use serde::Deserialize;
use time::OffsetDateTime;

/// The call under the account: `Call/{call}/`.
pub(super) fn resource(call: &str) -> String {
    format!("Call/{}/", encode_path_segment(call))
}

#[derive(Debug, Deserialize)]
struct Record {
    call_uuid: Option<String>,
    call_direction: Option<String>,
    from_number: Option<String>,
    to_number: Option<String>,
    parent_call_uuid: Option<String>,
    answer_time: Option<String>,
    end_time: Option<String>,
    /// An integer in the reference; plivo-node types it as a string: both are read.
    hangup_cause_code: Option<serde_json::Value>,
    hangup_cause_name: Option<String>,
    call_state: Option<String>,
}

/// A record time: `2022-06-28 19:39:15+05:30` (or with a `T`). One without an offset (the
/// account's zone unstated) is not read: the event then takes the time callgate stores it.
fn record_time(value: &str) -> Option<OffsetDateTime> {
    dates::rfc3339(&value.trim().replacen(' ', "T", 1))
}

fn cause_code(value: &Option<serde_json::Value>) -> Option<u32> {
    match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The events the record of `call` gives. A record whose `call_state` says the call is
/// still ringing or in progress (`mapping::call_state_live`), or that has no `end_time`,
/// gives none: only the next lookup moves. A record of an ended call gives its end, with the
/// `CallStatus` the hangup callback would have sent (`mapping::hangup_status`), keyed
/// `{CallUUID}:{CallStatus}` as that callback is, so the two are one event; at `end_time`
/// when it carries an offset. The parties and the leg are read as the callbacks' are. A
/// record of another call is refused.
pub(super) fn read(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let record: Record = serde_json::from_slice(body)
        .map_err(|e| format!("the call record is not the documented JSON: {e}"))?;
    if given(&record.call_uuid).is_some_and(|uuid| uuid != call) {
        return Err("the call record is about another call".to_owned());
    }
    if given(&record.call_state).is_some_and(mapping::call_state_live) {
        return Ok(Vec::new());
    }
    let Some(end_time) = given(&record.end_time) else {
        return Ok(Vec::new());
    };
    let status = mapping::hangup_status(
        given(&record.answer_time).is_some(),
        cause_code(&record.hangup_cause_code),
        given(&record.hangup_cause_name),
    );
    let progress =
        mapping::call_status(status).ok_or("a hangup status is not a mapped CallStatus")?;
    let party = Party {
        direction: given(&record.call_direction).and_then(mapping::direction),
        from: given(&record.from_number).map(str::to_owned),
        to: given(&record.to_number).map(str::to_owned),
        ..Party::default()
    };
    let leg = payload::leg_of(given(&record.parent_call_uuid), call, &party);
    Ok(vec![CallEvent {
        dedupe_key: format!("{call}:{status}"),
        provider_call_id: call.to_owned(),
        occurred_at: record_time(end_time),
        party,
        kind: EventKind::Call { progress },
        leg,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::testing::FRESH;
    use crate::kit::{
        Adapter, CallProgress, ConfigError, ConnectionOptions, Direction, LookupTarget, SecretSet,
    };
    use crate::plivo::Plivo;
    use time::macros::datetime;

    const CALL: &str = "57a1b60a-5c0b-11e7-9082-ef888d0400e9";

    /// The example of "The Call object" in Plivo's API reference
    /// (https://www.plivo.com/docs/voice/api/call/the-call-object/): an inbound call answered
    /// and ended at the end of its XML instructions.
    const EXAMPLE: &str = r#"{
      "answer_time": "2022-06-28 19:39:05+05:30",
      "bill_duration": 11,
      "billed_duration": 60,
      "call_direction": "inbound",
      "call_duration": 11,
      "call_uuid": "57a1b60a-5c0b-11e7-9082-ef888d0400e9",
      "end_time": "2022-06-28 19:39:15+05:30",
      "from_number": "12025551111",
      "initiation_time": "2022-06-28 19:39:04+05:30",
      "parent_call_uuid": null,
      "resource_uri": "/v1/Account/MA2025RK4E639VJFZAGV/Call/57a1b60a-5c0b-11e7-9082-ef888d0400e9/",
      "to_number": "19172592277",
      "total_amount": "0.00850",
      "total_rate": "0.00850",
      "hangup_cause_name": "End Of XML Instructions",
      "hangup_cause_code": 4010,
      "hangup_source": "Plivo",
      "source_ip": "92.168.0.1"
    }"#;

    /// `EXAMPLE` with `fields` replaced.
    fn example_with(fields: serde_json::Value) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        for (k, f) in fields.as_object().unwrap() {
            v[k] = f.clone();
        }
        serde_json::to_vec(&v).unwrap()
    }

    fn secrets() -> SecretSet {
        SecretSet::from_pairs([("auth_id", "MAFAKE"), ("auth_token", "tok")])
    }

    #[test]
    fn a_call_is_looked_up_by_its_uuid_with_basic_auth() {
        let none = ConnectionOptions::new();
        let target = LookupTarget::call(CALL);
        let spec = Plivo
            .lookup_call(&target, &secrets(), &none, &FRESH)
            .unwrap()
            .unwrap();
        assert_eq!(spec.method, http::Method::GET);
        assert_eq!(
            spec.url,
            format!("https://api.plivo.com/v1/Account/MAFAKE/Call/{CALL}/")
        );
        assert_eq!(spec.headers[0].0, "Authorization");
        assert!(spec.headers[0].1.starts_with("Basic "));
        let odd = LookupTarget::call("a/b?c");
        let spec = Plivo
            .lookup_call(&odd, &secrets(), &none, &FRESH)
            .unwrap()
            .unwrap();
        assert!(spec.url.ends_with("/Call/a%2Fb%3Fc/"), "{}", spec.url);
        let no_id = SecretSet::from_pairs([("auth_token", "tok")]);
        assert!(matches!(
            Plivo.lookup_call(&target, &no_id, &none, &FRESH),
            Err(ConfigError::MissingSecret(_))
        ));
    }

    #[test]
    fn the_references_example_ends_the_call_as_its_hangup_callback_would() {
        let events = Plivo
            .looked_up_call(&LookupTarget::call(CALL), EXAMPLE.as_bytes())
            .unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.dedupe_key, format!("{CALL}:completed"));
        assert_eq!(e.provider_call_id, CALL);
        assert_eq!(
            e.kind,
            EventKind::Call {
                progress: CallProgress::Completed
            }
        );
        assert_eq!(e.occurred_at, Some(datetime!(2022-06-28 14:09:15 UTC)));
        assert_eq!(e.party.direction, Some(Direction::Inbound));
        assert_eq!(e.party.from.as_deref(), Some("12025551111"));
        assert_eq!(e.party.to.as_deref(), Some("19172592277"));
        assert_eq!(e.leg.parent_call_id, None);
    }

    #[test]
    fn an_unanswered_call_ends_as_its_cause_says() {
        let rows = [
            (
                json_cause(1000, "Canceled"),
                "cancel",
                CallProgress::Canceled,
            ),
            (
                json_cause(1010, "Canceled (Out Of Credits)"),
                "cancel",
                CallProgress::Canceled,
            ),
            (json_cause(3000, "Busy Line"), "busy", CallProgress::Busy),
            (
                json_cause(3020, "No Answer"),
                "no-answer",
                CallProgress::NoAnswer,
            ),
            (
                json_cause(2000, "Invalid Destination Address"),
                "failed",
                CallProgress::Failed,
            ),
            (json_cause(0, "Unknown"), "failed", CallProgress::Failed),
        ];
        for (fields, status, progress) in rows {
            let events = read(CALL, &example_with(fields)).unwrap();
            assert_eq!(events[0].dedupe_key, format!("{CALL}:{status}"));
            assert_eq!(events[0].kind, EventKind::Call { progress }, "{status}");
        }
    }

    fn json_cause(code: u32, name: &str) -> serde_json::Value {
        serde_json::json!({"answer_time": null, "hangup_cause_code": code, "hangup_cause_name": name})
    }

    #[test]
    fn a_code_written_as_a_string_is_read() {
        let body =
            example_with(serde_json::json!({"answer_time": null, "hangup_cause_code": "1000"}));
        assert_eq!(
            read(CALL, &body).unwrap()[0].dedupe_key,
            format!("{CALL}:cancel")
        );
    }

    #[test]
    fn a_call_still_live_or_without_an_end_gives_nothing() {
        for state in ["in-progress", "ringing", "early-media", "queued"] {
            let body = example_with(serde_json::json!({"call_state": state}));
            assert_eq!(read(CALL, &body).unwrap(), Vec::new(), "{state}");
        }
        let body = example_with(serde_json::json!({"end_time": null}));
        assert_eq!(read(CALL, &body).unwrap(), Vec::new());
        let ended = example_with(serde_json::json!({"call_state": "ANSWER"}));
        assert_eq!(read(CALL, &ended).unwrap().len(), 1);
    }

    #[test]
    fn a_child_leg_names_its_parent_as_its_callbacks_do() {
        let body = example_with(serde_json::json!({"parent_call_uuid": "parent-call",
            "call_direction": "outbound"}));
        let e = &read(CALL, &body).unwrap()[0];
        assert_eq!(e.leg.parent_call_id.as_deref(), Some("parent-call"));
        assert_eq!(e.leg.agent_identity.as_deref(), Some("19172592277"));
        let itself = example_with(serde_json::json!({"parent_call_uuid": CALL}));
        assert_eq!(read(CALL, &itself).unwrap()[0].leg.parent_call_id, None);
    }

    #[test]
    fn a_time_without_an_offset_is_not_guessed() {
        let body = example_with(serde_json::json!({"end_time": "2022-06-28 19:39:15"}));
        assert_eq!(read(CALL, &body).unwrap()[0].occurred_at, None);
        assert_eq!(
            record_time("2022-06-28T19:39:15Z"),
            Some(datetime!(2022-06-28 19:39:15 UTC))
        );
    }

    #[test]
    fn another_calls_record_or_a_body_not_json_is_refused() {
        let other = example_with(serde_json::json!({"call_uuid": "another"}));
        assert!(read(CALL, &other).is_err());
        assert!(read(CALL, b"<html>").is_err());
        assert!(read(CALL, b"[]").is_err());
    }

    /// A 404 (a live call, or one Plivo no longer keeps) is "unknown": the call is never
    /// ended on it before the maximum call duration. Any other failure is asked again.
    #[test]
    fn only_a_404_says_the_call_is_unknown() {
        let body = br#"{"api_id":"x","error":"call not found"}"#;
        assert!(Plivo.call_unknown(404, body));
        for status in [400, 401, 429, 500, 503] {
            assert!(!Plivo.call_unknown(status, body), "{status}");
        }
    }
}
