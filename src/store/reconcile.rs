//! The reconciler's schedule (`reconciliations`): one row per call it watches, due at
//! `next_attempt_at`, claimed under a lease like outbox jobs so that on PostgreSQL each
//! call is looked up by one instance at a time. A call enters it when it has been quiet
//! too long ([`watch_quiet_calls`]), or when it ends without a tenant ([`watch`]).

use super::StoreError;
use super::db::{Arg, Db, args};
use super::{audit, from_millis, millis};
use time::OffsetDateTime;

/// A watched call, claimed.
#[derive(Debug, Clone)]
pub struct Due {
    /// The call's id.
    pub id: String,
    /// Failed tries in a row.
    pub attempts: i64,
    /// Recordings listings made.
    pub listings: i64,
}

/// Watches every call not ended that has changed nothing since `quiet_since`, or that
/// started before `started_before`, and is not watched yet: due at `now`. At most `limit`
/// calls a pass, oldest first. Returns how many it added.
pub fn watch_quiet_calls(
    db: &Db<'_>,
    quiet_since: OffsetDateTime,
    started_before: OffsetDateTime,
    now: OffsetDateTime,
    limit: usize,
) -> Result<usize, StoreError> {
    // The condition on `state` is the one of the index `calls_unended`.
    db.exec(
        "INSERT INTO reconciliations (id, next_attempt_at)
         SELECT id, ?3 FROM calls
         WHERE (state IS NULL OR state IN ('initiated', 'ringing', 'in_progress'))
           AND (updated_at <= ?1 OR created_at <= ?2)
           AND NOT EXISTS (SELECT 1 FROM reconciliations r WHERE r.id = calls.id)
         ORDER BY created_at LIMIT ?4
         ON CONFLICT (id) DO NOTHING",
        args![
            millis(quiet_since),
            millis(started_before),
            millis(now),
            i64::try_from(limit).unwrap_or(100)
        ],
    )
}

/// Watches the call `id` from `now` (a call that just ended without a tenant: its
/// recordings are to be listed). A call already watched keeps its schedule, unless it was
/// done before it ever listed recordings: then it is due again.
pub fn watch(db: &Db<'_>, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO reconciliations (id, next_attempt_at) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET done_at = NULL, next_attempt_at = ?2, attempts = 0
         WHERE reconciliations.done_at IS NOT NULL AND reconciliations.listings = 0",
        args![id, millis(now)],
    )?;
    Ok(())
}

/// Claims the watched calls due at `now`, oldest first, until `lease_until`; on
/// PostgreSQL rows another instance is claiming are skipped.
pub fn claim(
    db: &Db<'_>,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Due>, StoreError> {
    let select = format!(
        "SELECT id, attempts, listings FROM reconciliations
         WHERE done_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2{}",
        db.skip_locked(None)
    );
    super::claim_due(
        db,
        "reconciliations",
        &select,
        args![millis(now), i64::try_from(limit).unwrap_or(32)],
        |r| {
            Ok(Due {
                id: r.get(0)?,
                attempts: r.get(1)?,
                listings: r.get(2)?,
            })
        },
        |d| Arg::Text(&d.id),
        lease_until,
    )
}

/// Gives back claimed rows not finished (see `store::release`).
pub fn release(
    db: &Db<'_>,
    ids: &[String],
    leased_until: OffsetDateTime,
    due_at: OffsetDateTime,
) -> Result<usize, StoreError> {
    let ids = ids.iter().map(|id| Arg::Text(id));
    super::release(db, "reconciliations", ids, leased_until, due_at)
}

/// What one look at a watched call decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Look again at `at`: `attempts` failed tries in a row so far, `listings` made, the
    /// last error if the try failed.
    Again {
        at: OffsetDateTime,
        attempts: i64,
        listings: i64,
        error: Option<String>,
    },
    /// Nothing is left to ask about the call.
    Done,
}

