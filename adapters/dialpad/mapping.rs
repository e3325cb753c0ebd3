//! Dialpad call states to the common model, as an explicit table (providers.md 8.1; the
//! names are UNCONFIRMED there: README.md). A state not listed is kept as unmapped.

use crate::kit::{CallProgress, Direction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Call(CallProgress),
    /// A recording of the call is ready.
    Recording,
    /// Known, and no change of the call's progress.
    Ignored,
}

pub(super) fn state(value: &str) -> Option<State> {
    Some(match value {
        "calling" | "preanswer" => State::Call(CallProgress::Initiated),
        "ringing" => State::Call(CallProgress::Ringing),
        "connected" => State::Call(CallProgress::Answered),
        "hangup" => State::Call(CallProgress::Completed),
        "missed" | "voicemail" => State::Call(CallProgress::NoAnswer),
        "rejected" | "blocked" => State::Call(CallProgress::Failed),
        "recording" | "call_recording" => State::Recording,
        "hold" | "unhold" | "queued" | "parked" | "postcall" | "transcription"
        | "voicemail_uploaded" | "merged" | "eavesdrop" | "monitor" | "barge" | "takeover"
        | "admin" | "recap_summary" => State::Ignored,
        _ => return None,
    })
}

pub(super) fn direction(value: &str) -> Option<Direction> {
    match value {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        _ => None,
    }
}
