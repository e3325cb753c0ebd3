//! Call Control's "Retrieve a call status", `GET /v2/calls/{call_control_id}` (README.md,
//! "Looking calls up"): asked about the customer's leg by the `call_control_id` its webhooks
//! carried (the leg's lookup handle), and read back into the event a lost `call.hangup`
//! would have given.
//!
//! The answer (telnyx-python `CallRetrieveStatusResponse`): `data.call_control_id`,
//! `call_leg_id`, `call_session_id`, `is_alive`, `start_time`, `end_time` (only when the
//! call is not alive), `call_duration`. Telnyx keeps it 10 minutes after the call ended.

use crate::kit::adapter::{encode_path_segment, given};
use crate::kit::{CallEvent, CallProgress, EventKind, Leg, LookupTarget, Party, dates};
use serde::Deserialize;

/// The path after the API's origin: `/v2/calls/{call_control_id}`. The handle is one path
/// segment; its `:` and `=` (`v3:...`, base64 padding) are left as they are, as Telnyx's SDKs
/// send them, and everything else outside the unreserved characters is percent-encoded.
pub(super) fn path(handle: &str) -> String {
    let segment = encode_path_segment(handle)
        .replace("%3A", ":")
        .replace("%3D", "=");
    format!("/v2/calls/{segment}")
}

#[derive(Debug, Deserialize)]
struct Answer {
    data: Option<Status>,
}

#[derive(Debug, Deserialize)]
struct Status {
    call_control_id: Option<String>,
    call_leg_id: Option<String>,
    call_session_id: Option<String>,
    is_alive: Option<bool>,
    end_time: Option<String>,
}

/// The events the status of `target`'s leg gives: none while the call is alive (only the
/// next lookup moves); once it is not, the call's end, `completed` (the answer gives no
/// cause), keyed `{call_leg_id}:lookup:ended` so that a second lookup saying the same is the
/// same event, at `end_time` when given (else when callgate stores the answer). The leg is
/// placed as the webhooks placed it: the target's leg, in the target's call (its session),
/// with no role (the answer does not say one). An answer about another leg, session or
/// handle is refused.
pub(super) fn read(target: &LookupTarget<'_>, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("the call status is not the documented JSON: {e}"))?;
    let status = answer.data.ok_or("the call status has no data")?;
    let is_alive = status.is_alive.ok_or("the call status has no is_alive")?;
    let leg_id = target.leg_id;
    let session = (target.call_id != leg_id).then_some(target.call_id);
    if given(&status.call_leg_id).is_some_and(|leg| leg != leg_id) {
        return Err("the call status is about another call leg".to_owned());
    }
    if let (Some(asked), Some(said)) = (target.handle, given(&status.call_control_id))
        && asked != said
    {
        return Err("the call status is about another call control id".to_owned());
    }
    if let (Some(session), Some(said)) = (session, given(&status.call_session_id))
        && session != said
    {
        return Err("the call status is about another call session".to_owned());
    }
    if is_alive {
        return Ok(Vec::new());
    }
    Ok(vec![CallEvent {
        dedupe_key: format!("{leg_id}:lookup:ended"),
        provider_call_id: leg_id.to_owned(),
        occurred_at: given(&status.end_time).and_then(dates::rfc3339),
        party: Party::default(),
        kind: EventKind::Call {
            progress: CallProgress::Completed,
        },
        leg: Leg {
            session_id: session.map(str::to_owned),
            lookup_handle: target.handle.map(str::to_owned),
            ..Leg::default()
        },
    }])
}

/// Telnyx's error answer: `{"errors": [{"code", "title", "detail"}]}`, the code a string of
/// digits (some clients read it as a number: both are read).
#[derive(Debug, Deserialize)]
struct Errors {
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    code: Option<serde_json::Value>,
}

