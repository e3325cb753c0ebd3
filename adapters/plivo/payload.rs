//! Plivo callbacks (form bodies, or the query of a GET, providers.md 4.4) to events.
//!
//! - a recording callback (`RecordingID` present): a completed recording of `CallUUID`;
//! - an answer, ring or hangup callback (`CallStatus`): the call's progress.
//!
//! Dedupe keys (Plivo has no event id): `{CallUUID}:{CallStatus}` for call progress, and
//! `{CallUUID}:recording:{RecordingID}` for a recording. The answer URL's request
//! (`Event=StartApp`) gets an empty Plivo XML document, which leaves the call as it is;
//! every other callback gets 204.

use super::mapping;
use crate::kit::{
    CallEvent, EventKind, ParseError, Parsed, Party, RecordingEvent, RecordingProgress, Reply,
    Verified,
};

pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    // Answer, ring and hangup URLs may be set to GET: the parameters are then the query,
    // which V3 signs (`signature::signed_string`).
    let form = req.params()?;
    let call = form.require("CallUUID")?.to_owned();
    let party = Party {
        direction: form.get("Direction").and_then(mapping::direction),
        from: form.get("From").map(str::to_owned),
        to: form.get("To").map(str::to_owned),
        caller_name: form.get("CallerName").map(str::to_owned),
        forwarded_from: None,
        routing_reason: None,
    };
    let (dedupe_key, kind) = if let Some(rec) = form.get("RecordingID") {
        let duration_s = form.get_u64("RecordingDuration")?;
        (
            format!("{call}:recording:{rec}"),
            EventKind::Recording(RecordingEvent {
                recording_id: rec.to_owned(),
                status: RecordingProgress::Completed,
                url: form.get("RecordUrl").map(str::to_owned),
                duration_s,
            }),
        )
    } else {
        let status = form.require("CallStatus")?;
        let kind = match mapping::call_status(status) {
            Some(progress) => EventKind::Call { progress },
            None => EventKind::Unmapped {
                field: "CallStatus".to_owned(),
                value: status.to_owned(),
            },
        };
        (format!("{call}:{status}"), kind)
    };
    Ok(Parsed {
        events: vec![CallEvent {
            dedupe_key,
            provider_call_id: call,
            occurred_at: None,
            party,
            kind,
            leg: crate::kit::Leg::default(),
        }],
        reply: if form.get("Event") == Some("StartApp") {
            Reply::Markup {
                content_type: "application/xml",
                body: "<Response></Response>".to_owned(),
            }
        } else {
            Reply::NoContent
        },
    })
}
