//! The figures behind the store's gauges on `/metrics`: what an alert watches between
//! scrapes (a call that never ended, outbox jobs that do not drain).

use super::db::{Db, args};
use super::{StoreError, from_millis};
use time::OffsetDateTime;

/// The states of a call that has not ended (no state yet counts as `initiated`).
const UNENDED: &str = "state IS NULL OR state IN ('initiated', 'ringing', 'in_progress')";

/// What the gauges show, read in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// When the oldest call with no end was created, if any.
    pub oldest_unended_call: Option<OffsetDateTime>,
    /// Outbox jobs neither done nor called off.
    pub outbox_pending: i64,
    /// When the oldest of them was queued, if any.
    pub oldest_outbox_job: Option<OffsetDateTime>,
}

/// Reads the figures. The calls are scanned (no index holds their state): run it every few
/// seconds on a reader, never on the request path.
pub fn backlog(db: &Db<'_>) -> Result<Backlog, StoreError> {
    let oldest_call: Option<i64> = db.query_one(
        &format!("SELECT MIN(created_at) FROM calls WHERE {UNENDED}"),
        args![],
        |r| r.get(0),
    )?;
    let (pending, oldest_job): (i64, Option<i64>) = db.query_one(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Backlog {
        oldest_unended_call: oldest_call.map(from_millis),
        outbox_pending: pending,
        oldest_outbox_job: oldest_job.map(from_millis),
    })
}
