//! Acme values to the call model: explicit tables, exact (case-sensitive) matches only. A
//! value not listed here is `None`, which the payload code turns into `EventKind::Unmapped`:
//! never a guess, never an error.
//!
//! FILL IN: the provider's values, each row from its documentation (say where in README.md).

use crate::kit::{CallProgress, Direction};

/// The `status` of a call event.
pub(super) fn call_status(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "initiated" => CallProgress::Initiated,
        "ringing" => CallProgress::Ringing,
        "answered" => CallProgress::Answered,
        "completed" => CallProgress::Completed,
        "busy" => CallProgress::Busy,
        "no-answer" => CallProgress::NoAnswer,
        "failed" => CallProgress::Failed,
        "canceled" => CallProgress::Canceled,
        _ => return None,
    })
}

/// The `direction` of a call. Anything else says nothing about the direction.
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
            ("initiated", CallProgress::Initiated),
            ("ringing", CallProgress::Ringing),
            ("answered", CallProgress::Answered),
            ("completed", CallProgress::Completed),
            ("busy", CallProgress::Busy),
            ("no-answer", CallProgress::NoAnswer),
            ("failed", CallProgress::Failed),
            ("canceled", CallProgress::Canceled),
        ];
        for (raw, progress) in rows {
            assert_eq!(call_status(raw), Some(progress), "{raw}");
        }
        for near_miss in [
            "Ringing",
            "RINGING",
            "no_answer",
            "cancelled",
            " ringing",
            "",
        ] {
            assert_eq!(call_status(near_miss), None, "{near_miss:?}");
        }
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound"), Some(Direction::Outbound));
        for near_miss in ["Inbound", "outbound-api", "in", ""] {
            assert_eq!(direction(near_miss), None, "{near_miss:?}");
        }
    }
}
