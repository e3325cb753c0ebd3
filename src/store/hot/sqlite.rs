//! The hot statements on SQLite: its single writer excludes every other, so there is no lock
//! to take, and each statement, a row at a time, is cheap.

use super::{CallColumns, INSERT_EVENTS, event_args};
use crate::store::StoreError;
use crate::store::calls::{self, CallKey, CallRow, call_columns};
use crate::store::db::{Db, args};
use crate::store::ingest::EventRow;
use crate::store::millis;
use time::OffsetDateTime;

/// Each missing call read, or created when it is not stored: a call that exists is read,
/// not rewritten.
pub(super) fn get_or_create_calls(
    db: &Db<'_>,
    keys: &[CallKey<'_>],
    missing: &[usize],
    now: OffsetDateTime,
) -> Result<Vec<(usize, CallRow, bool)>, StoreError> {
    missing
        .iter()
        .map(|&i| read_or_create(db, &keys[i], now).map(|(call, existed)| (i, call, existed)))
        .collect()
}

/// The call `key` names, read, or created when it is not stored, with whether it existed.
fn read_or_create(
    db: &Db<'_>,
    key: &CallKey<'_>,
    now: OffsetDateTime,
) -> Result<(CallRow, bool), StoreError> {
    let select = concat!(
        "SELECT ",
        call_columns!(),
        " FROM calls WHERE provider_call_id = ?1 AND connection_id = ?2"
    );
    if let Some(raw) = db.query_opt(
        select,
        args![key.provider_call_id, key.connection_id],
        calls::from_row,
    )? {
        return Ok((calls::decode(raw)?, true));
    }
    let id = calls::new_id();
    let seq = db
        .insert_id(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, tenant_status,
                 recording_status, fold, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', 'none', '{}', ?5, ?5)",
            args![
                id,
                key.connection_id,
                key.provider,
                key.provider_call_id,
                millis(now)
            ],
            "seq",
        )?
        .ok_or_else(|| StoreError::Internal("the call was not stored".into()))?;
    Ok((CallRow::new(seq, id, key, now), false))
}

/// A call's row: the same parameters as PostgreSQL's update, for one row.
const UPDATE_CALL: &str = "UPDATE calls SET state = ?2, number_kind = ?3, tenant_status = ?4,
         tenant_id = ?5, recording_status = ?6, agent_id = ?7, fold = ?8, resolution = ?9,
         updated_at = ?10
     WHERE seq = ?1";

/// Updates the calls' rows, one statement each; returns how many rows were updated.
pub(super) fn update_calls(
    db: &Db<'_>,
    calls: &[CallColumns<'_>],
    at: i64,
) -> Result<usize, StoreError> {
    let mut updated = 0;
    for call in calls {
        updated += db.exec(UPDATE_CALL, &call.args(at))?;
    }
    Ok(updated)
}

/// Inserts the events a row at a time, each new when the statement changed a row (a
/// `RETURNING` would cost a temporary table each).
pub(super) fn insert_events(
    db: &Db<'_>,
    rows: &[EventRow<'_>],
    labels: &[String],
    at: i64,
) -> Result<Vec<bool>, StoreError> {
    rows.iter()
        .zip(labels)
        .map(|(r, label)| Ok(db.exec(INSERT_EVENTS.get(1), &event_args(r, label, at))? > 0))
        .collect()
}
