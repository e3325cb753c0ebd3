//! Twilio Voice webhook parameters to events (providers.md 1.3 to 1.5, 1.8). SignalWire's
//! LaML webhooks send the same parameters and values, and are read here too
//! (`signalwire::payload`).
//!
//! One form body is one of three webhooks, told apart by its fields:
//! - a recording status callback has `RecordingStatus`;
//! - a call status callback has `CallbackSource`, `StatusCallbackEvent` or `SequenceNumber`;
//! - an answering-machine detection result has `AnsweredBy` and no `CallStatus`: no event;
//! - anything else is the incoming-call (Voice URL) webhook, which expects TwiML back.
//!
//! Dedupe keys are built from signed fields only, so a retry of the same webhook gives the
//! same keys (formats in README.md).

use super::mapping;
use crate::kit::form::Form;
use crate::kit::{
    CallEvent, CallProgress, EventKind, Leg, LegRole, ParseError, Parsed, Party, RecordingEvent,
    RecordingProgress, Reply, Verified, dates,
};
use time::OffsetDateTime;

/// The reply to the incoming-call webhook: empty TwiML.
pub(crate) const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// Parses a verified Twilio Voice webhook.
pub(crate) fn parse(req: &Verified<'_>) -> Result<Parsed, ParseError> {
    // The form body, or the query for a webhook configured as GET.
    let form = req.params()?;
    let call = Call {
        sid: form.require("CallSid")?,
        party: party(&form),
        leg: leg(&form, form.require("CallSid")?),
        occurred_at: form.get("Timestamp").and_then(timestamp),
    };
    if let Some(status) = form.get("RecordingStatus") {
        recording_callback(&form, &call, status)
    } else if ["CallbackSource", "StatusCallbackEvent", "SequenceNumber"]
        .iter()
        .any(|name| form.get(name).is_some())
    {
        status_callback(&form, &call)
    } else if form.get("CallStatus").is_none() && form.get("AnsweredBy").is_some() {
        // The asynchronous answering-machine detection result (`AsyncAmdStatusCallback`:
        // `CallSid`, `AnsweredBy`, `MachineDetectionDuration`): it says who answered, not
        // how the call goes, so it gives no event and never makes a call.
        Ok(Parsed {
            events: Vec::new(),
            reply: Reply::NoContent,
        })
    } else {
        incoming_call(&form, &call)
    }
}

/// What every event of one webhook shares.
struct Call<'f> {
    sid: &'f str,
    party: Party,
    leg: Leg,
    occurred_at: Option<OffsetDateTime>,
}

impl Call<'_> {
    fn event(&self, dedupe_key: String, kind: EventKind) -> CallEvent {
        CallEvent {
            dedupe_key,
            provider_call_id: self.sid.to_owned(),
            occurred_at: self.occurred_at,
            party: self.party.clone(),
            kind,
            leg: self.leg.clone(),
        }
    }
}

fn party(form: &Form) -> Party {
    Party {
        direction: form.get("Direction").and_then(mapping::direction),
        from: form.get("From").map(str::to_owned),
        to: form.get("To").map(str::to_owned),
        caller_name: form.get("CallerName").map(str::to_owned),
        forwarded_from: given(form, "ForwardedFrom"),
        routing_reason: None,
    }
}

