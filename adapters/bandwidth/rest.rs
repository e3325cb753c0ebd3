//! The Voice API v2's call state and call recordings, read back into events: what a lost
//! callback would have said (README.md, "Looking calls up").
//!
//! - `GET {origin}/api/v2/accounts/{accountId}/calls/{callId}`: the call state (`callId`,
//!   `parentCallId`, `direction`, `from`, `to`, `state`, `startTime`, `answerTime`,
//!   `endTime`, `disconnectCause`);
//! - `GET {origin}/api/v2/accounts/{accountId}/calls/{callId}/recordings`: an array of
//!   recording metadata (`recordingId`, `callId`, `status`, `duration` in ISO 8601).

use super::mapping;
use crate::kit::adapter::given;
use crate::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, Party, RecordingProgress, dates, listing,
};
use serde::Deserialize;

/// The call state, as far as callgate reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallState {
    call_id: Option<String>,
    parent_call_id: Option<String>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    state: Option<String>,
    start_time: Option<String>,
    answer_time: Option<String>,
    end_time: Option<String>,
    disconnect_cause: Option<String>,
}

/// The call's state as one event, keyed `{callId}:lookup:{state}` (and `:{cause}` once
/// disconnected). `disconnected` is read through the `disconnect` callback's cause table; a
/// state or cause callgate does not know is `Unmapped`, never an end.
pub(super) fn read_call(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let res: CallState = serde_json::from_slice(body)
        .map_err(|e| format!("the call state is not the documented JSON: {e}"))?;
    if given(&res.call_id).is_some_and(|id| id != call) {
        return Err("the call state is about another call".to_owned());
    }
    let state = given(&res.state).ok_or("the call state has no state")?;
    let (key, kind, at) = match state {
        "queued" | "initiated" => (
            state.to_owned(),
            EventKind::Call {
                progress: CallProgress::Initiated,
            },
            &res.start_time,
        ),
        "answered" => (
            state.to_owned(),
            EventKind::Call {
                progress: CallProgress::Answered,
            },
            &res.answer_time,
        ),
        "disconnected" => {
            let cause = given(&res.disconnect_cause).unwrap_or("");
            let kind = match mapping::cause(cause) {
                Some(progress) => EventKind::Call { progress },
                None => EventKind::unmapped("disconnectCause", cause),
            };
            (format!("{state}:{cause}"), kind, &res.end_time)
        }
        other => (
            other.to_owned(),
            EventKind::unmapped("state", other),
            &res.start_time,
        ),
    };
    Ok(vec![CallEvent {
        dedupe_key: format!("{call}:lookup:{key}"),
        provider_call_id: call.to_owned(),
        occurred_at: given(at).and_then(dates::rfc3339),
        party: Party {
            direction: given(&res.direction).and_then(Direction::inbound_outbound),
            from: given(&res.from).map(str::to_owned),
            to: given(&res.to).map(str::to_owned),
            ..Party::default()
        },
        kind,
        leg: Leg {
            parent_call_id: given(&res.parent_call_id)
                .filter(|p| *p != call)
                .map(str::to_owned),
            ..Leg::default()
        },
    }])
}

/// One recording's metadata.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recording {
    recording_id: Option<String>,
    call_id: Option<String>,
    status: Option<String>,
    duration: Option<String>,
}

