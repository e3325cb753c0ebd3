//! The hot statements of the ingest path, where the two backends take different algorithms:
//! SQLite's single writer runs cheap statements a row at a time (no lock to take, and a
//! statement per row costs less than the join of a `VALUES` list or a `RETURNING`), while
//! PostgreSQL sends many rows per statement and locks calls' rows in key order. Each is one
//! function here; its algorithm for each backend is in `sqlite.rs` and `pg.rs`.

mod pg;
mod sqlite;

use super::StoreError;
use super::calls::{CallKey, CallRow};
use super::db::{Arg, Db, Dialect, ToArg};
use super::ingest::EventRow;
use super::rows::{self, StatementsByRows};
use time::OffsetDateTime;

/// The calls `keys[i]` names for each `i` of `missing` (in order), read, or created when
/// first seen: each with its index in `keys` and whether it existed. On PostgreSQL their
/// rows stay locked until the transaction ends, taken in key order.
pub(super) fn get_or_create_calls(
    db: &Db<'_>,
    keys: &[CallKey<'_>],
    missing: &[usize],
    now: OffsetDateTime,
) -> Result<Vec<(usize, CallRow, bool)>, StoreError> {
    match db.dialect() {
        Dialect::Sqlite => sqlite::get_or_create_calls(db, keys, missing, now),
        Dialect::Postgres => pg::get_or_create_calls(db, keys, missing, now),
    }
}

/// A call row's columns as written (the parameters of one row of the update, in order).
#[derive(Debug)]
pub(super) struct CallColumns<'a> {
    pub seq: i64,
    pub state: Option<&'static str>,
    pub kind: Option<&'static str>,
    pub tenant_status: &'static str,
    pub tenant_id: Option<String>,
    pub recording: &'static str,
    pub agent_id: Option<&'a str>,
    pub fold: String,
    pub resolution: Option<String>,
}

impl CallColumns<'_> {
    fn args(&self, at: i64) -> [Arg<'_>; 10] {
        [
            Arg::Int(self.seq),
            self.state.to_arg(),
            self.kind.to_arg(),
            self.tenant_status.to_arg(),
            self.tenant_id.to_arg(),
            self.recording.to_arg(),
            self.agent_id.to_arg(),
            self.fold.to_arg(),
            self.resolution.to_arg(),
            Arg::Int(at),
        ]
    }
}

/// Updates the calls' rows, their `updated_at` set to `at`; an error when a row is missing.
pub(super) fn update_calls(
    db: &Db<'_>,
    calls: &[CallColumns<'_>],
    at: i64,
) -> Result<(), StoreError> {
    for run in rows::runs(db.dialect(), calls.len()) {
        let rows = &calls[run];
        let updated = match db.dialect() {
            Dialect::Sqlite => sqlite::update_calls(db, rows, at)?,
            Dialect::Postgres => pg::update_calls(db, rows, at)?,
        };
        if updated != rows.len() {
            return Err(StoreError::Internal(format!(
                "{} of {} calls are not stored",
                rows.len() - updated.min(rows.len()),
                rows.len()
            )));
        }
    }
    Ok(())
}

/// Events, skipping those stored before.
static INSERT_EVENTS: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "INSERT INTO events (call_seq, dedupe_key, delivery_id, recorded_at, kind) VALUES {}
         ON CONFLICT (call_seq, dedupe_key) DO NOTHING",
        rows::values(rows, &["?"; 5])
    )
});

/// The parameters of one event's row (`label`: its kind, for the events table).
fn event_args<'a>(r: &'a EventRow<'_>, label: &'a str, at: i64) -> [Arg<'a>; 5] {
    [
        Arg::Int(r.call_seq),
        r.event.dedupe_key.to_arg(),
        Arg::Int(r.delivery_id),
        Arg::Int(at),
        label.to_arg(),
    ]
}

/// Inserts the events' rows (`labels`: their kinds), skipping those stored before; says
/// which were new.
pub(super) fn insert_events(
    db: &Db<'_>,
    rows: &[EventRow<'_>],
    labels: &[String],
    at: i64,
) -> Result<Vec<bool>, StoreError> {
    match db.dialect() {
        Dialect::Sqlite => sqlite::insert_events(db, rows, labels, at),
        Dialect::Postgres => pg::insert_events(db, rows, labels, at),
    }
}
