//! Bandwidth values to the call model: explicit tables, exact (case-sensitive) matches
//! only. A value not listed here is `None`, which the payload code turns into
//! `EventKind::Unmapped`: never a guess, never an error.

use crate::kit::{CallProgress, RecordingProgress};

/// The call events that move a call before it ends (`disconnect` is read by [`cause`]).
pub(super) fn call_event(event_type: &str) -> Option<CallProgress> {
    Some(match event_type {
        // An inbound call reached the application; it is answered by the BXML that follows.
        "initiate" => CallProgress::Initiated,
        // An outbound call was answered.
        "answer" => CallProgress::Answered,
        _ => return None,
    })
}

/// `cause` of a `disconnect` (the docs say the list may grow). `rejected` (the callee
/// refused the call) is read as `Busy`, the model's state for a callee that refused; every
/// error cause is `Failed`.
pub(super) fn cause(raw: &str) -> Option<CallProgress> {
    Some(match raw {
        "hangup" => CallProgress::Completed,
        "busy" | "rejected" => CallProgress::Busy,
        "timeout" => CallProgress::NoAnswer,
        "cancel" => CallProgress::Canceled,
        "callback-error"
        | "invalid-bxml"
        | "application-error"
        | "account-limit"
        | "node-capacity-exceeded"
        | "error"
        | "unknown" => CallProgress::Failed,
        _ => return None,
    })
}

/// Every row of [`cause`]: its test, and the payload's test through `parse`.
#[cfg(test)]
pub(super) const CAUSE_ROWS: [(&str, CallProgress); 12] = [
    ("hangup", CallProgress::Completed),
    ("busy", CallProgress::Busy),
    ("rejected", CallProgress::Busy),
    ("timeout", CallProgress::NoAnswer),
    ("cancel", CallProgress::Canceled),
    ("callback-error", CallProgress::Failed),
    ("invalid-bxml", CallProgress::Failed),
    ("application-error", CallProgress::Failed),
    ("account-limit", CallProgress::Failed),
    ("node-capacity-exceeded", CallProgress::Failed),
    ("error", CallProgress::Failed),
    ("unknown", CallProgress::Failed),
];

/// `status` of a `recordingAvailable` event. `partial` media is still media: the gate
/// applies to it like to a complete recording.
pub(super) fn recording_status(raw: &str) -> Option<RecordingProgress> {
    Some(match raw {
        "complete" | "partial" => RecordingProgress::Completed,
        "error" => RecordingProgress::Failed,
        _ => return None,
    })
}

/// Whether Bandwidth waits for BXML in the answer to this event type (the synchronous
/// callbacks of providers.md 6.2); the others are answered 204.
pub(super) fn expects_bxml(event_type: &str) -> bool {
    matches!(
        event_type,
        "initiate"
            | "answer"
            | "gather"
            | "recordComplete"
            | "redirect"
            | "transferAnswer"
            | "transferComplete"
            | "bridgeComplete"
            | "bridgeTargetComplete"
            | "conferenceCreated"
            | "conferenceMemberJoin"
            | "conferenceMemberExit"
            | "conferenceRedirect"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_event_row() {
        assert_eq!(call_event("initiate"), Some(CallProgress::Initiated));
        assert_eq!(call_event("answer"), Some(CallProgress::Answered));
        for raw in ["disconnect", "Initiate", "answered", "transferAnswer", ""] {
            assert_eq!(call_event(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_cause_row() {
        for (raw, progress) in CAUSE_ROWS {
            assert_eq!(cause(raw), Some(progress), "{raw}");
        }
        for raw in [
            "Hangup",
            "hang-up",
            "cancelled",
            "no-answer",
            "callback_error",
            "",
        ] {
            assert_eq!(cause(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_recording_status_row() {
        assert_eq!(
            recording_status("complete"),
            Some(RecordingProgress::Completed)
        );
        assert_eq!(
            recording_status("partial"),
            Some(RecordingProgress::Completed)
        );
        assert_eq!(recording_status("error"), Some(RecordingProgress::Failed));
        for raw in ["completed", "Complete", "failed", "absent", ""] {
            assert_eq!(recording_status(raw), None, "{raw}");
        }
    }

    #[test]
    fn synchronous_callbacks_expect_bxml() {
        for raw in [
            "initiate",
            "answer",
            "recordComplete",
            "gather",
            "transferAnswer",
        ] {
            assert!(expects_bxml(raw), "{raw}");
        }
        for raw in [
            "disconnect",
            "recordingAvailable",
            "dtmf",
            "conferenceCompleted",
            "",
        ] {
            assert!(!expects_bxml(raw), "{raw}");
        }
    }
}
