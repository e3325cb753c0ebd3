//! Vonage Voice webhooks to events (providers.md 3.2). A JSON body is one of:
//!
//! - an event webhook (`status`): a call leg's progress;
//! - a record event (`recording_uuid`), from an NCCO `record` action: it names no leg, only
//!   the conversation;
//! - an answering-machine result (`status` `human` / `machine`): no event, it says nothing
//!   about the call's progress;
//! - another shape (answer, input, transfer, error): no event.
//!
//! An event is about its leg (`uuid`); the customer's call is the `conversation_uuid` all
//! its legs share, the one id a record event carries. Dedupe keys are built from signed
//! content only (formats in README.md).

use super::mapping;
use crate::kit::adapter::given;
use crate::kit::{
    CallEvent, Direction, EventKind, Leg, LegRole, ParseError, Parsed, Party, RecordingEvent,
    RecordingProgress, Reply, Verified, dates,
};
use serde::Deserialize;
use time::OffsetDateTime;

/// The fields callgate reads; every other field is ignored (it stays in the stored delivery).
/// A lookup's leg (`rest.rs`) is read into one, so that both give the same events.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Webhook {
    pub(super) conversation_uuid: Option<String>,
    pub(super) uuid: Option<String>,
    /// Machine-detection events name the leg `call_uuid`.
    pub(super) call_uuid: Option<String>,
    pub(super) status: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) direction: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) timestamp: Option<String>,
    pub(super) recording_uuid: Option<String>,
    pub(super) recording_url: Option<String>,
    pub(super) start_time: Option<String>,
    pub(super) end_time: Option<String>,
}

fn time(value: &Option<String>) -> Option<OffsetDateTime> {
    given(value).and_then(dates::rfc3339)
}

/// Parses a verified Vonage webhook. Every answer is 204: callgate returns no NCCO.
pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    let hook: Webhook = req.json()?;
    let events = if hook.recording_uuid.is_some() {
        vec![record_event(&hook)?]
    } else if let Some(status) = given(&hook.status)
        && !mapping::is_informational(status)
    {
        vec![status_event(&hook, status)?]
    } else {
        Vec::new()
    };
    Ok(Parsed {
        events,
        reply: Reply::NoContent,
    })
}

fn conversation(hook: &Webhook) -> Result<&str, ParseError> {
    given(&hook.conversation_uuid).ok_or(ParseError::MissingField("conversation_uuid"))
}

/// An event webhook: one leg's status. Numbers are as sent (Vonage writes them without
/// `+`; the service normalises them).
pub(super) fn status_event(hook: &Webhook, status: &str) -> Result<CallEvent, ParseError> {
    let conversation = conversation(hook)?;
    let leg = given(&hook.uuid)
        .or_else(|| given(&hook.call_uuid))
        .ok_or(ParseError::MissingField("uuid"))?;
    let detail = given(&hook.detail);
    let kind = mapping::status(status, detail).map_or_else(
        || EventKind::unmapped("status", status),
        |progress| EventKind::Call { progress },
    );
    let direction = given(&hook.direction).and_then(Direction::inbound_outbound);
    let to = given(&hook.to).map(str::to_owned);
    Ok(CallEvent {
        dedupe_key: format!("{conversation}:{leg}:{status}"),
        provider_call_id: leg.to_owned(),
        occurred_at: time(&hook.timestamp),
        leg: Leg {
            parent_call_id: None,
            session_id: Some(conversation.to_owned()),
            // The inbound leg is the customer's; an outbound leg of the conversation was
            // dialed from it (an NCCO `connect`, a transfer), and its `to` names whose phone.
            role: (direction == Some(Direction::Inbound)).then_some(LegRole::Customer),
            agent_identity: to
                .clone()
                .filter(|_| direction == Some(Direction::Outbound)),
            lookup_handle: None,
        },
        party: Party {
            direction,
            from: given(&hook.from).map(str::to_owned),
            to,
            caller_name: None,
            forwarded_from: None,
            routing_reason: None,
        },
        kind,
    })
}

/// A record event: the recording of the conversation is complete. Its duration is
/// `end_time` - `start_time`, when both read. It names the conversation, not a leg (a
/// `uuid`, when one is sent, is its leg): the recording belongs to the conversation's call.
fn record_event(hook: &Webhook) -> Result<CallEvent, ParseError> {
    let conversation = conversation(hook)?;
    let recording_id =
        given(&hook.recording_uuid).ok_or(ParseError::MissingField("recording_uuid"))?;
    let duration_s = match (time(&hook.start_time), time(&hook.end_time)) {
        (Some(start), Some(end)) if end >= start => {
            u64::try_from((end - start).whole_milliseconds().saturating_add(500) / 1000).ok()
        }
        _ => None,
    };
    Ok(CallEvent {
        dedupe_key: format!("{conversation}:recording:{recording_id}"),
        provider_call_id: given(&hook.uuid).unwrap_or(conversation).to_owned(),
        occurred_at: time(&hook.timestamp),
        party: Party::default(),
        kind: EventKind::Recording(RecordingEvent {
            recording_id: recording_id.to_owned(),
            status: RecordingProgress::Completed,
            url: given(&hook.recording_url).map(str::to_owned),
            duration_s,
        }),
        leg: Leg {
            session_id: Some(conversation.to_owned()),
            ..Leg::default()
        },
    })
}
