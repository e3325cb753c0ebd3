//! Telnyx values to the common model, as explicit tables. A value not listed is unknown:
//! the caller keeps it as an unmapped event, never a guess.

use crate::kit::{CallProgress, Direction};

/// What a Call Control event type means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventType {
    Call(CallProgress),
    /// `call.hangup`: the progress comes from its `hangup_cause`.
    Hangup,
    RecordingSaved,
    RecordingError,
    /// Known, and nothing the call model records (playback, gather, bridging, answering
    /// machine detection, the cost report): no event, so it never makes a call.
    Ignored,
}

pub(super) fn event_type(value: &str) -> Option<EventType> {
    Some(match value {
        "call.initiated" => EventType::Call(CallProgress::Initiated),
        "call.answered" => EventType::Call(CallProgress::Answered),
        "call.hangup" => EventType::Hangup,
        "call.recording.saved" => EventType::RecordingSaved,
        "call.recording.error" => EventType::RecordingError,
        "call.bridged"
        | "call.playback.started"
        | "call.playback.ended"
        | "call.speak.started"
        | "call.speak.ended"
        | "call.gather.ended"
        | "call.dtmf.received"
        | "call.recording.transcription.saved"
        | "call.enqueued"
        | "call.left.queue"
        | "call.machine.detection.ended"
        | "call.machine.greeting.ended"
        | "call.machine.premium.detection.ended"
        | "call.machine.premium.greeting.ended"
        | "call.cost" => EventType::Ignored,
        _ => return None,
    })
}

/// How a call ended, by `hangup_cause` (providers.md 2.2).
pub(super) fn hangup_cause(value: &str) -> Option<CallProgress> {
    Some(match value {
        "normal_clearing" | "time_limit" | "unspecified" => CallProgress::Completed,
        "originator_cancel" => CallProgress::Canceled,
        "user_busy" => CallProgress::Busy,
        "no_answer" | "timeout" => CallProgress::NoAnswer,
        "call_rejected" | "not_found" => CallProgress::Failed,
        _ => return None,
    })
}

/// `direction`: `incoming` or `outgoing`.
pub(super) fn direction(value: &str) -> Option<Direction> {
    match value {
        "incoming" => Some(Direction::Inbound),
        "outgoing" => Some(Direction::Outbound),
        _ => None,
    }
}
