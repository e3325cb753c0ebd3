//! Deliveries waiting to be stored, and the rows of the ingest transaction: deliveries,
//! their events, single-use values. The transaction itself (what a delivery changes) is
//! given by the caller ([`Transaction`]): the store runs it over whatever deliveries wait
//! together.

use super::StoreError;
use super::calls::{CallKey, CallRow};
use super::db::{Arg, Db, ToArg, args};
use super::millis;
use super::rows::{self, StatementsByRows};
use crate::domain::call::state_name;
use crate::domain::screen_pop::ScreenPop;
use bytes::Bytes;
use callgate_adapters::kit::{CallEvent, Clock, EventKind, ReplayKey};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// A verified, parsed webhook ready to be stored.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub connection_id: String,
    pub provider: &'static str,
    /// SHA-256 of the method, request target and body: a retried webhook has the same.
    pub digest: [u8; 32],
    pub method: String,
    pub target: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub events: Vec<CallEvent>,
    /// The request's single-use value, for schemes that carry one.
    pub replay_key: Option<ReplayKey>,
}

/// The `method` of a delivery that is not a webhook but the answer of a lookup at the
/// provider's API (the reconciler's): its ends count as `reconciled`.
pub const LOOKUP_METHOD: &str = "LOOKUP";
/// The `method` of the delivery callgate makes itself to end a call past the maximum call
/// duration: its end counts as `timed_out`.
pub const TIMEOUT_METHOD: &str = "TIMEOUT";

impl Delivery {
    /// Who an end this delivery carries counts as ended by: its `method` tells a webhook
    /// from a lookup's answer or callgate's own time-out.
    pub fn ends_as(&self) -> crate::domain::call::EndedBy {
        use crate::domain::call::EndedBy;
        match self.method.as_str() {
            LOOKUP_METHOD => EndedBy::Reconciled,
            TIMEOUT_METHOD => EndedBy::TimedOut,
            _ => EndedBy::Provider,
        }
    }

    /// The call `event` (one of this delivery's) is about.
    pub fn call_key<'a>(&'a self, event: &'a CallEvent) -> CallKey<'a> {
        CallKey {
            provider_call_id: event.call_id(),
            connection_id: &self.connection_id,
            provider: self.provider,
        }
    }
}

/// What storing deliveries changes, run by the store in one transaction over deliveries
/// queued together, at `now` (read when the transaction runs); returns each delivery's
/// outcome, in order.
pub type Transaction =
    fn(&Db<'_>, &[&Delivery], OffsetDateTime) -> Result<Vec<IngestOutcome>, StoreError>;

/// A delivery waiting for a thread that stores deliveries in batches, and who waits for its
/// outcome.
pub(super) struct Queued {
    pub delivery: Delivery,
    pub transaction: Transaction,
    pub clock: Arc<dyn Clock>,
    pub done: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued").finish_non_exhaustive()
    }
}

/// Hands `delivery` to a batching thread with `send` (false when that thread is gone: the
/// store is `stopped`) and waits until the transaction holding it is committed.
pub(super) async fn queue(
    delivery: Delivery,
    transaction: Transaction,
    clock: Arc<dyn Clock>,
    send: impl FnOnce(Queued) -> bool,
    stopped: &str,
) -> Result<IngestOutcome, StoreError> {
    let (done, wait) = oneshot::channel();
    if !send(Queued {
        delivery,
        transaction,
        clock,
        done,
    }) {
        return Err(StoreError::Unavailable(stopped.into()));
    }
    wait.await
        .map_err(|_| StoreError::Unavailable(stopped.into()))?
}

/// Runs the transaction of the first of `jobs` over all of them (deliveries queued together
/// are stored by one transaction: callers pass the same).
pub(super) fn run(
    db: &Db<'_>,
    jobs: &[Queued],
    now: OffsetDateTime,
) -> Result<Vec<IngestOutcome>, StoreError> {
    let Some(first) = jobs.first() else {
        return Ok(Vec::new());
    };
    let deliveries: Vec<&Delivery> = jobs.iter().map(|j| &j.delivery).collect();
    (first.transaction)(db, &deliveries, now)
}

/// Tells queued deliveries that storing them failed: a delivery stored alone hears its own
/// error; deliveries stored together hear that their batch failed (the store could not take
/// it: 503).
pub(super) fn refuse(mut jobs: Vec<Queued>, e: StoreError) {
    if jobs.len() == 1 {
        if let Some(job) = jobs.pop() {
            let _ = job.done.send(Err(e));
        }
        return;
    }
    for job in jobs {
        let _ = job.done.send(Err(e.for_batch()));
    }
}

/// A call as an ingest left it.
#[derive(Debug, Clone)]
pub struct ChangedCall {
    pub call: CallRow,
    /// The recording decision changed (to gated, saved or discarded).
    pub recording_decided: bool,
    /// The call was claimed for a user whose phone answered it: that user, and the screen
    /// pop their console shows.
    pub screen_pop: Option<(String, ScreenPop)>,
}

