//! The figures behind the store's gauges on `/metrics`: what an alert watches between
//! scrapes (a call that never ended, outbox jobs that do not drain).

use super::db::{Db, args};
use super::{StoreError, from_millis};
use time::OffsetDateTime;

/// The states of a call that has not ended (no state yet counts as `initiated`): the
/// condition of the partial index `calls_unended`, word for word, so that the oldest is its
/// first entry.
pub(super) const UNENDED: &str =
    "state IS NULL OR state IN ('initiated', 'ringing', 'in_progress')";

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

/// Reads the figures: the first entry of `calls_unended`, and the pending outbox jobs (the
/// partial index `outbox_due` holds them). Run it on a reader, never on the request path.
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

#[cfg(test)]
mod tests {
    use super::UNENDED;

    /// The oldest unended call is read from the partial index, not by scanning the calls.
    #[test]
    fn the_oldest_unended_call_is_read_from_its_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let sql = format!("EXPLAIN QUERY PLAN SELECT MIN(created_at) FROM calls WHERE {UNENDED}");
        let mut plan = conn.prepare(&sql).unwrap();
        let steps: Vec<String> = plan
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            steps.iter().any(|s| s.contains("calls_unended"))
                && !steps.iter().any(|s| s.starts_with("SCAN calls")),
            "{steps:?}"
        );
    }
}