/// Call Control's error codes that say the call control id no longer names a live call:
/// 90015 "Invalid Call Control ID" (the 422 the status endpoint documents) and 90018 "Call
/// has already ended".
const GONE_CODES: [&str; 2] = ["90015", "90018"];

/// Whether a non-2xx answer says Telnyx does not know the call (any more): a 404, or a 422
/// whose errors name one of [`GONE_CODES`]. The status is kept only 10 minutes after the
/// call ended, and which of these Telnyx answers after that is UNCONFIRMED; any other
/// answer is a failure, asked again.
pub(super) fn unknown(status: u16, body: &[u8]) -> bool {
    if status == 404 {
        return true;
    }
    if status != 422 {
        return false;
    }
    let Ok(errors) = serde_json::from_slice::<Errors>(body) else {
        return false;
    };
    errors.errors.iter().any(|e| {
        let code = match &e.code {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return false,
        };
        GONE_CODES.contains(&code.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::testing::FRESH;
    use crate::kit::{Adapter, ConfigError, ConnectionOptions, SecretSet};
    use crate::telnyx::Telnyx;

    const HANDLE: &str = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg";
    const LEG: &str = "2dc6fc34-f9e0-11ea-b68e-02420a0f7768";
    const SESSION: &str = "2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768";

    fn target() -> LookupTarget<'static> {
        LookupTarget {
            call_id: SESSION,
            leg_id: LEG,
            handle: Some(HANDLE),
        }
    }

    /// The API reference's example answer ("Retrieve a call status"), `is_alive` as given.
    fn answer(is_alive: bool, end_time: Option<&str>) -> String {
        let end = end_time.map_or(String::new(), |t| format!(r#""end_time":"{t}","#));
        format!(
            r#"{{"data":{{"call_control_id":"{HANDLE}","call_leg_id":"{LEG}","call_session_id":"{SESSION}","client_state":"aGF2ZSBhIG5pY2UgZGF5ID1d","is_alive":{is_alive},"call_duration":50,"start_time":"2019-01-23T18:10:02.574Z",{end}"record_type":"call"}}}}"#
        )
    }

    #[test]
    fn the_customer_leg_is_asked_about_by_its_call_control_id() {
        let s = SecretSet::from_pairs([("api_key", "KEYfake")]);
        let spec = Telnyx
            .lookup_call(&target(), &s, &ConnectionOptions::new(), &FRESH)
            .unwrap()
            .unwrap();
        assert_eq!(spec.method, http::Method::GET);
        assert_eq!(
            spec.url,
            format!("https://api.telnyx.com/v2/calls/{HANDLE}")
        );
        assert_eq!(spec.headers[0].1, "Bearer KEYfake");
        let mock = ConnectionOptions::from([("api_base_url".into(), "http://127.0.0.1:9".into())]);
        let spec = Telnyx
            .lookup_call(&target(), &s, &mock, &FRESH)
            .unwrap()
            .unwrap();
        assert_eq!(spec.url, format!("http://127.0.0.1:9/v2/calls/{HANDLE}"));
        // No handle (a TeXML call, a leg heard of by no Call Control event): nothing to ask.
        let no_handle = LookupTarget {
            handle: None,
            ..target()
        };
        assert_eq!(
            Telnyx.lookup_call(&no_handle, &s, &ConnectionOptions::new(), &FRESH),
            Err(ConfigError::NoLookupHandle)
        );
        assert_eq!(
            Telnyx.lookup_call(
                &target(),
                &SecretSet::default(),
                &ConnectionOptions::new(),
                &FRESH
            ),
            Err(ConfigError::MissingSecret("api_key"))
        );
    }

    #[test]
    fn a_handle_stays_one_path_segment() {
        assert_eq!(path("v3:abc-_=="), "/v2/calls/v3:abc-_==");
        assert_eq!(path("../x/y?z#"), "/v2/calls/%2E%2E%2Fx%2Fy%3Fz%23");
        assert_eq!(path("AgD+x/y"), "/v2/calls/AgD%2Bx%2Fy");
    }

    #[test]
    fn a_call_no_longer_alive_ended_at_its_end_time() {
        let body = answer(false, Some("2019-01-23T18:11:52.574Z"));
        let events = Telnyx.looked_up_call(&target(), body.as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.dedupe_key, format!("{LEG}:lookup:ended"));
        assert_eq!((e.provider_call_id.as_str(), e.call_id()), (LEG, SESSION));
        assert_eq!(
            e.kind,
            EventKind::Call {
                progress: CallProgress::Completed
            }
        );
        assert_eq!(e.occurred_at, dates::rfc3339("2019-01-23T18:11:52.574Z"));
        assert_eq!(e.leg.role, None);
        assert_eq!(e.leg.lookup_handle.as_deref(), Some(HANDLE));
        assert_eq!(e.party, Party::default());
        // Without an end time, the event has none: the fold takes when it was stored.
        let events = Telnyx
            .looked_up_call(&target(), answer(false, None).as_bytes())
            .unwrap();
        assert_eq!(events[0].occurred_at, None);
        // The same answer twice is the same event.
        assert_eq!(
            Telnyx.looked_up_call(&target(), answer(false, None).as_bytes()),
            Ok(events)
        );
    }

    #[test]
    fn a_call_still_alive_gives_no_event() {
        let events = Telnyx.looked_up_call(&target(), answer(true, None).as_bytes());
        assert_eq!(events, Ok(Vec::new()));
    }

    #[test]
    fn a_call_known_by_its_leg_alone_stays_so() {
        // A call whose events named no session is known by its leg: the answer's event is
        // about that call, whatever session the answer names.
        let own = LookupTarget {
            call_id: LEG,
            leg_id: LEG,
            handle: Some(HANDLE),
        };
        let events = Telnyx
            .looked_up_call(&own, answer(false, None).as_bytes())
            .unwrap();
        assert_eq!(events[0].call_id(), LEG);
        assert_eq!(events[0].leg.session_id, None);
    }

    #[test]
    fn an_answer_about_another_call_or_not_documented_is_refused() {
        let read = |body: &str| Telnyx.looked_up_call(&target(), body.as_bytes());
        for (field, other) in [
            ("call_leg_id", LEG),
            ("call_session_id", SESSION),
            ("call_control_id", HANDLE),
        ] {
            let body = answer(false, None).replace(other, "another");
            assert!(read(&body).unwrap_err().contains("another"), "{field}");
        }
        assert!(read(r#"{"data":{"call_leg_id":"x"}}"#).is_err());
        assert!(read(r#"{"data":{"is_alive":"no"}}"#).is_err());
        assert!(read(r#"{"errors":[]}"#).is_err());
        assert!(read("not json").is_err());
        // The ids are checked when given; an answer naming none is the target's.
        assert_eq!(read(r#"{"data":{"is_alive":true}}"#), Ok(Vec::new()));
    }

    #[test]
    fn which_failures_say_the_call_is_not_known() {
        let err = |code: &str| format!(r#"{{"errors":[{{"code":{code},"title":"t"}}]}}"#);
        assert!(Telnyx.call_unknown(404, b""));
        assert!(Telnyx.call_unknown(422, err(r#""90015""#).as_bytes()));
        assert!(Telnyx.call_unknown(422, err(r#""90018""#).as_bytes()));
        assert!(Telnyx.call_unknown(422, err("90018").as_bytes()));
        assert!(!Telnyx.call_unknown(422, err(r#""10015""#).as_bytes()));
        assert!(!Telnyx.call_unknown(422, err("null").as_bytes()));
        assert!(!Telnyx.call_unknown(422, b"<html>"));
        assert!(!Telnyx.call_unknown(500, err(r#""90018""#).as_bytes()));
        assert!(!Telnyx.call_unknown(401, b""));
    }
}
