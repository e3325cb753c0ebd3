//! SignalWire webhooks to events (providers.md 5.3). A request is one of:
//!
//! - a LaML webhook (form body, or GET with the parameters in the query): Twilio's
//!   parameters and values, read by the Twilio adapter's parser (`twilio::payload`): same
//!   events, dedupe keys and empty-markup reply;
//! - a RELAY / SWML call-state callback (JSON, `event_type` = `calling.call.state`);
//! - an SWML request (JSON with a `call` object), sent when a call asks this URL for its
//!   SWML document.
//!
//! Dedupe keys are built from signed content only (formats in README.md).

use super::mapping;
use crate::kit::adapter::given;
use crate::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, ParseError, Parsed, Party, Reply, Verified,
    dates,
};
use http::Method;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

/// The reply to an SWML request: a document with nothing to run.
pub(super) const EMPTY_SWML: &str = r#"{"version":"1.0.0","sections":{"main":[]}}"#;
/// The `event_type` of a call-state callback.
const CALL_STATE_EVENT: &str = "calling.call.state";

/// Parses a verified SignalWire webhook.
pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    let request = req.request();
    let is_form = request.content_type().as_deref() == Some("application/x-www-form-urlencoded");
    if request.method == Method::GET || is_form {
        return crate::twilio::payload::parse(req);
    }
    let body: Body = req.json()?;
    if let Some(event_type) = given(&body.event_type) {
        callback(&body, event_type)
    } else if let Some(call) = &body.call {
        swml_request(call)
    } else {
        Err(ParseError::MissingField("event_type"))
    }
}

/// A JSON body: a callback envelope, or an SWML request.
#[derive(Debug, Deserialize)]
struct Body {
    event_type: Option<String>,
    /// Seconds since the epoch, with a fraction; informative only.
    timestamp: Option<Value>,
    params: Option<Params>,
    call: Option<SwmlCall>,
}

/// `params` of a call-state callback.
#[derive(Debug, Deserialize)]
struct Params {
    call_id: Option<String>,
    call_state: Option<String>,
    direction: Option<String>,
    end_reason: Option<String>,
    device: Option<Device>,
    /// The call that created this one (RELAY `connect` / `dial` from a call).
    parent: Option<Parent>,
}

