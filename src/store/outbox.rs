//! The outbox: effects decided in a transaction, carried out after it by a worker, retried
//! with backoff until done. The schedule lives in the table, so it survives restarts.

use super::StoreError;
use super::db::{Arg, Db, args};
use super::{audit, from_millis, millis};
use time::OffsetDateTime;

/// One pending effect.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub connection_id: String,
    pub call_id: String,
    pub provider_call_id: String,
    pub recording_id: String,
    pub attempts: i64,
    /// The attempt count when the job was last retried by hand: its backoff grows with the
    /// attempts since.
    pub backoff_from: i64,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl Job {
    /// The failed attempts that count for the backoff: those since the job was last retried
    /// by hand.
    pub fn backoff_attempts(&self) -> i64 {
        (self.attempts - self.backoff_from).max(0)
    }
}

/// Claims the jobs due at `now`, oldest first, until `lease_until`: no other worker takes
/// them before then, and a worker that dies holding them lets them fall due again then.
/// On PostgreSQL, jobs another instance is claiming at the same moment are skipped, not
/// waited for.
pub fn claim(
    db: &Db<'_>,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Job>, StoreError> {
    let select = format!(
        "SELECT id, kind, connection_id, call_id, provider_call_id, recording_id, attempts, backoff_from, next_attempt_at, created_at
         FROM outbox WHERE done_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2{}",
        db.skip_locked(None)
    );
    super::claim_due(
        db,
        "outbox",
        &select,
        args![millis(now), i64::try_from(limit).unwrap_or(100)],
        |r| {
            Ok(Job {
                id: r.get(0)?,
                kind: r.get(1)?,
                connection_id: r.get(2)?,
                call_id: r.get(3)?,
                provider_call_id: r.get(4)?,
                recording_id: r.get(5)?,
                attempts: r.get(6)?,
                backoff_from: r.get(7)?,
                next_attempt_at: from_millis(r.get(8)?),
                created_at: from_millis(r.get(9)?),
            })
        },
        |j| Arg::Int(j.id),
        lease_until,
    )
}

/// Gives back claimed jobs a worker did not finish (see [`super::release`]).
pub fn release(
    db: &Db<'_>,
    ids: &[i64],
    leased_until: OffsetDateTime,
    due_at: OffsetDateTime,
) -> Result<usize, StoreError> {
    let ids = ids.iter().map(|&id| Arg::Int(id));
    super::release(db, "outbox", ids, leased_until, due_at)
}

/// The earliest pending attempt, to know how long the worker may sleep.
pub fn next_due(db: &Db<'_>) -> Result<Option<OffsetDateTime>, StoreError> {
    let at: Option<i64> = db.query_one(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE done_at IS NULL",
        args![],
        |r| r.get(0),
    )?;
    Ok(at.map(from_millis))
}

/// Whether the job is still to be carried out: neither done nor called off.
pub fn pending(db: &Db<'_>, id: i64) -> Result<bool, StoreError> {
    let found = db.query_opt(
        "SELECT id FROM outbox WHERE id = ?1 AND done_at IS NULL",
        args![id],
        |r| r.get::<i64>(0),
    )?;
    Ok(found.is_some())
}

/// The job is over: close it and audit how (`action`: `recording.deletion_confirmed`, or
/// `recording.deletion_not_supported` when the provider has no delete API).
pub fn complete(
    db: &Db<'_>,
    job: &Job,
    action: &str,
    detail: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    db.exec(
        "UPDATE outbox SET done_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
        args![job.id, millis(now)],
    )?;
    audit::record(db, now, "system", action, Some(&job.call_id), None, detail)
}

/// The attempt failed: schedule the next one and audit the failure (unless the job was
/// called off meanwhile).
pub fn retry(
    db: &Db<'_>,
    job: &Job,
    error: &str,
    next: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let pending = db.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
         WHERE id = ?1 AND done_at IS NULL",
        args![job.id, millis(next), error],
    )?;
    if pending == 0 {
        // Called off while the attempt ran: there is no next attempt to announce.
        return Ok(());
    }
    let detail = serde_json::json!({ "recording_id": job.recording_id, "attempt": job.attempts + 1, "error": error, "next_attempt_at": next.unix_timestamp() });
    audit::record(
        db,
        now,
        "system",
        "recording.deletion_failed",
        Some(&job.call_id),
        None,
        &detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A claimed job is not due again until its lease ends; then it is (its worker died).
    #[tokio::test]
    async fn a_claim_holds_until_its_lease_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let t0 = OffsetDateTime::from_unix_timestamp(1_795_457_000).unwrap();
        store
            .write(move |db| {
                db.exec(
                    "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id, next_attempt_at, created_at)
                     VALUES ('delete_recording', 'c1', 'call-1', 'CA1', 'RE1', ?1, ?1)",
                    args![millis(t0)],
                )?;
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let lease = time::Duration::seconds(40);
        let claim_at = |at: OffsetDateTime| {
            let store = store.clone();
            async move {
                store
                    .write(move |db| claim(db, at, at + lease, 10))
                    .await
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(claim_at(t0).await, 1);
        // Another worker, during the lease: nothing to take.
        assert_eq!(claim_at(t0 + time::Duration::seconds(39)).await, 0);
        // The first worker never reported back: the job falls due when the lease ends.
        assert_eq!(claim_at(t0 + time::Duration::seconds(41)).await, 1);
    }
}
