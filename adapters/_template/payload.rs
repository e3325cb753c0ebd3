//! Acme webhook bodies to events.
//!
//! FILL IN: the provider's webhook types, how to tell them apart, and which fields each one
//! has. The template's webhook is one JSON object per call event:
//! `{"event_id", "call_id", "status", "direction", "from", "to", "occurred_at"}`, answered
//! with 204.
//!
//! Dedupe key: `{call_id}:{event_id}` (FILL IN: the provider's event id if it has one, else a
//! documented composite such as call id + status + sequence number; write it in README.md).

use super::mapping;
use crate::kit::{CallEvent, EventKind, Leg, ParseError, Parsed, Party, Reply, Verified, dates};

/// The body, as the provider sends it. Every field is optional here: a missing required one
/// is reported by name.
#[derive(Debug, serde::Deserialize)]
struct Body {
    event_id: Option<String>,
    call_id: Option<String>,
    status: Option<String>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    occurred_at: Option<String>,
}

/// A required string field: absent and empty are both missing.
fn require(value: &Option<String>, name: &'static str) -> Result<String, ParseError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or(ParseError::MissingField(name))
}

/// Parses a verified Acme webhook.
pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    req.request().require_content_type("application/json")?;
    let body: Body = serde_json::from_slice(req.body())
        .map_err(|_| ParseError::Malformed("not a JSON object of the expected shape".to_owned()))?;
    let event_id = require(&body.event_id, "event_id")?;
    let call_id = require(&body.call_id, "call_id")?;
    let status = require(&body.status, "status")?;
    let kind = match mapping::call_status(&status) {
        Some(progress) => EventKind::Call { progress },
        None => EventKind::Unmapped {
            field: "status".to_owned(),
            value: status,
        },
    };
    let event = CallEvent {
        dedupe_key: format!("{call_id}:{event_id}"),
        provider_call_id: call_id,
        occurred_at: body.occurred_at.as_deref().and_then(dates::rfc3339),
        party: Party {
            direction: body.direction.as_deref().and_then(mapping::direction),
            from: body.from,
            to: body.to,
            caller_name: None,
            // FILL IN: the number the call was forwarded from, if the provider reports it.
            forwarded_from: None,
            routing_reason: None,
        },
        kind,
        // FILL IN: the parent call or session the leg belongs to, and on an agent's leg the
        // agent it rang, if the provider reports them (see twilio/payload.rs).
        leg: Leg::default(),
    };
    Ok(Parsed {
        events: vec![event],
        reply: Reply::NoContent,
    })
}
