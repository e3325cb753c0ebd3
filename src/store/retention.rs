//! The statements of retention: each deletes one small batch, in the write it runs in, so
//! that a pass over years of rows never holds the writer for long (`crate::retention` runs
//! the batches one after the other, and decides when). Each batch names where it stopped (a
//! cursor: the last id or sequence it looked at), so that the next one starts there instead
//! of reading again the rows kept. The walks over the deliveries keep theirs in the store
//! (`retention_cursors`), written in the write of each batch: a restarted instance, or another
//! PostgreSQL instance taking the pruning over, walks on from there, never from the first
//! delivery through every emptied body kept until its call goes.

use super::db::{Db, Dialect, args};
use super::gauges::UNENDED;
use super::{StoreError, from_millis, millis};
use time::OffsetDateTime;

/// Rows one batch deletes at most.
pub const BATCH: i64 = 500;

/// Calls one batch deletes at most: each goes with its legs, events and deliveries (about
/// 25 rows for a call of ten deliveries), so that a batch of calls holds the writer about as
/// long as one of [`BATCH`] bodies, a few milliseconds, not the tens a batch of [`BATCH`]
/// calls took.
pub const CALL_BATCH: i64 = 20;

/// Any constant: with the schema's hash, the advisory lock that lets one PostgreSQL instance
/// at a time prune a store (instances serving other schemas of the database prune theirs).
pub const PRUNING_LOCK: i32 = 0x7072_756e;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Rows deleted (or, for deliveries, bodies emptied).
    pub pruned: u64,
    /// Where the next batch starts: the last id or sequence this one looked at.
    pub cursor: i64,
    /// Whether rows may be left past the cursor: false once a batch found fewer than
    /// [`BATCH`].
    pub more: bool,
    /// Rows a walk read to find those to prune, the ones it keeps included.
    pub examined: u64,
}

impl Batch {
    /// A batch that deleted `pruned` rows of a kind deleted oldest first, by an index.
    fn deleted(pruned: u64) -> Self {
        Self {
            pruned,
            more: i64::try_from(pruned).unwrap_or(i64::MAX) >= BATCH,
            ..Self::default()
        }
    }
}

/// The walks that keep their cursor in the store (`retention_cursors.walk`): over the
/// deliveries, for their raw bodies and for the retries among them.
pub const DELIVERY_WALKS: [&str; 2] = ["deliveries", "duplicate_deliveries"];

/// Where the walk `walk` (one of [`DELIVERY_WALKS`]) stopped: every delivery up to this id
/// was looked at. 0 when it never ran, and when the cursor is past the last delivery there is:
/// no honest walk leaves it there ([`lower_delivery_cursors`]), so the store was restored or
/// changed under it, and the walk starts over rather than skip a row that is due.
pub fn delivery_cursor(db: &Db<'_>, walk: &str) -> Result<i64, StoreError> {
    let cursor: Option<i64> = db.query_opt(
        "SELECT last_id FROM retention_cursors WHERE walk = ?1",
        args![walk],
        |r| r.get(0),
    )?;
    let Some(cursor) = cursor else { return Ok(0) };
    let last: i64 = db.query_one(
        "SELECT COALESCE(MAX(id), 0) FROM deliveries",
        args![],
        |r| r.get(0),
    )?;
    Ok(if cursor > last { 0 } else { cursor })
}

fn set_delivery_cursor(db: &Db<'_>, walk: &str, cursor: i64) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO retention_cursors (walk, last_id) VALUES (?1, ?2)
         ON CONFLICT (walk) DO UPDATE SET last_id = excluded.last_id",
        args![walk, cursor],
    )?;
    Ok(())
}

/// Brings the walks' cursors back to the last delivery left, after deliveries were deleted
/// (in the same write). The embedded store numbers a new delivery one past the last one there
/// is: with the last ones deleted, new deliveries would take ids at or below a cursor, and a
/// walk going on from it would never look at them. PostgreSQL's sequence never hands an id
/// out twice, but the same statement holds there.
pub(crate) fn lower_delivery_cursors(db: &Db<'_>) -> Result<(), StoreError> {
    db.exec(
        "UPDATE retention_cursors SET last_id = (SELECT COALESCE(MAX(id), 0) FROM deliveries)
         WHERE last_id > (SELECT COALESCE(MAX(id), 0) FROM deliveries)",
        args![],
    )?;
    Ok(())
}

