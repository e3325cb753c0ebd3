//! The common call model: what every provider's webhooks become.
//!
//! Events are facts reported by a provider about one call. They are deliberately small and
//! closed: a provider value that has no obvious meaning here becomes [`EventKind::Unmapped`],
//! which is stored and counted but never changes a call's state (its party fields, the
//! same in every event of a call, are still taken in).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Which way the call goes, seen from the tenant's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// The plain spelling SignalWire (RELAY), Bandwidth and Vonage share: exactly `inbound`
    /// or `outbound`. Anything else says nothing about the direction.
    pub fn inbound_outbound(raw: &str) -> Option<Self> {
        match raw {
            "inbound" => Some(Self::Inbound),
            "outbound" => Some(Self::Outbound),
            _ => None,
        }
    }
}

/// Progress of the call itself, as reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallProgress {
    Initiated,
    Ringing,
    Answered,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallProgress {
    /// True for the states after which nothing more happens on the call.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Failed | Self::Canceled
        )
    }
}

/// Progress of one recording of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingProgress {
    /// The provider started recording (no media yet).
    InProgress,
    /// Media is available at the provider.
    Completed,
    /// The provider made no recording (too short, silent).
    Absent,
    /// The provider failed to produce the recording.
    Failed,
}

/// A recording as the provider reports it. The URL is sensitive: it is only ever exposed
/// once the recording is kept for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingEvent {
    pub recording_id: String,
    pub status: RecordingProgress,
    pub url: Option<String>,
    pub duration_s: Option<u64>,
}

/// Who is calling whom, as far as this event tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub direction: Option<Direction>,
    /// The calling party, as the provider wrote it (E.164 for PSTN calls).
    pub from: Option<String>,
    /// The called party (for an inbound call: the dialed number).
    pub to: Option<String>,
    /// The provider's caller-name (CNAM) data, when it has any.
    pub caller_name: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Call {
        progress: CallProgress,
    },
    Recording(RecordingEvent),
    /// A provider value callgate does not know. Kept and counted, never guessed.
    Unmapped {
        field: String,
        value: String,
    },
}

/// A closed list of what an adapter can emit, declared in its [`crate::kit::ProviderInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTag {
    Call,
    Recording,
    Unmapped,
}

impl EventKind {
    /// A provider value callgate does not know, from the provider field it came in.
    pub fn unmapped(field: &str, value: &str) -> Self {
        Self::Unmapped {
            field: field.to_owned(),
            value: value.to_owned(),
        }
    }

    pub fn tag(&self) -> EventTag {
        match self {
            Self::Call { .. } => EventTag::Call,
            Self::Recording(_) => EventTag::Recording,
            Self::Unmapped { .. } => EventTag::Unmapped,
        }
    }
}

/// One normalized fact about one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Stable across retries of the same webhook: the provider's event id, or a documented
    /// composite (call id + status + sequence number). Two events with the same key are one.
    pub dedupe_key: String,
    /// The provider's id of the call this event is about.
    pub provider_call_id: String,
    /// When the provider says it happened, if it says so.
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    pub party: Party,
    pub kind: EventKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_direction_spelling() {
        assert_eq!(
            Direction::inbound_outbound("inbound"),
            Some(Direction::Inbound)
        );
        assert_eq!(
            Direction::inbound_outbound("outbound"),
            Some(Direction::Outbound)
        );
        for raw in ["Inbound", "outbound-api", "outbound-dial", "in", ""] {
            assert_eq!(Direction::inbound_outbound(raw), None, "{raw}");
        }
    }
}
