//! Plivo values to the call model: explicit tables, exact matches only (providers.md 4.4). A
//! value not listed is `None`, which the payload code turns into `EventKind::Unmapped`.

use crate::kit::{CallProgress, Direction};

/// `CallStatus` (note Plivo's spelling `cancel`).
pub(super) fn call_status(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "ringing" => CallProgress::Ringing,
        "in-progress" => CallProgress::Answered,
        "completed" => CallProgress::Completed,
        "busy" => CallProgress::Busy,
        "failed" => CallProgress::Failed,
        "timeout" | "no-answer" => CallProgress::NoAnswer,
        "cancel" => CallProgress::Canceled,
        _ => return None,
    })
}

/// `Direction`.
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
    fn every_call_status_row() {
        let rows = [
            ("ringing", CallProgress::Ringing),
            ("in-progress", CallProgress::Answered),
            ("completed", CallProgress::Completed),
            ("busy", CallProgress::Busy),
            ("failed", CallProgress::Failed),
            ("timeout", CallProgress::NoAnswer),
            ("no-answer", CallProgress::NoAnswer),
            ("cancel", CallProgress::Canceled),
        ];
        for (raw, progress) in rows {
            assert_eq!(call_status(raw), Some(progress), "{raw}");
        }
        for near_miss in ["Ringing", "canceled", "cancelled", "in_progress", ""] {
            assert_eq!(call_status(near_miss), None, "{near_miss:?}");
        }
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound"), Some(Direction::Outbound));
        assert_eq!(direction("Inbound"), None);
    }
}
