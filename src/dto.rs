//! The JSON shapes of a call (fixed by the contract), built from the internal model: what the
//! API answers, live subscribers receive and outbound webhooks carry. The internal model is
//! never serialized directly.

use crate::domain::call::{Earliest, LegFold};
use crate::domain::gate::{RecordingStatus, TenantVia};
use crate::store::calls::{CallRow, tenant_status_name};
use callgate_adapters::kit::{Direction, LegRole};
use serde::Serialize;
use time::OffsetDateTime;

pub use crate::domain::call::state_name;

/// The call states the list filter accepts.
pub const STATE_NAMES: [&str; 8] = [
    "initiated",
    "ringing",
    "in_progress",
    "completed",
    "busy",
    "no_answer",
    "failed",
    "canceled",
];

#[derive(Debug, Serialize)]
pub struct TenantDto {
    pub status: &'static str,
    pub tenant_id: Option<String>,
    pub via: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct RecordingDto {
    pub status: &'static str,
    pub provider_recording_id: Option<String>,
    pub duration_s: Option<u64>,
    /// The recording's location at the provider: only once it is kept for a tenant.
    pub url: Option<String>,
}

/// One leg of a `CALL`.
#[derive(Debug, Serialize)]
pub struct LegDto {
    pub provider_call_id: String,
    pub role: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub state: &'static str,
    pub agent_id: Option<String>,
}

impl LegDto {
    /// The call's legs: the customer's (the call itself) first, then the others by when
    /// they were first heard of.
    fn of(c: &CallRow) -> Vec<Self> {
        let f = &c.fold;
        let customer = f.customer_leg(&c.provider_call_id);
        let mut others: Vec<(&String, &LegFold)> = f
            .legs
            .iter()
            .filter(|(id, _)| id.as_str() != customer)
            .collect();
        others.sort_by_key(|(id, l)| (l.since, *id));
        let value = |e: &Option<Earliest<String>>| e.as_ref().map(|e| e.value.clone());
        let mut legs = vec![Self {
            provider_call_id: customer.to_owned(),
            role: LegRole::Customer.as_str(),
            from: value(&f.from),
            to: value(&f.to),
            state: f.progress.map_or("initiated", state_name),
            agent_id: None,
        }];
        legs.extend(others.into_iter().map(|(id, l)| Self {
            provider_call_id: id.clone(),
            role: l.role.unwrap_or(LegRole::Other).as_str(),
            from: value(&l.from),
            to: value(&l.to),
            state: l.progress.map_or("initiated", state_name),
            agent_id: l.agent_id.clone(),
        }));
        legs
    }
}

/// `CALL` of the contract.
#[derive(Debug, Serialize)]
pub struct CallDto {
    pub id: String,
    pub provider: String,
    pub connection_id: String,
    pub provider_call_id: String,
    pub direction: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub caller_name: Option<String>,
    pub number_kind: &'static str,
    pub state: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    pub tenant: TenantDto,
    pub recording: RecordingDto,
    pub agent_id: Option<String>,
    /// Who ended the call: `provider`, `reconciled` (a lookup at the provider's API) or
    /// `timed_out`; `None` while it has not ended.
    pub ended_by: Option<&'static str>,
    /// The customer's leg first, then the others in the order they were first heard of.
    pub legs: Vec<LegDto>,
    pub forwarded_from: Option<String>,
    pub routing_reason: Option<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&CallRow> for CallDto {
    fn from(c: &CallRow) -> Self {
        let f = &c.fold;
        let tenant = c.tenant();
        let recording_status = c.recording_status();
        let primary = f.primary_recording();
        let direction = f.direction.as_ref().map_or(Direction::Inbound, |d| d.value);
        CallDto {
            id: c.id.clone(),
            provider: c.provider.clone(),
            connection_id: c.connection_id.clone(),
            provider_call_id: f.customer_leg(&c.provider_call_id).to_owned(),
            direction: match direction {
                Direction::Inbound => "inbound",
                Direction::Outbound => "outbound",
            },
            from: f.from.as_ref().map(|e| e.value.clone()),
            to: f.to.as_ref().map(|e| e.value.clone()),
            caller_name: f.caller_name.as_ref().map(|e| e.value.clone()),
            number_kind: c.resolution.as_ref().map_or("unknown", |r| r.kind.as_str()),
            state: f.progress.map_or("initiated", state_name),
            started_at: f.started_at,
            answered_at: f.answered_at,
            ended_at: f.ended_at,
            tenant: TenantDto {
                status: tenant_status_name(tenant.status),
                tenant_id: tenant.tenant_id,
                via: tenant.via.map(TenantVia::as_str),
            },
            recording: RecordingDto {
                status: recording_status.as_str(),
                provider_recording_id: primary
                    .map(|(id, _)| id.clone())
                    .filter(|_| recording_status != RecordingStatus::None),
                duration_s: primary.and_then(|(_, r)| r.duration_s),
                url: primary
                    .and_then(|(_, r)| r.url.as_ref().map(|u| u.value.clone()))
                    .filter(|_| recording_status.exposes_location()),
            },
            agent_id: c.agent_id.clone(),
            ended_by: f.ended_by().map(|by| by.as_str()),
            legs: LegDto::of(c),
            forwarded_from: f.forwarded_from.as_ref().map(|e| e.value.clone()),
            routing_reason: f.routing_reason.as_ref().map(|e| e.value.as_str()),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The kinds of event callgate publishes, on the live stream and to outbound webhooks: the
/// one place that names them as the wire does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A call's state, tenant, recording or agent changed.
    CallUpdated,
    /// A call's recording decision changed (gated, saved, discarded).
    RecordingDecided,
    /// A tenant's hub counts (chats, web bookings) changed.
    HubUpdated,
    /// A call was claimed for the agent whose phone answered it (that agent's stream only).
    ScreenPop,
}

impl EventType {
    /// Every kind, as the live stream offers them.
    pub const ALL: [Self; 4] = [
        Self::CallUpdated,
        Self::RecordingDecided,
        Self::HubUpdated,
        Self::ScreenPop,
    ];
    /// The kinds about a call, which outbound webhook subscriptions may ask for.
    pub const OF_CALLS: [Self; 2] = [Self::CallUpdated, Self::RecordingDecided];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CallUpdated => "call.updated",
            Self::RecordingDecided => "recording.decided",
            Self::HubUpdated => "hub.updated",
            Self::ScreenPop => "screen_pop",
        }
    }

    /// The kind named `name` exactly, among `among`.
    pub fn parse(name: &str, among: &[Self]) -> Option<Self> {
        among.iter().copied().find(|k| k.as_str() == name)
    }
}

/// The body of a call event (`call.updated` or `recording.decided`): what live subscribers
/// and outbound webhooks receive alike.
pub fn event_json(kind: EventType, call: &CallRow) -> serde_json::Value {
    let dto = CallDto::from(call);
    if kind == EventType::RecordingDecided {
        serde_json::json!({
            "type": kind.as_str(),
            "call_id": dto.id,
            "tenant_id": dto.tenant.tenant_id,
            "recording": dto.recording,
            "call": dto,
        })
    } else {
        serde_json::json!({ "type": kind.as_str(), "call": dto })
    }
}
