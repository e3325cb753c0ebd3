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

/// The `CallStatus` a hangup callback sends for the call a call detail record describes
/// (`call_record`): `completed` for a call answered (`answer_time` given) or ended as a
/// normal completion (hangup causes 4000-4030); else, from the hangup cause, `cancel` for the
/// canceled calls (1000-1020), `busy` for "Busy Line", `no-answer` for "No Answer", and
/// `failed` for every other cause (an unreachable, barred or invalid destination, an error,
/// "Unknown"). Causes: https://www.plivo.com/docs/voice/troubleshooting/hangup-causes/; the
/// names of the busy and unanswered causes are UNCONFIRMED (README.md, "Looking calls up").
pub(super) fn hangup_status(answered: bool, code: Option<u32>, name: Option<&str>) -> &'static str {
    if answered {
        return "completed";
    }
    match (code, name) {
        (Some(4000..=4030), _) => "completed",
        (Some(1000..=1020), _) => "cancel",
        (_, Some("Busy Line")) => "busy",
        (_, Some("No Answer")) => "no-answer",
        _ => "failed",
    }
}

/// Whether a call detail record's `call_state` says the call is not over: ringing, queued or
/// in progress. Read leniently (any case, `_` for `-`): a lookup that wrongly reads a call as
/// live only waits for the next one, and one that wrongly reads it as ended would end a
/// live call. UNCONFIRMED: the values `call_state` takes are not listed in the reference.
pub(super) fn call_state_live(raw: &str) -> bool {
    let state = raw.trim().to_ascii_lowercase().replace('_', "-");
    matches!(
        state.as_str(),
        "in-progress" | "ringing" | "early-media" | "queued" | "initiated"
    )
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
    fn every_hangup_status_row() {
        let rows = [
            (true, Some(3000), Some("Busy Line"), "completed"),
            (false, Some(4000), Some("Normal Hangup"), "completed"),
            (false, Some(4030), None, "completed"),
            (false, Some(1000), Some("Canceled"), "cancel"),
            (false, Some(1020), None, "cancel"),
            (false, Some(3000), Some("Busy Line"), "busy"),
            (false, None, Some("No Answer"), "no-answer"),
            (
                false,
                Some(2000),
                Some("Invalid Destination Address"),
                "failed",
            ),
            (false, Some(0), Some("Unknown"), "failed"),
            (false, None, Some("busy line"), "failed"),
            (false, None, None, "failed"),
        ];
        for (answered, code, name, status) in rows {
            assert_eq!(
                hangup_status(answered, code, name),
                status,
                "{code:?} {name:?}"
            );
            assert!(
                call_status(status).is_some_and(CallProgress::is_terminal),
                "{status}"
            );
        }
    }

    #[test]
    fn live_call_states_are_read_leniently() {
        for live in [
            "in-progress",
            "IN_PROGRESS",
            "ringing",
            " Ringing ",
            "queued",
        ] {
            assert!(call_state_live(live), "{live:?}");
        }
        for ended in ["completed", "ANSWER", "busy", "no-answer", ""] {
            assert!(!call_state_live(ended), "{ended:?}");
        }
    }

    #[test]
    fn every_direction_row() {
        assert_eq!(direction("inbound"), Some(Direction::Inbound));
        assert_eq!(direction("outbound"), Some(Direction::Outbound));
        assert_eq!(direction("Inbound"), None);
    }
}