/// One recording event per recording of `call` listed, keyed
/// `{callId}:recording:{recordingId}:listed:{status}` (the callbacks' keys name their event
/// type, which a listing has not: the two fold to the same recording). `processing` is in
/// progress; `complete`, `partial` and `error` as in the `recordingAvailable` callback;
/// `deleted` gives no event; any other status is `Unmapped`.
pub(super) fn read_recordings(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let list: Vec<Recording> = serde_json::from_slice(body)
        .map_err(|e| format!("the recordings list is not the documented JSON: {e}"))?;
    listing::events(
        call,
        &list,
        |rec| given(&rec.call_id),
        |rec| {
            let id = given(&rec.recording_id).ok_or("a listed recording has no recordingId")?;
            let status = given(&rec.status).ok_or("a listed recording has no status")?;
            let progress = match status {
                "deleted" => return Ok(None),
                "processing" => Some(RecordingProgress::InProgress),
                other => mapping::recording_status(other),
            };
            let duration = given(&rec.duration).and_then(dates::iso8601_duration_secs);
            let kind = listing::recording(id, progress, "status", status, duration);
            Ok(Some((
                format!("{call}:recording:{id}:listed:{status}"),
                kind,
            )))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: &str = "c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85";

    /// The call state as the API reference's example shows it (trimmed).
    fn state(state: &str, cause: Option<&str>) -> String {
        let cause = cause.map_or("null".to_owned(), |c| format!("\"{c}\""));
        format!(
            r#"{{"applicationId":"04e88489-df02-4e34-a0ee-27a91849555f","accountId":"9900000","callId":"{CALL}","parentCallId":null,"to":"+19195551234","from":"+19195554321","direction":"inbound","state":"{state}","startTime":"2022-06-16T13:15:07.160Z","answerTime":"2022-06-16T13:15:18.126Z","endTime":"2022-06-16T13:15:18.314Z","disconnectCause":{cause},"errorMessage":null,"errorId":null,"lastUpdate":"2022-06-16T13:15:18.314Z"}}"#
        )
    }

    #[test]
    fn a_disconnected_call_ends_by_its_cause() {
        let events = read_call(CALL, state("disconnected", Some("hangup")).as_bytes()).unwrap();
        let e = &events[0];
        assert_eq!(e.dedupe_key, format!("{CALL}:lookup:disconnected:hangup"));
        assert_eq!(
            e.kind,
            EventKind::Call {
                progress: CallProgress::Completed
            }
        );
        assert_eq!(e.occurred_at, dates::rfc3339("2022-06-16T13:15:18.314Z"));
        assert_eq!(e.party.to.as_deref(), Some("+19195551234"));
        assert_eq!(e.party.direction, Some(Direction::Inbound));
        assert!(e.leg.is_plain());
        let busy = read_call(CALL, state("disconnected", Some("busy")).as_bytes()).unwrap();
        assert_eq!(
            busy[0].kind,
            EventKind::Call {
                progress: CallProgress::Busy
            }
        );
    }

    #[test]
    fn a_live_or_unknown_state_never_ends_the_call() {
        let answered = read_call(CALL, state("answered", None).as_bytes()).unwrap();
        assert_eq!(
            answered[0].kind,
            EventKind::Call {
                progress: CallProgress::Answered
            }
        );
        let odd = read_call(CALL, state("parked", None).as_bytes()).unwrap();
        assert_eq!(odd[0].kind, EventKind::unmapped("state", "parked"));
        let cause = read_call(CALL, state("disconnected", Some("moon")).as_bytes()).unwrap();
        assert_eq!(
            cause[0].kind,
            EventKind::unmapped("disconnectCause", "moon")
        );
        let other = state("answered", None).replace(CALL, "c-other");
        assert!(read_call(CALL, other.as_bytes()).is_err());
        assert!(read_call(CALL, b"[]").is_err());
    }

    #[test]
    fn listed_recordings() {
        let body = format!(
            r#"[{{"applicationId":"04e88489","accountId":"9900000","callId":"{CALL}","recordingId":"r-1","to":"+19195551234","from":"+19195554321","duration":"PT13.67S","direction":"inbound","channels":1,"startTime":"2022-06-16T13:15:07.160Z","endTime":"2022-06-16T13:15:21.160Z","fileFormat":"wav","status":"complete","mediaUrl":"https://voice.bandwidth.com/api/v2/accounts/9900000/calls/{CALL}/recordings/r-1/media"}},{{"callId":"{CALL}","recordingId":"r-2","status":"processing"}},{{"callId":"{CALL}","recordingId":"r-3","status":"deleted"}},{{"callId":"c-other","recordingId":"r-4","status":"complete"}}]"#
        );
        let events = read_recordings(CALL, body.as_bytes()).unwrap();
        let keys: Vec<&str> = events.iter().map(|e| e.dedupe_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                format!("{CALL}:recording:r-1:listed:complete"),
                format!("{CALL}:recording:r-2:listed:processing"),
            ]
        );
        let EventKind::Recording(first) = &events[0].kind else {
            panic!("{:?}", events[0].kind)
        };
        assert_eq!(
            (first.status, first.duration_s, first.url.as_deref()),
            (RecordingProgress::Completed, Some(14), None)
        );
        let EventKind::Recording(second) = &events[1].kind else {
            panic!("{:?}", events[1].kind)
        };
        assert_eq!(second.status, RecordingProgress::InProgress);
        assert!(read_recordings(CALL, b"{}").is_err());
        assert!(read_recordings(CALL, br#"[{"status":"complete"}]"#).is_err());
    }
}