/// On PostgreSQL, takes the pruning lock for this transaction if no other instance holds it:
/// false when one does (it is pruning; this instance leaves it to it). Always true embedded,
/// where one process writes.
pub fn claim_pruning(db: &Db<'_>) -> Result<bool, StoreError> {
    match db.dialect() {
        Dialect::Sqlite => Ok(true),
        Dialect::Postgres => db.query_one(
            &format!(
                "SELECT pg_try_advisory_xact_lock({PRUNING_LOCK}, hashtext(current_schema()))"
            ),
            args![],
            |r| r.get(0),
        ),
    }
}

/// The ids of the next deliveries past `cursor`, at most [`BATCH`], up to the first received
/// at or after `before`: a walk of the primary key that never reads the young deliveries past
/// the first (ids grow with time), and the batch that says where the walk stopped.
fn deliveries_before(
    db: &Db<'_>,
    before: OffsetDateTime,
    cursor: i64,
) -> Result<(Vec<i64>, Batch), StoreError> {
    let next: Vec<(i64, i64)> = db.query(
        "SELECT id, received_at FROM deliveries WHERE id > ?1 ORDER BY id LIMIT ?2",
        args![cursor, BATCH],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let before = millis(before);
    let old: Vec<i64> = next
        .iter()
        .take_while(|(_, at)| *at < before)
        .map(|(id, _)| *id)
        .collect();
    let batch = Batch {
        pruned: 0,
        cursor: old.last().copied().unwrap_or(cursor),
        more: old.len() == next.len() && next.len() as i64 >= BATCH,
        examined: next.len() as u64,
    };
    Ok((old, batch))
}

/// Runs `prune` (a statement over the deliveries whose ids are in `?1..=?2`, its other
/// parameters after them) on the deliveries [`deliveries_before`] walks to, from the stored
/// cursor of `walk`, and stores where it stopped.
fn over_deliveries_before(
    db: &Db<'_>,
    walk: &str,
    before: OffsetDateTime,
    prune: &str,
    params: &[super::db::Arg<'_>],
) -> Result<Batch, StoreError> {
    let cursor = delivery_cursor(db, walk)?;
    let (old, mut batch) = deliveries_before(db, before, cursor)?;
    if let (Some(&first), Some(&last)) = (old.first(), old.last()) {
        let mut all = args![first, last].to_vec();
        all.extend_from_slice(params);
        batch.pruned = db.exec(prune, &all)? as u64;
    }
    if batch.cursor != cursor {
        set_delivery_cursor(db, walk, batch.cursor)?;
    }
    Ok(batch)
}

/// Empties the raw bodies of the deliveries received before `before`, past the walk's
/// cursor, at most [`BATCH`]. The delivery rows stay, with their events.
pub fn empty_delivery_bodies(db: &Db<'_>, before: OffsetDateTime) -> Result<Batch, StoreError> {
    over_deliveries_before(
        db,
        DELIVERY_WALKS[0],
        before,
        "UPDATE deliveries SET body = ?3 WHERE id BETWEEN ?1 AND ?2 AND length(body) > 0",
        args![Vec::<u8>::new()],
    )
}

/// Deletes the deliveries received before `before` that brought no new event (a provider's
/// retry, a body with nothing to read), past the walk's cursor, at most [`BATCH`]: no call's
/// deletion takes them, since no event refers to them. A delivery's count of events is
/// written with it and never changes, so one the walk passed, kept for its events, never
/// becomes one to delete here: it goes with its call.
pub fn delete_deliveries_without_events(
    db: &Db<'_>,
    before: OffsetDateTime,
) -> Result<Batch, StoreError> {
    let batch = over_deliveries_before(
        db,
        DELIVERY_WALKS[1],
        before,
        "DELETE FROM deliveries WHERE id BETWEEN ?1 AND ?2 AND events = 0",
        args![],
    )?;
    if batch.pruned > 0 {
        lower_delivery_cursors(db)?;
    }
    Ok(batch)
}

/// The calls of a batch: ended, unchanged since before `?2`, their sequence in `(?1, ?3]`.
fn ended_before() -> String {
    format!("seq > ?1 AND seq <= ?3 AND updated_at < ?2 AND NOT ({UNENDED})")
}

/// Deletes the calls that ended before `before` (and have not changed since) among the next
/// [`BATCH`] past `cursor`, with their legs and events, the deliveries their events came from,
/// their finished outbox jobs and outbound deliveries, the reconciler's schedule for them, and
/// any agent's hold on them (active or last call). A recording deletion still pending at the
/// provider keeps its outbox job, which names all it needs.
///
/// The walk goes by sequence and stops at the first call created at or after `before`: calls
/// are numbered as they are created, and none younger can have ended before it, so a pass
/// reads only the calls old enough to go and those old ones it keeps (going on, or changed
/// since), never the young bulk of the table.
pub fn delete_ended_calls(
    db: &Db<'_>,
    before: OffsetDateTime,
    cursor: i64,
) -> Result<Batch, StoreError> {
    let before = millis(before);
    let next: Vec<(i64, i64)> = db.query(
        "SELECT seq, created_at FROM calls WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        args![cursor, CALL_BATCH],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let old = next.iter().take_while(|(_, at)| *at < before).count();
    let examined = next.len() as u64;
    let Some(&(last, _)) = next[..old].last() else {
        return Ok(Batch {
            cursor,
            examined,
            ..Batch::default()
        });
    };
    let more = old == next.len() && old as i64 >= CALL_BATCH;
    let calls = ended_before();
    // Locks the batch's calls on PostgreSQL, so that none changes before it is deleted.
    let seqs: Vec<i64> = db.query(
        &format!(
            "SELECT seq FROM calls WHERE {calls} ORDER BY seq{}",
            db.for_update()
        ),
        args![cursor, before, last],
        |r| r.get(0),
    )?;
    if !seqs.is_empty() {
        delete_calls_where(db, &calls, args![cursor, before, last])?;
    }
    Ok(Batch {
        pruned: seqs.len() as u64,
        cursor: last,
        more,
        examined,
    })
}

/// What deleting calls deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub calls: u64,
    pub events: u64,
    pub deliveries: u64,
    /// Outbound webhook deliveries about the calls (pending, delivered or failed).
    pub webhook_deliveries: u64,
}

/// Deletes the calls `calls` selects (a condition on `calls` with the parameters `params`),
/// with everything that is theirs, and takes them out of the writer's memory. A delivery
/// goes with the first of its calls to go: one that also brought another call's events (a
/// rare body about two calls) leaves that call's events naming a delivery no longer kept.
pub(crate) fn delete_calls_where(
    db: &Db<'_>,
    calls: &str,
    params: &[super::db::Arg<'_>],
) -> Result<Deleted, StoreError> {
    let seqs = format!("SELECT seq FROM calls WHERE {calls}");
    let ids = format!("SELECT id FROM calls WHERE {calls}");
    if let Some(memory) = db.memory() {
        let keys: Vec<(String, String)> = db.query(
            &format!("SELECT connection_id, provider_call_id FROM calls WHERE {calls}"),
            params,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (connection, provider_call) in keys {
            memory.take_call(&connection, &provider_call);
        }
    }
    let mut deliveries: Vec<i64> = db.query(
        &format!("DELETE FROM events WHERE call_seq IN ({seqs}) RETURNING delivery_id"),
        params,
        |r| r.get(0),
    )?;
    let events = deliveries.len() as u64;
    deliveries.sort_unstable();
    deliveries.dedup();
    let mut deleted_deliveries = 0;
    for id in deliveries {
        deleted_deliveries += db.exec("DELETE FROM deliveries WHERE id = ?1", args![id])? as u64;
    }
    if deleted_deliveries > 0 {
        lower_delivery_cursors(db)?;
    }
    let webhook_deliveries = db.exec(
        &format!("DELETE FROM webhook_deliveries WHERE call_id IN ({ids})"),
        params,
    )? as u64;
    for statement in [
        format!("DELETE FROM outbox WHERE done_at IS NOT NULL AND call_id IN ({ids})"),
        format!("UPDATE agents SET active_call_id = NULL WHERE active_call_id IN ({ids})"),
        format!("UPDATE agents SET last_call_id = NULL WHERE last_call_id IN ({ids})"),
        format!("DELETE FROM reconciliations WHERE id IN ({ids})"),
        format!("DELETE FROM call_legs WHERE call_seq IN ({seqs})"),
    ] {
        db.exec(&statement, params)?;
    }
    let calls = db.exec(&format!("DELETE FROM calls WHERE {calls}"), params)? as u64;
    Ok(Deleted {
        calls,
        events,
        deliveries: deleted_deliveries,
        webhook_deliveries,
    })
}

/// Deletes up to [`BATCH`] audit entries recorded before `before`, oldest first.
pub fn delete_audit(db: &Db<'_>, before: OffsetDateTime) -> Result<Batch, StoreError> {
    let pruned = db.exec(
        "DELETE FROM audit WHERE id IN (
             SELECT id FROM audit WHERE at < ?1 ORDER BY at LIMIT ?2)",
        args![millis(before), BATCH],
    )?;
    Ok(Batch::deleted(pruned as u64))
}

/// Deletes up to [`BATCH`] refused webhooks recorded before `before`, oldest first: they
/// hold the first bytes of bodies, kept no longer than raw bodies are.
pub fn delete_refusals(db: &Db<'_>, before: OffsetDateTime) -> Result<Batch, StoreError> {
    let pruned = super::webhook_log::delete_refusals_before(db, before, BATCH)?;
    Ok(Batch::deleted(pruned))
}

/// Deletes up to [`BATCH`] of the calls to unlisted numbers counted before `before`, oldest
/// first: per-call data, kept as long as calls. The table has no key of its own: a batch
/// names its rows by their place in the table (SQLite's rowid, PostgreSQL's ctid).
pub fn delete_unknown_number_calls(
    db: &Db<'_>,
    before: OffsetDateTime,
) -> Result<Batch, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "DELETE FROM unknown_number_calls WHERE rowid IN (
                 SELECT rowid FROM unknown_number_calls WHERE at < ?1 ORDER BY at LIMIT ?2)"
        }
        Dialect::Postgres => {
            "DELETE FROM unknown_number_calls WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM unknown_number_calls WHERE at < ?1 ORDER BY at LIMIT ?2))"
        }
    };
    let pruned = db.exec(sql, args![millis(before), BATCH])?;
    Ok(Batch::deleted(pruned as u64))
}

