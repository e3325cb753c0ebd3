//! What ops see of the work callgate sends out: recording deletions not done yet, and
//! outbound webhook deliveries that failed or are being retried.

use super::StoreError;
use super::db::{Db, Row, args};
use super::{from_millis, millis};
use time::OffsetDateTime;

/// A recording deletion at the provider, not done yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDeletion {
    /// The outbox job's id.
    pub id: i64,
    pub connection_id: String,
    pub call_id: String,
    pub recording_id: String,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    /// Why the last attempt failed (never a URL or a secret).
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

const DELETION_COLUMNS: &str =
    "id, connection_id, call_id, recording_id, attempts, next_attempt_at, last_error, created_at";

fn deletion_from_row(r: &Row<'_, '_>) -> Result<PendingDeletion, StoreError> {
    Ok(PendingDeletion {
        id: r.get(0)?,
        connection_id: r.get(1)?,
        call_id: r.get(2)?,
        recording_id: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt_at: from_millis(r.get(5)?),
        last_error: r.get(6)?,
        created_at: from_millis(r.get(7)?),
    })
}

/// The recording deletions not done yet, the soonest due first.
pub fn pending_deletions(db: &Db<'_>, limit: i64) -> Result<Vec<PendingDeletion>, StoreError> {
    db.query(
        &format!(
            "SELECT {DELETION_COLUMNS} FROM outbox
             WHERE done_at IS NULL AND kind = 'delete_recording'
             ORDER BY next_attempt_at, id LIMIT ?1"
        ),
        args![limit],
        deletion_from_row,
    )
}

/// What asking for a recording deletion's retry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionRetry {
    /// Due at once, its backoff started over; its attempts are kept.
    Due(PendingDeletion),
    /// The deletion is over: confirmed, closed as not supported, or called off.
    Over,
    /// No recording deletion has this id.
    Unknown,
}

/// Makes the pending recording deletion `id` due at `now`: the worker tries it on its next
/// pass. Its attempt count is kept (the history of what was tried); its backoff starts over,
/// so a failure now waits the first, shortest delay again.
pub fn retry_deletion(
    db: &Db<'_>,
    id: i64,
    now: OffsetDateTime,
) -> Result<DeletionRetry, StoreError> {
    let due = db.query(
        &format!(
            "UPDATE outbox SET next_attempt_at = ?2, backoff_from = attempts
             WHERE id = ?1 AND kind = 'delete_recording' AND done_at IS NULL
             RETURNING {DELETION_COLUMNS}"
        ),
        args![id, millis(now)],
        deletion_from_row,
    )?;
    if let Some(d) = due.into_iter().next() {
        return Ok(DeletionRetry::Due(d));
    }
    let known = db.query_opt(
        "SELECT id FROM outbox WHERE id = ?1 AND kind = 'delete_recording'",
        args![id],
        |r| r.get::<i64>(0),
    )?;
    Ok(if known.is_some() {
        DeletionRetry::Over
    } else {
        DeletionRetry::Unknown
    })
}

/// An outbound webhook delivery that failed for good (`failed`) or is being retried
/// (`pending`, after a failed attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubledDelivery {
    pub id: String,
    pub subscription_id: String,
    pub event_type: String,
    pub call_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

fn troubled_from_row(r: &Row<'_, '_>) -> Result<TroubledDelivery, StoreError> {
    Ok(TroubledDelivery {
        id: r.get(0)?,
        subscription_id: r.get(1)?,
        event_type: r.get(2)?,
        call_id: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        last_status: r.get(6)?,
        last_error: r.get(7)?,
        created_at: from_millis(r.get(8)?),
    })
}

const TROUBLED: &str = "SELECT id, subscription_id, event_type, call_id, status, attempts,
     last_status, last_error, created_at FROM webhook_deliveries";

/// The deliveries being retried (oldest first), then those that failed for good (newest
/// first), `limit` of each at most.
pub fn troubled_deliveries(db: &Db<'_>, limit: i64) -> Result<Vec<TroubledDelivery>, StoreError> {
    let mut out = db.query(
        &format!(
            "{TROUBLED} WHERE status = 'pending' AND attempts > 0 ORDER BY next_attempt_at LIMIT ?1"
        ),
        args![limit],
        troubled_from_row,
    )?;
    out.extend(db.query(
        &format!("{TROUBLED} WHERE status = 'failed' ORDER BY created_at DESC LIMIT ?1"),
        args![limit],
        troubled_from_row,
    )?);
    Ok(out)
}
