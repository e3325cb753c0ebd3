//! Telnyx webhooks to events (providers.md 2.2, 2.3). A request is one of:
//!
//! - a Call Control (Voice API v2) event: JSON `{"data": {"event_type", "id", "occurred_at",
//!   "payload": {...}}}`. The dedupe key is `data.id`, the leg its `call_leg_id`, and the
//!   customer's call the `call_session_id` every leg of it shares;
//! - a TeXML callback: a form body with Twilio's names and values (`CallSid` is the call
//!   control id), read by the Twilio adapter's parser. It must be a POST: the signature
//!   covers the body only, so a GET's query would be unsigned. Its reply is 200 (empty, or
//!   TeXML for the voice URL), never Twilio's 204.

use super::mapping::{self, EventType};
use crate::kit::adapter::given;
use crate::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, LegRole, ParseError, Parsed, Party,
    RecordingEvent, RecordingProgress, Reply, Verified, dates,
};
use http::Method;
use serde::Deserialize;
use serde_json::Value;

/// Parses a verified Telnyx webhook.
pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    if req.request().content_type().as_deref() == Some("application/x-www-form-urlencoded") {
        return parse_texml(req);
    }
    let body: Envelope = req.json()?;
    let data = body.data.ok_or(ParseError::MissingField("data"))?;
    let id = given(&data.id).ok_or(ParseError::MissingField("data.id"))?;
    let event_type = given(&data.event_type).ok_or(ParseError::MissingField("data.event_type"))?;
    let p = data.payload.unwrap_or_default();
    let call = Call::of(given(&data.occurred_at), &p)?;
    let events = match mapping::event_type(event_type) {
        None => vec![call.event(id.to_owned(), EventKind::unmapped("event_type", event_type))],
        Some(EventType::Ignored) => Vec::new(),
        Some(EventType::Call(progress)) => {
            vec![call.event(id.to_owned(), EventKind::Call { progress })]
        }
        Some(EventType::Hangup) => call.hangup(id, given(&p.hangup_cause)),
        Some(EventType::RecordingSaved) => vec![call.event(id.to_owned(), recording_saved(&p)?)],
        Some(EventType::RecordingError) => vec![call.event(
            id.to_owned(),
            EventKind::Recording(RecordingEvent {
                // Nothing was made, so nothing needs deleting: the event id stands in.
                recording_id: given(&p.recording_id).unwrap_or(id).to_owned(),
                status: RecordingProgress::Failed,
                url: None,
                duration_s: None,
            }),
        )],
    };
    Ok(Parsed {
        events,
        reply: Reply::Empty,
    })
}

/// A TeXML callback: Twilio's form, read by the Twilio adapter's parser, answered 200.
fn parse_texml(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    if req.request().method != Method::POST {
        return Err(ParseError::Malformed(
            "TeXML callbacks must be POST: the signature does not cover a query".into(),
        ));
    }
    let mut parsed = crate::twilio::payload::parse(req)?;
    // Twilio's status callbacks get 204; Telnyx wants 200 for TeXML callbacks too ("The
    // server must return an HTTP 200, otherwise we will reattempt delivery at the
    // failover webhook URL", its TeXML callback reference), as for Call Control events.
    if parsed.reply == Reply::NoContent {
        parsed.reply = Reply::Empty;
    }
    Ok(parsed)
}

/// What every event of one Call Control webhook shares: the call leg, the time, the parties,
/// where the leg sits in the customer's call.
struct Call {
    provider_call_id: String,
    occurred_at: Option<time::OffsetDateTime>,
    party: Party,
    leg: Leg,
}

impl Call {
    fn of(occurred_at: Option<&str>, p: &Payload) -> Result<Self, ParseError> {
        let call_id = given(&p.call_leg_id)
            .or(given(&p.call_control_id))
            .ok_or(ParseError::MissingField("payload.call_leg_id"))?;
        let party = Party {
            direction: given(&p.direction).and_then(mapping::direction),
            from: given(&p.from).map(str::to_owned),
            to: given(&p.to).map(str::to_owned),
            caller_name: given(&p.caller_id_name).map(str::to_owned),
            forwarded_from: None,
            routing_reason: None,
        };
        Ok(Self {
            provider_call_id: call_id.to_owned(),
            occurred_at: occurred_at.and_then(dates::rfc3339),
            leg: leg(given(&p.call_session_id), given(&p.call_control_id), &party),
            party,
        })
    }