/// The oldest row of each kind retention prunes, for its gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Oldest {
    /// The oldest delivery past the walk that empties raw bodies: the oldest whose body
    /// may still be there (the walk passed every delivery older than the period). Not the
    /// oldest with a body: bodies can be empty (erased, or none sent), and looking past those
    /// could read every delivery.
    pub delivery_body: Option<OffsetDateTime>,
    /// The oldest call (calls are kept in the order they were created).
    pub call: Option<OffsetDateTime>,
    /// The oldest audit entry.
    pub audit: Option<OffsetDateTime>,
    /// The oldest refused webhook of the refusal log.
    pub refusal: Option<OffsetDateTime>,
    /// The oldest delivery past the walk that deletes retries: the oldest that may be one
    /// still kept. A delivery has no index by its count of events, and the oldest retry
    /// itself could be millions of deliveries past the walk: reading where the walk stands
    /// is one lookup, and says as well whether it keeps up.
    pub duplicate_delivery: Option<OffsetDateTime>,
    /// The oldest call to an unlisted number counted.
    pub unknown_number_call: Option<OffsetDateTime>,
}

impl Oldest {
    /// Each, by kind, in the order of [`crate::telemetry::PRUNED_KINDS`].
    pub fn by_kind(&self) -> [Option<OffsetDateTime>; 6] {
        [
            self.delivery_body,
            self.call,
            self.audit,
            self.refusal,
            self.duplicate_delivery,
            self.unknown_number_call,
        ]
    }
}