/// `params.parent`: `device_type`, `node_id`, `call_id` of the call that created this one.
#[derive(Debug, Deserialize)]
struct Parent {
    call_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Device {
    params: Option<DeviceParams>,
}

/// A phone device has `from_number` / `to_number`, a SIP device `from` / `to`.
#[derive(Debug, Deserialize)]
struct DeviceParams {
    from_number: Option<String>,
    to_number: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The `call` object of an SWML request.
#[derive(Debug, Deserialize)]
struct SwmlCall {
    call_id: Option<String>,
    call_state: Option<String>,
    direction: Option<String>,
    from_number: Option<String>,
    to_number: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn either(preferred: &Option<String>, fallback: &Option<String>) -> Option<String> {
    given(preferred)
        .or_else(|| given(fallback))
        .map(str::to_owned)
}

fn event(
    call_id: &str,
    dedupe_key: String,
    occurred_at: Option<OffsetDateTime>,
    (party, leg): (Party, Leg),
    kind: EventKind,
) -> CallEvent {
    CallEvent {
        dedupe_key,
        provider_call_id: call_id.to_owned(),
        occurred_at,
        party,
        kind,
        leg,
    }
}

/// RELAY event types that say nothing about a call's state: media, input, detection
/// (answering machine, fax), taps, the legs a `connect` bridges. They give no event, so they
/// never make a call of their own.
const INFORMATIONAL: &[&str] = &[
    "calling.call.play",
    "calling.call.collect",
    "calling.call.detect",
    "calling.call.send_digits",
    "calling.call.tap",
    "calling.call.connect",
];

/// A call a RELAY call created names it in `params.parent`: this call is then a leg of its
/// parent's call. An outbound child leg rang someone: its device's `to` names whose phone
/// (matched against agents' identities); the provider does not say more about its role.
fn leg(params: &Params, party: &Party) -> Leg {
    let parent = params.parent.as_ref().and_then(|p| given(&p.call_id));
    match parent {
        None => Leg::default(),
        Some(parent) => Leg {
            parent_call_id: Some(parent.to_owned()),
            agent_identity: party
                .to
                .clone()
                .filter(|_| party.direction == Some(Direction::Outbound)),
            ..Leg::default()
        },
    }
}

/// A callback envelope. Only call-state callbacks move a call; another event type about a
/// call is kept as `Unmapped`, and one about no call gives no event.
fn callback(body: &Body, event_type: &str) -> Result<Parsed, ParseError> {
    let params = body.params.as_ref();
    let call_id = params.and_then(|p| given(&p.call_id));
    let occurred_at = body
        .timestamp
        .as_ref()
        .and_then(Value::as_f64)
        .and_then(dates::unix_seconds);
    let party = params.map_or_else(Default::default, |p| {
        let party = party(p);
        (party.clone(), leg(p, &party))
    });
    let events = if event_type == CALL_STATE_EVENT {
        let params = params.ok_or(ParseError::MissingField("params"))?;
        let call_id = call_id.ok_or(ParseError::MissingField("params.call_id"))?;
        let state =
            given(&params.call_state).ok_or(ParseError::MissingField("params.call_state"))?;
        let key = format!("{call_id}:state:{state}");
        match state_kind(state, given(&params.end_reason)) {
            Some(kind) => vec![event(call_id, key, occurred_at, party, kind)],
            None => Vec::new(),
        }
    } else if INFORMATIONAL.contains(&event_type) {
        Vec::new()
    } else if let Some(call_id) = call_id {
        // The raw timestamp keeps two events of one type apart (a retry repeats it).
        let at = body
            .timestamp
            .as_ref()
            .map_or_else(String::new, Value::to_string);
        let key = format!("{call_id}:event:{event_type}:{at}");
        let kind = EventKind::unmapped("event_type", event_type);
        vec![event(call_id, key, occurred_at, party, kind)]
    } else {
        Vec::new()
    };
    Ok(Parsed {
        events,
        reply: Reply::NoContent,
    })
}

/// The event a call state is, if any: `ending` gives none (`ended` follows), `ended` is
/// read through its `end_reason` (none given: a normal end), anything unknown is
/// `Unmapped`.
fn state_kind(state: &str, end_reason: Option<&str>) -> Option<EventKind> {
    let call = |progress| EventKind::Call { progress };
    match (state, end_reason) {
        ("ending", _) => None,
        ("ended", None) => Some(call(CallProgress::Completed)),
        ("ended", Some(reason)) => Some(
            mapping::end_reason(reason)
                .map_or_else(|| EventKind::unmapped("end_reason", reason), call),
        ),
        (state, _) => Some(
            mapping::call_state(state)
                .map_or_else(|| EventKind::unmapped("call_state", state), call),
        ),
    }
}

fn party(params: &Params) -> Party {
    let device = params.device.as_ref().and_then(|d| d.params.as_ref());
    Party {
        direction: given(&params.direction).and_then(Direction::inbound_outbound),
        from: device.and_then(|d| either(&d.from_number, &d.from)),
        to: device.and_then(|d| either(&d.to_number, &d.to)),
        caller_name: None,
        forwarded_from: None,
        routing_reason: None,
    }
}

/// An SWML request: the call's state when it asked (usually `created`); answered with an
/// SWML document that runs nothing.
fn swml_request(call: &SwmlCall) -> Result<Parsed, ParseError> {
    let call_id = given(&call.call_id).ok_or(ParseError::MissingField("call.call_id"))?;
    let state = given(&call.call_state).ok_or(ParseError::MissingField("call.call_state"))?;
    let party = Party {
        direction: given(&call.direction).and_then(Direction::inbound_outbound),
        from: either(&call.from_number, &call.from),
        to: either(&call.to_number, &call.to),
        caller_name: None,
        forwarded_from: None,
        routing_reason: None,
    };
    let events = state_kind(state, None)
        .map(|kind| {
            event(
                call_id,
                format!("{call_id}:swml:{state}"),
                None,
                (party, Leg::default()),
                kind,
            )
        })
        .into_iter()
        .collect();
    Ok(Parsed {
        events,
        reply: Reply::Markup {
            content_type: "application/json",
            body: EMPTY_SWML.to_owned(),
        },
    })
}
