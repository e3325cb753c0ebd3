//! Tenant outcome and the recording gate: pure functions of the call fold and the number's
//! resolution. Whatever order webhooks and agent actions arrive in, the decision depends only
//! on whether a tenant had been selected before callgate recorded the end of the call.

use super::call::{CallFold, Entry, Selection};
use super::numbers::{NumberKind, Resolution};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Dialed a tenant's local number.
    Resolved,
    /// Waiting for an agent's choice.
    Pending,
    /// Chosen by an agent before the call ended.
    Selected,
    /// Ended without a tenant.
    Unresolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantVia {
    LocalNumber,
    /// The call was forwarded from a tenant's local number (overflow, after hours).
    ForwardedFrom,
    Agent,
}

impl TenantVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LocalNumber => "local_number",
            Self::ForwardedFrom => "forwarded_from",
            Self::Agent => "agent",
        }
    }
}

/// Who the call belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantOutcome {
    pub status: TenantStatus,
    pub tenant_id: Option<String>,
    pub via: Option<TenantVia>,
    /// True when the tenant came from the first selection made on the call, entered from
    /// the call's own prompt (not through Find Tenant): the screen pop then selects the call
    /// bubble and fills in the customer. Also true for a local call no agent moved.
    pub first_choice: bool,
}

/// The tenant a call's number names by itself: a tenant's local number. An agent may move
/// such a call to another tenant, but never leaves it waiting for one.
pub fn number_tenant(resolution: Option<&Resolution>) -> Option<&str> {
    match resolution {
        Some(Resolution {
            kind: NumberKind::Local,
            tenant_id: Some(t),
            ..
        }) => Some(t),
        _ => None,
    }
}

/// The call's tenant, from the number's resolution and the agents' selections. A call its
/// number resolves keeps that tenant unless an agent moved it ([`Entry::Moved`]); the other
/// selections, made while the call waited for a tenant, do not count against its number.
/// Only the first tenant entered from the call's own prompt prefills the screen pop.
pub fn tenant_outcome(fold: &CallFold, resolution: Option<&Resolution>) -> TenantOutcome {
    if let Some(t) = number_tenant(resolution) {
        let moved = fold
            .effective_selections()
            .filter(|s| s.entry == Entry::Moved)
            .last();
        let via = if resolution.is_some_and(|r| r.via_forwarded) {
            TenantVia::ForwardedFrom
        } else {
            TenantVia::LocalNumber
        };
        return match moved {
            Some(sel) => selected(sel, false),
            None => TenantOutcome {
                status: TenantStatus::Resolved,
                tenant_id: Some(t.to_owned()),
                via: Some(via),
                first_choice: true,
            },
        };
    }
    let mut effective = fold.effective_selections();
    let first = effective.next();
    let last = effective.last().or(first);
    match last {
        Some(sel) => selected(
            sel,
            first.is_some_and(|f| f == sel) && sel.entry == Entry::Entered,
        ),
        None => TenantOutcome {
            status: if fold.has_ended() {
                TenantStatus::Unresolved
            } else {
                TenantStatus::Pending
            },
            tenant_id: None,
            via: None,
            first_choice: false,
        },
    }
}

fn selected(sel: &Selection, first_choice: bool) -> TenantOutcome {
    TenantOutcome {
        status: TenantStatus::Selected,
        tenant_id: Some(sel.tenant_id.clone()),
        via: Some(TenantVia::Agent),
        first_choice,
    }
}

/// What happens to the call's recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStatus {
    /// No recording reported.
    None,
    /// Held: no tenant yet; its location is shown to no one.
    Gated,
    /// Kept for the call's tenant.
    Saved,
    /// The call ended without a tenant: not kept, deleted at the provider.
    Discarded,
}

impl RecordingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gated => "gated",
            Self::Saved => "saved",
            Self::Discarded => "discarded",
        }
    }

    /// Only a kept recording's location may be shown.
    pub fn exposes_location(self) -> bool {
        self == Self::Saved
    }
}

/// The recording gate. `recording_exists`: the provider reported a recording that has or
/// will have media (not `absent`/`failed`).
pub fn recording_status(tenant: TenantStatus, recording_exists: bool) -> RecordingStatus {
    if !recording_exists {
        return RecordingStatus::None;
    }
    match tenant {
        TenantStatus::Resolved | TenantStatus::Selected => RecordingStatus::Saved,
        TenantStatus::Pending => RecordingStatus::Gated,
        TenantStatus::Unresolved => RecordingStatus::Discarded,
    }
}

/// The recording decision as it is audited and announced: the gate's status, and for a kept
/// recording the tenant it is kept for ("find different tenant" moves a kept recording to
/// another tenant: a new decision, though the status stays `saved`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDecision {
    pub status: RecordingStatus,
    pub kept_for: Option<String>,
}

impl RecordingDecision {
    pub fn new(tenant: &TenantOutcome, recording_exists: bool) -> Self {
        let status = recording_status(tenant.status, recording_exists);
        let kept_for = match status {
            RecordingStatus::Saved => tenant.tenant_id.clone(),
            _ => None,
        };
        Self { status, kept_for }
    }

    /// Whether this decision is news after `before` (`None`: the call is new): a recording
    /// is reported and its fate differs.
    pub fn is_new(&self, before: Option<&Self>) -> bool {
        self.status != RecordingStatus::None && before != Some(self)
    }
}

/// The recordings to delete at the provider: every recording with media, once the call's
/// recordings are discarded. In-progress recordings wait for their completion callback.
pub fn recordings_to_delete(fold: &CallFold, status: RecordingStatus) -> Vec<String> {
    if status != RecordingStatus::Discarded {
        return Vec::new();
    }
    fold.recordings
        .iter()
        .filter(|(_, r)| r.status == callgate_adapters::kit::RecordingProgress::Completed)
        .map(|(id, _)| id.clone())
        .collect()
}
