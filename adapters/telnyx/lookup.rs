//! A saved recording whose webhook carries no `recording_id` (`call.recording.saved` as
//! Telnyx's OpenAPI spec publishes it): it is known by a stand-in id made of its call leg and
//! start, `call_leg:{call_leg_id}@{recording_started_at}`, and its real id is looked up with
//! `GET /v2/recordings?filter[call_leg_id]=...` before it is deleted (README.md).

use crate::kit::adapter::given;
use crate::kit::dates;
use serde::Deserialize;

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
/// `call_leg_id`, `recording_started_at`, ...).
#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<Recording>,
}

#[derive(Debug, Deserialize)]
struct Recording {
    id: Option<String>,
    call_leg_id: Option<String>,
    recording_started_at: Option<String>,
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
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| format!("the recordings page is not the documented JSON: {e}"))?;
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
