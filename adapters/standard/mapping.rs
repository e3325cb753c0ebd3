//! The open format's values to the call model: explicit tables, exact matches only. A value
//! not listed is `None`, which the payload code turns into `EventKind::Unmapped`.

use crate::kit::{CallProgress, Direction};

/// The `type` of a call event (`call.*`).
pub(super) fn call_type(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "call.initiated" => CallProgress::Initiated,
        "call.ringing" => CallProgress::Ringing,
        "call.answered" => CallProgress::Answered,
        "call.completed" => CallProgress::Completed,
        "call.no_answer" => CallProgress::NoAnswer,
        "call.busy" => CallProgress::Busy,
        "call.failed" => CallProgress::Failed,
        "call.canceled" => CallProgress::Canceled,
        _ => return None,
    })
}

/// The `direction` of a call.
pub(super) fn direction(raw: &str) -> Option<Direction> {
    match raw {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_row() {
        let rows = [
            ("call.initiated", CallProgress::Initiated),
            ("call.ringing", CallProgress::Ringing),
            ("call.answered", CallProgress::Answered),
            ("call.completed", CallProgress::Completed),
            ("call.no_answer", CallProgress::NoAnswer),
            ("call.busy", CallProgress::Busy),
            ("call.failed", CallProgress::Failed),
            ("call.canceled", CallProgress::Canceled),
        ];
        for (raw, progress) in rows {
            assert_eq!(call_type(raw), Some(progress), "{raw}");
        }
        for near_miss in [
            "call.Ringing",
            "ringing",
            "call.cancelled",
            "recording.completed",
            "",
        ] {
            assert_eq!(call_type(near_miss), None, "{near_miss:?}");
        }
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound"), Some(Direction::Outbound));
        for near_miss in ["Inbound", "in", ""] {
            assert_eq!(direction(near_miss), None, "{near_miss:?}");
        }
    }
}
