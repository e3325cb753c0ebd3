//! Amazon Connect contact events (providers.md 7.1). The body is an EventBridge event:
//! `{"id", "detail-type": "Amazon Connect Contact Event", "source": "aws.connect", "time",
//! "detail": {...}}`. AWS's samples spell the detail's keys in more than one case
//! (`agentInfo` / `AgentInfo`), so keys are matched without regard to case.
//!
//! - The dedupe key is the EventBridge event `id`.
//! - The leg is the contact (`contactId`). A transfer makes a new contact of the same call:
//!   it names the first contact in `initialContactId` (else the one before it in
//!   `previousContactId`), the customer's call it is a leg of.
//! - `CONNECTED_TO_AGENT` names the agent who took the contact: `agentInfo.username` where
//!   an event carries one (UNCONFIRMED: AWS's samples show none), else `agentInfo.agentArn`.
//! - Only voice contacts make events; chats, tasks and emails are no calls (none).
//! - The events carry no phone numbers: the contact flow puts them in contact attributes
//!   (`callgate_from`, `callgate_to`, README.md), read from `attributes` (any case) when an
//!   event carries them.

use super::mapping::{self, EventType};
use crate::kit::{
    CallEvent, EventKind, Leg, LegRole, ParseError, Parsed, Party, Reply, Verified, dates,
};
use serde_json::{Map, Value};

/// The `detail-type` of a contact event.
const CONTACT_EVENT: &str = "Amazon Connect Contact Event";

/// The contact attributes the flow sets with the caller's and the dialed number.
pub(super) const FROM_ATTRIBUTE: &str = "callgate_from";
pub(super) const TO_ATTRIBUTE: &str = "callgate_to";

/// A key of `object`, in any case.
fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object
        .get(name)
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn text<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
    field(object, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    let body: Value = req.json()?;
    let envelope = body.as_object().ok_or(ParseError::Malformed(
        "the body is not an EventBridge event object".into(),
    ))?;
    let id = text(envelope, "id").ok_or(ParseError::MissingField("id"))?;
    let detail_type =
        text(envelope, "detail-type").ok_or(ParseError::MissingField("detail-type"))?;
    let detail = field(envelope, "detail")
        .and_then(Value::as_object)
        .ok_or(ParseError::MissingField("detail"))?;
    let initial = text(detail, "initialContactId");
    let contact = text(detail, "contactId")
        .or(initial)
        .ok_or(ParseError::MissingField("detail.contactId"))?;
    let no_events = Parsed {
        events: Vec::new(),
        reply: Reply::NoContent,
    };
    if let Some(channel) = text(detail, "channel")
        && !channel.eq_ignore_ascii_case("VOICE")
    {
        return Ok(no_events);
    }
    let attributes = field(detail, "attributes").and_then(Value::as_object);
    let attribute = |name: &str| attributes.and_then(|a| text(a, name)).map(str::to_owned);
    let event_type = text(detail, "eventType");
    let leg = leg(detail, contact, event_type);
    let event = |kind: EventKind| CallEvent {
        dedupe_key: id.to_owned(),
        provider_call_id: contact.to_owned(),
        occurred_at: text(envelope, "time").and_then(dates::rfc3339),
        party: Party {
            direction: text(detail, "initiationMethod").and_then(mapping::direction),
            from: attribute(FROM_ATTRIBUTE),
            to: attribute(TO_ATTRIBUTE),
            caller_name: None,
            forwarded_from: None,
            routing_reason: None,
        },
        kind,
        leg: leg.clone(),
    };
    if detail_type != CONTACT_EVENT {
        return Ok(Parsed {
            events: vec![event(EventKind::unmapped("detail-type", detail_type))],
            reply: Reply::NoContent,
        });
    }
    let event_type = event_type.ok_or(ParseError::MissingField("detail.eventType"))?;
    let events = match mapping::event_type(event_type) {
        Some(EventType::Call(progress)) => vec![event(EventKind::Call { progress })],
        Some(EventType::Ignored) => return Ok(no_events),
        None => vec![event(EventKind::unmapped("eventType", event_type))],
    };
    Ok(Parsed {
        events,
        reply: Reply::NoContent,
    })
}

/// Where the contact sits in the customer's call. A contact made by a transfer names the
/// call's first contact (`initialContactId`, else `previousContactId`): it is a transfer leg
/// of that call. On `CONNECTED_TO_AGENT` the agent is named, the leg's agent identity.
fn leg(detail: &Map<String, Value>, contact: &str, event_type: Option<&str>) -> Leg {
    let parent = text(detail, "initialContactId")
        .or_else(|| text(detail, "previousContactId"))
        .filter(|p| *p != contact);
    let agent = field(detail, "agentInfo")
        .and_then(Value::as_object)
        .and_then(|a| text(a, "username").or_else(|| text(a, "agentArn")))
        .filter(|_| event_type == Some("CONNECTED_TO_AGENT"));
    Leg {
        role: parent.map(|_| LegRole::Transfer),
        parent_call_id: parent.map(str::to_owned),
        session_id: None,
        agent_identity: agent.map(str::to_owned),
        lookup_handle: None,
    }
}