/// Records what a look decided, with an audit entry `(action, detail)` about the call when
/// given, in one transaction.
pub fn record(
    db: &Db<'_>,
    id: &str,
    next: &Next,
    audit_entry: Option<(&str, &serde_json::Value)>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    match next {
        Next::Again {
            at,
            attempts,
            listings,
            error,
        } => db.exec(
            "UPDATE reconciliations SET next_attempt_at = ?2, attempts = ?3, listings = ?4, last_error = ?5
             WHERE id = ?1",
            args![id, millis(*at), *attempts, *listings, error.as_deref()],
        )?,
        Next::Done => db.exec(
            "UPDATE reconciliations SET done_at = ?2, last_error = NULL WHERE id = ?1",
            args![id, millis(now)],
        )?,
    };
    if let Some((action, detail)) = audit_entry {
        audit::record(db, now, "system", action, Some(id), None, detail)?;
    }
    Ok(())
}

/// The earliest watched call due, to know how long the reconciler may sleep.
pub fn next_due(db: &Db<'_>) -> Result<Option<OffsetDateTime>, StoreError> {
    let at: Option<i64> = db.query_one(
        "SELECT MIN(next_attempt_at) FROM reconciliations WHERE done_at IS NULL",
        args![],
        |r| r.get(0),
    )?;
    Ok(at.map(from_millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_457_000 + secs).unwrap()
    }

    fn insert_call(db: &Db<'_>, id: &str, state: Option<&str>, created: i64, updated: i64) {
        db.exec(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, state, tenant_status, recording_status, fold, created_at, updated_at)
             VALUES (?1, 'c1', 'twilio', ?1, ?2, 'pending', 'none', '{}', ?3, ?4)",
            args![id, state, millis(t(created)), millis(t(updated))],
        )
        .unwrap();
    }

    /// Quiet calls and calls past the maximum duration are watched once; ended or busy
    /// calls are not; a claim holds the row until its lease ends.
    #[tokio::test]
    async fn quiet_calls_are_watched_and_claimed_once_per_lease() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let added = store
            .write(move |db| {
                insert_call(db, "quiet", Some("in_progress"), 0, 10);
                insert_call(db, "busy", Some("in_progress"), 0, 990);
                insert_call(db, "old", None, -5000, 995);
                insert_call(db, "ended", Some("completed"), 0, 10);
                let n = watch_quiet_calls(db, t(100), t(-1000), t(1000), 10)?;
                let again = watch_quiet_calls(db, t(100), t(-1000), t(1000), 10)?;
                Ok::<_, StoreError>((n, again))
            })
            .await
            .unwrap();
        assert_eq!(added, (2, 0));
        let lease = t(1040);
        let first = store
            .write(move |db| claim(db, t(1000), lease, 10))
            .await
            .unwrap();
        let mut ids: Vec<String> = first.iter().map(|d| d.id.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["old", "quiet"]);
        let during = store
            .write(move |db| claim(db, t(1039), t(1080), 10))
            .await
            .unwrap();
        assert!(during.is_empty());
        let done = store
            .write(move |db| {
                record(db, "quiet", &Next::Done, None, t(1001))?;
                let detail = serde_json::json!({"why": "test"});
                let again = Next::Again {
                    at: t(2000),
                    attempts: 1,
                    listings: 0,
                    error: Some("provider answered 500".into()),
                };
                record(
                    db,
                    "old",
                    &again,
                    Some(("call.lookup_failed", &detail)),
                    t(1001),
                )?;
                next_due(db)
            })
            .await
            .unwrap();
        assert_eq!(done, Some(t(2000)));
        let after = store
            .write(move |db| claim(db, t(2000), t(2040), 10))
            .await
            .unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!((after[0].id.as_str(), after[0].attempts), ("old", 1));
    }

    /// A call that ends without a tenant is watched again even when a lookup was done with
    /// it, but a call whose recordings were listed keeps its schedule.
    #[tokio::test]
    async fn an_unresolved_end_watches_the_call_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let due = store
            .write(move |db| {
                watch(db, "a", t(0))?;
                record(db, "a", &Next::Done, None, t(1))?;
                watch(db, "a", t(5))?;
                watch(db, "b", t(0))?;
                let listed = Next::Again {
                    at: t(900),
                    attempts: 0,
                    listings: 1,
                    error: None,
                };
                record(db, "b", &listed, None, t(1))?;
                watch(db, "b", t(5))?;
                claim(db, t(10), t(50), 10)
            })
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, "a");
    }
}
