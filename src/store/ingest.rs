//! The ingest transaction: delivery, events (deduplicated), call state, gate decisions and
//! outbox rows — all or nothing, inside the writer's batch.

use super::StoreError;
use super::calls::{self, CallKey, CallRow};
use super::db::{Arg, Db, Dialect, ToArg, args};
use super::rows::{self, Texts};
use super::{millis, subscriptions};
use crate::domain::call::state_name;
use crate::domain::gate::RecordingDecision;
use bytes::Bytes;
use callgate_adapters::kit::{CallEvent, Clock, EventKind, ReplayKey};
use std::collections::{HashMap, HashSet};
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

/// A delivery waiting for a thread that stores deliveries in batches, and who waits for its
/// outcome.
pub(super) struct Queued {
    pub delivery: Delivery,
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
    clock: Arc<dyn Clock>,
    send: impl FnOnce(Queued) -> bool,
    stopped: &str,
) -> Result<IngestOutcome, StoreError> {
    let (done, wait) = oneshot::channel();
    if !send(Queued {
        delivery,
        clock,
        done,
    }) {
        return Err(StoreError::Unavailable(stopped.into()));
    }
    wait.await
        .map_err(|_| StoreError::Unavailable(stopped.into()))?
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

/// Stores one delivery: [`ingest_batch`] of one.
pub(super) fn ingest(
    db: &Db<'_>,
    d: &Delivery,
    now: OffsetDateTime,
) -> Result<IngestOutcome, StoreError> {
    ingest_batch(db, &[d], now)?
        .pop()
        .ok_or_else(|| StoreError::Internal("no ingest outcome".into()))
}

static INSERT_DELIVERIES: Texts = Texts::new(|rows| {
    format!(
        "INSERT INTO deliveries (connection_id, digest, received_at, method, target, content_type, body)
         VALUES {}",
        rows::values(rows, &["?"; 7])
    )
});

/// Events, skipping those stored before.
static INSERT_EVENTS: Texts = Texts::new(|rows| {
    format!(
        "INSERT INTO events (call_seq, dedupe_key, delivery_id, recorded_at, kind) VALUES {}
         ON CONFLICT (call_seq, dedupe_key) DO NOTHING",
        rows::values(rows, &["?"; 5])
    )
});

/// Stores deliveries in the open transaction, as if one after the other, with a few
/// statements for all: each delivery's row, its events (deduplicated per call, within the
/// batch too: the first delivery carrying an event has it), the calls' folds, resolutions,
/// gate decisions and their effects. Returns each delivery's outcome, in order; a call
/// changed by several deliveries is reported, as the batch left it, by the last of them.
///
/// `now` is read by the caller when the batch runs; a call's events are folded as recorded
/// no earlier than the selections the call already holds, so that an agent's selection and
/// a call's end compare as they were stored, on either backend.
pub(super) fn ingest_batch(
    db: &Db<'_>,
    batch: &[&Delivery],
    now: OffsetDateTime,
) -> Result<Vec<IngestOutcome>, StoreError> {
    // First, so that a replay leaves nothing behind; one by one, so that a value twice in
    // the batch is refused the second time.
    let mut replayed = vec![false; batch.len()];
    for (d, refused) in batch.iter().zip(&mut replayed) {
        if let Some(replay) = &d.replay_key {
            *refused = !claim_replay_key(db, d, replay, now)?;
        }
    }
    let live: Vec<usize> = (0..batch.len()).filter(|&i| !replayed[i]).collect();
    let delivery_ids = insert_deliveries(db, live.iter().map(|&i| batch[i]), now)?;

    // The calls the deliveries are about, taken in key order, so that two transactions
    // about the same calls never wait for each other's locks in a circle.
    let mut keys: Vec<CallKey<'_>> = live
        .iter()
        .flat_map(|&i| {
            let d = batch[i];
            d.events.iter().map(move |e| CallKey {
                provider_call_id: &e.provider_call_id,
                connection_id: &d.connection_id,
                provider: d.provider,
            })
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut touched: Vec<Touched> = calls::get_or_create_many(db, &keys, now)?
        .into_iter()
        .map(|(call, existed)| Touched {
            before: existed.then(|| call.recording_decision()),
            call,
            fresh: 0,
            last: 0,
        })
        .collect();

    // Every event once per call: later copies in the batch are duplicates already.
    let mut rows: Vec<EventRow<'_>> = Vec::new();
    let mut seen: HashSet<(usize, &str)> = HashSet::new();
    for (&i, &delivery_id) in live.iter().zip(&delivery_ids) {
        let d = batch[i];
        for event in &d.events {
            let key = CallKey {
                provider_call_id: &event.provider_call_id,
                connection_id: &d.connection_id,
                provider: d.provider,
            };
            let Ok(call) = keys.binary_search(&key) else {
                continue;
            };
            if seen.insert((call, &event.dedupe_key)) {
                rows.push(EventRow {
                    call,
                    delivery: i,
                    delivery_id,
                    event,
                });
            }
        }
    }
    let fresh = insert_events(db, &rows, &touched, now)?;
    let mut new_events = vec![0; batch.len()];
    for (r, _) in rows.iter().zip(&fresh).filter(|(_, new)| **new) {
        let t = &mut touched[r.call];
        // On PostgreSQL `now` was read before the call's row was locked: an end stored
        // after a selection must never void it.
        let recorded_at = t.call.fold.not_before_selections(now);
        t.call.fold.apply(r.event, recorded_at);
        t.fresh += 1;
        t.last = r.delivery;
        new_events[r.delivery] += 1;
    }

    let (mut touched, unchanged): (Vec<Touched>, Vec<Touched>) =
        touched.into_iter().partition(|t| t.fresh > 0);
    for t in &unchanged {
        calls::unchanged(db, &t.call);
    }
    {
        let mut changed: Vec<&mut CallRow> = touched.iter_mut().map(|t| &mut t.call).collect();
        calls::refresh_resolutions(db, &mut changed, now)?;
        calls::write_many(db, &mut changed, now)?;
    }
    let wanted = if touched.is_empty() {
        Default::default()
    } else {
        subscriptions::wanted(db)?
    };
    let mut changed_by: Vec<Vec<ChangedCall>> = (0..batch.len()).map(|_| Vec::new()).collect();
    let mut outbox = vec![false; batch.len()];
    for t in touched {
        let effects = calls::after_write(db, &t.call, t.before.as_ref(), "system", now, &wanted)?;
        outbox[t.last] |= effects.queued;
        changed_by[t.last].push(ChangedCall {
            recording_decided: effects.recording_decided,
            call: t.call,
        });
    }

    Ok(batch
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if replayed[i] {
                IngestOutcome::Replayed
            } else if new_events[i] == 0 && !d.events.is_empty() {
                IngestOutcome::Duplicate
            } else {
                IngestOutcome::Stored {
                    new_events: new_events[i],
                    calls: std::mem::take(&mut changed_by[i]),
                    outbox: outbox[i],
                }
            }
        })
        .collect())
}

/// A call a batch is about, as the batch changes it.
struct Touched {
    call: CallRow,
    /// Its recording decision before the batch (`None`: a new call).
    before: Option<RecordingDecision>,
    /// How many of the batch's events were new for it.
    fresh: usize,
    /// The last delivery (batch index) with a new event for it.
    last: usize,
}

/// An event to store: its call (index into the batch's calls) and its delivery.
struct EventRow<'d> {
    call: usize,
    delivery: usize,
    delivery_id: i64,
    event: &'d CallEvent,
}