    fn event(&self, dedupe_key: String, kind: EventKind) -> CallEvent {
        CallEvent {
            dedupe_key,
            provider_call_id: self.provider_call_id.clone(),
            occurred_at: self.occurred_at,
            party: self.party.clone(),
            kind,
            leg: self.leg.clone(),
        }
    }

    /// `call.hangup`: the progress its cause maps to; or, for a cause without a mapping, the
    /// call completed (it ended, whatever the cause) and the cause kept as unmapped.
    fn hangup(&self, id: &str, cause: Option<&str>) -> Vec<CallEvent> {
        match cause.and_then(mapping::hangup_cause) {
            Some(progress) => vec![self.event(id.to_owned(), EventKind::Call { progress })],
            None => vec![
                self.event(
                    id.to_owned(),
                    EventKind::Call {
                        progress: CallProgress::Completed,
                    },
                ),
                self.event(
                    format!("{id}:hangup_cause"),
                    EventKind::unmapped("hangup_cause", cause.unwrap_or("")),
                ),
            ],
        }
    }
}

/// Every leg of one customer call shares its `call_session_id` (providers.md 2.2): the
/// session is the call. An `incoming` leg is the customer's; an `outgoing` one was dialed
/// from the session (a transfer, a dial to an agent), and its `to` names whose phone it rang.
/// A recording event names no direction: its leg's role is left to its other events. The
/// leg's `call_control_id` is what Call Control's "Retrieve a call status" takes: kept as the
/// leg's lookup handle.
fn leg(session: Option<&str>, call_control_id: Option<&str>, party: &Party) -> Leg {
    let outgoing = party.direction == Some(Direction::Outbound);
    Leg {
        parent_call_id: None,
        session_id: session.map(str::to_owned),
        role: (party.direction == Some(Direction::Inbound)).then_some(LegRole::Customer),
        agent_identity: party.to.clone().filter(|_| outgoing),
        lookup_handle: call_control_id.map(str::to_owned),
    }
}

/// `call.recording.saved`: a completed recording, with its media and length.
fn recording_saved(p: &Payload) -> Result<EventKind, ParseError> {
    // The OpenAPI spec's payload has no `recording_id` (Telnyx's page on storing recordings
    // shows one): without it, the recording is known by its call leg and start, and its id
    // is looked up through the recordings API to delete it.
    let recording_id = match given(&p.recording_id) {
        Some(id) => id.to_owned(),
        None => super::lookup::stand_in_id(
            given(&p.call_leg_id).ok_or(ParseError::MissingField("payload.recording_id"))?,
            given(&p.recording_started_at),
        ),
    };
    Ok(EventKind::Recording(RecordingEvent {
        recording_id,
        status: RecordingProgress::Completed,
        url: recording_url(p),
        duration_s: duration(p),
    }))
}

/// The media location: `recording_urls` (signed, short-lived), MP3 first.
fn recording_url(p: &Payload) -> Option<String> {
    let urls = p.recording_urls.as_ref()?;
    ["mp3", "wav"]
        .iter()
        .find_map(|f| urls.get(f).and_then(Value::as_str))
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

/// Whole seconds from `recording_started_at` to `recording_ended_at`.
fn duration(p: &Payload) -> Option<u64> {
    let started = given(&p.recording_started_at).and_then(dates::rfc3339)?;
    let ended = given(&p.recording_ended_at).and_then(dates::rfc3339)?;
    u64::try_from((ended - started).whole_seconds()).ok()
}

#[derive(Debug, Deserialize)]
struct Envelope {
    data: Option<Data>,
}

#[derive(Debug, Deserialize)]
struct Data {
    id: Option<String>,
    event_type: Option<String>,
    occurred_at: Option<String>,
    payload: Option<Payload>,
}

#[derive(Debug, Default, Deserialize)]
struct Payload {
    call_control_id: Option<String>,
    call_leg_id: Option<String>,
    call_session_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    direction: Option<String>,
    caller_id_name: Option<String>,
    hangup_cause: Option<String>,
    recording_id: Option<String>,
    recording_urls: Option<Value>,
    recording_started_at: Option<String>,
    recording_ended_at: Option<String>,
}
