//! Twilio values to the call model: explicit tables, exact (case-sensitive) matches only.
//! A value not listed here is `None`, which the payload code turns into
//! `EventKind::Unmapped`: never a guess, never an error.

use crate::kit::{CallProgress, Direction, RecordingProgress};

/// `CallStatus` (OAI `call_enum_status`, plus `initiated` seen on status callbacks).
pub(super) fn call_status(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "queued" | "initiated" => CallProgress::Initiated,
        "ringing" => CallProgress::Ringing,
        "in-progress" => CallProgress::Answered,
        "completed" => CallProgress::Completed,
        "busy" => CallProgress::Busy,
        "no-answer" => CallProgress::NoAnswer,
        "failed" => CallProgress::Failed,
        "canceled" => CallProgress::Canceled,
        _ => return None,
    })
}

/// `StatusCallbackEvent` (OAI `call_enum_event`), used only when `CallStatus` is absent.
pub(super) fn callback_event(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "initiated" => CallProgress::Initiated,
        "ringing" => CallProgress::Ringing,
        "answered" => CallProgress::Answered,
        "completed" => CallProgress::Completed,
        _ => return None,
    })
}

/// `RecordingStatus` as sent to recording status callbacks.
pub(super) fn recording_status(raw: &str) -> Option<RecordingProgress> {
    Some(match raw {
        "in-progress" => RecordingProgress::InProgress,
        "completed" => RecordingProgress::Completed,
        "absent" => RecordingProgress::Absent,
        "failed" => RecordingProgress::Failed,
        _ => return None,
    })
}

/// `Direction` (Call resource enum). Anything else says nothing about the direction.
pub(super) fn direction(raw: &str) -> Option<Direction> {
    match raw {
        "inbound" => Some(Direction::Inbound),
        "outbound-api" | "outbound-dial" => Some(Direction::Outbound),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_status_row() {
        let rows = [
            ("queued", CallProgress::Initiated),
            ("initiated", CallProgress::Initiated),
            ("ringing", CallProgress::Ringing),
            ("in-progress", CallProgress::Answered),
            ("completed", CallProgress::Completed),
            ("busy", CallProgress::Busy),
            ("no-answer", CallProgress::NoAnswer),
            ("failed", CallProgress::Failed),
            ("canceled", CallProgress::Canceled),
        ];
        for (raw, progress) in rows {
            assert_eq!(call_status(raw), Some(progress), "{raw}");
        }
        for raw in [
            "answered",
            "Completed",
            "in_progress",
            "cancelled",
            "paused",
            "",
            " ringing",
        ] {
            assert_eq!(call_status(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_callback_event_row() {
        let rows = [
            ("initiated", CallProgress::Initiated),
            ("ringing", CallProgress::Ringing),
            ("answered", CallProgress::Answered),
            ("completed", CallProgress::Completed),
        ];
        for (raw, progress) in rows {
            assert_eq!(callback_event(raw), Some(progress), "{raw}");
        }
        for raw in ["in-progress", "busy", "queued", "ANSWERED", ""] {
            assert_eq!(callback_event(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_recording_status_row() {
        let rows = [
            ("in-progress", RecordingProgress::InProgress),
            ("completed", RecordingProgress::Completed),
            ("absent", RecordingProgress::Absent),
            ("failed", RecordingProgress::Failed),
        ];
        for (raw, progress) in rows {
            assert_eq!(recording_status(raw), Some(progress), "{raw}");
        }
        for raw in [
            "paused",
            "stopped",
            "processing",
            "deleted",
            "Completed",
            "",
        ] {
            assert_eq!(recording_status(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound-api"), Some(Direction::Outbound));
        assert_eq!(direction("outbound-dial"), Some(Direction::Outbound));
        for raw in ["outbound", "Inbound", "trunking", ""] {
            assert_eq!(direction(raw), None, "{raw}");
        }
    }
}