/// Inserts the events' rows, skipping those stored before; says which were new. SQLite
/// tells it by the rows each statement changed, a row at a time (its single writer makes
/// each statement cheap, and `RETURNING` would cost a temporary table each); PostgreSQL by
/// the keys a statement of many rows returns.
fn insert_events(
    db: &Db<'_>,
    rows: &[EventRow<'_>],
    calls: &[Touched],
    now: OffsetDateTime,
) -> Result<Vec<bool>, StoreError> {
    let at = millis(now);
    let labels: Vec<String> = rows.iter().map(|r| kind_label(&r.event.kind)).collect();
    let args = |run: std::ops::Range<usize>| -> Vec<Arg<'_>> {
        rows[run.clone()]
            .iter()
            .zip(&labels[run])
            .flat_map(|(r, label)| {
                [
                    Arg::Int(calls[r.call].call.seq),
                    r.event.dedupe_key.to_arg(),
                    Arg::Int(r.delivery_id),
                    Arg::Int(at),
                    label.to_arg(),
                ]
            })
            .collect()
    };
    if db.dialect() == Dialect::Sqlite {
        return (0..rows.len())
            .map(|n| Ok(db.exec(INSERT_EVENTS.get(1), &args(n..n + 1))? > 0))
            .collect();
    }
    let index: HashMap<(i64, &str), usize> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| ((calls[r.call].call.seq, r.event.dedupe_key.as_str()), n))
        .collect();
    let mut fresh = vec![false; rows.len()];
    for run in rows::runs(db.dialect(), rows.len()) {
        let sql = format!(
            "{} RETURNING call_seq, dedupe_key",
            INSERT_EVENTS.get(run.len())
        );
        db.query(&sql, &args(run), |r| {
            let key: String = r.get(1)?;
            if let Some(&n) = index.get(&(r.get::<i64>(0)?, key.as_str())) {
                fresh[n] = true;
            }
            Ok(())
        })?;
    }
    Ok(fresh)
}

