//! Plivo callbacks (form bodies, or the query of a GET, providers.md 4.4) to events.
//!
//! - a recording callback (`RecordingID` present): a completed recording of `CallUUID`;
//! - a `<Dial>` callback naming its B leg (`DialBLegUUID`): the B leg's progress, from
//!   `DialBLegStatus` (the Dial `callbackUrl`) or `DialStatus` (the Dial `action`), as a leg
//!   of the A leg's call that rang `DialBLegTo`; plus the A leg's own `CallStatus`, if sent;
//! - an answer, ring or hangup callback (`CallStatus`): the call's progress.
//!
//! A leg whose `ALegUUID` is another call is a leg of that call. `ForwardedFrom` is the
//! number the call was forwarded from.
//!
//! Dedupe keys (Plivo has no event id): `{CallUUID}:{CallStatus}` for call progress,
//! `{DialBLegUUID}:dial:{status}` for a B leg's, and `{CallUUID}:recording:{RecordingID}`
//! for a recording. The answer URL's request (`Event=StartApp`) gets an empty Plivo XML
//! document, which leaves the call as it is; every other callback gets 204.

use super::mapping;
use crate::kit::form::Form;
use crate::kit::{
    CallEvent, CallProgress, Direction, EventKind, Leg, LegRole, ParseError, Parsed, Party,
    RecordingEvent, RecordingProgress, Reply, Verified,
};

pub(super) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    // Answer, ring and hangup URLs may be set to GET: the parameters are then the query,
    // which V3 signs (`signature::signed_string`).
    let form = req.params()?;
    let call = form.require("CallUUID")?;
    let party = Party {
        direction: form.get("Direction").and_then(mapping::direction),
        from: form.get("From").map(str::to_owned),
        to: form.get("To").map(str::to_owned),
        caller_name: form.get("CallerName").map(str::to_owned),
        forwarded_from: given(&form, "ForwardedFrom"),
        routing_reason: None,
    };
    let this = |dedupe_key: String, kind: EventKind| CallEvent {
        dedupe_key,
        provider_call_id: call.to_owned(),
        occurred_at: None,
        party: party.clone(),
        kind,
        leg: leg(&form, call, &party),
    };
    let mut events = Vec::new();
    if let Some(rec) = form.get("RecordingID") {
        let duration_s = form.get_u64("RecordingDuration")?;
        events.push(this(
            format!("{call}:recording:{rec}"),
            EventKind::Recording(RecordingEvent {
                recording_id: rec.to_owned(),
                status: RecordingProgress::Completed,
                url: form.get("RecordUrl").map(str::to_owned),
                duration_s,
            }),
        ));
    } else {
        let b_leg = dial_b_leg(&form, call);
        let status = match (form.get("CallStatus"), &b_leg) {
            (Some(status), _) => Some(status),
            (None, Some(_)) => None,
            (None, None) => return Err(ParseError::MissingField("CallStatus")),
        };
        if let Some(status) = status {
            let kind = progress_kind("CallStatus", status, mapping::call_status(status));
            events.push(this(format!("{call}:{status}"), kind));
        }
        events.extend(b_leg);
    }
    Ok(Parsed {
        events,
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

/// A parameter's value, when it is sent and not empty.
fn given(form: &Form, name: &str) -> Option<String> {
    form.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn progress_kind(field: &str, raw: &str, progress: Option<CallProgress>) -> EventKind {
    progress.map_or_else(
        || EventKind::unmapped(field, raw),
        |progress| EventKind::Call { progress },
    )
}

/// A leg Plivo dialed for another call names that call's `ALegUUID` (an API call names
/// itself): it is a leg of that call, and an outbound one rang its `To`. UNCONFIRMED: Plivo
/// documents `ALegUUID` as the first leg's id, not what a `<Dial>`ed leg's own callbacks carry.
fn leg(form: &Form, call: &str, party: &Party) -> Leg {
    leg_of(form.get("ALegUUID"), call, party)
}

/// The leg of `call` whose first leg is `parent` (`ALegUUID` of a callback,
/// `parent_call_uuid` of a call record): none when it is empty or the call itself.
pub(super) fn leg_of(parent: Option<&str>, call: &str, party: &Party) -> Leg {
    match parent.filter(|a| !a.is_empty() && *a != call) {
        None => Leg::default(),
        Some(parent) => Leg {
            parent_call_id: Some(parent.to_owned()),
            session_id: None,
            role: None,
            agent_identity: party
                .to
                .clone()
                .filter(|_| party.direction == Some(Direction::Outbound)),
            lookup_handle: None,
        },
    }
}

/// The B leg of a `<Dial>` callback: `DialBLegUUID` (empty when nobody answered), dialed from
/// `DialALegUUID` (else the callback's `CallUUID`) to `DialBLegTo`, whose phone it rang.
/// Its progress is `DialBLegStatus` on the Dial `callbackUrl` (`answer`, `hangup`), else
/// `DialStatus` on the Dial `action` (its end, spelled as `CallStatus`).
fn dial_b_leg(form: &Form, call: &str) -> Option<CallEvent> {
    let b_leg = given(form, "DialBLegUUID")?;
    let (field, raw, progress) = match (form.get("DialBLegStatus"), form.get("DialStatus")) {
        (Some(raw), _) => ("DialBLegStatus", raw, mapping::dial_b_leg_status(raw)),
        (None, Some(raw)) => ("DialStatus", raw, mapping::call_status(raw)),
        (None, None) => return None,
    };
    let to = given(form, "DialBLegTo");
    Some(CallEvent {
        dedupe_key: format!("{b_leg}:dial:{raw}"),
        provider_call_id: b_leg,
        occurred_at: None,
        party: Party {
            direction: Some(Direction::Outbound),
            from: given(form, "DialBLegFrom"),
            to: to.clone(),
            ..Party::default()
        },
        kind: progress_kind(field, raw, progress),
        leg: Leg {
            parent_call_id: Some(given(form, "DialALegUUID").unwrap_or_else(|| call.to_owned())),
            session_id: None,
            role: Some(LegRole::Agent),
            agent_identity: to,
            lookup_handle: None,
        },
    })
}
