//! Bandwidth values to the call model: explicit tables, exact (case-sensitive) matches
//! only. A value not listed here is `None`, which the payload code turns into
//! `EventKind::Unmapped`: never a guess, never an error.

use crate::kit::{CallProgress, RecordingProgress, RoutingReason};

/// The call events that move a call before it ends (`disconnect` is read by [`cause`]).
pub(super) fn call_event(event_type: &str) -> Option<CallProgress> {
    Some(match event_type {
        // An inbound call reached the application; it is answered by the BXML that follows.
        "initiate" => CallProgress::Initiated,
        // An outbound call was answered; a `<Transfer>`'s B leg was answered.
        "answer" | "transferAnswer" => CallProgress::Answered,
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

/// Event types about a call that change nothing of its state (providers.md 6.2): answering
/// machine detection, the A leg's `transferComplete` (the A leg goes on), input, bridges,
/// conferences, media streams and transcriptions. They give no event, so never make a call.
pub(super) fn is_informational(event_type: &str) -> bool {
    matches!(
        event_type,
        "machineDetectionComplete"
            | "transferComplete"
            | "gather"
            | "dtmf"
            | "redirect"
            | "bridgeComplete"
            | "bridgeTargetComplete"
            | "conferenceCreated"
            | "conferenceMemberJoin"
            | "conferenceMemberExit"
            | "conferenceRedirect"
            | "conferenceCompleted"
            | "transcriptionAvailable"
            | "mediaStreamStarted"
            | "mediaStreamStopped"
            | "mediaStreamRejected"
            | "realTimeTranscriptionStarted"
            | "realTimeTranscriptionStopped"
            | "realTimeTranscriptionRejected"
            | "realTimeTranscriptionAvailable"
    )
}

/// `diversion.reason`, the SIP Diversion reason (RFC 5806) of a forwarded call, where it
/// clearly says why the central team got it: the tenant's line was busy or did not answer
/// (overflow), or a time-of-day rule sent it (after hours). Other reasons (`unconditional`,
/// `unavailable`, `deflection`...) say nothing the model names: `None`.
pub(super) fn diversion_reason(raw: &str) -> Option<RoutingReason> {
    match raw {
        "user-busy" | "no-answer" => Some(RoutingReason::Overflow),
        "time-of-day" => Some(RoutingReason::AfterHours),
        _ => None,
    }
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
        assert_eq!(call_event("transferAnswer"), Some(CallProgress::Answered));
        for raw in ["disconnect", "Initiate", "answered", "transferComplete", ""] {
            assert_eq!(call_event(raw), None, "{raw}");
        }
    }

    #[test]
    fn every_diversion_reason_row() {
        assert_eq!(diversion_reason("user-busy"), Some(RoutingReason::Overflow));
        assert_eq!(diversion_reason("no-answer"), Some(RoutingReason::Overflow));
        assert_eq!(
            diversion_reason("time-of-day"),
            Some(RoutingReason::AfterHours)
        );
        for raw in [
            "unconditional",
            "unavailable",
            "unknown",
            "deflection",
            "User-Busy",
            "no_answer",
            "",
        ] {
            assert_eq!(diversion_reason(raw), None, "{raw}");
        }
    }

    #[test]
    fn informational_callbacks_are_known_and_call_events_are_not() {
        for raw in [
            "machineDetectionComplete",
            "transferComplete",
            "gather",
            "dtmf",
            "conferenceCompleted",
            "realTimeTranscriptionAvailable",
        ] {
            assert!(is_informational(raw), "{raw}");
        }
        for raw in [
            "initiate",
            "answer",
            "disconnect",
            "transferAnswer",
            "transferDisconnect",
            "recordingAvailable",
            "recordComplete",
            "conferenceRecordingAvailable",
            "machinedetectioncomplete",
            "",
        ] {
            assert!(!is_informational(raw), "{raw}");
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
