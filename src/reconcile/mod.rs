//! The reconciler: what callgate does when a provider's webhooks stop coming. It runs on every
//! instance, every `CALLGATE_RECONCILE_INTERVAL_SECS`:
//!
//! - a call not ended, with no news for `CALLGATE_RECONCILE_AFTER_SECS`, is looked up at the
//!   provider's API; the answer goes through the webhooks' own ingest path, stored as a
//!   delivery marked as a lookup (deduplicated, folded, gated, audited `call.reconciled` when
//!   it ends the call);
//! - a call that ended without a tenant has its recordings listed, and listed once more
//!   `CALLGATE_RECONCILE_AFTER_SECS` later (and again, for a day, while one is still
//!   processing): each one found is folded in, so the gate discards it and the outbox
//!   deletes it once complete;
//! - a call past `CALLGATE_MAX_CALL_SECS` that cannot be looked up (no API, no credentials,
//!   the connection gone) or that the provider no longer knows (404) is ended by callgate
//!   (`ended_by: "timed_out"`), through the same path: unresolved without a tenant, its
//!   agent freed.
//!
//! A failed request is retried with the outbox's backoff, and never ends a call. Each watched
//! call is claimed under a lease (`store::reconcile`), so on PostgreSQL one instance at a
//! time asks about it. Deciding what to do with an answer is in `look.rs`.

use crate::calls::Calls;
use crate::config::ReconcileConfig;
use crate::events::EventHub;
use crate::outbox::Worker;
use crate::store::StoreError;
use crate::store::reconcile::{self as schedule, Due};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod look;

/// How many quiet calls one pass starts watching, and how many watched calls it claims
/// (and looks at, one after the other, within one lease).
const WATCH_PER_PASS: usize = 200;
const LOOK_PER_PASS: usize = 4;

/// The reconciler's dependencies: the outbox worker's (store, connections, clock, the
/// provider client behind the egress guard, backoff), the live event hub, and its timing.
#[derive(Clone)]
pub struct Reconciler {
    pub worker: Worker,
    pub events: Arc<EventHub>,
    pub config: ReconcileConfig,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reconciler {
    /// Runs until `shutdown`: a pass, then the interval, again.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.pass().await {
                // A full claim: more may be due; claimed afresh, each under its own lease.
                Ok(LOOK_PER_PASS) => continue,
                Ok(n) if n > 0 => tracing::debug!(looked_at = n, "reconciler pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconciler pass failed; retrying"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.interval) => {}
            }
        }
    }

    /// One pass: watches the calls that went quiet, then looks at every watched call due.
    /// Returns how many it looked at. A store error stops the pass and releases what it
    /// claimed: due again at once, here or on another instance.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let now = self.worker.clock.now();
        let quiet_since = now - self.after();
        let started_before = now - self.max_call();
        self.worker
            .store
            .write(move |db| {
                schedule::watch_quiet_calls(db, quiet_since, started_before, now, WATCH_PER_PASS)
            })
            .await?;
        // A claim outlasts the requests its looks may send (one each, two for a call that
        // ends), so no other instance asks meanwhile; if this one dies, the calls fall due
        // again when the claim ends.
        let per_look = self.worker.config.request_timeout * 2;
        let lease_until = now + per_look * LOOK_PER_PASS as u32 + Duration::from_secs(30);
        let due = self
            .worker
            .store
            .write(move |db| schedule::claim(db, now, lease_until, LOOK_PER_PASS))
            .await?;
        let n = due.len();
        let mut due = due.into_iter();
        while let Some(d) = due.next() {
            let id = d.id.clone();
            if let Err(e) = self.look(d).await {
                let left: Vec<String> = std::iter::once(id).chain(due.map(|d| d.id)).collect();
                let released = self
                    .worker
                    .store
                    .write(move |db| schedule::release(db, &left, lease_until, now))
                    .await;
                if let Err(r) = released {
                    tracing::warn!(error = %r, "releasing the reconciler's claims failed; they fall due when their lease ends");
                }
                return Err(e);
            }
        }
        Ok(n)
    }

    /// The call use cases, for ingesting what the provider answered.
    fn calls(&self) -> Calls<'_> {
        Calls {
            store: &self.worker.store,
            clock: &self.worker.clock,
            events: &self.events,
            outbox: &self.worker.wake,
        }
    }

    fn after(&self) -> time::Duration {
        time::Duration::try_from(self.config.after).unwrap_or(time::Duration::HOUR)
    }

    fn max_call(&self) -> time::Duration {
        time::Duration::try_from(self.config.max_call).unwrap_or(time::Duration::DAY)
    }

    /// When a failed question is asked again, after `attempts` failures before it.
    fn retry_at(&self, d: &Due, now: time::OffsetDateTime) -> time::OffsetDateTime {
        now + time::Duration::try_from(self.worker.backoff(d.attempts))
            .unwrap_or(time::Duration::HOUR)
    }
}
