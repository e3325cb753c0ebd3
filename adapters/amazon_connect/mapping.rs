//! Amazon Connect values to the common model, as explicit tables (providers.md 7.1). A
//! value not listed is unknown: the caller keeps it as an unmapped event.

use crate::kit::{CallProgress, Direction};

/// What a contact event type means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventType {
    Call(CallProgress),
    /// Known, and no change of the call's progress (queued; after-contact work done).
    Ignored,
}

pub(super) fn event_type(value: &str) -> Option<EventType> {
    Some(match value {
        // The contact exists; a data update carries the numbers the flow set (README.md).
        "INITIATED" | "CONTACT_DATA_UPDATED" => EventType::Call(CallProgress::Initiated),
        // The flow (the system) or an agent took the call.
        "CONNECTED_TO_SYSTEM" | "CONNECTED_TO_AGENT" => EventType::Call(CallProgress::Answered),
        "DISCONNECTED" => EventType::Call(CallProgress::Completed),
        "QUEUED" | "COMPLETED" | "AMD_DISABLED" => EventType::Ignored,
        _ => return None,
    })
}

/// `initiationMethod`: how the contact started.
pub(super) fn direction(value: &str) -> Option<Direction> {
    match value {
        "INBOUND" => Some(Direction::Inbound),
        "OUTBOUND" | "EXTERNAL_OUTBOUND" | "API" | "CALLBACK" => Some(Direction::Outbound),
        _ => None,
    }
}
