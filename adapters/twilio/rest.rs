//! The 2010-04-01 REST API's Call and Recording resources, read back into events: what a
//! lost webhook would have said. SignalWire's LaML REST API serves the same resources with
//! the same fields under `/api/laml/2010-04-01/...`, and is read here too.
//!
//! - `GET .../Accounts/{AccountSid}/Calls/{CallSid}.json`: the Call resource (`sid`,
//!   `status`, `direction`, `from`, `to`, `caller_name`, `parent_call_sid`, `start_time`,
//!   `end_time`, RFC 2822 dates);
//! - `GET .../Accounts/{AccountSid}/Recordings.json?CallSid={CallSid}`: a page of Recording
//!   resources (`recordings`: `sid`, `call_sid`, `status`, `duration`).
//!
//! Sources and what is unconfirmed: README.md, "Looking calls up".

use super::mapping;
use crate::kit::adapter::{basic_get, encode_path_segment, given};
use crate::kit::{
    CallEvent, EventKind, Leg, LegRole, Party, RecordingProgress, Secret, dates, listing,
};
use serde::Deserialize;

/// How many recordings one listing asks for: the API's maximum page size. A call has a few.
const PAGE_SIZE: u32 = 1000;

/// `GET {base}/Accounts/{account}/Calls/{call}.json`, `base` being the API's versioned root
/// (`https://api.twilio.com/2010-04-01`).
pub(crate) fn call_request(
    base: &str,
    account: &Secret,
    token: &Secret,
    call: &str,
) -> crate::kit::HttpRequestSpec {
    let call = encode_path_segment(call);
    account_get(base, account, token, &format!("Calls/{call}.json"))
}

/// `GET {base}/Accounts/{account}/Recordings.json?CallSid={call}&PageSize=1000`.
pub(crate) fn recordings_request(
    base: &str,
    account: &Secret,
    token: &Secret,
    call: &str,
) -> crate::kit::HttpRequestSpec {
    let call = encode_path_segment(call);
    let rest = format!("Recordings.json?CallSid={call}&PageSize={PAGE_SIZE}");
    account_get(base, account, token, &rest)
}

/// `GET {base}/Accounts/{account}/{rest}` with the account's Basic credentials.
fn account_get(
    base: &str,
    account: &Secret,
    token: &Secret,
    rest: &str,
) -> crate::kit::HttpRequestSpec {
    let url = format!(
        "{base}/Accounts/{}/{rest}",
        encode_path_segment(account.expose())
    );
    basic_get(url, account, token)
}

