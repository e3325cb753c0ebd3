//! Retention: what callgate stores is kept only as long as configured (`config::Retention`).
//! Raw webhook bodies past their period are emptied (their events and calls stay); calls that
//! ended longer ago than theirs are deleted with their events and deliveries, and so are
//! deliveries as old that brought no new event; old audit entries are deleted, and so are
//! refused webhooks as old as the raw bodies pruned.
//!
//! A pass runs in the background, in small batches ([`BATCH`] rows), each its own short write,
//! with a yield between them, so that ingest never waits behind it for long. On PostgreSQL a
//! batch first takes an advisory lock for its transaction: while another instance prunes,
//! this one leaves the pass to it. Each pass counts what it pruned and sets the gauges of the
//! oldest row of each kind.

use crate::config::Retention;
use crate::store::retention::{self as rows, Batch};
use crate::store::{Db, Store, StoreError};
use callgate_adapters::kit::Clock;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// How often a pass runs.
const EVERY: std::time::Duration = std::time::Duration::from_secs(600);

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
}

/// Runs the passes over one store; it remembers where its walks over the deliveries and the
/// calls stopped, so that a pass reads the rows it keeps once, not at every batch.
#[derive(Debug)]
pub struct Pruner {
    store: Store,
    periods: Retention,
    /// Where each walk stopped, by [`Walk`].
    cursors: [i64; 5],
}

impl Pruner {
    pub fn new(store: Store, periods: Retention) -> Self {
        Self {
            store,
            periods,
            cursors: [0; 5],
        }
    }

    /// One pass at `now`: every kind, batch after batch, until none is left (or another
    /// instance is pruning). Counts what it pruned in the metrics.
    pub async fn prune(&mut self, now: OffsetDateTime) -> Result<Pruned, StoreError> {
        let bodies_before = now - self.periods.deliveries;
        let calls_before = now - self.periods.calls;
        let audit_before = now - self.periods.audit;
        let deliveries = self
            .walk("deliveries", Walk::Deliveries, move |db, cursor| {
                rows::empty_delivery_bodies(db, bodies_before, cursor)
            })
            .await?;
        let calls = self
            .walk("calls", Walk::Calls, move |db, cursor| {
                rows::delete_ended_calls(db, calls_before, cursor)
            })
            .await?;
        let audit = self
            .walk("audit", Walk::Audit, move |db, _| {
                rows::delete_audit(db, audit_before)
            })
            .await?;
        let refusals = self
            .walk("refusals", Walk::Refusals, move |db, _| {
                rows::delete_refusals(db, bodies_before)
            })
            .await?;
        let duplicates = self
            .walk(
                "duplicate_deliveries",
                Walk::DuplicateDeliveries,
                move |db, cursor| rows::delete_deliveries_without_events(db, calls_before, cursor),
            )
            .await?;
        Ok(Pruned {
            deliveries,
            calls,
            audit,
            refusals,
            duplicates,
        })
    }

    /// Runs `batch` from the walk's cursor until it reports nothing more; returns the rows
    /// pruned. Deliveries are walked on from where the last pass stopped (they are pruned in
    /// the order they came); calls from the start at every pass, since a call passed over
    /// while it was going on may end later.
    async fn walk<F>(&mut self, kind: &'static str, walk: Walk, batch: F) -> Result<u64, StoreError>
    where
        F: Fn(&Db<'_>, i64) -> Result<Batch, StoreError> + Clone + Send + 'static,
    {
        let mut pruned = 0;
        let mut cursor = self.cursors[walk as usize];
        loop {
            let run = batch.clone();
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
            crate::telemetry::rows_pruned(kind, done.pruned);
            cursor = done.cursor;
            self.cursors[walk as usize] = cursor;
            if !done.more {
                break;
            }
            tokio::task::yield_now().await;
        }
        if !matches!(walk, Walk::Deliveries | Walk::DuplicateDeliveries) {
            self.cursors[walk as usize] = 0;
        }
        Ok(pruned)
    }

    /// Sets the gauges of the oldest row of each kind, as read at `now`.
    pub async fn refresh_gauges(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        let cursor = self.cursors[Walk::Deliveries as usize];
        let oldest = self.store.read(move |db| rows::oldest(db, cursor)).await?;
        crate::telemetry::oldest_rows(&oldest, Some(now));
        Ok(())
    }
}

/// A walk over one kind of row, and the index of its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    Deliveries = 0,
    Calls = 1,
    Audit = 2,
    Refusals = 3,
    DuplicateDeliveries = 4,
}

/// Prunes every [`EVERY`], from a minute after the start, until `shutdown`.
pub async fn run(
    store: Store,
    periods: Retention,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let mut pruner = Pruner::new(store, periods);
    let start = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
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
                "retention pass done"
            ),
            Err(e) => tracing::warn!(error = %e, "retention pass failed; the next one resumes"),
        }
        if let Err(e) = pruner.refresh_gauges(clock.now()).await {
            tracing::warn!(error = %e, "retention gauges could not be read");
        }
    }
}