/// Reads [`Oldest`]: each is one index lookup (the walks over the deliveries are read from
/// their stored cursors).
pub fn oldest(db: &Db<'_>) -> Result<Oldest, StoreError> {
    let first = |sql: &str, params: &[super::db::Arg<'_>]| -> Result<_, StoreError> {
        Ok(db
            .query_opt(sql, params, |r| r.get::<i64>(0))?
            .map(from_millis))
    };
    let past = |walk: &str| -> Result<_, StoreError> {
        let cursor = delivery_cursor(db, walk)?;
        first(
            "SELECT received_at FROM deliveries WHERE id > ?1 ORDER BY id LIMIT 1",
            args![cursor],
        )
    };
    Ok(Oldest {
        delivery_body: past(DELIVERY_WALKS[0])?,
        call: first("SELECT created_at FROM calls ORDER BY seq LIMIT 1", args![])?,
        audit: first("SELECT at FROM audit ORDER BY at LIMIT 1", args![])?,
        refusal: first(
            "SELECT at FROM webhook_refusals ORDER BY at LIMIT 1",
            args![],
        )?,
        duplicate_delivery: past(DELIVERY_WALKS[1])?,
        unknown_number_call: first(
            "SELECT at FROM unknown_number_calls ORDER BY at LIMIT 1",
            args![],
        )?,
    })
}