/// Inserts the deliveries' rows; returns their ids, in order.
fn insert_deliveries<'d>(
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
                ]
            })
            .collect();
        ids.extend(db.insert_ids(INSERT_DELIVERIES.get(run.len()), &args, run.len(), "id")?);
    }
    Ok(ids)
}

/// Records the delivery's single-use value (an expired one is taken over). False when
/// another request holds it: a replay. The same request again (a provider's retry, byte
/// for byte) is let through, to be stored as the duplicate it is.
fn claim_replay_key(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use callgate_adapters::kit::{CallProgress, Party};
    use proptest::prelude::Strategy;
    use std::sync::Arc;

    fn delivery(progress: CallProgress, key: &str) -> Delivery {
        Delivery {
            connection_id: "conn-1".into(),
            provider: "twilio",
            digest: [0; 32],
            method: "POST".into(),
            target: "/webhooks/twilio/conn-1".into(),
            content_type: None,
            body: Bytes::from_static(b"x"),
            events: vec![CallEvent {
                dedupe_key: key.into(),
                provider_call_id: "CA1".into(),
                occurred_at: None,
                party: Party::default(),
                kind: EventKind::Call { progress },
            }],
            replay_key: None,
        }
    }

    /// What a delivery's outcome says, without the calls it reports.
    #[derive(Debug, PartialEq, Eq)]
    enum Said {
        Stored(usize),
        Duplicate,
        Replayed,
    }

    fn said(outcome: &IngestOutcome) -> Said {
        match outcome {
            IngestOutcome::Stored { new_events, .. } => Said::Stored(*new_events),
            IngestOutcome::Duplicate => Said::Duplicate,
            IngestOutcome::Replayed => Said::Replayed,
        }
    }

    /// Up to a dozen deliveries about three calls on two connections, with repeated events,
    /// repeated calls within a delivery, deliveries without events and reused nonces (by
    /// the same request or another).
    fn deliveries() -> impl Strategy<Value = Vec<Delivery>> {
        use crate::domain::tests::{kind, party};
        let event = (
            0..3usize,
            0..8usize,
            kind(),
            party(),
            proptest::option::of(0..120i64),
        )
            .prop_map(|(call, key, kind, party, occurred)| CallEvent {
                dedupe_key: format!("k{key}"),
                provider_call_id: format!("CA{call}"),
                occurred_at: occurred
                    .map(|s| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)),
                party,
                kind,
            });
        let delivery = (
            0..2usize,
            proptest::collection::vec(event, 0..3),
            proptest::option::of(0..3usize),
            0..2u8,
        )
            .prop_map(|(conn, events, nonce, request)| Delivery {
                connection_id: format!("conn-{conn}"),
                // Two requests: one bearing a nonce again is a retry or a replay.
                digest: [request; 32],
                replay_key: nonce.map(|n| ReplayKey {
                    key: format!("n{n}"),
                    keep_until: i64::MAX,
                }),
                events,
                ..delivery(CallProgress::Ringing, "unused")
            });
        proptest::collection::vec(delivery, 1..12)
    }

    /// The calls and events a store holds, in a stable order, without keys it made up.
    async fn contents(store: &Store) -> (Vec<Vec<Option<String>>>, Vec<String>) {
        store
            .read(|db| {
                let calls = db.query(
                    "SELECT provider_call_id, connection_id, provider, state, number_kind, tenant_status,
                         tenant_id, recording_status, agent_id, fold, resolution
                     FROM calls ORDER BY provider_call_id, connection_id",
                    args![],
                    |r| (0..11).map(|i| r.get::<Option<String>>(i)).collect(),
                )?;
                let events = db.query(
                    "SELECT c.provider_call_id || ' ' || c.connection_id || ' ' || e.dedupe_key || ' ' || e.kind
                     FROM events e JOIN calls c ON c.seq = e.call_seq ORDER BY 1",
                    args![],
                    |r| r.get(0),
                )?;
                Ok::<_, StoreError>((calls, events))
            })
            .await
            .unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

        /// Deliveries stored in batches (of any sizes) leave the same calls and events, and
        /// get the same outcomes, as the same deliveries stored one by one.
        #[test]
        fn batches_store_what_the_deliveries_one_by_one_store(
            ds in deliveries(),
            cuts in proptest::collection::vec(1..6usize, 1..6),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let one = Store::open(&dir.path().join("one.db")).unwrap();
                let many = Store::open(&dir.path().join("many.db")).unwrap();
                let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
                    callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
                );
                let mut alone = Vec::new();
                for d in &ds {
                    alone.push(said(&one.ingest(d.clone(), clock.clone()).await.unwrap()));
                }
                let mut batched = Vec::new();
                let mut rest = &ds[..];
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (batch, after) = rest.split_at((*cut).min(rest.len()));
                    let batch = batch.to_vec();
                    let outcomes = many
                        .write(move |db| {
                            let refs: Vec<&Delivery> = batch.iter().collect();
                            ingest_batch(db, &refs, OffsetDateTime::UNIX_EPOCH)
                        })
                        .await
                        .unwrap();
                    batched.extend(outcomes.iter().map(said));
                    rest = after;
                }
                assert_eq!(batched, alone);
                assert_eq!(contents(&many).await, contents(&one).await);
            });
        }
    }

    fn state_of(outcome: &IngestOutcome) -> Option<CallProgress> {
        match outcome {
            IngestOutcome::Stored { calls, .. } => calls[0].call.fold.progress,
            _ => None,
        }
    }

    /// A write that is rolled back leaves nothing behind, in the store or in the writer's
    /// memory of recent calls: the next delivery folds onto what was committed.
    #[tokio::test]
    async fn a_rolled_back_ingest_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
            callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
        );
        let first = store
            .ingest(delivery(CallProgress::Ringing, "k-ringing"), clock.clone())
            .await
            .unwrap();
        assert_eq!(state_of(&first), Some(CallProgress::Ringing));

        // A job that stores the call's end and then fails: its savepoint is rolled back.
        let failed = store
            .write(|c| {
                ingest(
                    c,
                    &delivery(CallProgress::Completed, "k-completed"),
                    OffsetDateTime::UNIX_EPOCH,
                )?;
                Err::<(), _>(StoreError::Internal("fails after writing".into()))
            })
            .await;
        assert!(failed.is_err());

        let next = store
            .ingest(
                delivery(CallProgress::Answered, "k-answered"),
                clock.clone(),
            )
            .await
            .unwrap();
        assert_eq!(state_of(&next), Some(CallProgress::Answered));
        // And the end, sent again, is new: the failed job left no event behind.
        let end = store
            .ingest(delivery(CallProgress::Completed, "k-completed"), clock)
            .await
            .unwrap();
        assert_eq!(state_of(&end), Some(CallProgress::Completed));
    }

    /// A tenant entered before the call's end was stored counts, whatever the clock the
    /// batch storing the end read: on PostgreSQL it is read before the call's row is locked
    /// (an agent may enter a tenant meanwhile), and another instance's clock may lag. The
    /// same holds for the tenant entered last.
    #[tokio::test]
    async fn a_selection_stored_before_the_end_counts_whatever_the_clocks() {
        use crate::domain::gate::TenantStatus;
        use crate::store::calls::{self, Agent};
        use crate::store::directory::{self, Tenant};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let at = |s: i64| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s);
        let clock_at = |s: i64| -> Arc<dyn callgate_adapters::kit::Clock> {
            Arc::new(callgate_adapters::kit::FixedClock(at(s)))
        };
        let ringing = store
            .ingest(delivery(CallProgress::Ringing, "k-ringing"), clock_at(0))
            .await
            .unwrap();
        let IngestOutcome::Stored { calls: changed, .. } = ringing else {
            panic!("the first delivery is stored");
        };
        let call_id = changed[0].call.id.clone();
        let select = |tenant: &'static str, secs: i64| {
            let call_id = call_id.clone();
            store.write(move |db| {
                let sees = |_: &CallRow| true;
                let agent = Agent {
                    id: "agent-1",
                    sees_call: &sees,
                    sees_tenant: true,
                };
                calls::select_tenant(db, &call_id, tenant, &agent, at(secs)).map(|(c, _)| c)
            })
        };
        store
            .write(move |db| {
                for id in ["t-first", "t-second"] {
                    let tenant = Tenant {
                        tenant_id: id.into(),
                        name: id.into(),
                        zip_codes: vec!["78701".into()],
                        trades: vec!["hvac".into()],
                        booking_url: None,
                    };
                    directory::put_tenant(db, &tenant, at(0))?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        select("t-first", 20).await.unwrap();
        // The second selection's clock lags the first one's: it is still the last.
        let second = select("t-second", 15).await.unwrap();
        assert_eq!(second.tenant().tenant_id.as_deref(), Some("t-second"));

        // The end, stored after both, with a clock behind both.
        let end = store
            .ingest(
                delivery(CallProgress::Completed, "k-completed"),
                clock_at(10),
            )
            .await
            .unwrap();
        let IngestOutcome::Stored { calls: changed, .. } = end else {
            panic!("the end is stored");
        };
        let call = &changed[0].call;
        assert!(call.fold.has_ended());
        let tenant = call.tenant();
        assert_eq!(tenant.status, TenantStatus::Selected);
        assert_eq!(tenant.tenant_id.as_deref(), Some("t-second"));
        // And a selection after the stored end is refused.
        let late = select("t-first", 30).await.unwrap_err();
        assert!(late.to_string().contains("ended"), "{late}");
    }

    /// A single-use value seen again: by the same request (a retry) a duplicate, by another
    /// request a replay, refused; once expired, anyone's.
    #[tokio::test]
    async fn a_nonce_is_single_use_across_requests_not_retries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("callgate.db")).unwrap();
        let clock: Arc<dyn callgate_adapters::kit::Clock> = Arc::new(
            callgate_adapters::kit::FixedClock(OffsetDateTime::UNIX_EPOCH),
        );
        let with_nonce = |digest: u8, keep_until: i64| Delivery {
            digest: [digest; 32],
            replay_key: Some(ReplayKey {
                key: "nonce-1".into(),
                keep_until,
            }),
            ..delivery(CallProgress::Ringing, "k-ringing")
        };
        let mut said_of = Vec::new();
        for d in [with_nonce(1, 10), with_nonce(1, 10), with_nonce(2, 10)] {
            said_of.push(said(&store.ingest(d, clock.clone()).await.unwrap()));
        }
        assert_eq!(said_of, [Said::Stored(1), Said::Duplicate, Said::Replayed]);
        // Expired (kept until 10 s past the epoch): taken over by the other request.
        let later: Arc<dyn callgate_adapters::kit::Clock> =
            Arc::new(callgate_adapters::kit::FixedClock(
                OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(11),
            ));
        let taken = store.ingest(with_nonce(2, 30), later).await.unwrap();
        assert_eq!(said(&taken), Said::Duplicate);
    }
}