/// A parameter's value, when it is sent and not empty.
fn given(form: &Form, name: &str) -> Option<String> {
    form.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A child leg names its parent call in `ParentCallSid` (providers.md 1.3, 1.8). A child
/// leg `<Dial>` made (`Direction=outbound-dial`) rang an agent: its `To`, exactly as sent
/// (`client:ana`, `sip:ana@pbx.example.com`, a number), names whose phone it was. Any other
/// child leg is a leg of the parent call and no more. A parent naming the call itself names
/// no other call.
fn leg(form: &Form, sid: &str) -> Leg {
    let Some(parent) = given(form, "ParentCallSid").filter(|p| p != sid) else {
        return Leg::default();
    };
    let dialed = form.get("Direction") == Some("outbound-dial");
    Leg {
        parent_call_id: Some(parent),
        session_id: None,
        role: dialed.then_some(LegRole::Agent),
        agent_identity: given(form, "To").filter(|_| dialed),
        lookup_handle: None,
    }
}

/// (a) `RecordingStatusCallback`: one recording event.
fn recording_callback(form: &Form, call: &Call<'_>, status: &str) -> Result<Parsed, ParseError> {
    let recording_id = form.require("RecordingSid")?;
    let kind = match mapping::recording_status(status) {
        Some(status) => EventKind::Recording(recording(form, recording_id, status)?),
        None => EventKind::unmapped("RecordingStatus", status),
    };
    let key = format!("{}:recording:{recording_id}:{status}", call.sid);
    Ok(Parsed {
        events: vec![call.event(key, kind)],
        reply: Reply::NoContent,
    })
}

/// (b) `StatusCallback`: the call's progress, and the recording when the call was made with
/// `Record=true` (Twilio then adds the recording fields to the status callback).
fn status_callback(form: &Form, call: &Call<'_>) -> Result<Parsed, ParseError> {
    let sequence = form.get_u64("SequenceNumber")?;
    let (raw, kind) = match (form.get("CallStatus"), form.get("StatusCallbackEvent")) {
        (Some(raw), _) => (raw, call_kind("CallStatus", raw, mapping::call_status(raw))),
        (None, Some(raw)) => (
            raw,
            call_kind("StatusCallbackEvent", raw, mapping::callback_event(raw)),
        ),
        (None, None) => return Err(ParseError::MissingField("CallStatus")),
    };
    let sequence = sequence.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut events = vec![call.event(format!("{}:call:{raw}:{sequence}", call.sid), kind)];
    if let Some(recording_id) = form.get("RecordingSid") {
        let rec = recording(form, recording_id, RecordingProgress::Completed)?;
        let key = format!("{}:recording:{recording_id}:completed", call.sid);
        events.push(call.event(key, EventKind::Recording(rec)));
    }
    Ok(Parsed {
        events,
        reply: Reply::NoContent,
    })
}

/// (c) The Voice URL: the call's progress; Twilio needs TwiML back.
fn incoming_call(form: &Form, call: &Call<'_>) -> Result<Parsed, ParseError> {
    let raw = form.require("CallStatus")?;
    let kind = call_kind("CallStatus", raw, mapping::call_status(raw));
    Ok(Parsed {
        events: vec![call.event(format!("{}:voice:{raw}", call.sid), kind)],
        reply: Reply::Markup {
            content_type: "text/xml",
            body: EMPTY_TWIML.to_owned(),
        },
    })
}

/// `Timestamp`: RFC 2822 as Twilio sends it. Telnyx's TeXML callbacks carry the same parameter
/// in the forms its reference publishes, RFC 3339 (`2024-01-15T10:30:00Z`) and RFC 3339 with a
/// space for the `T` (`2021-04-28 21:51:18.731479Z`); both are read too. Anything else is
/// `None`, never an error.
fn timestamp(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    dates::rfc2822(raw)
        .or_else(|| dates::rfc3339(raw))
        .or_else(|| match raw.split_at_checked(10) {
            Some((date, rest)) if rest.starts_with(' ') => {
                dates::rfc3339(&format!("{date}T{}", &rest[1..]))
            }
            _ => None,
        })
}

fn call_kind(field: &str, raw: &str, progress: Option<CallProgress>) -> EventKind {
    progress.map_or_else(
        || EventKind::unmapped(field, raw),
        |progress| EventKind::Call { progress },
    )
}

fn recording(
    form: &Form,
    recording_id: &str,
    status: RecordingProgress,
) -> Result<RecordingEvent, ParseError> {
    Ok(RecordingEvent {
        recording_id: recording_id.to_owned(),
        status,
        url: form.get("RecordingUrl").map(str::to_owned),
        duration_s: duration(form, "RecordingDuration")?,
    })
}

/// A duration in whole seconds. Absent is `None`; a negative integer is `None` too (some
/// Twilio-compatible platforms send `-1` while a recording is in progress; whether Twilio
/// does is UNCONFIRMED, and refusing it would make Twilio retry forever); anything else
/// that is not an integer is `InvalidField`.
fn duration(form: &Form, name: &'static str) -> Result<Option<u64>, ParseError> {
    match form.get(name).map(str::trim) {
        Some(v)
            if v.strip_prefix('-').is_some_and(|digits| {
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            Ok(None)
        }
        _ => form.get_u64(name),
    }
}
