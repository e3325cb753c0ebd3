//! Telnyx's recordings API (`GET /v2/recordings`), read two ways (README.md):
//!
//! - a saved recording whose webhook carries no `recording_id` (`call.recording.saved` as
//!   Telnyx's OpenAPI spec publishes it) is known by a stand-in id made of its call leg and
//!   start, `call_leg:{call_leg_id}@{recording_started_at}`, and its real id is looked up
//!   with `filter[call_leg_id]` before it is deleted ([`find`]);
//! - the recordings of a call whose webhooks may be lost are listed with
//!   `filter[call_session_id]`, the session being the call's id ([`read_listing`]).

use crate::kit::adapter::given;
use crate::kit::{CallEvent, RecordingProgress, dates, listing};
use serde::Deserialize;

/// The query of a recordings page of the recordings whose `filter` (`call_leg_id`,
/// `call_session_id`) is `value`: the path after the API's origin.
pub(super) fn recordings_path(filter: &str, value: &str) -> String {
    format!(
        "/v2/recordings?filter%5B{filter}%5D={}&page%5Bsize%5D=250",
        crate::kit::adapter::encode_path_segment(value)
    )
}

/// What starts a stand-in id: no Telnyx recording id (a UUID) starts so.
const PREFIX: &str = "call_leg:";

/// The stand-in id of a recording of `call_leg_id` started at `started_at` (as sent).
pub(super) fn stand_in_id(call_leg_id: &str, started_at: Option<&str>) -> String {
    match started_at {
        Some(at) => format!("{PREFIX}{call_leg_id}@{at}"),
        None => format!("{PREFIX}{call_leg_id}"),
    }
}

/// The call leg and start (as sent) of a stand-in id; `None` for a Telnyx id.
pub(super) fn parse_stand_in(id: &str) -> Option<(&str, Option<&str>)> {
    let rest = id.strip_prefix(PREFIX)?;
    Some(match rest.split_once('@') {
        Some((leg, at)) => (leg, Some(at)),
        None => (rest, None),
    })
}

/// The page of `GET /v2/recordings` (telnyx-python `RecordingResponseData`: `id`,
/// `call_leg_id`, `call_session_id`, `recording_started_at`, `status`, `duration_millis`).
#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<Recording>,
}

#[derive(Debug, Deserialize)]
struct Recording {
    id: Option<String>,
    call_leg_id: Option<String>,
    call_session_id: Option<String>,
    recording_started_at: Option<String>,
    status: Option<String>,
    duration_millis: Option<u64>,
}

fn page(body: &[u8]) -> Result<Page, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("the recordings page is not the documented JSON: {e}"))
}

/// One recording event per recording of the session `call` listed, keyed
/// `{session}:recording:{id}:listed:{status}` (a `call.recording.saved` webhook's key is its
/// event id, which a listing has not: the two fold to the same recording by its id). The
/// reference documents one status, `completed`; any other is an `Unmapped` event of the
/// call, never a recording. A recording naming another session is left out.
pub(super) fn read_listing(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    listing::events(
        call,
        &page(body)?.data,
        |rec| given(&rec.call_session_id),
        |rec| {
            let id = given(&rec.id).ok_or("a listed recording has no id")?;
            let status = given(&rec.status).ok_or("a listed recording has no status")?;
            let completed = (status == "completed").then_some(RecordingProgress::Completed);
            let duration = rec.duration_millis.map(|ms| ms.div_ceil(1000));
            let kind = listing::recording(id, completed, "status", status, duration);
            Ok(Some((
                format!("{call}:recording:{id}:listed:{status}"),
                kind,
            )))
        },
    )
}

