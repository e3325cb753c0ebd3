//! Bandwidth Voice callbacks to events (providers.md 6.2, 6.3). Every callback is one JSON
//! object named by `eventType`:
//!
//! - `initiate`, `answer`: the call's progress;
//! - `disconnect`: the call's end, by `cause`;
//! - `recordComplete`: a recording stopped, its media not yet downloadable;
//! - `recordingAvailable`: its media is ready (or failed), by `status`;
//! - `transferAnswer`, `transferDisconnect`: the B leg a `<Transfer>` dialed (its own
//!   `callId`) answered or ended; it is a leg of the A leg's call (`parentCallId`), and rang
//!   `transferTo` (its `to` is the A leg's);
//! - informational callbacks (machine detection, `transferComplete` on the A leg, gather,
//!   DTMF, bridges, conferences, media streams, transcriptions): no event, they change no
//!   call's state and never make a call;
//! - any other type about a call (`callId`): kept as `Unmapped`; about no call: no event.
//!
//! `diversion.origTo` is the number the call was forwarded from, `diversion.reason` why.
//!
//! Synchronous callbacks get an empty BXML document back, the others 204. Bandwidth sends no
//! event id, so dedupe keys are `callId` + what happened (formats in README.md).

use super::mapping;
use crate::kit::adapter::given;
use crate::kit::{
    CallEvent, Direction, EventKind, Leg, LegRole, ParseError, Parsed, Party, RecordingEvent,
    RecordingProgress, Reply, Verified, dates,
};
use serde::Deserialize;
use time::OffsetDateTime;

/// The reply to a synchronous callback: BXML with nothing to run.
pub(super) const EMPTY_BXML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The fields callgate reads; every other field is ignored (it stays in the stored delivery).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Callback {
    event_type: Option<String>,
    event_time: Option<String>,
    call_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    direction: Option<String>,
    caller_display_name: Option<String>,
    start_time: Option<String>,
    answer_time: Option<String>,
    end_time: Option<String>,
    cause: Option<String>,
    recording_id: Option<String>,
    media_url: Option<String>,
    duration: Option<String>,
    status: Option<String>,
    parent_call_id: Option<String>,
    transfer_to: Option<String>,
    diversion: Option<Diversion>,
}

/// `diversion`: the SIP Diversion of a forwarded call.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Diversion {
    orig_to: Option<String>,
    reason: Option<String>,
}

/// Parses a verified Bandwidth callback.
pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    let cb: Callback = req.json()?;
    let event_type = given(&cb.event_type).ok_or(ParseError::MissingField("eventType"))?;
    let reply = if mapping::expects_bxml(event_type) {
        Reply::Markup {
            content_type: "application/xml",
            body: EMPTY_BXML.to_owned(),
        }
    } else {
        Reply::NoContent
    };
    let events = match event_type {
        "initiate" | "answer" | "disconnect" | "transferAnswer" | "transferDisconnect" => {
            vec![call_event(&cb, event_type)?]
        }
        "recordComplete" | "recordingAvailable" => vec![recording_event(&cb, event_type)?],
        _ if mapping::is_informational(event_type) => Vec::new(),
        _ => match given(&cb.call_id) {
            Some(call_id) => {
                let key = format!(
                    "{call_id}:event:{event_type}:{}",
                    given(&cb.event_time).unwrap_or("-")
                );
                let kind = EventKind::unmapped("eventType", event_type);
                vec![event(&cb, call_id, key, time(&cb.event_time), kind)]
            }
            None => Vec::new(),
        },
    };
    Ok(Parsed { events, reply })
}

fn call_id(cb: &Callback) -> Result<&str, ParseError> {
    given(&cb.call_id).ok_or(ParseError::MissingField("callId"))
}

fn time(value: &Option<String>) -> Option<OffsetDateTime> {
    given(value).and_then(dates::rfc3339)
}

