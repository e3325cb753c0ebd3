//! The open event format (CONTRACT.md): one JSON object per event,
//! `{"type", "call_id", "from", "to", "direction", "occurred_at", "caller_name",
//! "recording": {"id", "url", "duration_s"}}` (`recording` on `recording.completed` only),
//! answered with 204. Dedupe key: the `webhook-id` header, the sender's idempotency key.

use super::{mapping, signature};
use crate::kit::{
    CallEvent, EventKind, Leg, LegRole, ParseError, Parsed, Party, RecordingEvent,
    RecordingProgress, Reply, RoutingReason, Verified, dates,
};

#[derive(Debug, serde::Deserialize)]
struct Recording {
    id: Option<String>,
    url: Option<String>,
    duration_s: Option<u64>,
}

#[derive(Debug, serde::Deserialize)]
struct Body {
    #[serde(rename = "type")]
    kind: Option<String>,
    call_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    direction: Option<String>,
    occurred_at: Option<String>,
    caller_name: Option<String>,
    recording: Option<Recording>,
    parent_call_id: Option<String>,
    agent_identity: Option<String>,
    forwarded_from: Option<String>,
    routing_reason: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `routing_reason`: `overflow`, `after_hours` or `queue_timeout`. The sender writes this
/// format for callgate, so another value is a mistake to report (400), not a fact to keep.
fn routing_reason(raw: Option<&str>) -> Result<Option<RoutingReason>, ParseError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => RoutingReason::parse(raw)
            .map(Some)
            .ok_or(ParseError::InvalidField {
                field: "routing_reason",
                reason: "not overflow, after_hours or queue_timeout",
            }),
    }
}

/// The leg: a leg of `parent_call_id` when it names another call; an agent's leg when it
/// also names `agent_identity`.
fn leg(parent: Option<String>, agent_identity: Option<String>, call_id: &str) -> Leg {
    let parent = parent.filter(|p| p != call_id);
    Leg {
        role: parent
            .as_ref()
            .and(agent_identity.as_ref())
            .map(|_| LegRole::Agent),
        parent_call_id: parent,
        session_id: None,
        agent_identity,
        lookup_handle: None,
    }
}

fn require(value: Option<&str>, name: &'static str) -> Result<String, ParseError> {
    value
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or(ParseError::MissingField(name))
}

pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    req.request().require_content_type("application/json")?;
    let body: Body =
        serde_json::from_slice(req.body()).map_err(|e| ParseError::json("the event object", &e))?;
    let id = req
        .request()
        .header(signature::ID_HEADER)
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let dedupe_key = require(id.as_deref(), "webhook-id")?;
    let call_id = require(body.call_id.as_deref(), "call_id")?;
    let kind_raw = require(body.kind.as_deref(), "type")?;
    let kind = if kind_raw == "recording.completed" {
        let rec = body
            .recording
            .as_ref()
            .ok_or(ParseError::MissingField("recording"))?;
        EventKind::Recording(RecordingEvent {
            recording_id: require(rec.id.as_deref(), "recording.id")?,
            status: RecordingProgress::Completed,
            url: rec.url.clone().filter(|u| !u.is_empty()),
            duration_s: rec.duration_s,
        })
    } else {
        match mapping::call_type(&kind_raw) {
            Some(progress) => EventKind::Call { progress },
            None => EventKind::Unmapped {
                field: "type".to_owned(),
                value: kind_raw,
            },
        }
    };
    let occurred_at = match body.occurred_at.as_deref() {
        None | Some("") => None,
        Some(t) => Some(dates::rfc3339(t).ok_or(ParseError::InvalidField {
            field: "occurred_at",
            reason: "not an RFC 3339 time",
        })?),
    };
    let routing_reason = routing_reason(body.routing_reason.as_deref())?;
    let leg = leg(
        non_empty(body.parent_call_id),
        non_empty(body.agent_identity),
        &call_id,
    );
    Ok(Parsed {
        events: vec![CallEvent {
            dedupe_key,
            provider_call_id: call_id,
            occurred_at,
            party: Party {
                direction: body.direction.as_deref().and_then(mapping::direction),
                from: body.from.filter(|v| !v.is_empty()),
                to: body.to.filter(|v| !v.is_empty()),
                caller_name: body.caller_name.filter(|v| !v.is_empty()),
                forwarded_from: non_empty(body.forwarded_from),
                routing_reason,
            },
            kind,
            leg,
        }],
        reply: Reply::NoContent,
    })
}
