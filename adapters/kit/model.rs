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
    /// The number the call was forwarded from, when the provider reports one (Twilio's and
    /// Plivo's `ForwardedFrom`, Bandwidth's `diversion.origTo`): a tenant's local number
    /// names the tenant of an overflow or after-hours call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// Why the call was forwarded, when the provider or the standard format says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_reason: Option<RoutingReason>,
}

/// Why a call reached the central team forwarded from a tenant's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingReason {
    /// The tenant's line was busy or nobody answered in time.
    Overflow,
    /// Outside the tenant's business hours.
    AfterHours,
    /// The caller waited in the tenant's queue beyond its limit.
    QueueTimeout,
}

impl RoutingReason {
    /// The contract's spelling: `overflow`, `after_hours`, `queue_timeout`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "overflow" => Some(Self::Overflow),
            "after_hours" => Some(Self::AfterHours),
            "queue_timeout" => Some(Self::QueueTimeout),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overflow => "overflow",
            Self::AfterHours => "after_hours",
            Self::QueueTimeout => "queue_timeout",
        }
    }
}

/// What a leg is to the customer's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    /// The leg the customer dialed (or was dialed on): the call itself.
    Customer,
    /// A leg dialed to an agent's phone.
    Agent,
    /// A leg the call was transferred to.
    Transfer,
    /// Any other leg (a conference participant, a leg the provider does not explain).
    Other,
}

impl LegRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Transfer => "transfer",
            Self::Other => "other",
        }
    }
}

/// Where the event's leg (`CallEvent::provider_call_id`) sits in a customer's call. The
/// default is a call of its own: the customer's leg, with no other leg named.
///
/// The call an event belongs to is found from the event alone: the named parent, else the
/// session, else the leg's own id ([`CallEvent::call_id`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The provider's id of the customer's call this leg was dialed from (Twilio's
    /// `ParentCallSid`, Bandwidth's `parentCallId`). `None` on the customer's own leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_call_id: Option<String>,
    /// A key the provider gives every leg of one customer call (Telnyx's `call_session_id`,
    /// Vonage's `conversation_uuid`), on every leg, the customer's too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// What the leg is, when the provider tells. `None`: the customer's leg when no parent is
    /// named, else [`LegRole::Other`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<LegRole>,
    /// On an agent's leg: whose phone it rang, as the provider names the leg's destination
    /// (`client:ana`, a SIP URI, a number, a user name). Matched against users' identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_identity: Option<String>,
    /// What the provider's REST API looks this leg up by, when that is not an id the call
    /// model keeps (Telnyx's `call_control_id`: its call status is asked by it, while events
    /// are keyed by the leg and session ids). Kept per leg by the fold, and given back to
    /// the adapter as [`crate::kit::LookupTarget::handle`] when the call is looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_handle: Option<String>,
}

impl Leg {
    /// True for the default: the customer's leg of a call with no other leg named.
    pub fn is_plain(&self) -> bool {
        *self == Self::default()
    }

    /// What the event says the leg is: as the provider said, else another leg when it names
    /// a parent; `None` when it says nothing (a leg naming no parent).
    pub fn stated_role(&self) -> Option<LegRole> {
        match (self.role, &self.parent_call_id) {
            (Some(role), _) => Some(role),
            (None, Some(_)) => Some(LegRole::Other),
            (None, None) => None,
        }
    }

    /// What the leg is to its call: [`Leg::stated_role`], else the customer's leg.
    pub fn role(&self) -> LegRole {
        self.stated_role().unwrap_or(LegRole::Customer)
    }
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
    /// The provider's id of the leg this event is about: the call's own id on a call of one
    /// leg (see [`CallEvent::call_id`]).
    pub provider_call_id: String,
    /// When the provider says it happened, if it says so.
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    pub party: Party,
    pub kind: EventKind,
    /// Where this leg sits in the customer's call.
    #[serde(default, skip_serializing_if = "Leg::is_plain")]
    pub leg: Leg,
}

impl CallEvent {
    /// The provider's id of the customer's call this event belongs to: the parent the leg
    /// names, else the session all its legs share, else the leg's own id.
    pub fn call_id(&self) -> &str {
        self.leg
            .parent_call_id
            .as_deref()
            .or(self.leg.session_id.as_deref())
            .unwrap_or(&self.provider_call_id)
    }
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
