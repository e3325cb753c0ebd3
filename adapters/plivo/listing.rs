//! The recordings of a call, listed for a call whose recording callback may be lost:
//! `GET {origin}/v1/Account/{auth_id}/Recording/?call_uuid={CallUUID}&limit=20`, a page
//! `{"meta": {...}, "objects": [...]}` of Recording objects (`recording_id`, `call_uuid`,
//! `recording_duration_ms`, ...). Sources and what is unconfirmed: README.md, "Looking
//! calls up".

use crate::kit::adapter::{encode_path_segment, given};
use crate::kit::{CallEvent, RecordingProgress, listing};
use serde::Deserialize;

/// The most recordings one page holds (the API's maximum `limit`). A call has a few.
const LIMIT: u32 = 20;

/// The listing under the account: `Recording/?call_uuid={call}&limit=20`.
pub(super) fn resource(call: &str) -> String {
    format!(
        "Recording/?call_uuid={}&limit={LIMIT}",
        encode_path_segment(call)
    )
}

#[derive(Debug, Deserialize)]
struct Page {
    objects: Vec<Recording>,
}

#[derive(Debug, Deserialize)]
struct Recording {
    recording_id: Option<String>,
    call_uuid: Option<String>,
    /// Milliseconds, as a decimal string (`"345100.00000"`).
    recording_duration_ms: Option<String>,
}

/// Whole seconds, rounded up, of a duration in milliseconds written as a decimal string.
fn seconds(ms: &str) -> Option<u64> {
    let ms: f64 = ms.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| (ms / 1000.0).ceil() as u64)
}

/// One completed recording event per recording of `call` listed, keyed as the recording
/// callback is (`{CallUUID}:recording:{RecordingID}`): Plivo lists only recordings that
/// were made, so a listing and a callback about one recording are one event. A recording
/// naming another call is left out.
pub(super) fn read(call: &str, body: &[u8]) -> Result<Vec<CallEvent>, String> {
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| format!("the recordings page is not the documented JSON: {e}"))?;
    listing::events(
        call,
        &page.objects,
        |rec| given(&rec.call_uuid),
        |rec| {
            let id = given(&rec.recording_id).ok_or("a listed recording has no recording_id")?;
            let duration = given(&rec.recording_duration_ms).and_then(seconds);
            let completed = Some(RecordingProgress::Completed);
            let kind = listing::recording(id, completed, "status", "", duration);
            Ok(Some((format!("{call}:recording:{id}"), kind)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::{Adapter, ConnectionOptions, EventKind, SecretSet};

    const CALL: &str = "c2c128e2-1c8c-11e4-9bff-1db8a9db0432";

    /// A page of "List all recordings" with the Recording object of the API reference's
    /// example, and one recording of another call.
    fn page() -> String {
        format!(
            r#"{{"api_id":"7abf0744-1ca0-11e4-a2d1-22000ac5040c","meta":{{"count":2,"limit":20,"next":null,"offset":0,"previous":null}},"objects":[{{"add_time":"2020-08-05 16:15:15.852059+05:30","call_uuid":"{CALL}","conference_name":"noname","recording_duration_ms":"345100.00000","recording_end_ms":"1407235509007.00000","recording_format":"mp3","recording_id":"c2186400-1c8c-11e4-a664-0026b945b52x","recording_start_ms":"1407235163907.00000","recording_type":"conference","recording_url":"http://s3.amazonaws.com/recordings_2013/c2186400-1c8c-11e4-a664-0026b945b52x.mp3","resource_uri":"/v1/Account/MA2025RK4E639VJFZAGV/Recording/c2186400-1c8c-11e4-a664-0026b945b52x/"}},{{"call_uuid":"another-call","recording_id":"r-other","recording_duration_ms":"1000.00000"}}]}}"#
        )
    }

    #[test]
    fn a_calls_recordings_are_listed_by_its_uuid() {
        let s = SecretSet::from_pairs([("auth_id", "MAFAKE"), ("auth_token", "tok")]);
        let none = ConnectionOptions::new();
        let spec = crate::plivo::Plivo
            .list_recordings(CALL, &s, &none, &crate::kit::testing::FRESH)
            .unwrap()
            .unwrap();
        assert_eq!(spec.method, http::Method::GET);
        assert_eq!(
            spec.url,
            format!("https://api.plivo.com/v1/Account/MAFAKE/Recording/?call_uuid={CALL}&limit=20")
        );
        assert!(spec.headers[0].1.starts_with("Basic "));
    }

    #[test]
    fn listed_recordings_are_keyed_as_their_callbacks() {
        let events = read(CALL, page().as_bytes()).unwrap();
        assert_eq!(events.len(), 1, "another call's recording is left out");
        assert_eq!(
            events[0].dedupe_key,
            format!("{CALL}:recording:c2186400-1c8c-11e4-a664-0026b945b52x")
        );
        let EventKind::Recording(r) = &events[0].kind else {
            panic!("{:?}", events[0].kind)
        };
        assert_eq!(
            (r.status, r.duration_s, r.url.as_deref()),
            (RecordingProgress::Completed, Some(346), None)
        );
        assert_eq!(read(CALL, br#"{"objects":[]}"#).unwrap(), Vec::new());
        assert!(read(CALL, b"[]").is_err());
        let no_id = format!(r#"{{"objects":[{{"call_uuid":"{CALL}"}}]}}"#);
        assert!(read(CALL, no_id.as_bytes()).is_err());
        assert_eq!(seconds("oops"), None);
        assert_eq!(seconds("-5"), None);
    }
}