/// The Call resource, as far as callgate reads it.
#[derive(Debug, Deserialize)]
struct CallResource {
    sid: Option<String>,
    status: Option<String>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    caller_name: Option<String>,
    forwarded_from: Option<String>,
    parent_call_sid: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

/// The call's state as one event, keyed `{CallSid}:lookup:{status}`: a second lookup saying
/// the same is the same event. A webhook's key carries its `SequenceNumber`, which the
/// resource has not, so the two are two events of the same progress, which fold to the same
/// call. The event's time is `end_time` for an ended call, else `start_time`.
pub(crate) fn read_call(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let res: CallResource = serde_json::from_slice(body)
        .map_err(|e| format!("the call resource is not the documented JSON: {e}"))?;
    if given(&res.sid).is_some_and(|sid| sid != call) {
        return Err("the call resource is about another call".to_owned());
    }
    let raw = given(&res.status).ok_or("the call resource has no status")?;
    let kind = match mapping::call_status(raw) {
        Some(progress) => EventKind::Call { progress },
        None => EventKind::unmapped("status", raw),
    };
    let ended = matches!(kind, EventKind::Call { progress } if progress.is_terminal());
    let at = if ended {
        &res.end_time
    } else {
        &res.start_time
    };
    Ok(vec![CallEvent {
        dedupe_key: format!("{call}:lookup:{raw}"),
        provider_call_id: call.to_owned(),
        occurred_at: given(at).and_then(dates::rfc2822),
        party: Party {
            direction: given(&res.direction).and_then(mapping::direction),
            from: given(&res.from).map(str::to_owned),
            to: given(&res.to).map(str::to_owned),
            caller_name: given(&res.caller_name).map(str::to_owned),
            forwarded_from: given(&res.forwarded_from).map(str::to_owned),
            routing_reason: None,
        },
        kind,
        leg: leg(&res, call),
    }])
}

/// The leg as its webhooks tell it (`payload::leg`): a child leg names its parent, and one
/// `<Dial>` made (`outbound-dial`) rang its `to`, an agent.
fn leg(res: &CallResource, call: &str) -> Leg {
    // SignalWire's example names the call itself as its parent: that is no parent.
    let Some(parent) = given(&res.parent_call_sid).filter(|p| *p != call) else {
        return Leg::default();
    };
    let dialed = given(&res.direction) == Some("outbound-dial");
    Leg {
        parent_call_id: Some(parent.to_owned()),
        session_id: None,
        role: dialed.then_some(LegRole::Agent),
        agent_identity: given(&res.to).filter(|_| dialed).map(str::to_owned),
        lookup_handle: None,
    }
}

/// A page of the Recordings list.
#[derive(Debug, Deserialize)]
struct RecordingsPage {
    recordings: Vec<RecordingResource>,
}

#[derive(Debug, Deserialize)]
struct RecordingResource {
    sid: Option<String>,
    call_sid: Option<String>,
    status: Option<String>,
    /// A string in Twilio's examples, a number in SignalWire's: either is read.
    duration: Option<serde_json::Value>,
}

/// A whole number of seconds, as a string or a number; `-1` (in progress) and anything
/// else is `None`.
fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The Recording resource's `status` (OAI `recording_enum_status`): a recording not yet
/// `completed` exists, or will. `deleted` is `None`: nothing left to delete.
fn recording_status(raw: &str) -> Option<Option<RecordingProgress>> {
    Some(match raw {
        "in-progress" | "paused" | "stopped" | "processing" => Some(RecordingProgress::InProgress),
        "completed" => Some(RecordingProgress::Completed),
        "absent" => Some(RecordingProgress::Absent),
        "failed" => Some(RecordingProgress::Failed),
        "deleted" => None,
        _ => return None,
    })
}

/// One recording event per recording of `call` listed, keyed as the recording status
/// callback saying the same status is (`{CallSid}:recording:{RecordingSid}:{status}`), so
/// that a listing and a webhook saying `completed` are one event. A recording already
/// deleted gives none; one naming another call is left out; a status callgate does not
/// know is an `Unmapped` event of the call.
pub(crate) fn read_recordings(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let page: RecordingsPage = serde_json::from_slice(body)
        .map_err(|e| format!("the recordings page is not the documented JSON: {e}"))?;
    listing::events(
        call,
        &page.recordings,
        |rec| given(&rec.call_sid),
        |rec| {
            let sid = given(&rec.sid).ok_or("a listed recording has no sid")?;
            let raw = given(&rec.status).ok_or("a listed recording has no status")?;
            let status = match recording_status(raw) {
                Some(None) => return Ok(None),
                Some(Some(status)) => Some(status),
                None => None,
            };
            let duration = seconds(rec.duration.as_ref());
            let kind = listing::recording(sid, status, "status", raw, duration);
            Ok(Some((format!("{call}:recording:{sid}:{raw}"), kind)))
        },
    )
}

/// True for the call's ended states, for tests.
#[cfg(test)]
pub(crate) fn ends(events: &[CallEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Call { progress } if progress.is_terminal()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::CallProgress;

    const CALL: &str = "CA1234567890abcdef1234567890abcdef";

    /// The Call resource as the API reference's fetch example shows it (trimmed of the
    /// fields callgate does not read, values of its kind).
    fn call_body(status: &str) -> String {
        format!(
            r#"{{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","answered_by":null,"api_version":"2010-04-01","caller_name":null,"date_created":"Tue, 31 Aug 2010 20:36:28 +0000","date_updated":"Tue, 31 Aug 2010 20:36:44 +0000","direction":"inbound","duration":"15","end_time":"Tue, 31 Aug 2010 20:36:44 +0000","forwarded_from":"+141586753093","from":"+14158675308","from_formatted":"(415) 867-5308","group_sid":null,"parent_call_sid":null,"phone_number_sid":"PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","price":"-0.03000","price_unit":"USD","sid":"{CALL}","start_time":"Tue, 31 Aug 2010 20:36:29 +0000","status":"{status}","to":"+14158675309","to_formatted":"(415) 867-5309","uri":"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Calls/{CALL}.json"}}"#
        )
    }

    #[test]
    fn a_completed_call_ends_at_its_end_time() {
        let events = read_call(CALL, call_body("completed").as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.dedupe_key, format!("{CALL}:lookup:completed"));
        assert_eq!(
            e.kind,
            EventKind::Call {
                progress: CallProgress::Completed
            }
        );
        assert_eq!(
            e.occurred_at,
            dates::rfc2822("Tue, 31 Aug 2010 20:36:44 +0000")
        );
        assert_eq!(e.party.to.as_deref(), Some("+14158675309"));
        assert_eq!(e.party.from.as_deref(), Some("+14158675308"));
        assert_eq!(e.party.direction, Some(crate::kit::Direction::Inbound));
        assert!(e.leg.is_plain());
        assert!(ends(&events));
    }

    #[test]
    fn a_call_in_progress_does_not_end() {
        let events = read_call(CALL, call_body("in-progress").as_bytes()).unwrap();
        assert_eq!(
            events[0].kind,
            EventKind::Call {
                progress: CallProgress::Answered
            }
        );
        assert_eq!(
            events[0].occurred_at,
            dates::rfc2822("Tue, 31 Aug 2010 20:36:29 +0000")
        );
        assert!(!ends(&events));
        let odd = read_call(CALL, call_body("on-hold").as_bytes()).unwrap();
        assert_eq!(odd[0].kind, EventKind::unmapped("status", "on-hold"));
        assert!(!ends(&odd));
    }

    #[test]
    fn an_answer_about_another_call_or_not_the_resource_is_refused() {
        let other = call_body("completed").replace(CALL, "CAffffffffffffffffffffffffffffffff");
        assert!(read_call(CALL, other.as_bytes()).is_err());
        assert!(read_call(CALL, b"<Response/>").is_err());
        assert!(read_call(CALL, br#"{"sid":"x"}"#).is_err());
        // SignalWire's example names the call as its own parent.
        let own = call_body("completed").replace(
            r#""parent_call_sid":null"#,
            &format!(r#""parent_call_sid":"{CALL}""#),
        );
        assert!(read_call(CALL, own.as_bytes()).unwrap()[0].leg.is_plain());
    }

    #[test]
    fn a_looked_up_child_leg_is_placed_as_its_webhooks_place_it() {
        let parent = "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        let body = call_body("in-progress")
            .replace(
                r#""parent_call_sid":null"#,
                &format!(r#""parent_call_sid":"{parent}""#),
            )
            .replace(r#""direction":"inbound""#, r#""direction":"outbound-dial""#)
            .replace(r#""to":"+14158675309""#, r#""to":"client:ana""#);
        let event = &read_call(CALL, body.as_bytes()).unwrap()[0];
        assert_eq!(event.call_id(), parent);
        assert_eq!(event.leg.role, Some(LegRole::Agent));
        assert_eq!(event.leg.agent_identity.as_deref(), Some("client:ana"));
        assert_eq!(event.party.forwarded_from.as_deref(), Some("+141586753093"));
        let other = body.replace(
            r#""direction":"outbound-dial""#,
            r#""direction":"outbound-api""#,
        );
        let event = &read_call(CALL, other.as_bytes()).unwrap()[0];
        assert_eq!(
            (event.leg.role, event.leg.agent_identity.as_deref()),
            (None, None)
        );
        assert_eq!(event.call_id(), parent);
    }

    /// A page of the Recordings list as the API reference's example shows it (trimmed).
    const RECORDINGS: &str = r#"{"end":1,"first_page_uri":"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Recordings.json?CallSid=CA1234567890abcdef1234567890abcdef&PageSize=1000&Page=0","next_page_uri":null,"page":0,"page_size":1000,"previous_page_uri":null,"recordings":[{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","api_version":"2010-04-01","call_sid":"CA1234567890abcdef1234567890abcdef","channels":1,"conference_sid":null,"date_created":"Fri, 14 Oct 2016 21:56:34 +0000","date_updated":"Fri, 14 Oct 2016 21:56:38 +0000","duration":"4","price":"-0.0025","price_unit":"USD","sid":"REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","source":"StartCallRecordingAPI","start_time":"Fri, 14 Oct 2016 21:56:34 +0000","status":"completed","uri":"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Recordings/REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json"},{"call_sid":"CA1234567890abcdef1234567890abcdef","duration":"-1","sid":"REbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","status":"processing"},{"call_sid":"CA1234567890abcdef1234567890abcdef","duration":"3","sid":"REcccccccccccccccccccccccccccccccc","status":"deleted"},{"call_sid":"CAffffffffffffffffffffffffffffffff","duration":"3","sid":"REdddddddddddddddddddddddddddddddd","status":"completed"}],"start":0,"uri":"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Recordings.json?CallSid=CA1234567890abcdef1234567890abcdef&PageSize=1000&Page=0"}"#;

    #[test]
    fn listed_recordings_are_keyed_as_their_webhooks() {
        let events = read_recordings(CALL, RECORDINGS.as_bytes()).unwrap();
        let keys: Vec<&str> = events.iter().map(|e| e.dedupe_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                format!("{CALL}:recording:REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:completed"),
                format!("{CALL}:recording:REbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:processing"),
            ]
        );
        let EventKind::Recording(first) = &events[0].kind else {
            panic!("{:?}", events[0].kind)
        };
        assert_eq!(first.status, RecordingProgress::Completed);
        assert_eq!(first.duration_s, Some(4));
        assert_eq!(first.url, None);
        let EventKind::Recording(second) = &events[1].kind else {
            panic!("{:?}", events[1].kind)
        };
        assert_eq!(second.status, RecordingProgress::InProgress);
        assert_eq!(second.duration_s, None);
        assert!(events.iter().all(|e| e.provider_call_id == CALL));
    }

    #[test]
    fn an_empty_or_wrong_listing() {
        assert_eq!(
            read_recordings(CALL, br#"{"recordings":[]}"#).unwrap(),
            Vec::new()
        );
        assert!(read_recordings(CALL, b"{}").is_err());
        assert!(read_recordings(CALL, br#"{"recordings":[{"status":"completed"}]}"#).is_err());
        let numeric = read_recordings(
            CALL,
            br#"{"recordings":[{"sid":"RE1","status":"completed","duration":20}]}"#,
        )
        .unwrap();
        let EventKind::Recording(r) = &numeric[0].kind else {
            panic!("{:?}", numeric[0].kind)
        };
        assert_eq!(r.duration_s, Some(20));
        let odd = read_recordings(
            CALL,
            br#"{"recordings":[{"sid":"RE1","status":"mystery"}]}"#,
        )
        .unwrap();
        assert_eq!(odd[0].kind, EventKind::unmapped("status", "mystery"));
    }
}
