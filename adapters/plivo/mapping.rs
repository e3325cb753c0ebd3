//! Plivo values to the call model: explicit tables, exact matches only (providers.md 4.4). A
//! value not listed is `None`, which the payload code turns into `EventKind::Unmapped`.

use crate::kit::{CallProgress, Direction};

/// `CallStatus` (note Plivo's spelling `cancel`). `timeout` is, in Plivo's call-status
/// reference, a timeout while *connecting* the call (a terminating carrier's fault or
/// Plivo's own network lag), not a callee who let it ring: it is `Failed`, and only
/// `no-answer` is `NoAnswer`.
pub(super) fn call_status(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "ringing" => CallProgress::Ringing,
        "in-progress" => CallProgress::Answered,
        "completed" => CallProgress::Completed,
        "busy" => CallProgress::Busy,
        "failed" | "timeout" => CallProgress::Failed,
        "no-answer" => CallProgress::NoAnswer,
        "cancel" => CallProgress::Canceled,
        _ => return None,
    })
}

/// `DialBLegStatus` of a `<Dial>` `callbackUrl` request: the B leg answered, or hung up.
pub(super) fn dial_b_leg_status(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "answer" => CallProgress::Answered,
        "hangup" => CallProgress::Completed,
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
            ("timeout", CallProgress::Failed),
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
    fn every_dial_b_leg_status_row() {
        assert_eq!(dial_b_leg_status("answer"), Some(CallProgress::Answered));
        assert_eq!(dial_b_leg_status("hangup"), Some(CallProgress::Completed));
        for raw in ["answered", "Answer", "connected", "completed", ""] {
            assert_eq!(dial_b_leg_status(raw), None, "{raw}");
        }
    }

    /// https://docs.plivo.com/docs/voice/xml/request/call-status: `timeout` is a failure to
    /// connect (carrier or network), `no-answer` a callee who did not pick up.
    #[test]
    fn timeout_is_a_failure_to_connect_not_an_unanswered_call() {
        assert_eq!(call_status("timeout"), Some(CallProgress::Failed));
        assert_ne!(call_status("timeout"), call_status("no-answer"));
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound"), Some(Direction::Outbound));
        assert_eq!(direction("Inbound"), None);
    }
}
