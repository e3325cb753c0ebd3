//! Dialpad call events (providers.md 8.1): the claims of the body's token. The field names
//! are UNCONFIRMED there, so each is read defensively: ids as strings or numbers, times in
//! milliseconds (or seconds), recording URLs as a string or a list.
//!
//! - The call is `call_id`; the dedupe key `{call_id}:{state}` (a recording:
//!   `{call_id}:recording:{recording id}`), all signed.
//! - Numbers: inbound `external_number` → `internal_number`, outbound the reverse.
//! - A leg of a call routed through a department or call center names the customer's call:
//!   `master_call_id`, else `entry_point_call_id` (UNCONFIRMED names, providers.md 8.1). A
//!   call whose `target` is a user (`"type": "user"`) rang that user: its `target.id` is the
//!   leg's agent identity.

use super::mapping::{self, State};
use crate::kit::{
    CallEvent, EventKind, Leg, LegRole, ParseError, Parsed, Party, RecordingEvent,
    RecordingProgress, Reply, Verified, jwt,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A string or a number, as text.
fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time in milliseconds since the epoch (a value below 10^11 is taken as seconds).
fn time(claims: &Map<String, Value>, name: &str) -> Option<OffsetDateTime> {
    let raw = i128::from(claims.get(name)?.as_i64()?);
    let ms = if raw < 100_000_000_000 {
        raw * 1000
    } else {
        raw
    };
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
}

/// The first recording URL: a string, or the first of a list.
fn recording_url(claims: &Map<String, Value>) -> Option<String> {
    match claims.get("recording_url")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(all) => all.iter().find_map(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    let claims = jwt::claims_of(req.body().trim_ascii())
        .ok_or_else(|| ParseError::Malformed("the body is not a token with claims".into()))?;
    let call_id = text(&claims, "call_id").ok_or(ParseError::MissingField("call_id"))?;
    let state = text(&claims, "state").ok_or(ParseError::MissingField("state"))?;
    let direction = text(&claims, "direction")
        .as_deref()
        .and_then(mapping::direction);
    let (external, internal) = (
        text(&claims, "external_number"),
        text(&claims, "internal_number"),
    );
    let (from, to) = match direction {
        Some(crate::kit::Direction::Outbound) => (internal, external),
        _ => (external, internal),
    };
    let occurred_at = [
        "event_timestamp",
        "date_ended",
        "date_connected",
        "date_started",
    ]
    .iter()
    .find_map(|n| time(&claims, n));
    let leg = leg(&claims, &call_id);
    let event = |dedupe_key: String, kind: EventKind| CallEvent {
        dedupe_key,
        provider_call_id: call_id.clone(),
        occurred_at,
        party: Party {
            direction,
            from: from.clone(),
            to: to.clone(),
            caller_name: text(&claims, "contact_name"),
            forwarded_from: None,
            routing_reason: None,
        },
        kind,
        leg: leg.clone(),
    };
    let events = match mapping::state(&state) {
        Some(State::Call(progress)) => {
            vec![event(
                format!("{call_id}:{state}"),
                EventKind::Call { progress },
            )]
        }
        Some(State::Recording) => {
            let url = recording_url(&claims);
            let recording_id = text(&claims, "recording_id")
                .or_else(|| url.clone())
                .ok_or(ParseError::MissingField("recording_id"))?;
            vec![event(
                format!("{call_id}:recording:{recording_id}"),
                EventKind::Recording(RecordingEvent {
                    recording_id,
                    status: RecordingProgress::Completed,
                    url,
                    duration_s: claims.get("recording_duration").and_then(Value::as_u64),
                }),
            )]
        }
        Some(State::Ignored) => Vec::new(),
        None => vec![event(
            format!("{call_id}:{state}"),
            EventKind::unmapped("state", &state),
        )],
    };
    Ok(Parsed {
        events,
        reply: Reply::NoContent,
    })
}

/// Where the call sits in the customer's call: a leg of the master or entry-point call it
/// names (not itself); a leg ringing a user (`target.type` `user`) is that agent's, and
/// names the user by `target.id`.
fn leg(claims: &Map<String, Value>, call_id: &str) -> Leg {
    let parent = ["master_call_id", "entry_point_call_id"]
        .iter()
        .filter_map(|name| text(claims, name))
        .find(|id| id != call_id);
    let target = claims.get("target").and_then(Value::as_object);
    let user = target
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("user"))
        .and_then(|t| text(t, "id"));
    Leg {
        role: parent.as_ref().and(user.as_ref()).map(|_| LegRole::Agent),
        parent_call_id: parent,
        session_id: None,
        agent_identity: user,
        lookup_handle: None,
    }
}