fn event(
    cb: &Callback,
    call_id: &str,
    dedupe_key: String,
    occurred_at: Option<OffsetDateTime>,
    kind: EventKind,
) -> CallEvent {
    CallEvent {
        dedupe_key,
        provider_call_id: call_id.to_owned(),
        occurred_at,
        party: Party {
            direction: given(&cb.direction).and_then(Direction::inbound_outbound),
            from: given(&cb.from).map(str::to_owned),
            to: given(&cb.to).map(str::to_owned),
            caller_name: given(&cb.caller_display_name).map(str::to_owned),
            forwarded_from: cb
                .diversion
                .as_ref()
                .and_then(|d| given(&d.orig_to))
                .map(str::to_owned),
            routing_reason: cb
                .diversion
                .as_ref()
                .and_then(|d| given(&d.reason))
                .and_then(mapping::diversion_reason),
        },
        kind,
        leg: leg(cb, call_id),
    }
}

/// A callback naming another call in `parentCallId` is about a leg of that call: the B leg
/// of a `<Transfer>` (its transfer events, its recordings). The transfer events are about
/// the leg dialed to `transferTo`, whose phone it rang: an agent's leg.
fn leg(cb: &Callback, call_id: &str) -> Leg {
    let Some(parent) = given(&cb.parent_call_id).filter(|p| *p != call_id) else {
        return Leg::default();
    };
    let transfer = matches!(
        given(&cb.event_type),
        Some("transferAnswer" | "transferDisconnect")
    );
    Leg {
        parent_call_id: Some(parent.to_owned()),
        session_id: None,
        role: transfer.then_some(LegRole::Agent),
        agent_identity: given(&cb.transfer_to)
            .filter(|_| transfer)
            .map(str::to_owned),
        lookup_handle: None,
    }
}

/// `initiate`, `answer`, `disconnect`, and a B leg's `transferAnswer`, `transferDisconnect`.
/// The time is the one the event is about (`startTime`, `answerTime`, `endTime`), else
/// `eventTime` (which Bandwidth calls approximate).
fn call_event(cb: &Callback, event_type: &str) -> Result<CallEvent, ParseError> {
    let call_id = call_id(cb)?;
    let (key, kind, at) = if event_type == "disconnect" || event_type == "transferDisconnect" {
        let cause = given(&cb.cause).ok_or(ParseError::MissingField("cause"))?;
        let kind = mapping::cause(cause).map_or_else(
            || EventKind::unmapped("cause", cause),
            |progress| EventKind::Call { progress },
        );
        (
            format!("{call_id}:call:{event_type}:{cause}"),
            kind,
            &cb.end_time,
        )
    } else {
        let kind = mapping::call_event(event_type).map_or_else(
            || EventKind::unmapped("eventType", event_type),
            |progress| EventKind::Call { progress },
        );
        let at = if event_type == "answer" || event_type == "transferAnswer" {
            &cb.answer_time
        } else {
            &cb.start_time
        };
        (format!("{call_id}:call:{event_type}"), kind, at)
    };
    let occurred_at = time(at).or_else(|| time(&cb.event_time));
    Ok(event(cb, call_id, key, occurred_at, kind))
}

/// `recordComplete` (media not downloadable yet: `InProgress`, so nothing is deleted
/// before it exists) and `recordingAvailable` (by `status`; absent, the event itself says
/// the media is available).
fn recording_event(cb: &Callback, event_type: &str) -> Result<CallEvent, ParseError> {
    let call_id = call_id(cb)?;
    let recording_id = given(&cb.recording_id).ok_or(ParseError::MissingField("recordingId"))?;
    let status = if event_type == "recordComplete" {
        Ok(RecordingProgress::InProgress)
    } else {
        match given(&cb.status) {
            None => Ok(RecordingProgress::Completed),
            Some(raw) => mapping::recording_status(raw).ok_or(raw),
        }
    };
    let kind = match status {
        Ok(status) => EventKind::Recording(RecordingEvent {
            recording_id: recording_id.to_owned(),
            status,
            url: given(&cb.media_url).map(str::to_owned),
            duration_s: given(&cb.duration).and_then(dates::iso8601_duration_secs),
        }),
        Err(raw) => EventKind::unmapped("status", raw),
    };
    let key = format!("{call_id}:recording:{recording_id}:{event_type}");
    Ok(event(cb, call_id, key, time(&cb.event_time), kind))
}