/// What storing a delivery did.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Stored; `calls` are the calls it changed, as stored; `outbox` says whether it queued
    /// work for the outbox worker.
    Stored {
        new_events: usize,
        calls: Vec<ChangedCall>,
        outbox: bool,
    },
    /// Every event of the delivery was stored before (a provider's retry): the delivery is
    /// kept as received, nothing else changed.
    Duplicate,
    /// The request's single-use value was seen before on this connection: nothing was
    /// stored, and the request is refused as a replay.
    Replayed,
}

static INSERT_DELIVERIES: StatementsByRows = StatementsByRows::new(|rows| {
    format!(
        "INSERT INTO deliveries (connection_id, digest, received_at, method, target, content_type, body, events)
         VALUES {}",
        rows::values(rows, &["?"; 8])
    )
});

/// An event to store: its call's row, and its delivery's (with the caller's indexes of
/// both).
#[derive(Debug)]
pub struct EventRow<'d> {
    pub call_seq: i64,
    /// The caller's index of the call.
    pub call: usize,
    /// The caller's index of the delivery.
    pub delivery: usize,
    pub delivery_id: i64,
    pub event: &'d CallEvent,
}

/// Inserts the events' rows, skipping those stored before; says which were new (each
/// backend its way: `hot::insert_events`).
pub fn insert_events(
    db: &Db<'_>,
    rows: &[EventRow<'_>],
    now: OffsetDateTime,
) -> Result<Vec<bool>, StoreError> {
    let labels: Vec<String> = rows.iter().map(|r| kind_label(&r.event.kind)).collect();
    super::hot::insert_events(db, rows, &labels, millis(now))
}

/// Inserts the deliveries' rows; returns their ids, in order. Each counts all its events as
/// new: [`recount_events`] corrects the few that were not.
pub fn insert_deliveries<'d>(
    db: &Db<'_>,
    deliveries: impl Iterator<Item = &'d Delivery>,
    now: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    let deliveries: Vec<&Delivery> = deliveries.collect();
    let at = millis(now);
    let mut ids = Vec::with_capacity(deliveries.len());
    for run in rows::runs(db.dialect(), deliveries.len()) {
        let args: Vec<Arg<'_>> = deliveries[run.clone()]
            .iter()
            .flat_map(|d| {
                [
                    d.connection_id.to_arg(),
                    d.digest.to_arg(),
                    Arg::Int(at),
                    d.method.to_arg(),
                    d.target.to_arg(),
                    d.content_type.to_arg(),
                    d.body.as_ref().to_arg(),
                    Arg::Int(i64::try_from(d.events.len()).unwrap_or(i64::MAX)),
                ]
            })
            .collect();
        ids.extend(db.insert_ids(INSERT_DELIVERIES.get(run.len()), &args, run.len(), "id")?);
    }
    Ok(ids)
}

/// Sets how many of its events were new on each delivery `(id, new events)` whose events
/// were not all new (a provider's retry, an event twice in a batch).
pub fn recount_events(db: &Db<'_>, counts: &[(i64, usize)]) -> Result<(), StoreError> {
    for &(id, new) in counts {
        db.exec(
            "UPDATE deliveries SET events = ?2 WHERE id = ?1",
            args![id, i64::try_from(new).unwrap_or(i64::MAX)],
        )?;
    }
    Ok(())
}

/// Records the delivery's single-use value (an expired one is taken over). False when
/// another request holds it: a replay. The same request again (a provider's retry, byte
/// for byte) is let through, to be stored as the duplicate it is.
pub fn claim_replay_key(
    db: &Db<'_>,
    delivery: &Delivery,
    replay: &ReplayKey,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = db.exec(
        "INSERT INTO replay_keys (connection_id, key, keep_until, digest) VALUES (?1, ?2, ?3, ?5)
         ON CONFLICT (connection_id, key) DO UPDATE
         SET keep_until = excluded.keep_until, digest = excluded.digest
         WHERE replay_keys.keep_until < ?4 OR replay_keys.digest = excluded.digest",
        args![
            delivery.connection_id,
            replay.key,
            replay.keep_until,
            now.unix_timestamp(),
            delivery.digest
        ],
    )?;
    Ok(changed > 0)
}

/// Deletes single-use values past their keeping time.
pub(super) fn prune_replay_keys(db: &Db<'_>, now: OffsetDateTime) -> Result<usize, StoreError> {
    db.exec(
        "DELETE FROM replay_keys WHERE keep_until < ?1",
        args![now.unix_timestamp()],
    )
}

/// A short label of what an event says, for the events table.
fn kind_label(kind: &EventKind) -> String {
    match kind {
        EventKind::Call { progress } => format!("call:{}", state_name(*progress)),
        EventKind::Recording(r) => format!("recording:{:?}", r.status).to_ascii_lowercase(),
        EventKind::Unmapped { field, .. } => format!("unmapped:{field}"),
    }
}
