//! Vonage values to the call model: explicit tables, exact (case-sensitive) matches only. A
//! value not listed here is `None`, which the payload code turns into
//! `EventKind::Unmapped`: never a guess, never an error.

use crate::kit::CallProgress;

/// An event webhook's `status`, refined by its `detail` where the detail changes the
/// meaning: `rejected` because the callee `declined` is `Busy` (the model's state for a
/// callee that refused), any other `rejected` (`invalid_number`, `restricted`...) is
/// `Failed`. The other statuses mean the same whatever their detail.
pub(super) fn status(raw: &str, detail: Option<&str>) -> Option<CallProgress> {
    Some(match (raw, detail) {
        ("started", _) => CallProgress::Initiated,
        ("ringing", _) => CallProgress::Ringing,
        ("answered", _) => CallProgress::Answered,
        ("completed", _) => CallProgress::Completed,
        ("busy", _) | ("rejected", Some("declined")) => CallProgress::Busy,
        ("cancelled", _) => CallProgress::Canceled,
        // `unanswered` (detail `unavailable` or `timeout`), and `timeout` (the ringing
        // timer ran out).
        ("unanswered" | "timeout", _) => CallProgress::NoAnswer,
        ("rejected" | "failed", _) => CallProgress::Failed,
        _ => return None,
    })
}

/// Statuses that say nothing about the call's progress: the answering-machine detection's
/// result (`human`, `machine`; providers.md 3.2). They give no event, so never make a call.
pub(super) fn is_informational(raw: &str) -> bool {
    matches!(raw, "human" | "machine")
}

/// Every row of [`status`]: its test, and the payload's test through `parse`.
#[cfg(test)]
pub(super) const STATUS_ROWS: [(&str, Option<&str>, CallProgress); 18] = [
    ("started", None, CallProgress::Initiated),
    ("ringing", None, CallProgress::Ringing),
    ("answered", None, CallProgress::Answered),
    ("completed", None, CallProgress::Completed),
    ("busy", None, CallProgress::Busy),
    ("cancelled", None, CallProgress::Canceled),
    ("unanswered", Some("unavailable"), CallProgress::NoAnswer),
    ("unanswered", Some("timeout"), CallProgress::NoAnswer),
    ("unanswered", None, CallProgress::NoAnswer),
    ("timeout", None, CallProgress::NoAnswer),
    ("rejected", Some("declined"), CallProgress::Busy),
    ("rejected", Some("invalid_number"), CallProgress::Failed),
    ("rejected", Some("restricted"), CallProgress::Failed),
    ("rejected", None, CallProgress::Failed),
    ("failed", Some("cannot_route"), CallProgress::Failed),
    (
        "failed",
        Some("number_out_of_service"),
        CallProgress::Failed,
    ),
    ("failed", Some("internal_error"), CallProgress::Failed),
    ("failed", None, CallProgress::Failed),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_row() {
        for (raw, detail, progress) in STATUS_ROWS {
            assert_eq!(status(raw, detail), Some(progress), "{raw} {detail:?}");
        }
        for raw in [
            "disconnected",
            "human",
            "machine",
            "canceled",
            "Completed",
            "in-progress",
            "",
        ] {
            assert_eq!(status(raw, None), None, "{raw}");
        }
    }
}
