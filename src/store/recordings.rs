//! The outbox rows that delete a call's discarded recordings at the provider: queued, and
//! called off when the recordings are no longer discarded.

use super::StoreError;
use super::calls::CallRow;
use super::db::{Db, args};
use super::millis;
use time::OffsetDateTime;

/// What a called-off deletion's outbox row says in `last_error`.
const DELETION_CANCELLED: &str = "cancelled: the recording is no longer discarded";

/// Queues the deletion of one of the call's recordings; a deletion called off before is
/// queued again. False when it was queued already.
pub fn queue_deletion(
    db: &Db<'_>,
    call: &CallRow,
    recording_id: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let inserted = db.exec(
        "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
         VALUES ('delete_recording', ?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (kind, connection_id, recording_id) DO UPDATE
         SET done_at = NULL, next_attempt_at = excluded.next_attempt_at, last_error = NULL
         WHERE outbox.last_error = ?6",
        args![
            call.connection_id,
            call.id,
            call.provider_call_id,
            recording_id,
            millis(now),
            DELETION_CANCELLED
        ],
    )?;
    Ok(inserted > 0)
}

/// Whether [`queue_deletion`] of the recording would queue it: no deletion of it is queued,
/// or the one queued was called off.
pub fn deletion_would_queue(
    db: &Db<'_>,
    call: &CallRow,
    recording_id: &str,
) -> Result<bool, StoreError> {
    let queued = db.query_opt(
        "SELECT 1 FROM outbox WHERE kind = 'delete_recording' AND connection_id = ?1
             AND recording_id = ?2 AND (last_error IS NULL OR last_error <> ?3) LIMIT 1",
        args![call.connection_id, recording_id, DELETION_CANCELLED],
        |r| r.get::<i32>(0),
    )?;
    Ok(queued.is_none())
}

/// Calls off the deletions of the call's recordings that are not done yet; returns the
/// recording ids called off. A deletion the provider has already carried out cannot be
/// undone.
pub fn cancel_deletions(
    db: &Db<'_>,
    call: &CallRow,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    db.query(
        "UPDATE outbox SET done_at = ?1, last_error = ?3
         WHERE kind = 'delete_recording' AND call_id = ?2 AND done_at IS NULL
         RETURNING recording_id",
        args![millis(now), call.id, DELETION_CANCELLED],
        |r| r.get(0),
    )
}
