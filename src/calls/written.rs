//! What a written call's change sets off inside its transaction: other instances are told,
//! outbound subscribers get their deliveries, and a new recording decision is audited and
//! queues (or calls off) the deletion of discarded recordings.

use crate::domain::gate::{self, RecordingDecision, RecordingStatus};
use crate::dto::{EventType, event_json};
use crate::store::calls::{self as rows, CallRow};
use crate::store::subscriptions::{self, EnabledSubscriptions, QueuedEvent};
use crate::store::{Db, Signal, StoreError, audit, recordings};
use time::OffsetDateTime;

/// What writing a call set off, for its [`super::Effects`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Written {
    /// It queued work for the outbox (a deletion, an outbound delivery).
    pub queued: bool,
    /// The recording decision is new (audited, announced as `recording.decided`).
    pub recording_decided: bool,
}

/// The effects of a call just written by `actor`: see the module. `before` is its
/// recording decision before the change (`None` for a new call).
pub(crate) fn after_write(
    db: &Db<'_>,
    call: &CallRow,
    before: Option<&RecordingDecision>,
    actor: &str,
    now: OffsetDateTime,
    wanted: &EnabledSubscriptions,
) -> Result<Written, StoreError> {
    let decision = call.recording_decision();
    let recording_decided = decision.is_new(before);
    let mut queued = announce(db, call, recording_decided, now, wanted)?;
    if recording_decided {
        let detail =
            serde_json::json!({ "recording_ids": call.fold.recordings.keys().collect::<Vec<_>>() });
        let tenant = call.tenant();
        let action = format!("recording.{}", decision.status.as_str());
        audit::record(
            db,
            now,
            actor,
            &action,
            Some(&call.id),
            tenant.tenant_id.as_deref(),
            &detail,
        )?;
    }
    if before.is_some_and(|b| b.status == RecordingStatus::Discarded)
        && decision.status != RecordingStatus::Discarded
    {
        // Its recordings were discarded, and are not any more (a webhook that arrived late
        // moved the call to a tenant's local number).
        for recording_id in recordings::cancel_deletions(db, call, now)? {
            audit_deletion(db, call, "recording.deletion_cancelled", &recording_id, now)?;
        }
    }
    for recording_id in gate::recordings_to_delete(&call.fold, decision.status) {
        if recordings::queue_deletion(db, call, &recording_id, now)? {
            queued = true;
            audit_deletion(db, call, "recording.deletion_requested", &recording_id, now)?;
        }
    }
    // An agent's active call ends with the call. Only a claimed call is an agent's active
    // call (a claim sets both).
    if call.fold.has_ended() && call.agent_id.is_some() {
        rows::end_active_call(db, &call.id)?;
    }
    // A call that ended without a tenant has its recordings listed at the provider, so that
    // one whose webhook never came is deleted too (the reconciler).
    if call.fold.has_ended() && call.tenant().status == gate::TenantStatus::Unresolved {
        crate::store::reconcile::watch(db, &call.id, now)?;
    }
    Ok(Written {
        queued,
        recording_decided,
    })
}

fn audit_deletion(
    db: &Db<'_>,
    call: &CallRow,
    action: &str,
    recording_id: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let detail = serde_json::json!({ "recording_id": recording_id });
    audit::record(db, now, "system", action, Some(&call.id), None, &detail)
}

/// Tells other instances the call changed, and queues the events the change makes for
/// every enabled subscription that wants them: `recording.decided` when its recording
/// decision changed, then `call.updated` (the order live subscribers see). Each event takes
/// the call's next sequence number. Returns whether a delivery was queued.
pub(crate) fn announce(
    db: &Db<'_>,
    call: &CallRow,
    recording_decided: bool,
    now: OffsetDateTime,
    wanted: &EnabledSubscriptions,
) -> Result<bool, StoreError> {
    db.announce(&Signal::Call {
        id: call.id.clone(),
        recording_decided,
    })?;
    if wanted.is_empty() {
        return Ok(false);
    }
    let mut queued = false;
    let kinds = [EventType::RecordingDecided, EventType::CallUpdated];
    for kind in kinds
        .into_iter()
        .filter(|k| *k == EventType::CallUpdated || recording_decided)
    {
        let subscribers: Vec<&str> = wanted
            .iter()
            .filter(|(_, types)| types.iter().any(|t| t == kind.as_str()))
            .map(|(id, _)| id.as_str())
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        let sequence = rows::next_event_sequence(db, call)?;
        let payload = payload(kind, call, sequence, now);
        let event = QueuedEvent {
            event_type: kind.as_str(),
            call_id: &call.id,
            sequence,
            payload: &payload,
        };
        for subscription in subscribers {
            subscriptions::queue_delivery(db, subscription, &event, now)?;
            queued = true;
        }
    }
    Ok(queued)
}

/// The body of an outbound webhook: the event, when, which call and its sequence number,
/// and the call as live subscribers see it.
fn payload(kind: EventType, call: &CallRow, sequence: i64, now: OffsetDateTime) -> String {
    let timestamp = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "type": kind.as_str(),
        "timestamp": timestamp,
        "call_id": call.id,
        "sequence": sequence,
        "data": event_json(kind, call),
    })
    .to_string()
}

/// Writes the call (changed in place by the caller, e.g. an agent's selection) and what its
/// change sets off.
pub(crate) fn save(
    db: &Db<'_>,
    call: &mut CallRow,
    before: Option<&RecordingDecision>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Written, StoreError> {
    rows::write_many(db, &mut [&mut *call], now)?;
    let wanted = subscriptions::enabled(db)?;
    after_write(db, call, before, actor, now, &wanted)
}
