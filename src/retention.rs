//! Retention: what callgate stores is kept only as long as configured (`config::Retention`).
//! Raw webhook bodies past their period are emptied (their events and calls stay); calls that
//! ended longer ago than theirs are deleted with their events and deliveries, and so are
//! deliveries as old that brought no new event, and the calls to unlisted numbers counted as
//! long ago; old audit entries are deleted, and so are refused webhooks as old as the raw
//! bodies pruned.
//!
//! A pass runs in the background, in small batches ([`BATCH`] rows, or [`CALL_BATCH`] calls
//! with all that is theirs), each its own short write, with a pause after each as long as the
//! batch took, so that ingest never waits behind it for long and keeps at least half of the
//! writer's time while a pass runs. On PostgreSQL a batch first takes an advisory lock for
//! its transaction: while another instance prunes, this one leaves the pass to it. Each pass
//! counts what it pruned and sets the gauges of the oldest row of each kind; the configured
//! period of each kind is a gauge too, set at the start, so that an alert compares the two.
//!
//! [`BATCH`]: crate::store::retention::BATCH
//! [`CALL_BATCH`]: crate::store::retention::CALL_BATCH

use crate::config::Retention;
use crate::store::retention::{self as rows, Batch};
use crate::store::{Db, Store, StoreError};
use crate::telemetry::PRUNED_KINDS;
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// How often a pass runs.
const EVERY: Duration = Duration::from_secs(600);

/// What one pass pruned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Raw bodies emptied.
    pub deliveries: u64,
    /// Calls deleted.
    pub calls: u64,
    /// Audit entries deleted.
    pub audit: u64,
    /// Refused webhooks deleted from the refusal log (kept as long as raw bodies).
    pub refusals: u64,
    /// Deliveries that brought no new event (a provider's retry), deleted as old as the
    /// calls deleted; the others go with their calls.
    pub duplicates: u64,
    /// Calls to unlisted numbers forgotten (kept as long as calls).
    pub unknown_numbers: u64,
    /// Rows the walks over the deliveries and the calls read, the kept ones included.
    pub examined: u64,
}

impl Pruned {
    /// What was pruned of each of [`PRUNED_KINDS`], in that order.
    pub fn by_kind(&self) -> [u64; 6] {
        [
            self.deliveries,
            self.calls,
            self.audit,
            self.refusals,
            self.duplicates,
            self.unknown_numbers,
        ]
    }
}

/// The period of each of [`PRUNED_KINDS`], in that order: the refusal log is kept as long as
/// raw bodies, retries and calls to unlisted numbers as long as calls.
pub fn periods_by_kind(periods: &Retention) -> [Duration; 6] {
    let Retention {
        deliveries,
        calls,
        audit,
    } = *periods;
    [deliveries, calls, audit, deliveries, calls, calls]
}

/// Runs the passes over one store. The walks over the deliveries go on from where the last
/// pass stopped, whichever instance ran it (their cursors are in the store); the walk over
/// the calls starts from the first call at every pass, since a call passed over while it was
/// going on may end later: a cursor kept from one pass to the next would skip it.
#[derive(Debug)]
pub struct Pruner {
    store: Store,
    periods: Retention,
}

impl Pruner {
    pub fn new(store: Store, periods: Retention) -> Self {
        Self { store, periods }
    }

    /// One pass at `now`: every kind, batch after batch, until none is left (or another
    /// instance is pruning). Counts what it pruned in the metrics.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<Pruned, StoreError> {
        let bodies_before = now - self.periods.deliveries;
        let calls_before = now - self.periods.calls;
        let audit_before = now - self.periods.audit;
        // In the order of PRUNED_KINDS.
        let walks: [BatchFn; 6] = [
            Arc::new(move |db, _| rows::empty_delivery_bodies(db, bodies_before)),
            Arc::new(move |db, cursor| rows::delete_ended_calls(db, calls_before, cursor)),
            Arc::new(move |db, _| rows::delete_audit(db, audit_before)),
            Arc::new(move |db, _| rows::delete_refusals(db, bodies_before)),
            Arc::new(move |db, _| rows::delete_deliveries_without_events(db, calls_before)),
            Arc::new(move |db, _| rows::delete_unknown_number_calls(db, calls_before)),
        ];
        let mut pruned = Pruned::default();
        let counts = [
            &mut pruned.deliveries,
            &mut pruned.calls,
            &mut pruned.audit,
            &mut pruned.refusals,
            &mut pruned.duplicates,
            &mut pruned.unknown_numbers,
        ];
        for ((kind, batch), count) in PRUNED_KINDS.iter().zip(walks).zip(counts) {
            let (rows, read) = self.walk(kind, batch).await?;
            *count = rows;
            pruned.examined += read;
        }
        Ok(pruned)
    }

    /// Runs `batch` until it reports nothing more, from the first row (its cursor, given to
    /// it, is the calls' walk's; the deliveries' keep theirs in the store); returns the rows
    /// pruned and the rows read.
    async fn walk(&self, kind: &'static str, batch: BatchFn) -> Result<(u64, u64), StoreError> {
        let (mut pruned, mut examined, mut cursor) = (0, 0, 0);
        loop {
            let run = batch.clone();
            let started = tokio::time::Instant::now();
            let done = self
                .store
                .write(move |db| {
                    if !rows::claim_pruning(db)? {
                        return Ok::<_, StoreError>(None);
                    }
                    run(db, cursor).map(Some)
                })
                .await?;
            let Some(done) = done else { break };
            pruned += done.pruned;
            examined += done.examined;
            crate::telemetry::rows_pruned(kind, done.pruned);
            cursor = done.cursor;
            if !done.more {
                break;
            }
            // As long again as the batch took, queue and commit included: the pass takes
            // at most half of the writer's time, less when ingest keeps it busy.
            tokio::time::sleep(started.elapsed()).await;
        }
        Ok((pruned, examined))
    }

    /// Sets the gauges of the oldest row of each kind, as read at `now`.
    pub async fn refresh_gauges(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        let oldest = self.store.read(rows::oldest).await?;
        crate::telemetry::oldest_rows(&oldest, Some(now));
        Ok(())
    }
}

/// One batch of a walk: from the cursor given, in the write given.
type BatchFn = Arc<dyn Fn(&Db<'_>, i64) -> Result<Batch, StoreError> + Send + Sync>;

/// Prunes every [`EVERY`], from a minute after the start, until `shutdown`.
pub async fn run(
    store: Store,
    periods: Retention,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let pruner = Pruner::new(store, periods);
    let start = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut every = tokio::time::interval_at(start, EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match pruner.prune(clock.now()).await {
            Ok(p) => tracing::info!(
                deliveries = p.deliveries,
                calls = p.calls,
                audit = p.audit,
                refusals = p.refusals,
                duplicates = p.duplicates,
                unknown_numbers = p.unknown_numbers,
                examined = p.examined,
                "retention pass done"
            ),
            Err(e) => tracing::warn!(error = %e, "retention pass failed; the next one resumes"),
        }
        if let Err(e) = pruner.refresh_gauges(clock.now()).await {
            tracing::warn!(error = %e, "retention gauges could not be read");
        }
    }
}
