//! The hot statements on PostgreSQL: many rows per statement, and the calls' rows locked in
//! key order, so that two transactions about the same calls never wait for each other in a
//! circle.

use super::{CallColumns, INSERT_EVENTS, event_args};
use crate::store::StoreError;
use crate::store::calls::{self, CallKey, CallRow, call_columns};
use crate::store::db::{Arg, Db, Dialect, ToArg};
use crate::store::ingest::EventRow;
use crate::store::millis;
use crate::store::rows::{self, StatementsByRows};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Creates the calls that do not exist yet and locks those that do (the no-op update takes
/// the row lock), row after row in the order given: one statement reads, creates and locks
/// them all.
static UPSERT: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        concat!(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, tenant_status,
                 recording_status, fold, created_at, updated_at)
             VALUES {}
             ON CONFLICT (provider_call_id, connection_id) DO UPDATE SET updated_at = calls.updated_at
             RETURNING ",
            call_columns!()
        ),
        rows::values(rows, &["?", "?", "?", "?", "'pending'", "'none'", "'{}'", "?", "?"])
    )
});

/// The missing calls, created or locked by [`UPSERT`] (in the order of `keys`, sorted).
pub(super) fn get_or_create_calls(
    db: &Db<'_>,
    keys: &[CallKey<'_>],
    missing: &[usize],
    now: OffsetDateTime,
) -> Result<Vec<(usize, CallRow, bool)>, StoreError> {
    let at = millis(now);
    let mut found = Vec::with_capacity(missing.len());
    for run in rows::runs(Dialect::Postgres, missing.len()) {
        // The ids a new row would get: a row that comes back with another id existed.
        let ids: Vec<String> = run.clone().map(|_| calls::new_id()).collect();
        let args: Vec<Arg<'_>> = missing[run.clone()]
            .iter()
            .zip(&ids)
            .flat_map(|(&i, id)| {
                let k = &keys[i];
                [
                    id.to_arg(),
                    k.connection_id.to_arg(),
                    k.provider.to_arg(),
                    k.provider_call_id.to_arg(),
                    Arg::Int(at),
                    Arg::Int(at),
                ]
            })
            .collect();
        let made: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let upserted = db.query(UPSERT.get(run.len()), &args, |r| {
            calls::decode(calls::from_row(r)?)
        })?;
        for call in upserted {
            let key = CallKey {
                provider_call_id: &call.provider_call_id,
                connection_id: &call.connection_id,
                provider: &call.provider,
            };
            if let Ok(i) = keys.binary_search(&key) {
                let existed = !made.contains(call.id.as_str());
                found.push((i, call, existed));
            }
        }
    }
    Ok(found)
}

/// Calls' rows, many at once.
static UPDATE_CALLS: StatementsByRows =
    StatementsByRows::new(|rows| {
        format!(
        "UPDATE calls SET state = v.column2, number_kind = v.column3, tenant_status = v.column4,
             tenant_id = v.column5, recording_status = v.column6, agent_id = v.column7,
             fold = v.column8, resolution = v.column9, updated_at = v.column10
         FROM (VALUES {}) AS v WHERE calls.seq = v.column1",
        rows::values(
            rows,
            &["CAST(? AS BIGINT)", "?", "?", "?", "?", "?", "?", "?", "?", "CAST(? AS BIGINT)"]
        )
    )
    });

/// Updates the calls' rows (one run of them) in one statement; returns how many were
/// updated.
pub(super) fn update_calls(
    db: &Db<'_>,
    calls: &[CallColumns<'_>],
    at: i64,
) -> Result<usize, StoreError> {
    let args: Vec<Arg<'_>> = calls.iter().flat_map(|c| c.args(at)).collect();
    db.exec(UPDATE_CALLS.get(calls.len()), &args)
}

/// Inserts the events many at once; new are those whose keys the statements return.
pub(super) fn insert_events(
    db: &Db<'_>,
    rows: &[EventRow<'_>],
    labels: &[String],
    at: i64,
) -> Result<Vec<bool>, StoreError> {
    let index: HashMap<(i64, &str), usize> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| ((r.call_seq, r.event.dedupe_key.as_str()), n))
        .collect();
    let mut fresh = vec![false; rows.len()];
    for run in rows::runs(Dialect::Postgres, rows.len()) {
        let sql = format!(
            "{} RETURNING call_seq, dedupe_key",
            INSERT_EVENTS.get(run.len())
        );
        let args: Vec<Arg<'_>> = rows[run.clone()]
            .iter()
            .zip(&labels[run])
            .flat_map(|(r, label)| event_args(r, label, at))
            .collect();
        db.query(&sql, &args, |r| {
            let key: String = r.get(1)?;
            if let Some(&n) = index.get(&(r.get::<i64>(0)?, key.as_str())) {
                fresh[n] = true;
            }
            Ok(())
        })?;
    }
    Ok(fresh)
}