/// The id of the recording of `leg` started at `started_at` in a recordings page: `None`
/// when the leg has none listed (a listed recording that names no call leg is not the
/// leg's); an error when the page is not one, or names no single
/// recording (several, and no start to tell them apart, or none started then).
pub(super) fn find(
    body: &[u8],
    leg: &str,
    started_at: Option<&str>,
) -> Result<Option<String>, String> {
    let page = page(body)?;
    let of_leg: Vec<&Recording> = page
        .data
        .iter()
        .filter(|r| given(&r.call_leg_id) == Some(leg))
        .collect();
    if of_leg.is_empty() {
        return Ok(None);
    }
    let matching: Vec<&&Recording> = match started_at {
        None => of_leg.iter().collect(),
        Some(at) => {
            let want = dates::rfc3339(at)
                .ok_or_else(|| format!("recording_started_at {at:?} is not a date"))?;
            of_leg
                .iter()
                .filter(|r| {
                    given(&r.recording_started_at)
                        .and_then(dates::rfc3339)
                        .is_some_and(|t| (t - want).abs() < time::Duration::SECOND)
                })
                .collect()
        }
    };
    match matching.as_slice() {
        [one] => given(&one.id)
            .map(|id| Some(id.to_owned()))
            .ok_or_else(|| "the recording listed has no id".to_owned()),
        [] => Err(format!(
            "the call leg's {} recording(s) listed started at another time",
            of_leg.len()
        )),
        many => Err(format!(
            "{} recordings of the call leg match: which one is meant is unknown",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::{Adapter, ConnectionOptions, EventKind, SecretSet};

    const SESSION: &str = "84a97d76-e40f-11ed-9074-02420a0daa69";

    /// A page of `GET /v2/recordings` as the API reference's example shows it ("List all
    /// call recordings"), with a second recording of another session.
    fn listing() -> String {
        format!(
            r#"{{"data":[{{"call_control_id":"v3:e-31OnvjEM7Y4wvxr3TKNk8M3QyLcGZPiUIzCGtwQtOtEjY-B0urkw","call_leg_id":"{SESSION}","call_session_id":"{SESSION}","channels":"dual","conference_id":"{SESSION}","created_at":"2018-02-02T22:25:27.521Z","download_urls":{{"mp3":"https://example.test/a.mp3","wav":"https://example.test/a.wav"}},"duration_millis":60000,"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","record_type":"recording","recording_started_at":"2019-01-23T18:10:02.574Z","recording_ended_at":"2019-01-23T18:10:02.574Z","source":"conference","status":"completed","updated_at":"2018-02-02T22:25:27.521Z"}},{{"call_session_id":"another-session","id":"rec-other","status":"completed"}}],"meta":{{"total_pages":1,"total_results":2,"page_number":1,"page_size":250}}}}"#
        )
    }

    #[test]
    fn a_calls_recordings_are_listed_by_its_session() {
        let s = SecretSet::from_pairs([("api_key", "KEYfake")]);
        let spec = crate::telnyx::Telnyx
            .list_recordings(
                SESSION,
                &s,
                &ConnectionOptions::new(),
                &crate::kit::testing::FRESH,
            )
            .unwrap()
            .unwrap();
        assert_eq!(spec.method, http::Method::GET);
        assert_eq!(
            spec.url,
            format!(
                "https://api.telnyx.com/v2/recordings?filter%5Bcall_session_id%5D={SESSION}&page%5Bsize%5D=250"
            )
        );
        assert_eq!(spec.headers[0].1, "Bearer KEYfake");
    }

    #[test]
    fn listed_recordings_of_the_session_are_completed_recordings_of_the_call() {
        let events = read_listing(SESSION, listing().as_bytes()).unwrap();
        assert_eq!(events.len(), 1, "the other session's recording is left out");
        let e = &events[0];
        assert_eq!(
            e.dedupe_key,
            format!("{SESSION}:recording:3fa85f64-5717-4562-b3fc-2c963f66afa6:listed:completed")
        );
        assert_eq!(e.call_id(), SESSION);
        let EventKind::Recording(r) = &e.kind else {
            panic!("{:?}", e.kind)
        };
        assert_eq!(r.recording_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        assert_eq!(
            (r.status, r.duration_s, r.url.as_deref()),
            (RecordingProgress::Completed, Some(60), None)
        );
    }

    #[test]
    fn an_odd_or_broken_listing() {
        let odd = read_listing(
            SESSION,
            br#"{"data":[{"id":"r1","status":"processing","duration_millis":1500}]}"#,
        )
        .unwrap();
        assert_eq!(odd[0].kind, EventKind::unmapped("status", "processing"));
        assert_eq!(
            read_listing(SESSION, br#"{"data":[]}"#).unwrap(),
            Vec::new()
        );
        assert!(read_listing(SESSION, b"[]").is_err());
        assert!(read_listing(SESSION, br#"{"data":[{"status":"completed"}]}"#).is_err());
        assert!(read_listing(SESSION, br#"{"data":[{"id":"r1"}]}"#).is_err());
    }
}
