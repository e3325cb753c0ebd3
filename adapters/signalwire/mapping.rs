//! SignalWire RELAY / SWML values to the call model: explicit tables, exact
//! (case-sensitive) matches only. A value not listed here is `None`, which the payload code
//! turns into `EventKind::Unmapped`: never a guess, never an error.
//!
//! LaML webhooks carry Twilio's values and are mapped by Twilio's tables
//! (`twilio/mapping.rs`); `direction` is the plain `inbound` / `outbound` of
//! `Direction::inbound_outbound`.

use crate::kit::CallProgress;

/// `call_state` before the call ends (`created`, `ringing`, `answered`). `ending` is not
/// here: it announces `ended`, which the payload reads through [`end_reason`].
pub(super) fn call_state(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "created" => CallProgress::Initiated,
        "ringing" => CallProgress::Ringing,
        "answered" => CallProgress::Answered,
        _ => return None,
    })
}

/// `end_reason` of an `ended` call, in both spellings SignalWire has published: today's SWML
/// `connect` status callbacks (`hangup`, `busy`, `no_answer`, `cancel`, `declined`,
/// `error`) and RELAY v2's `DisconnectReason` (`noAnswer`, `decline`). A declined call (the
/// callee refused it) is read as `Busy`, the model's state for a callee that refused.
pub(super) fn end_reason(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "hangup" => CallProgress::Completed,
        "cancel" => CallProgress::Canceled,
        "busy" | "declined" | "decline" => CallProgress::Busy,
        "no_answer" | "noAnswer" => CallProgress::NoAnswer,
        "error" => CallProgress::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_state_row() {
        let rows = [
            ("created", CallProgress::Initiated),
            ("ringing", CallProgress::Ringing),
            ("answered", CallProgress::Answered),
        ];
        for (raw, progress) in rows {
            assert_eq!(call_state(raw), Some(progress), "{raw}");
        }
        for raw in ["ending", "ended", "Answered", "in-progress", "queued", ""] {
            assert_eq!(call_state(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_end_reason_row() {
        let rows = [
            ("hangup", CallProgress::Completed),
            ("cancel", CallProgress::Canceled),
            ("busy", CallProgress::Busy),
            ("decline", CallProgress::Busy),
            ("declined", CallProgress::Busy),
            ("noAnswer", CallProgress::NoAnswer),
            ("no_answer", CallProgress::NoAnswer),
            ("error", CallProgress::Failed),
        ];
        for (raw, progress) in rows {
            assert_eq!(end_reason(raw), Some(progress), "{raw}");
        }
        for raw in [
            "noanswer",
            "No_Answer",
            "no-answer",
            "Hangup",
            "canceled",
            "Declined",
            "timeout",
            "",
        ] {
            assert_eq!(end_reason(raw), None, "{raw}");
        }
    }
}
