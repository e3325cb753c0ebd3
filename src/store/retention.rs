//! The statements of retention: each deletes one small batch, in the write it runs in, so
//! that a pass over years of rows never holds the writer for long (`crate::retention` runs
//! the batches one after the other, and decides when). Each batch names where it stopped (a
//! cursor: the last id or sequence it looked at), so that the next one starts there instead
//! of reading again the rows kept.

use super::db::{Db, Dialect, args};
use super::gauges::UNENDED;
use super::{StoreError, from_millis, millis};
use time::OffsetDateTime;

/// Rows one batch deletes at most.
pub const BATCH: i64 = 500;

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
}

impl Batch {
    fn of(rows: &[i64], cursor: i64) -> Self {
        Self {
            pruned: rows.len() as u64,
            cursor: rows.iter().copied().max().unwrap_or(cursor),
            more: rows.len() as i64 >= BATCH,
        }
    }
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
    };
    Ok((old, batch))
}

/// Runs `prune` (a statement over the deliveries whose ids are in `?1..=?2`, its other
/// parameters after them) on the deliveries [`deliveries_before`] walks to.
fn over_deliveries_before(
    db: &Db<'_>,
    before: OffsetDateTime,
    cursor: i64,
    prune: &str,
    params: &[super::db::Arg<'_>],
) -> Result<Batch, StoreError> {
    let (old, batch) = deliveries_before(db, before, cursor)?;
    let (Some(&first), Some(&last)) = (old.first(), old.last()) else {
        return Ok(batch);
    };
    let mut all = args![first, last].to_vec();
    all.extend_from_slice(params);
    let pruned = db.exec(prune, &all)? as u64;
    Ok(Batch { pruned, ..batch })
}

/// Empties the raw bodies of the deliveries received before `before`, past `cursor`, at most
/// [`BATCH`]. The delivery rows stay, with their events.
pub fn empty_delivery_bodies(
    db: &Db<'_>,
    before: OffsetDateTime,
    cursor: i64,
) -> Result<Batch, StoreError> {
    over_deliveries_before(
        db,
        before,
        cursor,
        "UPDATE deliveries SET body = ?3 WHERE id BETWEEN ?1 AND ?2 AND length(body) > 0",
        args![Vec::<u8>::new()],
    )
}

/// Deletes the deliveries received before `before` that brought no new event (a provider's
/// retry, a body with nothing to read), past `cursor`, at most [`BATCH`]: no call's deletion
/// takes them, since no event refers to them.
pub fn delete_deliveries_without_events(
    db: &Db<'_>,
    before: OffsetDateTime,
    cursor: i64,
) -> Result<Batch, StoreError> {
    over_deliveries_before(
        db,
        before,
        cursor,
        "DELETE FROM deliveries WHERE id BETWEEN ?1 AND ?2 AND events = 0",
        args![],
    )
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
        args![cursor, BATCH],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let old = next.iter().take_while(|(_, at)| *at < before).count();
    let Some(&(last, _)) = next[..old].last() else {
        return Ok(Batch {
            cursor,
            ..Batch::default()
        });
    };
    let more = old == next.len() && old as i64 >= BATCH;
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
    let ids: Vec<i64> = db.query(
        "DELETE FROM audit WHERE id IN (
             SELECT id FROM audit WHERE at < ?1 ORDER BY at LIMIT ?2)
         RETURNING id",
        args![millis(before), BATCH],
        |r| r.get(0),
    )?;
    Ok(Batch::of(&ids, 0))
}

/// Deletes up to [`BATCH`] refused webhooks recorded before `before`, oldest first: they
/// hold the first bytes of bodies, kept no longer than raw bodies are.
pub fn delete_refusals(db: &Db<'_>, before: OffsetDateTime) -> Result<Batch, StoreError> {
    let pruned = super::webhook_log::delete_refusals_before(db, before, BATCH)?;
    Ok(Batch {
        pruned,
        cursor: 0,
        more: i64::try_from(pruned).unwrap_or(i64::MAX) >= BATCH,
    })
}

/// The oldest row of each kind retention prunes, for its gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Oldest {
    /// The oldest delivery still holding its raw body, past the pruner's cursor.
    pub delivery_body: Option<OffsetDateTime>,
    /// The oldest call (calls are kept in the order they were created).
    pub call: Option<OffsetDateTime>,
    /// The oldest audit entry.
    pub audit: Option<OffsetDateTime>,
}

/// Reads [`Oldest`]; `delivery_cursor`: where the pruner's pass over the deliveries stopped
/// (the bodies before it are empty, or younger than the period were then). Each is one
/// index lookup, or a short walk from the cursor.
pub fn oldest(db: &Db<'_>, delivery_cursor: i64) -> Result<Oldest, StoreError> {
    let first = |sql: &str, params: &[super::db::Arg<'_>]| -> Result<_, StoreError> {
        Ok(db
            .query_opt(sql, params, |r| r.get::<i64>(0))?
            .map(from_millis))
    };
    Ok(Oldest {
        delivery_body: first(
            "SELECT received_at FROM deliveries WHERE id > ?1 AND length(body) > 0
             ORDER BY id LIMIT 1",
            args![delivery_cursor],
        )?,
        call: first("SELECT created_at FROM calls ORDER BY seq LIMIT 1", args![])?,
        audit: first("SELECT at FROM audit ORDER BY at LIMIT 1", args![])?,
    })
}
